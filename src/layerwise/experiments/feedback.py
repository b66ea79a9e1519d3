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

Panels 1-2 train on ``seeds`` sample sets at once (exactly whitened, so seeds differ only at rounding level); the
checks read the seed mean.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from layerwise import data, init, metrics, observables, theory
from layerwise.compare import compare
from layerwise.engine import even_record_steps, gradient_flow, log_record_steps, train
from layerwise.errors import LayerwiseError
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.models import DiagonalLinearNetwork
from layerwise.report.checks import Check, check_below
from layerwise.report.plotting import figure_grid, trajectories
from layerwise.seeds import seed_keys, seed_values


@F.config_dataclass
class FeedbackConfig:
    """Settings of the ``feedback`` experiment (defaults: the full run)."""

    seed: F.Seed = 0
    """First seed of the panel-1 input samples (exactly whitened: results depend on it only at rounding level)."""
    seeds: F.Count = 1
    """Number of seeds (sample sets) trained at once in panels 1-2; checks use their mean."""
    target_weights: F.PositiveFloats = (4.0, 2.0, 1.0, 0.5)
    """Mode strengths S_i of the diagonal task (panels 1-2)."""
    input_variances: F.PositiveFloats = (1.0, 1.0, 1.0, 1.0)
    """Input variances E[x_i^2] (panels 1-2)."""
    init: F.PositiveFloat = 1e-4
    """Initial end-to-end weight u0 = a_i b_i (balanced, a_i = b_i)."""
    learning_rate: F.PositiveFloat = 1e-3
    """GD learning rate for panels 1-3 (gradient-flow time t = lr * step)."""
    duration: F.PositiveFloat = 14.0
    """Gradient-flow time simulated in panels 1-2."""
    n_samples: F.at_least(2) = 1000
    """Samples of the panel-1 task (the engine trains from their sufficient statistics)."""
    stage_gap_inits: F.PositiveFloats = (1e-2, 1e-4, 1e-6, 1e-8)
    """Initial scales u0 over which the stage gap is measured (panel 2)."""
    depths: tuple[F.at_least(2), ...] = (2, 3, 4)
    """Depths of the balanced diagonal nets of panel 3."""
    depth_init: F.PositiveFloat = 1e-2
    """Initial end-to-end weight of the depth panel."""
    depth_duration: F.PositiveFloat = 10.0
    """Gradient-flow time simulated in panel 3."""
    imbalances: F.NonNegativeFloats = (0.0, 1.0, 10.0, 100.0)
    """Conserved imbalances C = a^2 - b^2 of panel 4 (target S = 1, E[x^2] = 1, b0 = imbalance_b0)."""
    imbalance_b0: F.PositiveFloat = 0.01
    """Initial second-layer weight b0 of panel 4 (a0 = sqrt(C + b0^2))."""
    imbalance_learning_rate: F.PositiveFloat = 1e-4
    """GD learning rate of panel 4 (run again at twice this rate for the drift order)."""
    imbalance_duration: F.PositiveFloat = 8.0
    """Gradient-flow time simulated in panel 4."""
    variance_targets: F.PositiveFloats = (3.0, 1.0)
    """Mode strengths S_i of the E[x^2] != 1 panel (5), ordered differently by S and by S E[x^2]."""
    variance_inputs: F.PositiveFloats = (0.5, 2.0)
    """Input variances E[x_i^2] != 1 of panel 5 (population task)."""
    variance_imbalance: F.PositiveFloat = 100.0
    """Conserved imbalance C of the lazy runs of panel 5 (every mode; b0 = imbalance_b0)."""

    def __post_init__(self):
        if len(self.target_weights) != len(self.input_variances) or len(self.target_weights) < 2:
            raise LayerwiseError("target_weights and input_variances must have the same length >= 2")
        if self.n_samples <= len(self.target_weights):
            raise LayerwiseError(f"n_samples must exceed the number of modes ({len(self.target_weights)})")
        if self.init >= min(self.target_weights) or max(self.stage_gap_inits) >= min(self.target_weights):
            raise LayerwiseError("init and stage_gap_inits must be smaller than every target weight")
        s, var = np.asarray(self.variance_targets), np.asarray(self.variance_inputs)
        if len(s) != len(var) or len(s) < 2 or len(np.unique(s * var)) < len(s):
            raise LayerwiseError("variance_targets and variance_inputs must have the same length >= 2 and distinct "
                                 "products S E[x^2]")
        if np.array_equal(np.argsort(-s), np.argsort(-(s * var))):
            raise LayerwiseError("variance_targets and variance_inputs must order the modes differently by S and by "
                                 "S E[x^2] (so the stage order tests E[x^2])")
        if max(self.init, self.depth_init, *self.stage_gap_inits) >= min(s):
            raise LayerwiseError("init, depth_init and stage_gap_inits must be smaller than every variance_target")


