r"""Experiment ``neural-collapse``: greedy low-rank dynamics in linear models and collapse in a real network
(Nam et al. 2025, §5; theory.md §8).

Linear part: the unconstrained-features model (UFM) *is* a two-layer linear network with whitened one-hot inputs
``x_i = sqrt(N) e_i`` (so ``Sigma_xx = I``; features ``h_i = W_1 x_i``, classifier ``W = W_2``), trained with the half
squared error on one-hot targets. Its end-to-end map learns the singular modes of ``Sigma_yx`` (``s_c = sqrt(n_c/N)``
for class sizes ``n_c``) with Saxe sigmoids, so

1. *greedy low rank*: the feature singular values ``sigma_c(H) = sqrt(N u_c(t))`` follow ``theory.saxe_mode``
   (aligned balanced init: exactly), larger classes first; the other directions stay at the init scale;
2. *geometry*: without bias the class means and classifier rows reach an orthogonal frame (OF), with a classifier
   bias the centred means reach a simplex ETF; the residual distances and tr(Sigma_W)/tr(Sigma_B) scale as the
   init variance ``sigma_0^2`` (conserved within-class scatter and layer imbalance, theory.md §8.8);
3. *weight decay* ``wd`` on both layers: gradient flow converges to the closed-form minimiser (singular-value
   soft-thresholding, ``W H = rho Y`` with ``rho = 1 - wd sqrt(C)``, ``W W^T = rho/sqrt(C) I``); the within-class
   scatter inside the class-mean span decays at ``2 (rho/sqrt(C) + wd)`` (NC1) and outside it at ``2 wd``
   (trace ratio).

Nonlinear part: a ReLU MLP (3 hidden layers) trained with MSE on one-hot targets (Adam, weight decay, one 10x
learning-rate drop) on scikit-learn's digits and on MNIST-1D (or real MNIST when IDX files are found): NC1-NC4 over
training, train/test accuracy, and the penultimate features' singular values (rank C-1 after centring).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from layerwise import data, init, metrics, theory
from layerwise.compare import compare
from layerwise.errors import LayerwiseError, check_positive, check_positive_int
from layerwise.experiments.base import Experiment, Outcome, Progress
from layerwise.metrics import neural_collapse as nc
from layerwise.models import MLP, DeepLinearNetwork, mlp_init
from layerwise.report.checks import Check, check_above, check_below
from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.engine import gradient_flow, log_record_steps, train


@dataclasses.dataclass(frozen=True)
class NeuralCollapseConfig:
    """Settings of the ``neural-collapse`` experiment (defaults: the full run)."""

    seed: int = 0
    """Seeds every random draw (inits, data split, MNIST-1D generation uses ``mnist1d_seed``)."""
    greedy_class_sizes: tuple[int, ...] = (32, 16, 8, 4)
    """Class sizes n_c of the greedy-dynamics UFM (distinct, so the modes s_c = sqrt(n_c/N) are learned in order)."""
    greedy_init: float = 1e-4
    """Initial mode strength u0 of the aligned balanced init (greedy panel)."""
    classes: int = 4
    """Classes C of the balanced geometry and weight-decay UFMs."""
    samples_per_class: int = 16
    feature_dim: int = 16
    """Feature dimension d (hidden width of the two-layer linear net)."""
    init_scales: tuple[float, ...] = (1e-2, 3e-3, 1e-3)
    """Std sigma_0 of the i.i.d. Gaussian init of both layers (geometry panel; random init of the greedy panel uses
    the middle one)."""
    linear_learning_rate: float = 0.05
    linear_duration: float = 40.0
    """Gradient-flow time of the linear GD runs (t = lr * step)."""
    weight_decay: float = 0.05
    """Weight decay of the UFM gradient flow (on both layers)."""
    weight_decay_duration: float = 60.0
    width: int = 256
    """Hidden width of the MLP (3 hidden ReLU layers)."""
    n_train: int = 1000
    """Training samples per data set (a seeded subset); the test set is the rest (at most 2000)."""
    mlp_steps: int = 4000
    """Full-batch Adam steps; the learning rate drops 10x after half of them."""
    mlp_learning_rate: float = 2e-3
    mlp_weight_decays: tuple[float, ...] = (3e-4, 1e-3)
    """Coupled L2 weight decay of Adam (PyTorch ``Adam(weight_decay=...)``) for digits and for MNIST-1D/MNIST (the
    noisier MNIST-1D needs the larger one to collapse within the step budget)."""
    mnist1d_samples: int = 5000
    mnist1d_seed: int = 42
    mnist_path: str | None = None
    """Directory of the real MNIST IDX files; falls back to ``$LAYERWISE_MNIST``, then to MNIST-1D."""

    def __post_init__(self):
        check_positive_int("seed", self.seed, minimum=0)
        check_positive_int("mnist1d_seed", self.mnist1d_seed, minimum=0)
        check_positive_int("classes", self.classes, minimum=2)
        check_positive_int("samples_per_class", self.samples_per_class, minimum=2)
        check_positive_int("feature_dim", self.feature_dim, minimum=self.classes)
        check_positive_int("width", self.width, minimum=10)
        check_positive_int("n_train", self.n_train, minimum=50)
        check_positive_int("mlp_steps", self.mlp_steps, minimum=20)
        check_positive_int("mnist1d_samples", self.mnist1d_samples, minimum=self.n_train + 100)
        for name in ("greedy_init", "linear_learning_rate", "linear_duration", "weight_decay",
                     "weight_decay_duration", "mlp_learning_rate"):
            check_positive(name, getattr(self, name))
        if len(self.mlp_weight_decays) != 2:
            raise LayerwiseError("mlp_weight_decays must hold 2 values (digits, MNIST-1D/MNIST)")
        for value in self.mlp_weight_decays:
            check_positive("mlp_weight_decays", value, allow_zero=True)
        if len(self.greedy_class_sizes) < 2 or len(set(self.greedy_class_sizes)) != len(self.greedy_class_sizes):
            raise LayerwiseError("greedy_class_sizes must hold at least 2 distinct class sizes")
        for size in self.greedy_class_sizes:
            check_positive_int("greedy_class_sizes", size, minimum=1)
        if len(self.init_scales) < 2:
            raise LayerwiseError("init_scales must hold at least 2 scales (the sigma_0^2 law is a fitted slope)")
        for scale in self.init_scales:
            check_positive("init_scales", scale)
        if self.weight_decay * np.sqrt(self.classes) >= 1:
            raise LayerwiseError("weight_decay must be < 1/sqrt(classes) (else the UFM minimiser is 0)")
        if self.greedy_init >= np.sqrt(min(self.greedy_class_sizes) / sum(self.greedy_class_sizes)):
            raise LayerwiseError("greedy_init must be smaller than the smallest mode strength sqrt(n_c/N)")


# ------------------------------------------------------------------------------------------------ the linear UFM
def ufm_minimiser(classes: int, weight_decay: float) -> tuple[float, float]:
    r"""Closed-form minimiser of the bias-free MSE-UFM as a two-layer linear net with whitened one-hot inputs.

    Objective ``1/(2N) ||W_2 W_1 X^T - Y||_F^2 + wd/2 (||W_1||^2 + ||W_2||^2)`` with ``X = sqrt(N) I``, balanced
    classes. In UFM terms ``H = sqrt(N) W_1``, ``lambda_W = wd``, ``lambda_H = wd/N``; singular-value
    soft-thresholding (theory.md §8.6, Tirer & Bruna 2022; Zhou et al. 2022) gives ``W H = rho Y`` with
    ``rho = (1 - C sqrt(n lambda_W lambda_H))_+ = (1 - wd sqrt(C))_+`` and ``W W^T = rho/sqrt(C) I_C`` (an
    orthogonal frame), at objective ``(1 - rho)^2 / 2 + wd sqrt(C) rho``.

    Returns:
        ``(rho, minimum objective)``.
    """
    # theory.ufm_collapse_factor in UFM units (lambda_W = wd, lambda_H = wd/N; rho does not depend on n).
    rho = float(theory.ufm_collapse_factor(1, classes, weight_decay, weight_decay / classes))
    return rho, 0.5 * (1 - rho) ** 2 + weight_decay * np.sqrt(classes) * rho


def _ufm_task(class_sizes) -> tuple[data.Task, np.ndarray]:
    """Whitened one-hot inputs ``x_i = sqrt(N) e_i`` (Sigma_xx = I) and one-hot targets, samples sorted by class."""
    labels = np.repeat(np.arange(len(class_sizes)), class_sizes)
    n = len(labels)
    task = data.Task.from_samples(jnp.sqrt(float(n)) * jnp.eye(n), jnp.asarray(data.one_hot(labels, len(class_sizes))))
    return task, labels


def _feature_singular_values(model, params, task):
    return jnp.linalg.svd(task.x @ params[0].T, compute_uv=False)


def _centred_singular_values(model, params, task):
    features = task.x @ params[0].T
    return jnp.linalg.svd(features - jnp.mean(features, axis=0), compute_uv=False)


def _within_class_observable(labels):
    classes = int(np.max(labels)) + 1
    labels = jnp.asarray(labels)

    def observe(model, params, task):
        features = task.x @ params[0].T
        return jnp.linalg.norm(features - nc.class_means(features, labels, classes)[labels])

    return observe


def _greedy_panel(config: NeuralCollapseConfig):
    """Imbalanced UFM: aligned balanced init (exact Saxe modes) and a small random init, one vmapped flow."""
    sizes = np.asarray(config.greedy_class_sizes)
    task, labels = _ufm_task(sizes)
    n, classes = int(sizes.sum()), len(sizes)
    model = DeepLinearNetwork((n, config.feature_dim, classes))
    left, s, right = metrics.task_modes(task)
    key_aligned, key_random = jax.random.split(jax.random.PRNGKey(config.seed))
    aligned = init.balanced_aligned_init(key_aligned, model, config.greedy_init, left, right)
    random = init.gaussian_init(key_random, model, float(np.median(config.init_scales)))
    params = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), aligned, random)
    # Exact gradient flow: the Saxe closed form is compared without a learning-rate error.
    times = np.linspace(0.0, config.linear_duration, 201)
    history = gradient_flow(model, params, task, times, rtol=1e-8, atol=1e-12,
                            observables={"feature_sv": (_feature_singular_values, ("component",)),
                                  "centred_sv": (_centred_singular_values, ("component",)),
                                  "within_class_norm": _within_class_observable(labels),
                                  "mode": (metrics.mode_strength_observable(left, right), ("class",))},
                            coords={"greedy_init_kind": np.array([0, 1])}).history
    return np.asarray(s), n, history


def _geometry_observable(labels, classes, with_bias):
    labels = jnp.asarray(labels)

    def observe(model, params, task):
        if with_bias:
            features, (classifier, bias) = model.features(params, task.x), params[-1]
        else:
            features, classifier, bias = task.x @ params[0].T, params[1], None
        return nc.nc_vector(features, labels, classifier, bias, classes)

    return observe


def _geometry_panel(config: NeuralCollapseConfig):
    """Balanced UFM from i.i.d. N(0, sigma_0^2) inits: bias-free (DeepLinearNetwork) and with biases (linear MLP)."""
    task, labels = _ufm_task([config.samples_per_class] * config.classes)
    n = len(labels)
    widths = (n, config.feature_dim, config.classes)
    scales = jnp.asarray(config.init_scales)
    # One init direction, rescaled: the sigma_0^2 law is then a property of the dynamics, not of the draws.
    keys = jnp.broadcast_to(jax.random.PRNGKey(config.seed + 1), (len(config.init_scales), 2))
    steps = int(round(config.linear_duration / config.linear_learning_rate))
    record = np.unique(np.linspace(0, steps, 201).astype(int))
    histories = {}
    for with_bias in (False, True):
        if with_bias:
            model = MLP(widths, "linear", bias=True)
            params = jax.vmap(lambda k, s: mlp_init(k, model, s, 0.0, parameterisation="standard"))(keys, scales)
        else:
            model = DeepLinearNetwork(widths)
            params = jax.vmap(lambda k, s: init.gaussian_init(k, model, s))(keys, scales)
        histories[with_bias] = train(
            model, params, task, steps=steps, learning_rate=config.linear_learning_rate, record_steps=record,
            observables={"nc": (_geometry_observable(labels, config.classes, with_bias), ("nc_metric",))},
            coords={"init_scale": np.asarray(config.init_scales)}).history
    return histories


def _weight_decay_panel(config: NeuralCollapseConfig):
    """Bias-free balanced UFM under exact gradient flow with weight decay, from the smallest init scale."""
    task, labels = _ufm_task([config.samples_per_class] * config.classes)
    n = len(labels)
    model = DeepLinearNetwork((n, config.feature_dim, config.classes))
    params = jax.tree_util.tree_map(lambda w: w[None], init.gaussian_init(
        jax.random.PRNGKey(config.seed + 2), model, min(config.init_scales)))
    times = np.linspace(0.0, config.weight_decay_duration, 321)
    observables = {"nc": (_geometry_observable(labels, config.classes, False), ("nc_metric",)),
                   "classifier_gram": (lambda m, p, t: jnp.linalg.eigvalsh(p[1] @ p[1].T), ("class",)),
                   "outputs": (lambda m, p, t: m.apply(p, t.x), ("sample", "class"))}
    result = gradient_flow(model, params, task, times, weight_decay=config.weight_decay, observables=observables,
                           rtol=1e-9, atol=1e-12)
    objective = result.history.loss.isel(run=0).values[-1] + 0.5 * config.weight_decay * sum(
        float(jnp.sum(w**2)) for w in result.params)
    return labels, result.history.isel(run=0), objective


# --------------------------------------------------------------------------------------------- the nonlinear MLP
def _datasets(config: NeuralCollapseConfig):
    """(name, x_train, y_train, x_test, y_test) for digits and for MNIST (if found) or MNIST-1D; inputs standardised
    with the training statistics."""
    x, labels = data.load_digits()
    sets = [("digits", *data.train_test_split(x, labels, config.n_train, config.seed, n_test=2000))]
    directory = data.mnist_directory(config.mnist_path)
    if directory is not None:
        x_train, y_train, x_test, y_test = data.load_mnist(directory)
        rng = np.random.default_rng(config.seed)
        train_index = rng.choice(len(x_train), config.n_train, replace=False)
        test_index = rng.choice(len(x_test), min(2000, len(x_test)), replace=False)
        sets.append(("mnist", x_train[train_index], y_train[train_index], x_test[test_index], y_test[test_index]))
    else:
        x_train, y_train, x_test, y_test = data.make_mnist1d(config.mnist1d_samples, config.mnist1d_seed)
        x_all, y_all = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
        sets.append(("mnist1d", *data.train_test_split(x_all, y_all, config.n_train, config.seed, n_test=2000)))
    standardised = []
    for name, x_train, y_train, x_test, y_test in sets:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 0.1
        standardised.append((name, (x_train - mean) / std, y_train, (x_test - mean) / std, y_test))
    return standardised


def _mlp_run(config: NeuralCollapseConfig, x_train, y_train, x_test, y_test, weight_decay: float):
    """One MLP, two Adam phases (lr, then lr/10), NC metrics recorded on log-spaced steps."""
    classes = 10
    dtype = jnp.float32
    task = data.classification_task(x_train, y_train, classes, dtype=dtype)
    model = MLP((x_train.shape[1], config.width, config.width, config.width, classes), "relu")
    params = jax.tree_util.tree_map(lambda w: w[None], mlp_init(jax.random.PRNGKey(config.seed + 3), model, 1.0,
                                                                 dtype=dtype))
    labels, test_x, test_labels = jnp.asarray(y_train), jnp.asarray(x_test, dtype), jnp.asarray(y_test)
    components = min(2 * classes, config.width, len(y_train))

    def observe_nc(model, params, task):
        classifier, bias = params[-1]
        return nc.nc_vector(model.features(params, task.x), labels, model.output_scale * classifier,
                            model.output_scale * bias, classes)

    def observe_sv(model, params, task):
        features = model.features(params, task.x)
        return jnp.linalg.svd(features - jnp.mean(features, axis=0), compute_uv=False)[:components]

    observables = {
        "nc": (observe_nc, ("nc_metric",)),
        "train_accuracy": lambda m, p, t: data.accuracy(m.apply(p, t.x), labels),
        "test_accuracy": lambda m, p, t: data.accuracy(m.apply(p, test_x), test_labels),
        "feature_sv": (observe_sv, ("component",)),
    }
    first = config.mlp_steps // 2
    record = log_record_steps(config.mlp_steps, 60)
    parts = []
    for phase, (start, stop, lr) in enumerate(((0, first, config.mlp_learning_rate),
                                               (first, config.mlp_steps, config.mlp_learning_rate / 10))):
        steps = record[(record > start) & (record <= stop)] - start
        steps = np.concatenate([[0], steps]) if phase == 0 else steps
        result = train(model, params, task, steps=stop - start, optimizer="adam", learning_rate=lr,
                       weight_decay=weight_decay, record_steps=steps, observables=observables)
        params = result.params
        history = result.history.isel(run=0).drop_vars(["run", "learning_rate", "status", "stopped_at"])
        parts.append(history.assign_coords(step=history.step.values + start))
    return xr.concat(parts, dim="step", data_vars="all")


# ------------------------------------------------------------------------------------------------------- the run
def _metric(array, name):
    """One NC metric (by name) from an array whose last axis follows `NC_METRICS`."""
    return np.asarray(array)[..., nc.NC_METRICS.index(name)]


def _log_slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _decay_rate(times, values, low, high) -> float:
    """Fitted exponential decay rate of ``values`` over the times where ``low < values < high``."""
    window = (values > low) & (values < high)
    if window.sum() < 5:
        return float("nan")
    return float(-np.polyfit(times[window], np.log(values[window]), 1)[0])


def run(config: NeuralCollapseConfig, progress: Progress) -> Outcome:
    s, n_greedy, greedy = _greedy_panel(config)
    progress("greedy low-rank dynamics (linear UFM)")
    geometry = _geometry_panel(config)
    progress("OF / ETF geometry (linear UFM)")
    wd_labels, wd, wd_objective = _weight_decay_panel(config)
    progress("weight decay: closed-form minimiser")
    mlp = {}
    for (name, *arrays), weight_decay in zip(_datasets(config), config.mlp_weight_decays):
        mlp[name] = _mlp_run(config, *arrays, weight_decay)
        progress(f"MLP on {name}")
    return _analyse(config, s, n_greedy, greedy, geometry, wd_labels, wd, wd_objective, mlp)


def _analyse(config, s, n_greedy, greedy, geometry, wd_labels, wd, wd_objective, mlp) -> Outcome:
    checks: list[Check] = []
    classes_greedy = len(s)
    # 1. Greedy modes: aligned init follows Saxe exactly; random init learns the modes in the same order.
    t = greedy.time.values
    theory_u = np.asarray(theory.saxe_mode(t[:, None], s, config.greedy_init))  # (time, class)
    aligned_u = greedy.feature_sv.isel(run=0, component=slice(0, classes_greedy)).values ** 2 / n_greedy
    checks.append(compare(theory_u / s, aligned_u / s, rtol=0.0, atol=1e-5, times=t, name="greedy_modes_vs_saxe")
                  .to_check(f"aligned balanced init (u0 = {config.greedy_init:g}), exact gradient flow: feature "
                            "singular values sigma_c(H)^2/N follow the Saxe mode u_c(t) = saxe_mode(t, s_c = "
                            "sqrt(n_c/N), u0) at every time (max abs error of u_c/s_c)"))
    random_modes = greedy.mode.isel(run=1).values / s  # (time, class)
    half = metrics.crossing_time(t, random_modes.T, 0.5)
    order = [int(i) for i in np.argsort(half)]
    checks.append(Check(
        "greedy_order", "small random init: modes reach half their strength in decreasing order of the singular "
        "value s_c = sqrt(n_c/N) (larger classes first)", order, [int(i) for i in np.argsort(-s)],
        bool(np.all(np.isfinite(half)) and order == [int(i) for i in np.argsort(-s)])))
    half_aligned = metrics.crossing_time(t, (greedy.mode.isel(run=0).values / s).T, 0.5)
    half_theory = np.log(s / config.greedy_init - 1) / (2 * s)
    checks.append(check_below(
        "greedy_half_times", "aligned init: half-times match ln(s/u0 - 1)/(2 s) (max relative error)",
        np.max(np.abs(half_aligned - half_theory) / half_theory), 0.02))
    for variable, label, rank in (("feature_sv", "features H", classes_greedy),
                                  ("centred_sv", "centred features H - mean", classes_greedy - 1)):
        start, end = greedy[variable].isel(run=1, time=0).values, greedy[variable].isel(run=1, time=-1).values
        checks.append(check_above(
            f"{variable}_top_{rank}_learned", f"small random init: the top {rank} singular values of the {label} grow "
            "from the init scale (smallest growth factor)", np.min(end[:rank] / start[:rank]), 10.0))
        checks.append(check_below(
            f"{variable}_rest_not_learned", f"... while the others stay at the init scale (rank {rank}): max over "
            "the rest of sigma_k(end)/sigma_k(0)", np.max(end[rank:] / start[rank:]), 2.0))
    within = greedy.within_class_norm.isel(run=1).values
    checks.append(check_below(
        "within_class_scatter_non_increasing", "small random init: the within-class scatter ||H P_perp||_F never "
        "increases under the flow (theory.md §8.8: d(H P_perp)/dt = -W^T W H P_perp; max relative increment)",
        np.max(np.diff(within) / within[:-1]), 1e-8))
    # 2. Geometry: OF without bias, ETF with bias; residuals scale as sigma_0^2.
    scales = np.asarray(config.init_scales)
    free, biased = geometry[False].nc.isel(step=-1).values, geometry[True].nc.isel(step=-1).values
    smallest = int(np.argmin(scales))
    for name, claim, values in (
        ("no_bias_orthogonal_frame", "bias-free: classifier rows reach an orthogonal frame "
         "(Dang et al. 2023 distance)", _metric(free, "orthogonal_frame_distance_classifier")),
        ("no_bias_means_orthogonal_frame", "bias-free: uncentred class means reach an orthogonal frame",
         _metric(free, "orthogonal_frame_distance_means")),
        ("bias_simplex_etf", "with biases: centred class means reach a simplex ETF (Zhu et al. 2021 distance)",
         _metric(biased, "etf_distance_means")),
        ("trace_ratio", "bias-free: tr(Sigma_W)/tr(Sigma_B) -> 0", _metric(free, "nc1_trace_ratio")),
    ):
        checks.append(check_below(f"{name}_smallest_init", f"{claim}, at sigma_0 = {scales[smallest]:g}",
                                  values[smallest], 1e-2 if name == "trace_ratio" else 1e-3))
        checks.append(check_below(
            f"{name}_scales_as_init_variance", f"{claim}: the residual scales as sigma_0^2 (conserved within-class "
            "scatter / layer imbalance, theory.md §8.8): |fitted log-log slope - 2|", abs(_log_slope(scales, values) - 2),
            0.25))
    checks.append(check_below(
        "linear_nc1", "bias-free UFM: NC1 = tr(Sigma_W Sigma_B^+)/C -> 0 (largest sigma_0; the class-mean span "
        "is emptied at rate 2 s)", np.max(_metric(free, "nc1")), 1e-4))
    checks.append(check_below(
        "linear_ncc_mismatch", "linear UFM (both variants): NC4 = 0 at the end",
        max(np.max(_metric(free, "ncc_mismatch")), np.max(_metric(biased, "ncc_mismatch"))), 0.0))

    # 3. Weight decay: the closed-form minimiser and the predicted decay rates.
    rho, objective = ufm_minimiser(config.classes, config.weight_decay)
    target = rho * data.one_hot(wd_labels, config.classes)
    checks.append(check_below(
        "wd_outputs_vs_closed_form", f"gradient flow with weight decay {config.weight_decay:g} converges to "
        f"W H = rho Y, rho = 1 - wd sqrt(C) = {rho:.4f} (max abs error of the outputs)",
        np.max(np.abs(wd.outputs.isel(time=-1).values - target)), 1e-4))
    gram = wd.classifier_gram.isel(time=-1).values
    checks.append(check_below(
        "wd_classifier_orthogonal_frame", f"... with W W^T = rho/sqrt(C) I = {rho / np.sqrt(config.classes):.4f} I "
        "(max relative error of the eigenvalues)", np.max(np.abs(gram / (rho / np.sqrt(config.classes)) - 1)), 1e-4))
    checks.append(check_below(
        "wd_objective_vs_closed_form", f"... at the closed-form minimum objective {objective:.6f} (relative error)",
        abs(wd_objective / objective - 1), 1e-6))
    tw = wd.time.values
    rate_nc1 = _decay_rate(tw, _metric(wd.nc.values, "nc1"), 1e-15, 1e-7)
    rate_trace = _decay_rate(tw[tw > tw[-1] / 2], _metric(wd.nc.values[tw > tw[-1] / 2], "nc1_trace_ratio"), 0, 1)
    nc1_rate_theory = 2 * (rho / np.sqrt(config.classes) + config.weight_decay)
    checks.append(check_below(
        "wd_nc1_rate", f"with weight decay NC1 -> 0 exponentially at rate 2 (rho/sqrt(C) + wd) = {nc1_rate_theory:.4f} "
        "once the modes are learned (within-class scatter inside the class-mean span; fit over 1e-15 < NC1 < 1e-7, "
        "before a slower second-order term takes over; relative error of the fitted rate)",
        abs(rate_nc1 / nc1_rate_theory - 1), 0.05))
    checks.append(check_below(
        "wd_trace_ratio_rate", f"... and tr(Sigma_W)/tr(Sigma_B) at rate 2 wd = {2 * config.weight_decay:g} "
        "(scatter outside it; relative error of the fitted rate)", abs(rate_trace / (2 * config.weight_decay) - 1),
        0.05))

    # 4. The MLP: terminal phase of training.
    for name, history in mlp.items():
        accuracy = history.train_accuracy.values
        values = history.nc.values
        reached = np.flatnonzero(accuracy >= 1.0)
        checks.append(check_above(f"mlp_{name}_train_accuracy", f"{name}: the MLP reaches 100 % train accuracy",
                                  accuracy[-1], 1.0))
        start = int(reached[0]) if reached.size else len(accuracy) - 1
        drop = _metric(values[start], "nc1") / _metric(values[-1], "nc1")
        checks.append(check_above(
            f"mlp_{name}_nc1_drop", f"{name}: NC1 falls by >= 2 orders of magnitude from its value at the first "
            f"100 % train accuracy (step {int(history.step.values[start])}) to the end (ratio)", drop, 100.0))
        for metric, label in (("equinorm_means", "NC2 equinorm"), ("etf_distance_means", "NC2 ETF distance"),
                              ("self_duality", "NC3 self-duality")):
            ratio = _metric(values[-1], metric) / _metric(values[start], metric)
            checks.append(check_below(
                f"mlp_{name}_{metric}_trend", f"{name}: {label} of the class means shrinks over the terminal phase "
                "(final / value at 100 % train accuracy)", ratio, 0.7))
        checks.append(check_below(f"mlp_{name}_nc4", f"{name}: NC4, classifier vs nearest class centre, at the end",
                                  _metric(values[-1], "ncc_mismatch"), 0.01))
        sv = history.feature_sv.values[-1]
        checks.append(check_below(
            f"mlp_{name}_rank_c_minus_1", f"{name}: centred penultimate features are close to rank C-1 at the end "
            "(sigma_C / sigma_{C-1})", sv[9] / sv[8], 0.2))
    checks.append(Check("mlp_datasets", "data sets the MLP was trained on (real MNIST when IDX files are found)",
                        list(mlp), "digits + mnist or mnist1d", True))

    figure = _figure(config, s, n_greedy, greedy, theory_u, geometry, wd, rho, nc1_rate_theory, mlp)
    dataset = _dataset(config, s, greedy, theory_u, geometry, wd, rho, mlp)
    return Outcome(dataset, checks, {"neural_collapse": figure})


def _dataset(config, s, greedy, theory_u, geometry, wd, rho, mlp) -> xr.Dataset:
    greedy_time = greedy.time.values
    names = list(nc.NC_METRICS)
    mlp_names = list(mlp)
    first = mlp[mlp_names[0]]
    dataset = xr.Dataset(
        {
            "greedy_feature_sv": (("greedy_init_kind", "greedy_time", "greedy_component"), greedy.feature_sv.values),
            "greedy_mode_strength": (("greedy_init_kind", "greedy_time", "greedy_class"), greedy.mode.values),
            "greedy_mode_strength_theory": (("greedy_time", "greedy_class"), theory_u),
            "geometry_nc": (("bias", "init_scale", "geometry_time", "nc_metric"),
                            np.stack([geometry[False].nc.values, geometry[True].nc.values])),
            "wd_nc": (("wd_time", "nc_metric"), wd.nc.values),
            "wd_classifier_gram_eigenvalues": (("wd_time", "wd_class"), wd.classifier_gram.values),
            "mlp_nc": (("dataset", "mlp_step", "nc_metric"), np.stack([mlp[k].nc.values for k in mlp_names])),
            "mlp_loss": (("dataset", "mlp_step"), np.stack([mlp[k].loss.values for k in mlp_names])),
            "mlp_train_accuracy": (("dataset", "mlp_step"), np.stack([mlp[k].train_accuracy.values for k in mlp_names])),
            "mlp_test_accuracy": (("dataset", "mlp_step"), np.stack([mlp[k].test_accuracy.values for k in mlp_names])),
            "mlp_feature_sv": (("dataset", "mlp_step", "mlp_component"),
                               np.stack([mlp[k].feature_sv.values for k in mlp_names])),
        },
        coords={
            "greedy_init_kind": ["aligned balanced", "random gaussian"],
            "greedy_time": greedy_time,
            "greedy_class": np.arange(len(s)),
            "greedy_singular_value": ("greedy_class", s),
            "bias": [False, True],
            "init_scale": np.asarray(config.init_scales),
            "geometry_time": geometry[False].time.isel(run=0).values,
            "nc_metric": names,
            "wd_time": wd.time.values,
            "dataset": mlp_names,
            "mlp_step": first.step.values,
        },
    )
    dataset.attrs.update({
        "description": "Neural collapse: greedy low-rank dynamics of the linear UFM and NC1-NC4 of a ReLU MLP "
                       "(Nam et al. 2025, §5)",
        "mlp_datasets": ", ".join(mlp_names),
        "ufm_rho": rho,
        "nc1_convention": "tr(Sigma_W Sigma_B^+)/C (divide by C; the Papyan colab omits it)",
    })
    return dataset


METRIC_STYLE = {"nc1": ("NC1", "C0"), "etf_distance_means": ("NC2 (ETF dist.)", "C1"),
                "equinorm_means": ("NC2 (equinorm)", "C4"), "self_duality": ("NC3", "C2"),
                "ncc_mismatch": ("NC4", "C3")}


def _figure(config, s, n_greedy, greedy, theory_u, geometry, wd, rho, nc1_rate_theory, mlp):
    fig, axes = plt.subplots(3, 3, figsize=(15, 13), constrained_layout=True)
    colors = mode_colors(len(s))
    t = greedy.time.values
    ax = axes[0, 0]
    for c in range(len(s)):
        ax.plot(t, np.sqrt(n_greedy * theory_u[:, c]), color=colors[c], **MODEL_STYLE["theory"])
        ax.plot(t, greedy.feature_sv.isel(run=0, component=c).values, color=colors[c], **MODEL_STYLE["linear"],
                label=f"$n_c$={config.greedy_class_sizes[c]} ($s$={s[c]:.2f})")
        ax.plot(t, greedy.feature_sv.isel(run=1, component=c).values, color=colors[c], alpha=0.45,
                linestyle="--", linewidth=1.0)
    for c in range(len(s), min(len(s) + 4, greedy.component.size)):
        ax.plot(t, greedy.feature_sv.isel(run=1, component=c).values, color="0.6", linestyle="--", linewidth=1.0)
    ax.set(yscale="log", xlabel="time $t$ (gradient flow)", ylabel="singular values of features $H$",
           title="a. greedy low rank: Saxe modes (solid), aligned init (dashed),\nrandom init (faint; grey = unlearned)")
    ax.legend(fontsize=7, loc="lower right")

    ax = axes[0, 1]
    tg = geometry[False].time.isel(run=0).values
    scale_colors = mode_colors(len(config.init_scales), "viridis")
    for j, scale in enumerate(config.init_scales):
        free, biased = geometry[False].nc.isel(run=j).values, geometry[True].nc.isel(run=j).values
        ax.plot(tg, _metric(free, "orthogonal_frame_distance_classifier"), color=scale_colors[j],
                **MODEL_STYLE["linear"], label=f"$\\sigma_0$={scale:g}: OF dist. of $W$ (no bias)")
        ax.plot(tg, _metric(biased, "etf_distance_means"), color=scale_colors[j], linestyle="-.", linewidth=1.2,
                label="ETF dist. of centred means (bias)")
        ax.plot(tg, _metric(free, "nc1_trace_ratio"), color=scale_colors[j], linestyle=(0, (5, 1, 1, 1, 1, 1)),
                linewidth=1.0, label="tr$\\Sigma_W$/tr$\\Sigma_B$ (no bias)")
    ax.set(yscale="log", xlabel="time $t$", ylabel="distance / ratio",
           title="b. linear UFM geometry: OF without bias, ETF with bias;\nresiduals $\\propto\\sigma_0^2$")
    ax.legend(fontsize=6, ncol=1)

    ax = axes[0, 2]
    tw = wd.time.values
    nc1_values = _metric(wd.nc.values, "nc1")
    trace = _metric(wd.nc.values, "nc1_trace_ratio")
    ax.plot(tw, nc1_values, color="C0", **MODEL_STYLE["linear"], label="NC1")
    ax.plot(tw, trace, color="C1", **MODEL_STYLE["linear"], label="tr$\\Sigma_W$/tr$\\Sigma_B$")
    anchor = int(np.argmin(np.abs(nc1_values - 1e-10)))
    ax.plot(tw, nc1_values[anchor] * np.exp(-nc1_rate_theory * (tw - tw[anchor])), color="C0",
            **MODEL_STYLE["theory"], label=f"rate 2($\\rho/\\sqrt{{C}}$+wd)={nc1_rate_theory:.3g}")
    ax.plot(tw, trace[-1] * np.exp(-2 * config.weight_decay * (tw - tw[-1])), color="C1", **MODEL_STYLE["theory"],
            label=f"rate 2 wd={2 * config.weight_decay:g}")
    ax.set(yscale="log", ylim=(1e-30, 1e2), xlabel="time $t$",
           title=f"c. weight decay {config.weight_decay:g}: collapse to the closed form\n"
                 f"$WH=\\rho Y$, $\\rho$={rho:.3f}, $WW^T=\\rho/\\sqrt{{C}}\\,I$")
    inset = ax.inset_axes([0.55, 0.55, 0.42, 0.4])
    inset.plot(tw, wd.classifier_gram.values, color="0.3", **MODEL_STYLE["linear"])
    inset.axhline(rho / np.sqrt(config.classes), **MODEL_STYLE["theory"], color="C3")
    inset.set_title("eig $WW^T$", fontsize=7)
    inset.tick_params(labelsize=6)
    ax.legend(fontsize=7, loc="lower left")

    for row, (name, history) in enumerate(list(mlp.items())[:2], start=1):
        steps = np.maximum(history.step.values, 1)
        accuracy = history.train_accuracy.values
        reached = np.flatnonzero(accuracy >= 1.0)
        ax = axes[row, 0]
        for metric, (label, color) in METRIC_STYLE.items():
            ax.plot(steps, np.maximum(_metric(history.nc.values, metric), 1e-6), color=color, label=label,
                    **MODEL_STYLE["nonlinear"])
        if reached.size:
            ax.axvline(steps[reached[0]], color="0.5", linewidth=0.8)
        ax.set(xscale="log", yscale="log", xlabel="Adam step (full batch)", ylabel="metric",
               title=f"{'de'[row - 1]}. MLP on {name}: NC1-NC4 (grey line: 100 % train acc.)")
        ax.legend(fontsize=7)
        ax = axes[row, 1]
        ax.plot(steps, accuracy, color="C0", label="train", **MODEL_STYLE["nonlinear"])
        ax.plot(steps, history.test_accuracy.values, color="C1", label="test", **MODEL_STYLE["nonlinear"])
        ax.set(xscale="log", xlabel="Adam step", ylabel="accuracy", ylim=(0, 1.02), title=f"{name}: accuracy")
        ax.legend(fontsize=7)
        ax = axes[row, 2]
        sv = history.feature_sv.values
        sv = sv / sv[:, :1]
        class_colors = mode_colors(9, "viridis")
        for k in range(sv.shape[1]):
            ax.plot(steps, sv[:, k], color=class_colors[k] if k < 9 else "0.6", **MODEL_STYLE["nonlinear"])
        ax.set(xscale="log", yscale="log", xlabel="Adam step", ylabel="$\\sigma_k/\\sigma_1$ (centred features)",
               title=f"{name}: penultimate features, top C-1 = 9 in colour")
    fig.suptitle("Neural collapse — theory solid, linear network dashed, ReLU MLP dotted", fontsize=13)
    return fig


def _units(config: NeuralCollapseConfig) -> int:
    return 5


EXPERIMENT = Experiment(
    name="neural-collapse",
    description="Neural collapse: greedy low-rank UFM dynamics, OF/ETF geometry, weight-decay minimiser; NC1-NC4 "
                "of a ReLU MLP on digits and MNIST-1D (or MNIST)",
    config_type=NeuralCollapseConfig,
    quick={"width": 128, "n_train": 500, "mlp_steps": 2000, "linear_duration": 40.0},
    run=run,
    units=_units,
)
