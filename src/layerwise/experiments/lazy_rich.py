r"""Experiment ``lazy-rich``: layer imbalance and the weight-to-target ratio decide lazy vs rich learning
(Nam et al. 2025, §6 and Fig. 6; paper.md §3.4, §5.3, §6 items 4-5; theory.md §3, §9).

The regime is measured by how far the neural tangent kernel moves, ``S(K_0, K_t) = 1 - <K_0,K_t>/(|K_0||K_t|)``.

1. **Fig. 6a, the authors' setting**: 2-2-2 linear net, 10 exactly whitened samples, λ-balanced init
   (``W_2^T W_2 - W_1 W_1^T = λ I``, end-to-end singular values ``sqrt(s)``), targets ``Y/s``, GD lr 0.01 for 4,000
   steps, ``log10(S(K_0, K_4000) + 1e-6)`` over λ ∈ linspace(-9, 9, 40) × s ∈ linspace(1, 20, 40): all runs in ONE
   vmapped `train` call. Compared with the exact gradient-flow solution of λ-balanced nets (Riccati form, theory.md
   §3), whose NTK is read off the blocks ``W_1^T W_1``, ``W_2 W_2^T`` of ``P(t)``.
2. **Fig. 6b, the authors' setting**: 20-20-2 net on 10 raw Gaussian samples, zero-output mirrored init with layer
   scales ``0.1 + max(λ, 0)`` and ``0.1 + max(-λ, 0)``, λ ∈ linspace(-0.5, 0.5, 40), s ∈ linspace(0.1, 50, 40).
3. **Beyond the paper**: init scale α (fan-in Gaussian) × layer imbalance (layers multiplied by ``(ρ, 1, 1/ρ)``)
   for a depth-3 linear net and 2-hidden-layer tanh and ReLU MLPs (no biases) on scikit-learn's digits, all with a
   mirrored zero-output init (two copies, last layer negated: without it a large init is not lazy, since the net must
   first undo its own O(α^3) random output), GD with lr ``min(cap, 1/λ_max(K_0/n))``: kernel distance (empirical NTK
   on a probe set), relative weight change per layer and test accuracy of the runs that fit the training set.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from layerwise import data, init, metrics, theory
from layerwise.errors import LayerwiseError, check_choice, check_positive, check_positive_int
from layerwise.experiments.base import Experiment, Outcome, Progress
from layerwise.models import MLP, DeepLinearNetwork
from layerwise.report.checks import Check, check_above, check_below
from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.engine import log_record_steps, train

BEYOND_MODELS = ("linear", "tanh", "relu")
# Independent re-implementation of Fig. 6a (paper.md §6 item 4): log10 S at s = 1 against |λ|, and at s = 20.
PAPER_S1 = ((0.23, 0.69, 2.1, 4.4, 9.0), (-0.93, -1.34, -2.4, -3.6, -4.7))
PAPER_S20 = ((0.23, 0.69, 2.1), (-3.6, -5.4, -6.0))


def _grid_field(name, value, positive=False):
    if len(value) != 3 or not value[0] < value[1]:
        raise LayerwiseError(f"{name} must be (start, stop, num) with start < stop, got {value!r}")
    check_positive_int(name, value[2], minimum=2)
    if positive:
        check_positive(name, value[0])


@dataclasses.dataclass(frozen=True)
class LazyRichConfig:
    """Settings of the ``lazy-rich`` experiment (defaults: the authors' full grids)."""

    seed: int = 0
    """Draws the data, the random init directions of every cell and the digits split."""
    imbalance_a: tuple[float, float, int] = (-9.0, 9.0, 40)
    """Fig. 6a layer imbalance λ: linspace(start, stop, num)."""
    scale_a: tuple[float, float, int] = (1.0, 20.0, 40)
    """Fig. 6a weight-to-target ratio s: init end-to-end singular values sqrt(s), targets Y/s."""
    imbalance_b: tuple[float, float, int] = (-0.5, 0.5, 40)
    """Fig. 6b layer-scale imbalance σ1 - σ2."""
    scale_b: tuple[float, float, int] = (0.1, 50.0, 40)
    """Fig. 6b target divisor s (targets Y/s)."""
    weight_scale_b: float = 0.1
    """Fig. 6b base layer scale σ of the mirrored init."""
    n_samples: int = 10
    learning_rate: float = 0.01
    steps: int = 4000
    floor: float = 1e-6
    """Added to the kernel distance before log10, as the authors' plots."""
    curve_points: int = 40
    """Log-spaced steps at which the 6a Gram matrices are recorded (for the S(K_0, K_t) curves)."""
    beyond_models: tuple[str, ...] = BEYOND_MODELS
    beyond_scales: tuple[float, float, int] = (0.25, 2.0, 5)
    """Init scale α (fan-in Gaussian, std α / sqrt(fan_in)): geomspace(start, stop, num)."""
    beyond_imbalance: tuple[float, float, int] = (-2.0, 2.0, 5)
    """log2 ρ: layers multiplied by (ρ, 1, 1/ρ) (ρ > 1 upstream-heavy): linspace(start, stop, num)."""
    beyond_width: int = 64
    beyond_train: int = 1000
    """Digits training samples (the other 797 of 1,797 are the test set)."""
    beyond_probe: int = 20
    """Training samples on which the empirical NTK is measured (kernel of size 10 * probe)."""
    beyond_steps: int = 2000
    beyond_learning_rate: float = 0.5
    """GD learning rate cap; each run uses min(cap, 1 / λ_max(K_0 / probe)) so that lazy (large-kernel) runs are
    stable."""

    def __post_init__(self):
        check_positive_int("seed", self.seed, minimum=0)
        for name in ("imbalance_a", "imbalance_b", "beyond_imbalance"):
            _grid_field(name, getattr(self, name))
        for name in ("scale_a", "scale_b", "beyond_scales"):
            _grid_field(name, getattr(self, name), positive=True)
        for name in ("weight_scale_b", "learning_rate", "floor", "beyond_learning_rate"):
            check_positive(name, getattr(self, name))
        check_positive_int("n_samples", self.n_samples, minimum=3)
        check_positive_int("steps", self.steps)
        check_positive_int("curve_points", self.curve_points, minimum=2)
        check_positive_int("beyond_width", self.beyond_width, minimum=2)
        if self.beyond_width % 2:
            raise LayerwiseError(f"beyond_width must be even (two mirrored halves), got {self.beyond_width}")
        for name in ("beyond_probe", "beyond_steps"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("beyond_train", self.beyond_train, minimum=self.beyond_probe)
        if self.beyond_train >= 1797:
            raise LayerwiseError(f"beyond_train must be < 1797 (digits has 1,797 images), got {self.beyond_train}")
        for name in self.beyond_models:
            check_choice("beyond_models", name, BEYOND_MODELS)


def _grid(spec, geometric=False):
    start, stop, num = spec
    return np.geomspace(start, stop, num) if geometric else np.linspace(start, stop, num)


WEIGHT_OBSERVABLES = {
    # A two-layer linear net's NTK is a closed form in its weights (`ntk_two_layer`): 2 small matrices per step.
    "first_layer": (lambda model, p, task: p[0], ("hidden", "input")),
    "second_layer": (lambda model, p, task: p[1], ("output", "hidden")),
}


def _kernels(history, x):
    """The NTK (`ntk_two_layer`) at every recorded step of every run, from the recorded weights."""
    return metrics.ntk_two_layer(jnp.asarray(history.first_layer.values), jnp.asarray(history.second_layer.values), x)


def _log_distance(k0, k1, floor):
    return np.log10(np.asarray(metrics.kernel_distance(k0, k1)) + floor)


# ------------------------------------------------------------------------------------------------ Fig. 6a and 6b
def _fig6a(config: LazyRichConfig):
    """All λ × s cells in one vmapped `train` call; Grams recorded on a log step grid; the exact flow at the end."""
    key_task, key_init = jax.random.split(jax.random.PRNGKey(config.seed))
    task = data.whitened_regression(key_task, config.n_samples, 2, 2)
    lam, s = _grid(config.imbalance_a), _grid(config.scale_a)
    lam_cells, s_cells = (a.ravel() for a in np.meshgrid(lam, s, indexing="ij"))
    model = DeepLinearNetwork((2, 2, 2))
    # A fresh random init (U, V, R) per cell, as the authors' get_lambda_balanced; scale s = singular value^2.
    keys = jax.random.split(key_init, lam_cells.size)
    params = jax.vmap(lambda k, l, sc: init.lambda_balanced_init(k, model, l, jnp.sqrt(sc)))(
        keys, jnp.asarray(lam_cells), jnp.asarray(s_cells))
    tasks = jax.vmap(task.scale_targets)(jnp.asarray(1.0 / s_cells))
    record = log_record_steps(config.steps, config.curve_points)
    result = train(model, params, tasks, steps=config.steps, learning_rate=config.learning_rate, task_batched=True,
                   record_steps=record, observables=WEIGHT_OBSERVABLES,
                   coords={"imbalance": lam_cells, "scale": s_cells})
    kernels = _kernels(result.history, task.x)  # (cell, step, 20, 20)
    distance = np.asarray(metrics.kernel_distance(kernels[:, :1], kernels))
    times = config.learning_rate * record
    # The exact λ-balanced gradient flow (theory.md §3) from each cell's init; its NTK from the same closed form.
    w1, w2 = jax.vmap(lambda p, t: theory.lambda_balanced_solution(times, p[0], p[1], t.cross_covariance,
                                                                   hidden_basis="symmetric"))(params, tasks)
    flow_kernels = metrics.ntk_two_layer(w1, w2, task.x)
    flow_distance = np.asarray(metrics.kernel_distance(flow_kernels[:, :1], flow_kernels))
    imbalance = np.asarray(jax.vmap(lambda p: metrics.layer_imbalance(model, p))(result.params))[:, 0]
    drift = np.max(np.abs(imbalance - lam_cells[:, None, None] * np.eye(2)), axis=(1, 2)) / np.maximum(
        np.abs(lam_cells), 1.0)
    shape = (lam.size, s.size, record.size)
    return dict(lam=lam, s=s, steps=record, times=times, distance=distance.reshape(shape),
                flow_distance=flow_distance.reshape(shape), loss=result.history.loss.values[:, -1].reshape(shape[:2]),
                drift=float(np.max(drift)))


def _fig6b(config: LazyRichConfig):
    """Mirrored zero-output init, raw Gaussian inputs; one vmapped `train` call; kernels at step 0 and the end."""
    key_x, key_y, key_init = jax.random.split(jax.random.PRNGKey(config.seed + 1), 3)
    x = jax.random.normal(key_x, (config.n_samples, 20))
    task = data.Task.from_samples(x, jax.random.normal(key_y, (config.n_samples, 2)))
    lam, s = _grid(config.imbalance_b), _grid(config.scale_b)
    lam_cells, s_cells = (a.ravel() for a in np.meshgrid(lam, s, indexing="ij"))
    model = DeepLinearNetwork((20, 20, 2))
    keys = jax.random.split(key_init, lam_cells.size)
    params = jax.vmap(lambda k, l: init.mirrored_init(k, model, config.weight_scale_b, l))(keys, jnp.asarray(lam_cells))
    tasks = jax.vmap(task.scale_targets)(jnp.asarray(1.0 / s_cells))
    result = train(model, params, tasks, steps=config.steps, learning_rate=config.learning_rate, task_batched=True,
                   record_steps=np.array([0, config.steps]), observables=WEIGHT_OBSERVABLES)
    kernels = _kernels(result.history, x)
    log_distance = _log_distance(kernels[:, 0], kernels[:, 1], config.floor)
    return dict(lam=lam, s=s, log_distance=log_distance.reshape(lam.size, s.size))


# ---------------------------------------------------------------------------------------------- beyond the paper
def _digits(config: LazyRichConfig):
    x, labels = data.load_digits()
    x_train, y_train, x_test, y_test = data.train_test_split(x, labels, config.beyond_train, seed=config.seed)
    mean, std = x_train.mean(axis=0), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def _beyond(config: LazyRichConfig, name: str, digits):
    """One model's α × ρ grid in one `train` call (float32); NTK on the probe set at init and at the end."""
    x_train, y_train, x_test, y_test = digits
    dtype = jnp.float32
    width = config.beyond_width
    widths = (x_train.shape[1], width, width, 10)
    model = DeepLinearNetwork(widths) if name == "linear" else MLP(widths, activation=name, bias=False)
    alpha, log2_rho = _grid(config.beyond_scales, geometric=True), _grid(config.beyond_imbalance)
    alpha_cells, rho_cells = (a.ravel() for a in np.meshgrid(alpha, 2.0**log2_rho, indexing="ij"))

    half = DeepLinearNetwork((widths[0], width // 2, width // 2, 10))

    def one(key, a, rho):
        # Mirrored ("doubling") init: two copies of a half-width net, the second with its last layer negated, so
        # f = 0 at init for every α (Chizat et al. 2019; the authors' Fig. 6b init). Then layers x (ρ, 1, 1/ρ).
        w1, w2, w3 = init.gaussian_init(key, half, a, parameterisation="fan_in", dtype=dtype)
        zeros = jnp.zeros_like(w2)
        weights = (jnp.concatenate([w1, w1]), jnp.block([[w2, zeros], [zeros, w2]]), jnp.concatenate([w3, -w3], axis=1))
        weights = init.scale_layers(DeepLinearNetwork(widths), weights, jnp.stack([rho, jnp.ones_like(rho), 1 / rho]))
        if name == "linear":
            return weights
        return tuple((w, jnp.zeros(w.shape[0] if model.bias else 0, dtype)) for w in weights)

    keys = jax.random.split(jax.random.PRNGKey(config.seed + 2), alpha_cells.size)
    params = jax.vmap(one)(keys, jnp.asarray(alpha_cells, dtype), jnp.asarray(rho_cells, dtype))
    probe = jnp.asarray(x_train[: config.beyond_probe], dtype)
    ntk = jax.jit(lambda p: jax.lax.map(lambda q: metrics.empirical_ntk(model, q, probe), p))
    k0 = ntk(params)
    top = np.asarray(jax.vmap(lambda k: jnp.linalg.eigvalsh(k)[-1])(k0), dtype=float) / config.beyond_probe
    learning_rate = np.minimum(config.beyond_learning_rate, 1.0 / top)
    task = data.classification_task(x_train, y_train, 10, dtype=dtype)
    x_test_j, y_test_j = jnp.asarray(x_test, dtype), jnp.asarray(y_test)
    observables = {
        "test_accuracy": lambda m, p, t: data.accuracy(m.apply(p, x_test_j), y_test_j),
        "train_accuracy": lambda m, p, t: data.accuracy(m.apply(p, t.x), jnp.argmax(t.y, axis=-1)),
    }
    result = train(model, params, task, steps=config.beyond_steps, learning_rate=learning_rate,
                   record_steps=np.array([0, config.beyond_steps]), observables=observables, on_divergence="mark")
    kt = ntk(result.params)
    shape = (alpha.size, log2_rho.size)
    final = result.history.isel(step=-1)
    return dict(
        alpha=alpha, log2_rho=log2_rho,
        log_distance=_log_distance(k0, kt, config.floor).reshape(shape),
        weight_change=np.asarray(jax.vmap(lambda p, q: metrics.relative_weight_change(model, p, q))(result.params, params)).reshape(*shape, -1),
        test_accuracy=final.test_accuracy.values.reshape(shape),
        train_accuracy=final.train_accuracy.values.reshape(shape),
        train_loss=final.loss.values.reshape(shape), learning_rate=learning_rate.reshape(shape),
        diverged=int(np.sum(result.diverged)))


# ------------------------------------------------------------------------------------------------------- checks
def _nearest(values, target):
    return int(np.argmin(np.abs(values - target)))


def _checks(config, a, b, beyond) -> list[Check]:
    checks = []
    floor = config.floor
    log_sim = np.log10(a["distance"][..., -1] + floor)
    log_flow = np.log10(a["flow_distance"][..., -1] + floor)
    lam, s = a["lam"], a["s"]
    positive = lam > 0
    i_small, i_large = np.flatnonzero(positive)[0], np.flatnonzero(positive)[-1]
    at_s1 = log_sim[:, _nearest(s, 1.0)]
    reference = np.interp([lam[i_small], lam[i_large]], *PAPER_S1)
    measured = [float(at_s1[i_small]), float(at_s1[i_large])]
    checks.append(Check(
        "fig6a_s1_endpoints_match_paper",
        f"Fig. 6a at s = {s[_nearest(s, 1.0)]:g}: log10 S at |λ| = {lam[i_small]:.2f} and {lam[i_large]:.2f} are within "
        "1 decade of the independent re-implementation (paper.md §6.4, interpolated in |λ|; values depend on the "
        "random data and init draws)", measured, [round(float(r), 2) for r in reference],
        bool(np.all(np.abs(np.asarray(measured) - reference) <= 1.0))))
    positive_profile = at_s1[positive]
    checks.append(Check(
        "fig6a_s1_falls_with_imbalance",
        "at s = 1 the kernel distance falls monotonically with |λ| (λ > 0 half), by at least 3 decades from the "
        "smallest to the largest |λ| (paper: 3.8)",
        float(positive_profile[0] - positive_profile[-1]), ">= 3 and monotone",
        bool(np.all(np.diff(positive_profile) < 0) and positive_profile[0] - positive_profile[-1] >= 3)))
    drop_s = float(log_sim[i_small, _nearest(s, 1.0)] - log_sim[i_small, _nearest(s, 20.0)])
    checks.append(check_above(
        "fig6a_falls_with_scale", f"at |λ| = {lam[i_small]:.2f} the kernel distance falls by >= 2 decades from "
        "s = 1 to s = 20 (paper: 2.7)", drop_s, 2.0))
    i_max = np.unravel_index(np.argmax(log_sim), log_sim.shape)
    checks.append(Check(
        "fig6a_rich_region", "the kernel moves most (rich) at small |λ| and small s: the argmax cell has |λ| <= 1 "
        "and s <= 3", [float(lam[i_max[0]]), float(s[i_max[1]])], "|λ| <= 1, s <= 3",
        bool(abs(lam[i_max[0]]) <= 1 and s[i_max[1]] <= 3)))
    symmetry = float(np.mean(np.abs(log_sim - log_sim[::-1])))
    checks.append(check_below(
        "fig6a_symmetric_in_lambda", "the map is symmetric in ±λ: mean |log10 S(λ) - log10 S(-λ)| (decades; "
        "paper: ≈ 0.05)", symmetry, 0.05))
    resolved = a["flow_distance"][..., -1] > 1e-4
    gap = float(np.max(np.abs(log_sim - log_flow)[resolved]))
    checks.append(check_below(
        "fig6a_closed_form_vs_gd", "the exact λ-balanced flow (Riccati closed form) predicts GD's log10 S(K_0, K_40) "
        "wherever S > 1e-4 (max abs difference in decades; GD lr 0.01 differs from the flow by O(lr))", gap, 0.05))
    resolved_in_time = a["flow_distance"][..., 1:] > 1e-4
    curve_gap = float(np.max(np.abs(np.log10(a["distance"][..., 1:]) - np.log10(a["flow_distance"][..., 1:]))[
        resolved_in_time]))
    checks.append(check_below(
        "fig6a_closed_form_vs_gd_in_time", "the same along the whole log-spaced time grid, every cell and time with "
        "S > 1e-4 (max abs difference in decades)", curve_gap, 0.1))
    checks.append(check_below(
        "fig6a_lambda_conserved", "GD keeps W_2^T W_2 - W_1 W_1^T = λ I up to O(lr^2) per step: max abs drift after "
        f"{config.steps} steps relative to max(|λ|, 1)", a["drift"], 0.05))

    log_b = b["log_distance"]
    lam_b, s_b = b["lam"], b["s"]
    centre = _nearest(lam_b, 0.0)
    checks.append(check_above(
        "fig6b_falls_with_scale", f"Fig. 6b, λ = {lam_b[centre]:.2f} row: log10 S falls by >= 2.5 decades from "
        f"s = {s_b[0]:g} to s = {s_b[-1]:g} (paper.md §6.5: -0.97 to -5.9)", float(log_b[centre, 0] - log_b[centre, -1]),
        2.5))
    small_s = s_b <= 5
    band = np.abs(lam_b) <= max(0.3 * np.max(np.abs(lam_b)), np.min(np.abs(lam_b)))
    outer = np.abs(lam_b) >= 0.7 * np.max(np.abs(lam_b))
    contrast = float(np.mean(log_b[band][:, small_s]) - np.mean(log_b[outer][:, small_s]))
    checks.append(check_above(
        "fig6b_rich_region", "Fig. 6b: for s <= 5 the kernel moves more for |λ| <= 0.3 max|λ| than for |λ| >= 0.7 max|λ| "
        "(difference of mean log10 S, decades; paper.md §6.5: rich region = small s and small |λ|)", contrast, 0.5))
    large_s = log_b[:, s_b >= 20]
    checks.append(check_below(
        "fig6b_lazy_at_large_ratio", "Fig. 6b: every cell with s >= 20 is lazy, log10 S <= -3.5 (max; paper.md §6.5: "
        "-3.5 at s = 10 on the λ = 0 row, the -6 floor beyond)", float(np.max(large_s)), -3.5))
    for name, result in beyond.items():
        balanced = _nearest(result["log2_rho"], 0.0)
        fitted = _fitted(result)
        rich_corner, lazy_corner = result["log_distance"][0, balanced], result["log_distance"][-1, balanced]
        checks.append(check_above(
            f"beyond_{name}_scale_sets_regime", f"{name} net on digits, balanced (ρ = 1): the NTK moves more at the "
            f"smallest init scale α = {result['alpha'][0]:g} than at the largest α = {result['alpha'][-1]:g} "
            "(log10 S difference, decades)", float(rich_corner - lazy_corner), 1.0))
        change = result["weight_change"][:, balanced].mean(axis=-1)
        checks.append(check_above(
            f"beyond_{name}_weights_move_less_when_lazy", f"{name}, ρ = 1: the mean relative weight change per layer "
            "falls with α (ratio smallest-α / largest-α run)", float(change[0] / change[-1]), 10.0))
        checks.append(check_above(
            f"beyond_{name}_fits_training_set", f"{name}: fraction of runs whose train accuracy is within 0.01 of the "
            "grid's best (only those enter the test-accuracy comparison)", float(np.mean(fitted)), 0.6))
        lazy = np.flatnonzero(fitted[:, balanced])
        difference = (float(result["test_accuracy"][0, balanced] - result["test_accuracy"][lazy[-1], balanced])
                      if fitted[0, balanced] and lazy.size > 1 else float("nan"))
        checks.append(check_above(
            f"beyond_{name}_rich_generalises_better", f"{name}, ρ = 1: the rich corner (smallest α) reaches a test "
            "accuracy at least that of the laziest run that fits the training set (difference; NaN if either did "
            "not fit)", difference, 0.0))
    return checks


def _fitted(result) -> np.ndarray:
    """Runs that fit the training set: train accuracy within 0.01 of the grid's best (a linear net cannot reach 1)."""
    return result["train_accuracy"] >= np.nanmax(result["train_accuracy"]) - 0.01


# -------------------------------------------------------------------------------------------------------- run
def run(config: LazyRichConfig, progress: Progress) -> Outcome:
    a = _fig6a(config)
    progress("Fig. 6a: 2-2-2 λ-balanced grid (GD and exact flow)")
    b = _fig6b(config)
    progress("Fig. 6b: 20-20-2 mirrored-init grid")
    digits = _digits(config)
    beyond = {}
    for name in config.beyond_models:
        beyond[name] = _beyond(config, name, digits)
        progress(f"digits: {name} net, init scale × imbalance")
    checks = _checks(config, a, b, beyond)
    figure = _figure(config, a, b, beyond)
    return Outcome(_dataset(config, a, b, beyond), checks, {"lazy_rich": figure})


def _dataset(config, a, b, beyond) -> xr.Dataset:
    floor = config.floor
    variables = {
        "fig6a_log_kernel_distance": (("imbalance_a", "scale_a"), np.log10(a["distance"][..., -1] + floor)),
        "fig6a_log_kernel_distance_theory": (("imbalance_a", "scale_a"), np.log10(a["flow_distance"][..., -1] + floor)),
        "fig6a_kernel_distance": (("imbalance_a", "scale_a", "step_a"), a["distance"]),
        "fig6a_kernel_distance_theory": (("imbalance_a", "scale_a", "step_a"), a["flow_distance"]),
        "fig6a_final_loss": (("imbalance_a", "scale_a"), a["loss"]),
        "fig6b_log_kernel_distance": (("imbalance_b", "scale_b"), b["log_distance"]),
    }
    coords = {"imbalance_a": a["lam"], "scale_a": a["s"], "step_a": a["steps"], "time_a": ("step_a", a["times"]),
              "imbalance_b": b["lam"], "scale_b": b["s"]}
    if beyond:
        first = next(iter(beyond.values()))
        coords.update(model=list(beyond), init_scale=first["alpha"], log2_imbalance=first["log2_rho"],
                      layer=np.arange(3))
        dims = ("model", "init_scale", "log2_imbalance")
        for key in ("log_distance", "test_accuracy", "train_accuracy", "train_loss", "learning_rate"):
            variables[f"digits_{key}"] = (dims, np.stack([r[key] for r in beyond.values()]))
        variables["digits_relative_weight_change"] = ((*dims, "layer"),
                                                      np.stack([r["weight_change"] for r in beyond.values()]))
    dataset = xr.Dataset(variables, coords=coords)
    dataset.attrs["description"] = ("Lazy vs rich: NTK kernel distance over layer imbalance × weight-to-target ratio "
                                    "(Nam et al. 2025, Fig. 6) and init scale × imbalance on digits")
    dataset.attrs["log_floor"] = floor
    return dataset


# ------------------------------------------------------------------------------------------------------ figure
def _heatmap(ax, fig, x, y, values, title, xlabel, ylabel, vmin=-6, vmax=0, cmap="coolwarm", label="log10 S(K0, Kt)"):
    mesh = ax.pcolormesh(x, y, values, shading="nearest", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.colorbar(mesh, ax=ax, label=label, shrink=0.85)


def _log_ticks(ax, values):
    ax.set_xscale("log")
    ax.set_xticks(values, [f"{v:.2g}" for v in values])
    ax.minorticks_off()


def _figure(config, a, b, beyond):
    floor = config.floor
    fig, axes = plt.subplots(3, 4, figsize=(20, 14), constrained_layout=True)
    log_sim = np.log10(a["distance"][..., -1] + floor)
    log_flow = np.log10(a["flow_distance"][..., -1] + floor)
    xlabel_a = "weight-to-target ratio s (init singular values √s, target Y/s)"
    _heatmap(axes[0, 0], fig, a["s"], a["lam"], log_sim, f"6a. GD (lr {config.learning_rate:g}, {config.steps} steps)",
             xlabel_a, "layer imbalance λ")
    _heatmap(axes[0, 1], fig, a["s"], a["lam"], log_flow, "6a. exact λ-balanced flow (closed form)",
             xlabel_a, "layer imbalance λ")
    ax = axes[0, 2]
    i_s = _nearest(a["s"], 1.0)
    shown = [i for i in np.unique([_nearest(a["lam"], v) for v in (0.23, 0.7, 2.1, 4.4, 9.0)]) if a["lam"][i] > 0]
    colors = mode_colors(len(shown), "viridis")
    t = a["times"][1:]
    for color, i in zip(colors, shown):
        ax.plot(t, a["flow_distance"][i, i_s, 1:], color=color, **MODEL_STYLE["theory"])
        ax.plot(t, a["distance"][i, i_s, 1:], color=color, label=f"λ = {a['lam'][i]:.2f}", **MODEL_STYLE["linear"])
    ax.set(xscale="log", yscale="log", xlabel="time t = lr × step", ylabel="S(K0, Kt)",
           title=f"6a. S(K0, Kt) at s = {a['s'][i_s]:g}: theory solid, GD dashed")
    ax.legend(fontsize=8)
    _heatmap(axes[0, 3], fig, b["s"], b["lam"], b["log_distance"], "6b. 20-20-2, mirrored zero-output init",
             "target divisor s (target Y/s)", "layer-scale imbalance σ1 − σ2")
    names = list(beyond)
    for j, name in enumerate(names[:3]):
        r = beyond[name]
        _heatmap(axes[1, j], fig, r["alpha"], r["log2_rho"], r["log_distance"].T,
                 f"digits, {name} 64-{config.beyond_width}-{config.beyond_width}-10: kernel distance",
                 "init scale α (fan-in)", "log2 ρ (layers × ρ, 1, 1/ρ)", vmin=-4, vmax=0)
        _log_ticks(axes[1, j], r["alpha"])
        accuracy = np.where(_fitted(r), r["test_accuracy"], np.nan)
        _heatmap(axes[2, j], fig, r["alpha"], r["log2_rho"], accuracy.T,
                 f"{name}: test acc. (blank: not fitted)", "init scale α (fan-in)", "log2 ρ",
                 vmin=np.nanmin(accuracy) if np.any(np.isfinite(accuracy)) else 0, vmax=1, cmap="viridis",
                 label="test accuracy")
        _log_ticks(axes[2, j], r["alpha"])
    ax = axes[1, 3]
    for name, color in zip(names, mode_colors(len(names))):
        r = beyond[name]
        style = MODEL_STYLE["linear" if name == "linear" else "nonlinear"]
        ax.plot(r["log_distance"].ravel(), r["test_accuracy"].ravel(), "o", color=color, mfc="none", label=name)
        balanced = _nearest(r["log2_rho"], 0.0)
        ax.plot(r["log_distance"][:, balanced], r["test_accuracy"][:, balanced], color=color, **style)
    ax.set(xlabel="log10 S(K0, K_end) (rich →)", ylabel="test accuracy",
           title="rich vs lazy: test accuracy (line: ρ = 1)")
    ax.legend(fontsize=8)
    ax = axes[2, 3]
    for name, color in zip(names, mode_colors(len(names))):
        r = beyond[name]
        balanced = _nearest(r["log2_rho"], 0.0)
        style = MODEL_STYLE["linear" if name == "linear" else "nonlinear"]
        for layer, marker in zip(range(3), "os^"):
            ax.plot(r["alpha"], r["weight_change"][:, balanced, layer], marker=marker, color=color, mfc="none",
                    label=f"{name} layer {layer + 1}" if layer == 0 else None, **style)
    ax.set(xscale="log", yscale="log", xlabel="init scale α", ylabel="‖W_l(T) − W_l(0)‖ / ‖W_l(0)‖",
           title="rel. weight change, ρ = 1 (o s ^ = layers 1-3)")
    ax.legend(fontsize=8)
    fig.suptitle(
        "Lazy vs rich: kernel distance log10(S(K0, Kt) + 1e-6). Axes as simulated: λ increases upwards, s to the right "
        "(the authors' 6a ticks put +9 at the top row, which is λ = −9; their 6b ticks read ±5 for λ = ∓0.5)",
        fontsize=12)
    return fig


def _units(config: LazyRichConfig) -> int:
    return 2 + len(config.beyond_models)


EXPERIMENT = Experiment(
    name="lazy-rich",
    description="Lazy vs rich regimes: NTK movement over layer imbalance and weight-to-target ratio (Fig. 6 and beyond)",
    config_type=LazyRichConfig,
    quick={"imbalance_a": (-9.0, 9.0, 20), "scale_a": (1.0, 20.0, 20), "imbalance_b": (-0.5, 0.5, 20),
           "scale_b": (0.1, 50.0, 20), "beyond_scales": (0.25, 2.0, 4), "beyond_imbalance": (-2.0, 2.0, 3),
           "beyond_width": 32, "beyond_train": 400, "beyond_steps": 1000},
    run=run,
    units=_units,
)