WEIGHTS = {"weights": (lambda m, p, t: m.end_to_end(p)[0], ("mode",))}


def _grid(duration: float, learning_rate: float, points: int, log: bool = False) -> np.ndarray:
    """Record steps over ``duration`` of gradient-flow time (evenly or log spaced)."""
    return (log_record_steps if log else even_record_steps)(max(1, round(duration / learning_rate)), points)


def _variance_panel(config: FeedbackConfig) -> tuple[dict, dict]:
    """Panel 5, E[x^2] != 1 (population task): balanced depth-2 nets at every init, the linear model, the deepest
    balanced net and lazy depth-2 nets (imbalance C on every mode), each by GD. Returns (data variables, coords)."""
    s, var = np.asarray(config.variance_targets), np.asarray(config.variance_inputs)
    task, depth = data.diagonal_task(s, var), max(config.depths)
    inits = np.unique(np.concatenate([[config.init], config.stage_gap_inits]))[::-1]
    record = _grid(config.duration, config.learning_rate, 801)

    def run(model, params, record, learning_rate=config.learning_rate):
        return train(model, params, task, steps=int(record[-1]), learning_rate=learning_rate, record_steps=record,
                     observables=WEIGHTS).history.weights.values

    two, deep = (DiagonalLinearNetwork(dim=len(s), depth=d) for d in (2, depth))
    balanced = run(two, jax.vmap(lambda u: init.balanced_diagonal_init(two, u))(jnp.asarray(inits)), record)
    linear = run(DiagonalLinearNetwork(dim=len(s), depth=1), jnp.zeros((1, 1, len(s))), record)[0]
    deep_weights = run(deep, init.balanced_diagonal_init(deep, config.depth_init)[None], record)[0]
    # Lazy: C on every mode, GD at panel 4's lr / max E[x^2] (the fastest rate is C max E[x^2]).
    c, b0 = config.variance_imbalance, config.imbalance_b0
    a0 = np.sqrt(c + b0**2)
    lazy_lr = config.imbalance_learning_rate / max(var)
    lazy_record = _grid(10.0 / (c * var.min()), lazy_lr, 401, log=True)
    lazy = run(two, jnp.asarray(np.stack([np.full(len(s), a0), np.full(len(s), b0)]))[None], lazy_record, lazy_lr)[0]
    t, t_lazy = config.learning_rate * record, lazy_lr * lazy_record
    variables = {
        "linear_variance_weights": (("init", "time", "variance_mode"), balanced),
        "theory_variance_weights": (("init", "time", "variance_mode"),
                                    np.asarray(theory.saxe_mode(t[None, :, None] * var, s, inits[:, None, None]))),
        "linear_variance_regression_weights": (("time", "variance_mode"), linear),
        "linear_variance_deep_weights": (("time", "variance_mode"), deep_weights),
        "theory_variance_deep_weights": (("time", "variance_mode"), np.asarray(
            theory.saxe_mode(t[:, None], s, config.depth_init, depth=depth, tau=1 / var))),
        "linear_variance_lazy_weights": (("variance_lazy_time", "variance_mode"), lazy),
    }
    coords = {"variance_target": ("variance_mode", s), "variance_input": ("variance_mode", var),
              "variance_lazy_time": t_lazy, "variance_depth": depth}
    return variables, coords


