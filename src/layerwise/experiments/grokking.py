r"""Experiment ``grokking``: the weight-to-target ratio decides lazy (grokking) vs rich (Nam et al. 2025, §7).

Three parts, one mechanism. A network whose weights are large compared with what the target needs (large
``Sigma0 / S``) fits the training set with barely-changed features (lazy) and generalises only later, when weight decay
has shrunk the weights enough for features to move; lowering the ratio removes the delay.

1. **Solvable toy** (paper.md §3.5): ``f(x) = (1/Z) sum_i a_i b_i x``, ``y = S x``. Under gradient flow ``u_i = a_i +
   b_i`` grows by one common factor ``g(t)`` and ``v_i = a_i - b_i`` shrinks by ``1/g(t)``; at convergence
   ``g^2 = gamma_+ = (S + sqrt(Sigma0^2 - S0^2 + S^2)) / (Sigma0 + S0)`` with ``Sigma0 = sum_i (a_i^2 + b_i^2)/(2Z)``
   and ``S0 = (1/Z) sum_i a_i b_i``. Simulated (exact flow, diffrax) over ``Sigma0/S`` by three routes: the weight
   scale, target down-scaling, and NTK parameterisation ``Z = sqrt(p)`` at growing width.
2. **The authors' Fig. 11 a-e**: tanh MLP, 1,000 training images, MSE on ``target_scale * one_hot``, Adam (coupled
   L2 weight decay), batch 128; panel a (weight scale 5, target 3) groks, b (weights 1), c (target 30), d (inputs
   x 0.01) and e (output x 0.1) do not. All five panels are one vmapped `train` call (see `_InputScaledMLP`).
3. **Modular addition** with a two-layer MLP on token embeddings (Gromov 2023): the baseline groks; a smaller init or
   a larger target shortens the delay. Layer imbalance (Kunin et al. 2024) is tested too: an *upstream* init (a
   smaller first layer under a larger readout, so the first layer learns faster) is predicted to shorten the delay,
   a downstream one to lengthen it (seen at p = 31; at p = 97 upstream did not shorten it in our runs).

The grokking delay is ``epoch(test acc >= 0.9 x final) - epoch(train acc >= 0.99)`` on a log-spaced epoch grid
(`layerwise.metrics.grokking_delay`).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from layerwise import data, metrics, observables, theory
from layerwise.compare import compare
from layerwise.data.modular import modular_addition, modular_addition_task
from layerwise.errors import LayerwiseError, check_positive, check_positive_int
from layerwise.experiments.base import Experiment, Outcome, Progress
from layerwise.models import MLP, DeepLinearNetwork, Model, mlp_init
from layerwise.models.embedding_mlp import EmbeddingMLP, embedding_mlp_init
from layerwise.report.checks import Check, check_above, check_below
from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.engine import gradient_flow, train

PANELS = ("a", "b", "c", "d", "e")
MODULAR_RUNS = ("baseline", "small init", "large target", "upstream", "downstream")


@dataclasses.dataclass(frozen=True)
class GrokkingConfig:
    """Settings of the ``grokking`` experiment (defaults: the paper's sizes; ``--quick`` shrinks the networks)."""

    seed: int = 0
    """Seeds every draw: toy inits, the image split and MLP init/batches, the modular split and init."""
    # ---- 1. solvable toy
    toy_width: int = 16
    """Hidden units p of the toy for the weight and target routes (even: the zero-output init mirrors pairs)."""
    toy_ratios: tuple[float, ...] = (1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0, 10.0, 30.0, 100.0)
    """Weight-to-target ratios Sigma0/S of the weight-scale and target-scale sweeps (4 decades)."""
    toy_ntk_widths: tuple[int, ...] = (4, 64, 1024, 16384)
    """Widths p of the NTK-parameterised toy (Z = sqrt(p), a_i, b_i ~ N(0, 1)): Sigma0 ~ sqrt(p)."""
    toy_duration: float = 40.0
    """Gradient-flow time (S = 1 units); long enough for S(t) = S to 1e-10."""
    # ---- 2. Fig. 11 MLP
    mnist_path: str | None = None
    """Directory with the MNIST IDX files; None = ``$LAYERWISE_MNIST``, else scikit-learn's digits (8x8)."""
    n_train: int = 1000
    """Training images (the authors': 1,000). Test: all of MNIST's 10,000, or the rest of digits."""
    mlp_width: int = 512
    """Width of the three hidden tanh layers (the authors': 512)."""
    epochs: int = 2000
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    """Adam with coupled L2 weight decay, as torch ``Adam(lr=1e-3, weight_decay=1e-4)``."""
    weight_scales: tuple[float, ...] = (5.0, 1.0, 5.0, 5.0, 5.0)
    target_scales: tuple[float, ...] = (3.0, 3.0, 30.0, 3.0, 3.0)
    input_scales: tuple[float, ...] = (1.0, 1.0, 1.0, 0.01, 1.0)
    output_scales: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 0.1)
    """Panels a-e of Fig. 11 (weights N(0, (w/sqrt(fan_in))^2), targets x target, inputs x input, outputs x output)."""
    record_epochs: int = 40
    """About this many log-spaced epochs at which accuracies are recorded."""
    # ---- 3. modular addition
    modulus: int = 97
    train_fraction: float = 0.3
    modular_width: int = 512
    modular_steps: int = 5000
    """Full-batch AdamW steps (= epochs)."""
    modular_learning_rate: float = 1e-3
    modular_weight_decay: float = 1.0
    modular_weight_scale: float = 0.3
    """Baseline init scale w (embeddings N(0, w^2), readout N(0, w^2/width)); square activation."""
    small_init_scale: float = 0.1
    """The smaller-init lever."""
    large_target_scale: float = 10.0
    """The larger-target lever (baseline targets: one-hot x 1)."""
    imbalance: float = 2.0
    """Layer imbalance r: upstream = embeddings / r and readout x r^2 (downstream the reverse); f at init unchanged."""

    def __post_init__(self):
        check_positive_int("seed", self.seed, minimum=0)
        check_positive_int("toy_width", self.toy_width, minimum=2)
        if self.toy_width % 2:
            raise LayerwiseError(f"toy_width must be even (mirrored zero-output init), got {self.toy_width}")
        if len(self.toy_ratios) < 2:
            raise LayerwiseError("toy_ratios needs at least 2 values")
        for value in self.toy_ratios:
            check_positive("toy_ratios", value)
        for value in self.toy_ntk_widths:
            check_positive_int("toy_ntk_widths", value, minimum=2)
            if value % 2:
                raise LayerwiseError(f"toy_ntk_widths must be even, got {value}")
        check_positive("toy_duration", self.toy_duration)
        if self.mnist_path is not None and not isinstance(self.mnist_path, str):
            raise LayerwiseError(f"mnist_path must be a directory path or None, got {self.mnist_path!r}")
        for name in ("n_train", "mlp_width", "epochs", "batch_size", "modular_width", "modular_steps"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("record_epochs", self.record_epochs, minimum=3)
        for name in ("learning_rate", "modular_learning_rate", "modular_weight_scale", "small_init_scale",
                     "large_target_scale", "imbalance"):
            check_positive(name, getattr(self, name))
        for name in ("weight_decay", "modular_weight_decay"):
            check_positive(name, getattr(self, name), allow_zero=True)
        for name in ("weight_scales", "target_scales", "input_scales", "output_scales"):
            values = getattr(self, name)
            if len(values) != len(PANELS):
                raise LayerwiseError(f"{name} needs one value per panel a-e ({len(PANELS)}), got {len(values)}")
            for value in values:
                check_positive(name, value)
        check_positive_int("modulus", self.modulus, minimum=3)
        if not 0.0 < self.train_fraction < 1.0:
            raise LayerwiseError(f"train_fraction must be in (0, 1), got {self.train_fraction!r}")


# ------------------------------------------------------------------------------------------------ 1. solvable toy
def _toy_init(key, runs: int, width: int, z: float, sigma0=None, mirrored=True):
    """(a, b) of ``runs`` toys with Gaussian units, rescaled so Sigma0 = ``sigma0`` exactly (if given).

    ``mirrored``: the second half of the units copy the first half's ``a`` and negate its ``b`` (zero initial
    output, S0 = 0, as the authors' ``get_lambda_unbalanced``); else every unit is drawn independently (S0 != 0).
    """
    key_a, key_b = jax.random.split(key)
    a = np.array(jax.random.normal(key_a, (runs, width)))
    b = np.array(jax.random.normal(key_b, (runs, width)))
    if mirrored:
        half = width // 2
        a[:, half:], b[:, half:] = a[:, :half], -b[:, :half]
    if sigma0 is not None:
        factor = np.sqrt(np.asarray(sigma0) / (np.sum(a**2 + b**2, axis=1) / (2 * z)))
        a, b = a * factor[:, None], b * factor[:, None]
    return a, b


def _u_norm(model, params, task=None):
    """``||a + b||^2`` over hidden units (W1 is (p, 1), W2 is (1, p))."""
    return jnp.sum((params[0][:, 0] + params[1][0]) ** 2)


def _v_norm(model, params, task=None):
    return jnp.sum((params[0][:, 0] - params[1][0]) ** 2)


def _toy_flow(a, b, s, z: float, duration: float):
    """Exact gradient flow of R toys (one target S per run).

    Returns ``(u_growth, v_shrink, gamma, ratio, s0_ratio, trajectory, trajectory_theory, times)``: the simulated
    ``|u(T)|^2/|u(0)|^2`` and ``|v(T)|^2/|v(0)|^2``, `theory.grokking_gamma` of each run's own ``(Sigma0, S0, S)``,
    ``Sigma0/S``, ``S0/S``, and ``g(t)^2`` (R, times) simulated and from `theory.grokking_rescaling`."""
    runs, width = a.shape
    model = DeepLinearNetwork((1, width, 1), output_scale=1.0 / z)
    s = np.asarray(s, dtype=float)
    tasks = jax.vmap(lambda target: data.Task.from_statistics(jnp.ones((1, 1)), target * jnp.ones((1, 1)), target**2))(
        jnp.asarray(s))
    params = (jnp.asarray(a)[:, :, None], jnp.asarray(b)[:, None, :])
    times = np.concatenate([[0.0], np.geomspace(1e-3, duration, 40)])
    history = gradient_flow(model, params, tasks, times, observables={"u_norm": _u_norm, "v_norm": _v_norm},
                            task_batched=True).history
    sigma0, s0 = (np.asarray(v) for v in theory.grokking_statistics(a, b, z))
    trajectory = history.u_norm.values / history.u_norm.values[:, :1]
    trajectory_theory = np.asarray(theory.grokking_rescaling(times[None, :], sigma0[:, None], s0[:, None],
                                                             s[:, None], z)) ** 2
    v_shrink = history.v_norm.values[:, -1] / history.v_norm.values[:, 0]
    gamma = np.asarray(theory.grokking_gamma(sigma0, s0, s))
    return trajectory[:, -1], v_shrink, gamma, sigma0 / s, s0 / s, trajectory, trajectory_theory, times


def _toy(config: GrokkingConfig):
    """Three routes to a large weight-to-target ratio; every point is one exact gradient-flow run."""
    key = jax.random.PRNGKey(config.seed)
    ratios = np.asarray(config.toy_ratios, dtype=float)
    rows = []  # (route, ratio, S0/S, gamma_sim, v_shrink, gamma_theory, width, Z)
    curves, curves_theory = [], []

    def add(route, result, width, z):
        u_growth, v_shrink, gamma, ratio, s0_ratio, trajectory, trajectory_theory, _ = result
        for i in range(len(u_growth)):
            rows.append((route, ratio[i], s0_ratio[i], u_growth[i], v_shrink[i], gamma[i], width, z))
        curves.extend(trajectory)
        curves_theory.extend(trajectory_theory)

    # NTK parameterisation: O(1) weights, Z = sqrt(p); Sigma0 ~ sqrt(p) grows with width, S = 1.
    ntk_ratios = []
    for j, width in enumerate(config.toy_ntk_widths):
        a, b = _toy_init(jax.random.fold_in(key, 100 + j), 1, width, np.sqrt(width))
        result = _toy_flow(a, b, [1.0], np.sqrt(width), config.toy_duration)
        add("ntk width", result, width, np.sqrt(width))
        ntk_ratios.append(result[3][0])
    p = config.toy_width
    # Weight scale: S = 1, Sigma0 = ratio (zero-output init), plus independent units (S0 != 0) for the full formula.
    a, b = _toy_init(jax.random.fold_in(key, 1), len(ratios), p, 1.0, ratios)
    a_free, b_free = _toy_init(jax.random.fold_in(key, 2), len(ratios), p, 1.0, ratios, mirrored=False)
    result = _toy_flow(np.concatenate([a, a_free]), np.concatenate([b, b_free]), np.ones(2 * len(ratios)), 1.0,
                       config.toy_duration)
    add("weight scale", tuple(r[: len(ratios)] for r in result), p, 1.0)
    add("weight scale, S0 != 0", tuple(r[len(ratios):] for r in result), p, 1.0)
    # Target down-scaling: one init with Sigma0 = 1, S = 1/ratio, at the grid and at the NTK runs' ratios.
    target_ratios = np.concatenate([ratios, ntk_ratios])
    a, b = _toy_init(jax.random.fold_in(key, 3), 1, p, 1.0, [1.0])
    result = _toy_flow(np.repeat(a, len(target_ratios), 0), np.repeat(b, len(target_ratios), 0), 1.0 / target_ratios,
                       1.0, config.toy_duration)
    add("target scale", result, p, 1.0)
    route, ratio, s0_ratio, simulated, v_shrink, gamma, width, z = map(np.asarray, zip(*rows))
    return xr.Dataset(
        {"toy_gamma_simulated": ("toy_run", simulated.astype(float)),
         "toy_v_shrink_simulated": ("toy_run", v_shrink.astype(float)),
         "toy_gamma_theory": ("toy_run", gamma.astype(float)),
         "toy_growth_simulated": (("toy_run", "toy_time"), np.asarray(curves)),
         "toy_growth_theory": (("toy_run", "toy_time"), np.asarray(curves_theory))},
        coords={"toy_run": np.arange(len(rows)), "toy_time": result[-1], "toy_route": ("toy_run", route.astype(str)),
                "toy_ratio": ("toy_run", ratio.astype(float)), "toy_s0_ratio": ("toy_run", s0_ratio.astype(float)),
                "toy_width": ("toy_run", width.astype(int)), "toy_z": ("toy_run", z.astype(float))})


# ------------------------------------------------------------------------------------------------- 2. Fig. 11 MLP
class _InputScaledMLP(Model):
    r"""``f(x) = c_out * MLP(c_in * x)``: the Fig. 11 MLP with its input multiplier ``c_in`` (panel d) as a
    hyperparameter leaf beside the MLP's ``output_scale`` ``c_out`` (panel e), so the five panels, each with its
    own multipliers, train in ONE vmapped `train` call (``model_batched=True``)."""

    mlp: MLP
    input_scale: jax.Array = eqx.field(converter=jnp.asarray)

    in_dim = property(lambda self: self.mlp.in_dim)
    out_dim = property(lambda self: self.mlp.out_dim)
    depth = property(lambda self: self.mlp.depth)

    def apply(self, params, x):
        return self.mlp.apply(params, self.input_scale * x)

    def layers(self, params):
        return self.mlp.layers(params)

    def from_layers(self, layers):
        return self.mlp.from_layers(layers)

    def param_shapes(self):
        return self.mlp.param_shapes()

    def init(self, key, scale=1.0, *, parameterisation="fan_in", dtype=None):
        return self.mlp.init(key, scale, parameterisation=parameterisation, dtype=dtype)


def _torch_mlp_init(key, model: MLP, weight_scale, dtype):
    """The authors' init: ``W ~ N(0, (w/sqrt(fan_in))^2)`` (their ``normal_``), biases left at PyTorch's
    ``nn.Linear`` default ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (implemented here exactly)."""
    key_w, key_b = jax.random.split(key)
    weights = mlp_init(key_w, model, weight_scale, 0.0, dtype=dtype)
    params = []
    for (w, _), layer_key in zip(weights, jax.random.split(key_b, model.depth)):
        bound = 1.0 / np.sqrt(w.shape[1])
        params.append((w, jax.random.uniform(layer_key, (w.shape[0],), dtype, -bound, bound)))
    return tuple(params)


def load_images(config: GrokkingConfig):
    """``(x_train, labels_train, x_test, labels_test, source)``: MNIST if a directory is given or set in
    ``$LAYERWISE_MNIST``, else scikit-learn's digits (``source`` says which)."""
    directory = data.mnist_directory(config.mnist_path)
    if directory is not None:
        x_all, labels_all, x_test, labels_test = data.load_mnist(directory)
        order = np.random.default_rng(config.seed).permutation(len(x_all))[: config.n_train]
        return x_all[order], labels_all[order], x_test, labels_test, f"MNIST ({directory})"
    x, labels = data.load_digits()
    x_train, labels_train, x_test, labels_test = data.train_test_split(x, labels, config.n_train, config.seed)
    return x_train, labels_train, x_test, labels_test, "scikit-learn digits (8x8; no MNIST directory given)"


def log_epochs(epochs: int, num: int) -> np.ndarray:
    """0 and about ``num - 1`` log-spaced epochs from 1 to ``epochs`` (integers, increasing)."""
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, epochs, num - 1)).astype(int), [epochs]]))


