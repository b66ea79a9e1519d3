r"""Experiment ``feedback``: the dynamical feedback principle in a diagonal linear network (Nam et al. 2025, §3.1-3.2).

In ``f(x) = sum_i x_i a_i b_i`` each weight's size sets the other's learning speed,
``da/dt = -b E[x^2](ab - S)``, ``db/dt = -a E[x^2](ab - S)``. Four consequences, each simulated with the engine and
overlaid with its closed form:

1. sigmoidal saturation of ``a_i b_i / S_i`` (vs exponential for the linear model ``theta . x``);
2. stage-like learning: modes learned in order of ``S_i E[x_i^2]`` at ``t_1/2 = ln(S/u0 - 1) / (2 S E[x^2])``,
   the gap between stages growing like ``ln(1/u0)``;
3. depth: balanced depth-L nets, ``du/dt = L E[x^2] u^(2-2/L) (S - u)``, sharpen the transition;
4. imbalance: ``C = a^2 - b^2`` is conserved; ``C = 0`` is sigmoidal (rich), ``|C| >> u`` exponential at rate
   ``|C| E[x^2]`` (lazy).
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
from layerwise.models import DiagonalLinearNetwork
from layerwise.report.checks import Check, check_below
from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.engine import gradient_flow, train


@dataclasses.dataclass(frozen=True)
class FeedbackConfig:
    """Settings of the ``feedback`` experiment (defaults: the full run)."""

    seed: int = 0
    """Draws the input samples of panel 1 (exactly whitened, so results depend on it only at rounding level)."""
    target_weights: tuple[float, ...] = (4.0, 2.0, 1.0, 0.5)
    """Mode strengths S_i of the diagonal task (panels 1-2)."""
    input_variances: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    """Input variances E[x_i^2] (panels 1-2)."""
    init: float = 1e-4
    """Initial end-to-end weight u0 = a_i b_i (balanced, a_i = b_i)."""
    learning_rate: float = 1e-3
    """GD learning rate for panels 1-3 (gradient-flow time t = lr * step)."""
    duration: float = 14.0
    """Gradient-flow time simulated in panels 1-2."""
    n_samples: int = 1000
    """Samples of the panel-1 task (the engine trains from their sufficient statistics)."""
    stage_gap_inits: tuple[float, ...] = (1e-2, 1e-4, 1e-6, 1e-8)
    """Initial scales u0 over which the stage gap is measured (panel 2)."""
    depths: tuple[int, ...] = (2, 3, 4)
    """Depths of the balanced diagonal nets of panel 3."""
    depth_init: float = 1e-2
    """Initial end-to-end weight of the depth panel."""
    depth_duration: float = 10.0
    imbalances: tuple[float, ...] = (0.0, 1.0, 10.0, 100.0)
    """Conserved imbalances C = a^2 - b^2 of panel 4 (target S = 1, E[x^2] = 1, b0 = imbalance_b0)."""
    imbalance_b0: float = 0.01
    imbalance_learning_rate: float = 1e-4
    imbalance_duration: float = 8.0

    def __post_init__(self):
        check_positive_int("seed", self.seed, minimum=0)
        for name in ("init", "learning_rate", "duration", "depth_init", "depth_duration", "imbalance_b0",
                     "imbalance_learning_rate", "imbalance_duration"):
            check_positive(name, getattr(self, name))
        check_positive_int("n_samples", self.n_samples, minimum=len(self.target_weights) + 1)
        if len(self.target_weights) != len(self.input_variances) or len(self.target_weights) < 2:
            raise LayerwiseError("target_weights and input_variances must have the same length >= 2")
        for name in ("target_weights", "input_variances", "stage_gap_inits"):
            for value in getattr(self, name):
                check_positive(name, value)
        for depth in self.depths:
            check_positive_int("depths", depth, minimum=2)
        for value in self.imbalances:
            check_positive("imbalances", value, allow_zero=True)
        if self.init >= min(self.target_weights) or max(self.stage_gap_inits) >= min(self.target_weights):
            raise LayerwiseError("init and stage_gap_inits must be smaller than every target weight")


def _steps(duration: float, learning_rate: float) -> int:
    return max(1, int(round(duration / learning_rate)))


def _end_to_end_weights(model, params, task=None):
    return model.end_to_end(params)[0]


def _sigmoid_panel(config: FeedbackConfig):
    """Panel 1-2 data: depth-2 and depth-1 nets on the same diagonal task; depth 2 over several init scales."""
    s = np.asarray(config.target_weights)
    var = np.asarray(config.input_variances)
    task = data.diagonal_task(s, var, n_samples=config.n_samples, key=jax.random.PRNGKey(config.seed))
    steps = _steps(config.duration, config.learning_rate)
    record = np.unique(np.round(np.linspace(0, steps, 801)).astype(int))
    inits = np.unique(np.concatenate([[config.init], config.stage_gap_inits]))[::-1]
    deep = DiagonalLinearNetwork(dim=len(s), depth=2)
    params = jax.vmap(lambda u: init.balanced_diagonal_init(deep, u))(jnp.asarray(inits))
    rich = train(deep, params, task, steps=steps, learning_rate=config.learning_rate, record_steps=record,
                 observables={"weights": (_end_to_end_weights, ("mode",))}, coords={"init": inits})
    shallow = DiagonalLinearNetwork(dim=len(s), depth=1)
    linear = train(shallow, jnp.zeros((1, 1, len(s))), task, steps=steps, learning_rate=config.learning_rate,
                   record_steps=record, observables={"weights": (_end_to_end_weights, ("mode",))})
    # The exact flow of the default init, for a tight closed-form check independent of the learning rate.
    times = np.linspace(0.0, config.duration, 61)
    flow = gradient_flow(deep, params[inits == config.init], task, times, rtol=1e-12, atol=1e-14,
                         observables={"weights": (_end_to_end_weights, ("mode",))})
    return task, rich.history, linear.history, flow.history


def _depth_panel(config: FeedbackConfig):
    """Panel 3: one mode (S = 1, E[x^2] = 1) in balanced diagonal nets of each depth."""
    steps = _steps(config.depth_duration, config.learning_rate)
    record = np.unique(np.round(np.linspace(0, steps, 801)).astype(int))
    task = data.diagonal_task([1.0])
    curves = []
    for depth in config.depths:
        model = DiagonalLinearNetwork(dim=1, depth=depth)
        params = init.balanced_diagonal_init(model, config.depth_init)[None]
        history = train(model, params, task, steps=steps, learning_rate=config.learning_rate, record_steps=record,
                        observables={"weights": (_end_to_end_weights, ("mode",))}).history
        curves.append(history.weights.isel(run=0, mode=0).drop_vars(["run", "learning_rate"]))
    return xr.concat(curves, dim=xr.DataArray(list(config.depths), dims="depth", name="depth"))


def _imbalance_panel(config: FeedbackConfig):
    """Panel 4: one mode (S = 1) from b0 with a0^2 - b0^2 = C, at two learning rates (for the drift order)."""
    model = DiagonalLinearNetwork(dim=1, depth=2)
    c = np.asarray(config.imbalances, dtype=float)
    b0 = config.imbalance_b0
    a0 = np.sqrt(c + b0**2)
    params = jnp.asarray(np.stack([a0, np.full_like(a0, b0)], axis=1)[:, :, None])
    task = data.diagonal_task([1.0])
    observables = {"weights": (_end_to_end_weights, ("mode",)),
                   "layer_imbalance": (lambda m, p, t: metrics.layer_imbalance(m, p)[0], ("mode",))}
    histories = []
    for lr in (config.imbalance_learning_rate, 2 * config.imbalance_learning_rate):
        steps = _steps(config.imbalance_duration, lr)
        record = np.unique(np.round(np.geomspace(1, steps, 400)).astype(int))
        record = np.concatenate([[0], record])
        histories.append(train(model, params, task, steps=steps, learning_rate=lr, record_steps=record,
                               observables=observables, coords={"imbalance": c}).history)
    flow = gradient_flow(model, params, task, np.geomspace(1e-4, config.imbalance_duration, 60) - 1e-4, rtol=1e-12, atol=1e-14,
                         observables=observables, coords={"imbalance": c})
    return a0 * b0, histories, flow.history


def run(config: FeedbackConfig, progress: Progress) -> Outcome:
    s = np.asarray(config.target_weights)
    var = np.asarray(config.input_variances)
    task, rich, linear, flow = _sigmoid_panel(config)
    progress("sigmoidal vs exponential; stages")
    depth_curves = _depth_panel(config)
    progress("depth")
    u0_imbalance, (imb_fine, imb_coarse), imb_flow = _imbalance_panel(config)
    progress("imbalance")

    checks: list[Check] = []
    # 1. sigmoid (GD and exact flow) vs closed form; linear model vs exponential.
    t = rich.time.isel(run=0).values
    default = rich.sel(run=int(np.flatnonzero(rich.init.values == config.init)[0]))
    sigmoid = np.asarray(theory.saxe_mode(t[:, None] * var, s, config.init))
    gd_error = np.max(np.abs(default.weights.values - sigmoid) / s)
    checks.append(check_below(
        "sigmoid_gd_vs_closed_form", f"GD (lr {config.learning_rate:g}) on the balanced diagonal net follows "
        "a_i b_i / S_i = logistic closed form (max abs error over modes and time)", gd_error, 0.01))
    flow_theory = np.asarray(theory.saxe_mode(flow.time.values[:, None] * var, s, config.init))
    checks.append(compare(flow_theory, flow.weights.isel(run=0), rtol=1e-8, name="sigmoid_flow_vs_closed_form")
                  .to_check("exact gradient flow (diffrax Dopri8) matches the logistic closed form at every time "
                            "(max relative error)"))
    exponential = np.asarray(theory.linear_mode(t[:, None], s, 0.0, var))
    linear_error = np.max(np.abs(linear.weights.isel(run=0).values - exponential) / s)
    checks.append(check_below(
        "linear_model_exponential", "the linear model saturates as theta_i/S_i = 1 - exp(-E[x_i^2] t) "
        "(max abs error)", linear_error, 0.01))
    linear_half = metrics.crossing_time(t, (linear.weights.isel(run=0).values / s).T, 0.5)
    spread = np.ptp(linear_half * var) / np.mean(linear_half * var)
    checks.append(check_below(
        "linear_rate_independent_of_target", "linear model: half-time x E[x^2] is the same for every S_i "
        "(relative spread)", spread, 0.01))

    # 2. stage-like learning: order and half-times; stage gap ~ ln(1/u0).
    half = metrics.crossing_time(t, (default.weights.values / s).T, 0.5)
    half_theory = np.log(s / config.init - 1) / (2 * s * var)
    order = np.argsort(-(s * var))
    checks.append(Check(
        "stage_order", "modes are learned in decreasing order of S_i E[x_i^2] (measured half-time order)",
        [int(i) for i in np.argsort(half)], [int(i) for i in order], bool(np.all(np.argsort(half) == order))))
    checks.append(check_below(
        "half_times_vs_theory", "measured half-times match t_1/2 = ln(S/u0 - 1)/(2 S E[x^2]) (max relative error)",
        np.max(np.abs(half - half_theory) / half_theory), 0.02))
    all_half = metrics.crossing_time(t, np.moveaxis(rich.weights.values / s, 1, 2), 0.5)  # (init, mode)
    log_inv = np.log(1 / rich.init.values)
    first, second = order[0], order[1]
    gap = all_half[:, second] - all_half[:, first]
    slope = np.polyfit(log_inv, gap, 1)[0]
    slope_theory = 1 / (2 * s[second] * var[second]) - 1 / (2 * s[first] * var[first])
    checks.append(check_below(
        "stage_gap_grows_like_log_init", "the gap between the first two stages grows like ln(1/u0) with slope "
        "1/(2 S_2 E_2) - 1/(2 S_1 E_1) (relative error of the fitted slope)",
        abs(slope - slope_theory) / slope_theory, 0.05))

    # 3. depth: sharper transitions; each depth follows its exact solution.
    td = depth_curves.time.values
    width = []
    depth_theory = []
    for depth in config.depths:
        curve = depth_curves.sel(depth=depth).values
        t10, t50, t90 = (metrics.crossing_time(td, curve, q) for q in (0.1, 0.5, 0.9))
        width.append(float((t90 - t10) / t50))
        depth_theory.append(np.asarray(theory.saxe_mode(td, 1.0, config.depth_init, depth=depth)))
    depth_error = max(np.max(np.abs(depth_curves.sel(depth=d).values - th)) for d, th in zip(config.depths, depth_theory))
    checks.append(Check(
        "depth_sharpens_transition", "relative transition width (t_90 - t_10)/t_50 decreases with depth",
        width, "decreasing", bool(np.all(np.diff(width) < 0))))
    checks.append(check_below(
        "depth_gd_vs_exact", f"GD (lr {config.learning_rate:g}) on depth-L balanced nets follows the exact "
        "depth-L mode solution (max abs error of u/S)", depth_error, 0.01))

    # 4. imbalance: closed form, lazy rate, conservation (flow) and drift order (GD).
    ti = imb_fine.time.isel(run=0).values
    c = np.asarray(config.imbalances)
    imb_theory = np.asarray(theory.imbalanced_mode(ti[None, :], 1.0, u0_imbalance[:, None], c[:, None]))
    imb_error = np.max(np.abs(imb_fine.weights.isel(mode=0).values - imb_theory))
    checks.append(check_below(
        "imbalance_gd_vs_closed_form", "GD follows the imbalanced-mode closed form for every C (max abs error of u/S)",
        imb_error, 0.01))
    tf = imb_flow.time.values
    imb_flow_theory = np.asarray(theory.imbalanced_mode(tf[None, :], 1.0, u0_imbalance[:, None], c[:, None]))
    checks.append(compare(imb_flow_theory, imb_flow.weights.isel(mode=0), rtol=1e-8,
                          name="imbalance_flow_vs_closed_form")
                  .to_check("exact gradient flow matches the imbalanced-mode closed form for every C at every time "
                            "(max relative error)"))
    largest = int(np.argmax(c))
    u = imb_fine.weights.isel(run=largest, mode=0).values
    window = (u > 0.1) & (u < 0.9)
    rate = -np.polyfit(ti[window], np.log(1 - u[window]), 1)[0]
    checks.append(check_below(
        "lazy_rate", f"at C = {c[largest]:g} the mode saturates exponentially at rate |C| E[x^2] "
        "(relative error of the fitted rate)", abs(rate / c[largest] - 1), 0.02))
    flow_drift = np.max(np.abs(imb_flow.layer_imbalance - imb_flow.layer_imbalance.isel(time=0)).values)
    checks.append(check_below(
        "imbalance_conserved_under_flow", "C = a^2 - b^2 is conserved by gradient flow (max abs drift)",
        flow_drift, 1e-8))
    drift_fine = np.abs(imb_fine.layer_imbalance.isel(step=-1, mode=0) - imb_fine.layer_imbalance.isel(step=0, mode=0)).values
    drift_coarse = np.abs(imb_coarse.layer_imbalance.isel(step=-1, mode=0) - imb_coarse.layer_imbalance.isel(step=0, mode=0)).values
    nonzero = c > 0
    order_measured = np.log2(drift_coarse[nonzero] / drift_fine[nonzero])
    checks.append(check_below(
        "imbalance_drift_order", "under GD the drift of C over a fixed time is O(lr) (O(lr^2) per step): "
        "doubling lr doubles it (max |log2 ratio - 1|)", np.max(np.abs(order_measured - 1)), 0.1))

    figure = _figure(config, t, default, linear, sigmoid, exponential, rich, all_half, half_theory, order, log_inv,
                     depth_curves, depth_theory, width, imb_fine, imb_theory, drift_fine)
    dataset = xr.Dataset({
        "sigmoid_weights": _panel(default.weights, "sigmoid"),
        "linear_weights": _panel(linear.weights.isel(run=0), "sigmoid"),
        "stage_half_time": (("init", "mode"), all_half),
        "stage_half_time_theory": (("init", "mode"), np.log(s / rich.init.values[:, None] - 1) / (2 * s * var)),
        "depth_weights": _panel(depth_curves, "depth"),
        "imbalance_weights": _panel(imb_fine.weights.isel(mode=0), "imbalance").rename(run="imbalance"),
        "imbalance_drift": (("imbalance",), drift_fine),
    }, coords={"init": rich.init.values, "mode": np.arange(len(s)), "target_weight": ("mode", s),
               "input_variance": ("mode", var), "imbalance": c})
    dataset.attrs["description"] = "Dynamical feedback principle: diagonal linear network (Nam et al. 2025, §3.1-3.2)"
    return Outcome(dataset, checks, {"feedback": figure})


def _panel(array: xr.DataArray, prefix: str) -> xr.DataArray:
    """One panel's curve with its own step/time axes (panels use different learning rates and grids)."""
    array = array.drop_vars([name for name in ("run", "init", "learning_rate", "imbalance") if name in array.coords])
    if "time" in array.coords and array.time.ndim > 1:
        array = array.assign_coords(time=("step", array.time.values[0]))
    return array.rename(step=f"{prefix}_step", time=f"{prefix}_time")