def simulate(config: FeedbackConfig, progress: Progress) -> xr.Dataset:
    s, var = np.asarray(config.target_weights), np.asarray(config.input_variances)
    inits = np.unique(np.concatenate([[config.init], config.stage_gap_inits]))[::-1]
    # 1-2. Depth-2 (every init) and depth-1 nets on each seed's sample set: one batched task per run.
    tasks = [data.diagonal_task(s, var, n_samples=config.n_samples, key=k) for k in seed_keys(config.seed, config.seeds)]
    task = jax.tree_util.tree_map(lambda *leaves: jnp.repeat(jnp.stack(leaves), len(inits), axis=0), *tasks)
    one_per_seed = jax.tree_util.tree_map(lambda leaf: leaf[:: len(inits)], task)
    record = _grid(config.duration, config.learning_rate, 801)
    deep = DiagonalLinearNetwork(dim=len(s), depth=2)
    params = jax.vmap(lambda u: init.balanced_diagonal_init(deep, u))(jnp.asarray(np.tile(inits, config.seeds)))
    rich = train(deep, params, task, steps=int(record[-1]), learning_rate=config.learning_rate, record_steps=record,
                 observables=WEIGHTS, task_batched=True).history
    shallow = DiagonalLinearNetwork(dim=len(s), depth=1)
    plain = train(shallow, jnp.zeros((config.seeds, 1, len(s))), one_per_seed, steps=int(record[-1]),
                  learning_rate=config.learning_rate, record_steps=record, observables=WEIGHTS, task_batched=True)
    flow_times = np.linspace(0.0, config.duration, 61)
    default = jax.tree_util.tree_map(lambda p: p[np.tile(inits, config.seeds) == config.init], params)
    flow = gradient_flow(deep, default, one_per_seed, flow_times, rtol=1e-12, atol=1e-14, observables=WEIGHTS,
                         task_batched=True).history
    progress("sigmoidal vs exponential; stages")
    # 3. One mode (S = 1, E[x^2] = 1) in balanced diagonal nets of each depth.
    depth_record = _grid(config.depth_duration, config.learning_rate, 801)
    depth_curves = []
    for depth in config.depths:
        model = DiagonalLinearNetwork(dim=1, depth=depth)
        depth_curves.append(train(model, init.balanced_diagonal_init(model, config.depth_init)[None],
                                  data.diagonal_task([1.0]), steps=int(depth_record[-1]),
                                  learning_rate=config.learning_rate, record_steps=depth_record,
                                  observables=WEIGHTS).history.weights.values[0, :, 0])
    progress("depth")
    # 4. One mode (S = 1) from b0 with a0^2 - b0^2 = C, at two learning rates (for the drift order).
    c, b0 = np.asarray(config.imbalances), config.imbalance_b0
    a0 = np.sqrt(c + b0**2)
    model = DiagonalLinearNetwork(dim=1, depth=2)
    params = jnp.asarray(np.stack([a0, np.full_like(a0, b0)], axis=1)[:, :, None])
    recorded = {**WEIGHTS, "layer_imbalance": observables.LayerImbalance()}
    rates = [config.imbalance_learning_rate, 2 * config.imbalance_learning_rate]
    lazy = [train(model, params, data.diagonal_task([1.0]), steps=int(grid[-1]), learning_rate=lr, record_steps=grid,
                  observables=recorded).history
            for lr in rates for grid in [_grid(config.imbalance_duration, lr, 401, log=True)]]
    imbalance_flow = gradient_flow(model, params, data.diagonal_task([1.0]),
                                   np.geomspace(1e-4, config.imbalance_duration, 60) - 1e-4, rtol=1e-12, atol=1e-14,
                                   observables=recorded).history
    progress("imbalance")
    variance_variables, variance_coords = _variance_panel(config)
    progress("E[x^2] != 1")

    t, ti, tf = rich.time.values[0], lazy[0].time.values[0], imbalance_flow.time.values
    u0 = (a0 * b0)[:, None]
    drift = [np.abs(h.layer_imbalance.values[:, -1, 0, 0] - h.layer_imbalance.values[:, 0, 0, 0]) for h in lazy]
    by_seed = lambda values: values.reshape(config.seeds, len(inits), *values.shape[1:])  # noqa: E731
    return xr.Dataset(
        {
            "linear_weights": (("seed", "init", "time", "mode"), by_seed(rich.weights.values)),
            "theory_weights": (("init", "time", "mode"),
                               np.asarray(theory.saxe_mode(t[None, :, None] * var, s, inits[:, None, None]))),
            "linear_regression_weights": (("seed", "time", "mode"), plain.history.weights.values),
            "theory_regression_weights": (("time", "mode"), np.asarray(theory.linear_mode(t[:, None], s, 0.0, var))),
            "flow_weights": (("seed", "flow_time", "mode"), flow.weights.values),
            "theory_flow_weights": (("flow_time", "mode"),
                                    np.asarray(theory.saxe_mode(flow_times[:, None] * var, s, config.init))),
            "linear_depth_weights": (("depth", "depth_time"), np.stack(depth_curves)),
            "theory_depth_weights": (("depth", "depth_time"), np.stack([np.asarray(theory.saxe_mode(
                config.learning_rate * depth_record, 1.0, config.depth_init, depth=d)) for d in config.depths])),
            "linear_imbalance_weights": (("imbalance", "imbalance_time"), lazy[0].weights.values[:, :, 0]),
            "theory_imbalance_weights": (("imbalance", "imbalance_time"),
                                         np.asarray(theory.imbalanced_mode(ti[None, :], 1.0, u0, c[:, None]))),
            "linear_imbalance_drift": (("imbalance_learning_rate", "imbalance"), np.stack(drift)),
            "flow_imbalance_weights": (("imbalance", "flow_imbalance_time"), imbalance_flow.weights.values[:, :, 0]),
            "theory_flow_imbalance_weights": (("imbalance", "flow_imbalance_time"),
                                              np.asarray(theory.imbalanced_mode(tf[None, :], 1.0, u0, c[:, None]))),
            "flow_layer_imbalance": (("imbalance", "flow_imbalance_time"), imbalance_flow.layer_imbalance.values[..., 0, 0]),
            **variance_variables,
        },
        coords={"seed": seed_values(config.seed, config.seeds), "init": inits, "time": t, "mode": np.arange(len(s)),
                "target_weight": ("mode", s), "input_variance": ("mode", var), "flow_time": flow_times,
                "depth": list(config.depths), "depth_time": config.learning_rate * depth_record, "imbalance": c,
                "imbalance_time": ti, "flow_imbalance_time": tf, "imbalance_learning_rate": rates, **variance_coords},
        attrs={"description": "Dynamical feedback principle: diagonal linear network (Nam et al. 2025, §3.1-3.2)"},
    )