def _mlp(config: GrokkingConfig):
    """Fig. 11 a-e as one vmapped Adam run; returns the accuracy histories and the data source."""
    dtype = jnp.float32
    x_train, labels_train, x_test, labels_test, source = load_images(config)
    scales = [np.asarray(getattr(config, name), dtype=float)
              for name in ("weight_scales", "target_scales", "input_scales", "output_scales")]
    weight, target, inputs, outputs = scales
    widths = (x_train.shape[1], config.mlp_width, config.mlp_width, config.mlp_width, 10)
    mlp = MLP(widths, activation="tanh", output_scale=jnp.asarray(outputs, dtype))
    model = _InputScaledMLP(mlp, jnp.asarray(inputs, dtype))
    x = jnp.broadcast_to(jnp.asarray(x_train, dtype), (len(target), *x_train.shape))
    y = jnp.stack([jnp.asarray(data.one_hot(labels_train, 10, t), dtype) for t in target])
    task = jax.vmap(data.Task.from_samples)(x, y)
    key = jax.random.PRNGKey(config.seed)
    params = jax.vmap(lambda k, w: _torch_mlp_init(k, MLP(widths, activation="tanh"), w, dtype))(
        jax.random.split(jax.random.fold_in(key, 11), len(PANELS)), jnp.asarray(weight, dtype))
    x_test, labels_test, labels_train = jnp.asarray(x_test, dtype), jnp.asarray(labels_test), jnp.asarray(labels_train)


    steps_per_epoch = -(-config.n_train // config.batch_size)
    epochs = log_epochs(config.epochs, config.record_epochs)
    history = train(model, params, task, steps=config.epochs * steps_per_epoch, optimizer="adam",
                    learning_rate=config.learning_rate, weight_decay=config.weight_decay,
                    batch_size=config.batch_size, record_steps=epochs * steps_per_epoch,
                    observables={"train_accuracy": observables.Accuracy(jnp.asarray(x_train, dtype), labels_train),
                                 "test_accuracy": observables.Accuracy(x_test, labels_test)},
                    loss="mean_squared_error", key=jax.random.fold_in(key, 12), task_batched=True,
                    model_batched=True, on_divergence="mark").history
    return epochs, history, source


# ------------------------------------------------------------------------------------------- 3. modular addition
def _modular(config: GrokkingConfig):
    """Baseline and the four levers, one vmapped full-batch AdamW run (steps = epochs)."""
    dtype = jnp.float32
    p = config.modulus
    tokens_train, labels_train, tokens_test, labels_test = modular_addition(p, config.train_fraction, config.seed)
    model = EmbeddingMLP(vocab_size=p, context=2, width=config.modular_width, out_dim=p, activation="square")
    w, r = config.modular_weight_scale, config.imbalance
    settings = {  # run: (weight scale, layer ratio, target scale)
        "baseline": (w, 1.0, 1.0),
        "small init": (config.small_init_scale, 1.0, 1.0),
        "large target": (w, 1.0, config.large_target_scale),
        "upstream": (w, 1.0 / r, 1.0),
        "downstream": (w, r, 1.0),
    }
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 21)
    params = [embedding_mlp_init(key, model, scale, ratio, dtype=dtype) for scale, ratio, _ in settings.values()]
    params = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *params)
    tasks = [modular_addition_task(tokens_train, labels_train, p, target, dtype) for _, _, target in settings.values()]
    task = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *tasks)
    tokens_test, labels_test, labels_train = map(jnp.asarray, (tokens_test, labels_test, labels_train))

    def train_accuracy(model, params, task):
        return data.accuracy(model.apply(params, task.x), labels_train)

    def test_accuracy(model, params, task):
        return data.accuracy(model.apply(params, tokens_test), labels_test)

    steps = log_epochs(config.modular_steps, config.record_epochs)
    history = train(model, params, task, steps=config.modular_steps, optimizer="adamw",
                    learning_rate=config.modular_learning_rate, weight_decay=config.modular_weight_decay,
                    record_steps=steps, observables={"train_accuracy": train_accuracy, "test_accuracy": test_accuracy},
                    loss="mean_squared_error", task_batched=True, on_divergence="mark").history
    return steps, history, settings