def _figure(config, t, default, linear, sigmoid, exponential, rich, all_half, half_theory, order, log_inv,
            depth_curves, depth_theory, width, imb, imb_theory, drift):
    s = np.asarray(config.target_weights)
    colors = mode_colors(len(s))
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), constrained_layout=True)
    ax = axes[0, 0]
    for i in range(len(s)):
        ax.plot(t, sigmoid[:, i] / s[i], color=colors[i], **MODE_THEORY)
        ax.plot(t, default.weights.values[:, i] / s[i], color=colors[i], label=f"$S$={s[i]:g}", **MODE_SIM)
    ax.plot(t, exponential[:, 0] / s[0], color="0.3", lw=2.5, alpha=0.4, label="linear model (all $S$)")
    ax.plot(t, linear.weights.isel(run=0, mode=0).values / s[0], color="0.3", **MODE_SIM)
    ax.set(xlabel="time $t$ = lr x step", ylabel="$a_i b_i / S_i$  ($\\theta_i / S_i$)",
           title="1. sigmoidal (diagonal net) vs exponential (linear model)")
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[0, 1]
    for i in range(len(s)):
        theory_line = np.log(s[i] / rich.init.values - 1) / (2 * s[i] * config.input_variances[i])
        ax.plot(log_inv, theory_line, color=colors[i], **MODE_THEORY)
        ax.plot(log_inv, all_half[:, i], "o", color=colors[i], label=f"$S$={s[i]:g}", mfc="none")
    ax.set(xlabel="$\\ln(1/u_0)$", ylabel="half-time $t_{1/2}$",
           title="2. stage-like learning: $t_{1/2}=\\ln(S/u_0-1)/(2S E[x^2])$")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    td = depth_curves.time.values
    depth_colors = mode_colors(len(config.depths), "viridis")
    for j, depth in enumerate(config.depths):
        ax.plot(td, depth_theory[j], color=depth_colors[j], **MODE_THEORY)
        ax.plot(td, depth_curves.sel(depth=depth).values, color=depth_colors[j], **MODE_SIM,
                label=f"L={depth}: width {width[j]:.2f}")
    ax.set(xlabel="time $t$", ylabel="$u/S$", title=f"3. depth sharpens the transition ($u_0$={config.depth_init:g})")
    ax.legend(fontsize=8, title="(t90-t10)/t50", title_fontsize=8)
    ax = axes[1, 1]
    ti = imb.time.isel(run=0).values
    imb_colors = mode_colors(len(config.imbalances), "plasma")
    for j, c in enumerate(config.imbalances):
        ax.plot(ti[1:], imb_theory[j, 1:], color=imb_colors[j], **MODE_THEORY)
        ax.plot(ti[1:], imb.weights.isel(run=j, mode=0).values[1:], color=imb_colors[j], **MODE_SIM,
                label=f"C={c:g}: drift {drift[j]:.1e}")
    ax.set(xscale="log", xlabel="time $t$ (log)", ylabel="$ab/S$",
           title="4. imbalance $C=a^2-b^2$: rich (sigmoid) to lazy (exponential)")
    ax.legend(fontsize=8, title=f"GD lr {config.imbalance_learning_rate:g}", title_fontsize=8)
    fig.suptitle("Dynamical feedback principle — theory solid, linear-network simulation dashed", fontsize=12)
    return fig


MODE_THEORY = MODEL_STYLE["theory"]
MODE_SIM = MODEL_STYLE["linear"]


def _units(config: FeedbackConfig) -> int:
    return 3


EXPERIMENT = Experiment(
    name="feedback",
    description="Dynamical feedback principle: sigmoidal, stage-like, depth and imbalance dynamics of diagonal nets",
    config_type=FeedbackConfig,
    quick={"learning_rate": 2e-3, "imbalance_learning_rate": 2e-4, "duration": 10.0},
    run=run,
    units=_units,
)