def check(ds: xr.Dataset) -> list[Check]:
    config = dataset_config(ds, EXPERIMENT)
    s, var, t = ds.target_weight.values, ds.input_variance.values, ds.time.values
    linear = ds.linear_weights.mean("seed")
    default = linear.sel(init=config.init).values
    checks = [check_below(
        "sigmoid_gd_vs_closed_form", f"GD (lr {config.learning_rate:g}) on the balanced diagonal net follows "
        "a_i b_i / S_i = logistic closed form (max abs error over modes and time)",
        np.max(np.abs(default - ds.theory_weights.sel(init=config.init).values) / s), 0.01)]
    checks.append(compare(ds.theory_flow_weights, ds.flow_weights.mean("seed"), time_dim="flow_time", rtol=1e-8,
                          name="sigmoid_flow_vs_closed_form")
                  .to_check("exact gradient flow (diffrax Dopri8) matches the logistic closed form at every time "
                            "(max relative error)"))
    regression = ds.linear_regression_weights.mean("seed").values
    checks.append(check_below(
        "linear_model_exponential", "the linear model saturates as theta_i/S_i = 1 - exp(-E[x_i^2] t) "
        "(max abs error)", np.max(np.abs(regression - ds.theory_regression_weights.values) / s), 0.01))
    rates = [_saturation_rate(t, curve) for curve in (regression / s).T]
    checks.append(check_below(
        "linear_rate_equals_input_variance", "linear model: the exponential rate fitted to each mode's GD curve "
        f"(-d ln(1 - theta_i/S_i)/dt over 0.1 < theta_i/S_i < 0.9) is E[x_i^2] for every S_i = {list(s)} (max "
        f"relative error; GD at lr {config.learning_rate:g} is O(lr E[x^2]) off)", np.max(np.abs(rates / var - 1)),
        0.01))
    # 2. Stage-like learning: order and half-times; the stage gap grows like ln(1/u0).
    half = metrics.crossing_time(t, (default / s).T, 0.5)
    half_theory = np.log(s / config.init - 1) / (2 * s * var)
    order = np.argsort(-(s * var))
    checks.append(Check(
        "stage_order", "modes are learned in decreasing order of S_i E[x_i^2] (measured half-time order)",
        [int(i) for i in np.argsort(half)], [int(i) for i in order], bool(np.all(np.argsort(half) == order))))
    checks.append(check_below(
        "half_times_vs_theory", "measured half-times match t_1/2 = ln(S/u0 - 1)/(2 S E[x^2]) (max relative error)",
        np.max(np.abs(half - half_theory) / half_theory), 0.02))
    all_half = metrics.crossing_time(t, np.moveaxis(linear.values / s, 1, 2), 0.5)  # (init, mode)
    first, second = order[0], order[1]
    slope = np.polyfit(np.log(1 / ds.init.values), all_half[:, second] - all_half[:, first], 1)[0]
    slope_theory = 1 / (2 * s[second] * var[second]) - 1 / (2 * s[first] * var[first])
    checks.append(check_below(
        "stage_gap_grows_like_log_init", "the gap between the first two stages grows like ln(1/u0) with slope "
        "1/(2 S_2 E_2) - 1/(2 S_1 E_1) (relative error of the fitted slope)",
        abs(slope - slope_theory) / slope_theory, 0.05))
    # 3. Depth: sharper transitions; each depth follows its exact solution.
    width = _transition_widths(ds)
    checks.append(Check("depth_sharpens_transition", "relative transition width (t_90 - t_10)/t_50 decreases with "
                        "depth", width, "decreasing", bool(np.all(np.diff(width) < 0))))
    checks.append(check_below(
        "depth_gd_vs_exact", f"GD (lr {config.learning_rate:g}) on depth-L balanced nets follows the exact depth-L "
        "mode solution (max abs error of u/S)",
        float(np.max(np.abs(ds.linear_depth_weights - ds.theory_depth_weights))), 0.01))
    # 4. Imbalance: closed form, lazy rate, conservation (flow) and drift order (GD).
    c = ds.imbalance.values
    checks.append(check_below(
        "imbalance_gd_vs_closed_form", "GD follows the imbalanced-mode closed form for every C (max abs error of u/S)",
        float(np.max(np.abs(ds.linear_imbalance_weights - ds.theory_imbalance_weights))), 0.01))
    checks.append(compare(ds.theory_flow_imbalance_weights, ds.flow_imbalance_weights, rtol=1e-8,
                          time_dim="flow_imbalance_time", name="imbalance_flow_vs_closed_form")
                  .to_check("exact gradient flow matches the imbalanced-mode closed form for every C at every time "
                            "(max relative error)"))
    largest = int(np.argmax(c))
    rate = _saturation_rate(ds.imbalance_time.values, ds.linear_imbalance_weights.values[largest])
    checks.append(check_below(
        "lazy_rate", f"at C = {c[largest]:g} the mode saturates exponentially at rate |C| E[x^2] "
        "(relative error of the fitted rate)", abs(rate / c[largest] - 1), 0.02))
    conserved = ds.flow_layer_imbalance - ds.flow_layer_imbalance.isel(flow_imbalance_time=0)
    checks.append(check_below("imbalance_conserved_under_flow", "C = a^2 - b^2 is conserved by gradient flow "
                              "(max abs drift)", float(np.max(np.abs(conserved))), 1e-8))
    fine, coarse = ds.linear_imbalance_drift.values
    order_measured = np.log2(coarse[c > 0] / fine[c > 0])
    checks.append(check_below(
        "imbalance_drift_order", "under GD the drift of C over a fixed time is O(lr) (O(lr^2) per step): "
        "doubling lr doubles it (max |log2 ratio - 1|)", np.max(np.abs(order_measured - 1)), 0.1))
    return checks + _variance_checks(config, ds)