# ------------------------------------------------------------------------------------------------------------ run
def run(config: GrokkingConfig, progress: Progress) -> Outcome:
    toy = _toy(config)
    progress("solvable toy: gamma_+ over the weight-to-target ratio")
    mlp_epochs, mlp, source = _mlp(config)
    progress("Fig. 11 a-e: tanh MLP on images")
    modular_steps, modular, settings = _modular(config)
    progress("modular addition")

    checks: list[Check] = []
    # 1. the toy.
    relative = np.abs(toy.toy_gamma_simulated.values / toy.toy_gamma_theory.values - 1)
    checks.append(check_below(
        "gamma_plus_matches_simulation", "the final/initial squared norm of u = a + b under exact gradient flow equals "
        "gamma_+ = (S + sqrt(Sigma0^2 - S0^2 + S^2))/(Sigma0 + S0) for every run of the three sweeps (max relative "
        "error)", np.max(relative), 1e-6))
    checks.append(compare(toy.toy_growth_theory, toy.toy_growth_simulated, rtol=1e-6, time_dim="toy_time",
                          name="rescaling_trajectory_matches_theory").to_check(
        "the whole trajectory g(t)^2 = |u(t)|^2/|u(0)|^2 follows the closed form of theory.grokking_rescaling for "
        "every run (max relative error over runs and times)"))
    common = np.abs(toy.toy_gamma_simulated.values * toy.toy_v_shrink_simulated.values - 1)
    checks.append(check_below(
        "v_shrinks_by_the_same_factor", "v = a - b shrinks by exactly the factor u grows: |u(T)|^2 |v(T)|^2 / "
        "(|u(0)|^2 |v(0)|^2) = 1 (max deviation)", np.max(common), 1e-6))
    weight = toy.where(toy.toy_route == "weight scale", drop=True)
    ratio, gamma = weight.toy_ratio.values, weight.toy_gamma_simulated.values
    lazy = abs(gamma[np.argmax(ratio)] / (1 + 1 / ratio.max()) - 1)
    rich = abs(gamma[np.argmin(ratio)] / (2 / ratio.min()) - 1)
    checks.append(check_below(
        "lazy_and_rich_limits", f"S0 = 0: gamma_+ -> 1 + S/Sigma0 (lazy) at Sigma0/S = {ratio.max():g} and "
        f"gamma_+ -> 2S/Sigma0 (rich) at Sigma0/S = {ratio.min():g} (max relative deviation of the simulation)",
        max(lazy, rich), 1e-3))
    ntk = toy.where(toy.toy_route == "ntk width", drop=True)
    target = toy.where(toy.toy_route == "target scale", drop=True)
    matched = np.array([target.toy_gamma_simulated.values[np.argmin(np.abs(target.toy_ratio.values - q))]
                        for q in ntk.toy_ratio.values])
    ntk_gamma = ntk.toy_gamma_simulated.values
    checks.append(check_below(
        "ntk_equals_target_downscaling", "an NTK-parameterised toy (Z = sqrt(p), O(1) weights) ends with the same "
        "gamma_+ as a Z = 1 toy whose target is scaled down to the same Sigma0/S (max relative difference)",
        np.max(np.abs(ntk_gamma / matched - 1)), 1e-6))
    checks.append(Check(
        "ntk_width_makes_lazy", "in NTK parameterisation gamma_+ decreases with width towards 1 (lazy): decreasing, "
        "and gamma_+ - 1 <= 0.05 at the largest width", [float(g) for g in ntk_gamma], "decreasing, last <= 1.05",
        bool(np.all(np.diff(ntk_gamma) < 0) and ntk_gamma[-1] <= 1.05)))

    # 2. Fig. 11.
    train_epoch, test_epoch = metrics.grokking_epochs(mlp_epochs, mlp.train_accuracy.values, mlp.test_accuracy.values)
    mlp_delay = test_epoch - train_epoch
    checks.append(check_above(
        "fig11a_groks", f"panel a (w 5, target 3) groks on {source.split(' (')[0]}: the test accuracy reaches 90% of "
        "its final value at least as many epochs after the train accuracy reaches 99% as that took (delay / "
        "memorisation epoch)", mlp_delay[0] / train_epoch[0], 1.0))
    others = np.nanmax(np.where(np.isnan(mlp_delay[1:]), np.inf, np.maximum(mlp_delay[1:], 0)))
    ratio = others / mlp_delay[0] if mlp_delay[0] > 0 else np.inf  # no baseline delay: nothing to be 5x below
    checks.append(check_below(
        "fig11b_to_e_no_delay", "panels b (w 1), c (target 30), d (input 0.01), e (output 0.1): every delay "
        "(negative counted as 0; never memorised = inf) is at most 1/5 of panel a's (ratio max(b..e) / a)", ratio, 0.2))

    # 3. modular addition.
    mod_train, mod_test = metrics.grokking_epochs(modular_steps, modular.train_accuracy.values,
                                                  modular.test_accuracy.values)
    mod_delay = mod_test - mod_train
    mod_final = modular.test_accuracy.values[:, -1]
    checks.append(check_above(
        "modular_groks", f"(a + b) mod {config.modulus}: the baseline reaches >= 95% test accuracy (final)",
        mod_final[0], 0.95))
    names = list(settings)
    delays = dict(zip(names, mod_delay))
    delay_list = [float(delays[n]) for n in names]
    shorter = all(delays[n] < delays["baseline"] for n in ("small init", "large target"))
    checks.append(Check(
        "modular_levers_shorten_delay", "the paper's levers: a smaller init and a larger target (lower "
        "weight-to-target ratio) each shorten the grokking delay, and all three runs grok (>= 95% test) (delays in "
        "steps: baseline, small init, large target, upstream, downstream)", delay_list,
        "small init, large target < baseline", bool(shorter and np.all(mod_final[:3] >= 0.95))))
    checks.append(Check(
        "modular_upstream_shortens_delay", f"layer imbalance (Kunin et al. 2024), r = {config.imbalance:g}: an "
        "upstream init (embeddings / r, readout x r^2: the first layer learns faster) shortens the delay and a "
        "downstream one (the reverse) lengthens it (delays in steps: baseline, small init, large target, upstream, "
        "downstream)", delay_list, "upstream < baseline < downstream",
        bool(delays["upstream"] < delays["baseline"] < delays["downstream"])))

    dataset = xr.merge([toy, xr.Dataset({
        "mlp_train_accuracy": (("panel", "mlp_epoch"), mlp.train_accuracy.values),
        "mlp_test_accuracy": (("panel", "mlp_epoch"), mlp.test_accuracy.values),
        "mlp_train_epoch": ("panel", train_epoch), "mlp_test_epoch": ("panel", test_epoch),
        "mlp_delay": ("panel", mlp_delay),
        "modular_train_accuracy": (("modular_run", "modular_step"), modular.train_accuracy.values),
        "modular_test_accuracy": (("modular_run", "modular_step"), modular.test_accuracy.values),
        "modular_train_step": ("modular_run", mod_train), "modular_test_step": ("modular_run", mod_test),
        "modular_delay": ("modular_run", mod_delay),
    }, coords={
        "panel": list(PANELS), "mlp_epoch": mlp_epochs,
        "weight_scale": ("panel", list(config.weight_scales)), "target_scale": ("panel", list(config.target_scales)),
        "input_scale": ("panel", list(config.input_scales)), "output_scale": ("panel", list(config.output_scales)),
        "modular_run": names, "modular_step": modular_steps,
        "modular_weight_scale": ("modular_run", [v[0] for v in settings.values()]),
        "modular_layer_ratio": ("modular_run", [v[1] for v in settings.values()]),
        "modular_target_scale": ("modular_run", [v[2] for v in settings.values()]),
    })])
    dataset.attrs.update({
        "description": "Grokking and the weight-to-target ratio (Nam et al. 2025, §7): solvable toy, Fig. 11 MLP, "
                       "modular addition",
        "data_source": f"Fig. 11 MLP: {source}; toy and modular addition: generated",
        "mlp": f"tanh MLP d-{config.mlp_width}-{config.mlp_width}-{config.mlp_width}-10, {config.n_train} train "
               f"images, {config.epochs} epochs, Adam lr {config.learning_rate:g} coupled wd {config.weight_decay:g}, "
               f"batch {config.batch_size}, float32",
        "modular": f"p = {config.modulus}, train fraction {config.train_fraction:g}, EmbeddingMLP width "
                   f"{config.modular_width} (square activation), AdamW lr {config.modular_learning_rate:g} wd "
                   f"{config.modular_weight_decay:g}, {config.modular_steps} full-batch steps, float32",
    })
    figure = _figure(config, toy, mlp_epochs, mlp, mlp_delay, train_epoch, test_epoch, source, modular_steps,
                     modular, mod_delay, mod_train, mod_test, names)
    return Outcome(dataset, checks, {"grokking": figure})