def _saturation_rate(t: np.ndarray, fraction: np.ndarray) -> float:
    """Rate k of an exponential approach ``fraction = 1 - c exp(-k t)``: -slope of ln(1 - fraction) over
    0.1 < fraction < 0.9."""
    window = (fraction > 0.1) & (fraction < 0.9)
    return float(-np.polyfit(t[window], np.log(1 - fraction[window]), 1)[0])


def _relative_loss_rate(t: np.ndarray, weights: np.ndarray, s: np.ndarray, var: np.ndarray) -> np.ndarray:
    """-d ln L/dt between consecutive records of the loss L = (1/2) sum_i E[x_i^2] (w_i - S_i)^2 of a diagonal task
    (exact for whitened inputs; ``weights`` (time, mode))."""
    loss = 0.5 * np.sum(var * (weights - s) ** 2, axis=-1)
    return -np.diff(np.log(loss)) / np.diff(t)


def _variance_checks(config: FeedbackConfig, ds: xr.Dataset) -> list[Check]:
    """Panel 5: the E[x^2] dependence of claims 2-4, 6 and 7, and claim 3's "no plateau"."""
    s, var, t = ds.variance_target.values, ds.variance_input.values, ds.time.values
    curves = ds.linear_variance_weights.values / s  # (init, time, mode)
    half = metrics.crossing_time(t, np.moveaxis(curves, 1, 2), 0.5)  # (init, mode)
    inits = ds.init.values
    half_theory = np.log(s / inits[:, None] - 1) / (2 * s * var)
    checks = [check_below(
        "variance_half_times_vs_theory", f"E[x^2] = {list(var)}, S = {list(s)}: GD half-times of the balanced "
        "diagonal net match t_1/2 = ln(S/u0 - 1)/(2 S E[x^2]) at every u0 (max relative error)",
        np.max(np.abs(half - half_theory) / half_theory), 0.02)]
    default = int(np.flatnonzero(inits == config.init)[0])
    order = np.argsort(-(s * var))
    checks.append(Check(
        "variance_stage_order", f"E[x^2] = {list(var)}, S = {list(s)}: modes are learned in decreasing order of "
        f"S_i E[x_i^2], not of S_i (measured half-time order; the order by S alone is {np.argsort(-s).tolist()})",
        np.argsort(half[default]).tolist(), order.tolist(), bool(np.array_equal(np.argsort(half[default]), order))))
    first, second = order[0], order[1]
    slope = np.polyfit(np.log(1 / inits), half[:, second] - half[:, first], 1)[0]
    slope_theory = 1 / (2 * s[second] * var[second]) - 1 / (2 * s[first] * var[first])
    checks.append(check_below(
        "variance_stage_gap_grows_like_log_init", "E[x^2] != 1: the gap between the first two stages grows like "
        "ln(1/u0) with slope 1/(2 S_2 E_2) - 1/(2 S_1 E_1) (relative error of the fitted slope)",
        abs(slope - slope_theory) / abs(slope_theory), 0.05))
    rates = np.array([_saturation_rate(t, curve) for curve in (ds.linear_variance_regression_weights.values / s).T])
    checks.append(check_below(
        "variance_linear_rate", f"linear model, E[x^2] = {list(var)}: the fitted exponential rate of each mode is "
        "E[x_i^2] (max relative error)", np.max(np.abs(rates / var - 1)), 0.01))
    loss_rate = _relative_loss_rate(t, ds.linear_variance_regression_weights.values, s, var)
    checks.append(check_below(
        "linear_loss_no_plateau", "no plateau: the linear model's relative loss decrease per unit time, -d ln L/dt "
        "between records, is largest at t = 0 and never increases (max increase between records / its t = 0 value)",
        max(0.0, float(np.max(np.diff(loss_rate)) / loss_rate[0])), 1e-9))
    net_rate = _relative_loss_rate(t, ds.linear_variance_weights.values[default], s, var)
    checks.append(check_below(
        "diagonal_loss_plateau", f"the same measure finds the diagonal net's plateau (u0 = {config.init:g}): its -d "
        "ln L/dt at t = 0 is below 1 % of its maximum (ratio)", float(net_rate[0] / np.max(net_rate)), 0.01))
    lazy = ds.linear_variance_lazy_weights.values / s
    lazy_rates = np.array([_saturation_rate(ds.variance_lazy_time.values, curve) for curve in lazy.T])
    c = config.variance_imbalance
    checks.append(check_below(
        "variance_lazy_rate", f"C = {c:g}, E[x^2] = {list(var)}: each mode saturates exponentially at rate |C| "
        "E[x_i^2] (max relative error of the fitted rates)", np.max(np.abs(lazy_rates / (c * var) - 1)), 0.02))
    depth = int(ds.variance_depth)
    checks.append(check_below(
        "variance_depth_gd_vs_exact", f"E[x^2] != 1, depth {depth}: GD follows the exact solution of du/dt = L E[x^2] "
        "u^(2-2/L) (S - u) (max abs error of u/S)",
        float(np.max(np.abs(ds.linear_variance_deep_weights - ds.theory_variance_deep_weights).values / s)), 0.01))
    return checks