# --------------------------------------------------------------------------------------------------------- figure
def _figure(config, toy, mlp_epochs, mlp, mlp_delay, train_epoch, test_epoch, source, modular_steps, modular,
            mod_delay, mod_train, mod_test, names):
    fig = plt.figure(figsize=(17, 11), constrained_layout=True)
    grid = fig.add_gridspec(3, 5)
    theory_style, nonlinear = MODEL_STYLE["theory"], MODEL_STYLE["nonlinear"]

    ax = fig.add_subplot(grid[0, :2])
    ratios = np.geomspace(toy.toy_ratio.values.min() / 2, toy.toy_ratio.values.max() * 2, 200)
    ax.plot(ratios, theory.grokking_gamma(ratios, 0.0, 1.0), color="k", label="$\\gamma_+$ theory ($\\mathcal{S}_0=0$)",
            **theory_style)
    ax.plot(ratios, 1 + 1 / ratios, color="0.5", lw=0.8, label="lazy limit $1+S/\\Sigma_0$")
    ax.plot(ratios, 2 / ratios, color="0.5", lw=0.8, ls="-.", label="rich limit $2S/\\Sigma_0$")
    markers = {"weight scale": "o", "target scale": "s", "ntk width": "D", "weight scale, S0 != 0": "x"}
    colors = dict(zip(markers, mode_colors(4)))
    for route, marker in markers.items():
        part = toy.where(toy.toy_route == route, drop=True)
        label = {"ntk width": "NTK $Z=\\sqrt{p}$, $p$ = " + ", ".join(str(int(w)) for w in part.toy_width.values),
                 "weight scale, S0 != 0": "weight scale, $\\mathcal{S}_0\\neq0$ (theory: own $\\mathcal{S}_0$)"}.get(
            route, route)
        ax.plot(part.toy_ratio.values, part.toy_gamma_simulated.values, marker, color=colors[route], mfc="none",
                ms=8, label=label)
    ax.set(xscale="log", yscale="log", xlabel="weight-to-target ratio $\\Sigma_0/S$",
           ylabel="$\\|u(\\infty)\\|^2/\\|u(0)\\|^2$",
           title="1. solvable toy: feature growth $\\gamma_+$ (exact-flow markers, theory line)")
    ax.legend(fontsize=7)

    ax = fig.add_subplot(grid[0, 2:4])
    part = toy.where(toy.toy_route == "weight scale", drop=True)
    times = toy.toy_time.values
    ratio_colors = mode_colors(part.sizes["toy_run"], "viridis")
    for j in range(part.sizes["toy_run"]):
        ax.plot(times[1:], part.toy_growth_theory.values[j, 1:], color=ratio_colors[j], **theory_style)
        ax.plot(times[1:], part.toy_growth_simulated.values[j, 1:], color=ratio_colors[j], **MODEL_STYLE["linear"],
                label=f"$\\Sigma_0/S$ = {part.toy_ratio.values[j]:g}")
    rel = np.max(np.abs(toy.toy_growth_simulated.values / toy.toy_growth_theory.values - 1))
    ax.set(xscale="log", yscale="log", xlabel="time $t$ (gradient flow, $S$ = 1, $Z$ = 1)",
           ylabel="$g(t)^2 = \\|u(t)\\|^2/\\|u(0)\\|^2$",
           title=f"feature growth over time (weight-scale sweep); all runs: max rel. error {rel:.1e}")
    ax.legend(fontsize=7, ncol=2)

    ax = fig.add_subplot(grid[0, 4])
    labels = [f"11{p}" for p in PANELS] + [n.replace(" ", "\n") for n in names]
    values = np.concatenate([mlp_delay, mod_delay])
    ax.barh(np.arange(len(values)), np.maximum(np.nan_to_num(values, nan=0.0), 0),
            color=["C3"] + ["C0"] * 4 + ["C3"] + ["C0"] * 4)
    ax.set_yticks(np.arange(len(values)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="grokking delay (epochs; modular: steps), < 0 shown as 0", title="delays")

    panel_titles = {"a": "w 5, target 3", "b": "w 1", "c": "target 30", "d": "input x0.01", "e": "output x0.1"}
    for j, panel in enumerate(PANELS):
        ax = fig.add_subplot(grid[1, j])
        _accuracy_panel(ax, mlp_epochs, mlp.train_accuracy.values[j], mlp.test_accuracy.values[j], train_epoch[j],
                        test_epoch[j], nonlinear)
        ax.set(xlabel="epoch (log; 0 at 0.5)", title=f"2{panel}. {panel_titles[panel]}: delay {mlp_delay[j]:g}")
        if j == 0:
            ax.set_ylabel(f"accuracy ({source.split(' (')[0]})")
            ax.legend(fontsize=8, loc="lower right")

    for j, name in enumerate(names):
        ax = fig.add_subplot(grid[2, j])
        _accuracy_panel(ax, modular_steps, modular.train_accuracy.values[j], modular.test_accuracy.values[j],
                        mod_train[j], mod_test[j], nonlinear)
        ax.set(xlabel="step = epoch (log)", title=f"3. {name}: delay {mod_delay[j]:g}")
        if j == 0:
            ax.set_ylabel(f"accuracy, (a+b) mod {config.modulus}")
            ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Grokking and the weight-to-target ratio — theory solid, exact flow markers, nonlinear networks "
                 f"dotted (Fig. 11 MLP width {config.mlp_width}, {config.epochs} epochs; modular width "
                 f"{config.modular_width})", fontsize=12)
    return fig


def _accuracy_panel(ax, epochs, train_accuracy, test_accuracy, train_epoch, test_epoch, style) -> None:
    """Train and test accuracy on a log axis (epoch 0 drawn at 0.5), with a vertical line at each threshold epoch."""
    epochs = np.maximum(epochs, 0.5)
    ax.plot(epochs, train_accuracy, color="C0", label="train", **style)
    ax.plot(epochs, test_accuracy, color="C1", label="test", **style)
    for value, color in ((train_epoch, "C0"), (test_epoch, "C1")):
        if np.isfinite(value):
            ax.axvline(max(value, 0.5), color=color, lw=0.8, alpha=0.6)
    ax.set(xscale="log", ylim=(0, 1.05))


def _units(config: GrokkingConfig) -> int:
    return 3


EXPERIMENT = Experiment(
    name="grokking",
    description="Grokking and the weight-to-target ratio: gamma_+ toy, the authors' Fig. 11 MLP, modular addition",
    config_type=GrokkingConfig,
    quick={"mlp_width": 128, "epochs": 2000, "toy_ntk_widths": (4, 64, 1024), "modulus": 31, "train_fraction": 0.5,
           "modular_width": 128, "modular_steps": 5000},
    run=run,
    units=_units,
)