def _transition_widths(ds: xr.Dataset) -> list[float]:
    """(t_90 - t_10) / t_50 of each depth's GD curve."""
    td = ds.depth_time.values
    return [float((metrics.crossing_time(td, curve, 0.9) - metrics.crossing_time(td, curve, 0.1))
                  / metrics.crossing_time(td, curve, 0.5)) for curve in ds.linear_depth_weights.values]


def plot(ds: xr.Dataset) -> dict:
    config = dataset_config(ds, EXPERIMENT)
    s, var = ds.target_weight.values, ds.input_variance.values
    figure, axes = figure_grid(2, 2, width=5.5, height=4.25, title="Dynamical feedback principle — theory solid, "
                               "linear-network simulation dashed")
    ax = axes[0, 0]
    trajectories(ax, ds.time.values, ds.theory_weights.sel(init=config.init).values / s,
                 ds.linear_weights.mean("seed").sel(init=config.init).values / s, labels=[f"$S$={v:g}" for v in s])
    trajectories(ax, ds.time.values, ds.theory_regression_weights.values[:, :1] / s[0],
                 ds.linear_regression_weights.mean("seed").values[:, :1] / s[0], colors=["0.3"],
                 labels=["linear model (all $S$)"])
    ax.set(xlabel="time $t$ = lr x step", ylabel="$a_i b_i / S_i$  ($\\theta_i / S_i$)",
           title="1. sigmoidal (diagonal net) vs exponential (linear model)")
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[0, 1]
    log_inv = np.log(1 / ds.init.values)
    half = metrics.crossing_time(ds.time.values, np.moveaxis(ds.linear_weights.mean("seed").values / s, 1, 2), 0.5)
    colors = trajectories(ax, log_inv, np.log(s / ds.init.values[:, None] - 1) / (2 * s * var))
    for i, color in enumerate(colors):
        ax.plot(log_inv, half[:, i], "o", color=color, mfc="none", label=f"$S$={s[i]:g}")
    ax.set(xlabel="$\\ln(1/u_0)$", ylabel="half-time $t_{1/2}$",
           title="2. stage-like learning: $t_{1/2}=\\ln(S/u_0-1)/(2S E[x^2])$")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    width = _transition_widths(ds)
    trajectories(ax, ds.depth_time.values, ds.theory_depth_weights.values.T, ds.linear_depth_weights.values.T,
                 labels=[f"L={d}: width {w:.2f}" for d, w in zip(ds.depth.values, width)], cmap="viridis")
    ax.set(xlabel="time $t$", ylabel="$u/S$", title=f"3. depth sharpens the transition ($u_0$={config.depth_init:g})")
    ax.legend(fontsize=8, title="(t90-t10)/t50", title_fontsize=8)
    ax = axes[1, 1]
    trajectories(ax, ds.imbalance_time.values[1:], ds.theory_imbalance_weights.values[:, 1:].T,
                 ds.linear_imbalance_weights.values[:, 1:].T, cmap="plasma",
                 labels=[f"C={c:g}: drift {d:.1e}" for c, d in zip(ds.imbalance.values, ds.linear_imbalance_drift[0])])
    ax.set(xscale="log", xlabel="time $t$ (log)", ylabel="$ab/S$",
           title="4. imbalance $C=a^2-b^2$: rich (sigmoid) to lazy (exponential)")
    ax.legend(fontsize=8, title=f"GD lr {config.imbalance_learning_rate:g}", title_fontsize=8)
    return {"feedback": figure}


EXPERIMENT = Experiment(
    name="feedback",
    description="Dynamical feedback principle: sigmoidal, stage-like, depth and imbalance dynamics of diagonal nets",
    config_type=FeedbackConfig,
    quick={"learning_rate": 2e-3, "imbalance_learning_rate": 2e-4, "duration": 10.0},
    presets={"test": {"learning_rate": 2e-3, "imbalance_learning_rate": 2e-4, "duration": 9.0, "n_samples": 200,
                      "stage_gap_inits": (1e-2, 1e-4, 1e-6), "depth_duration": 7.0, "imbalance_duration": 6.0,
                      "seeds": 2}},
    simulate=simulate,
    check=check,
    plot=plot,
    units=lambda config: 4,
)
