"""The checks of ``feedback``: functions of its Dataset alone (``layerwise check`` re-runs them from ``data.nc``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from layerwise import metrics, theory
from layerwise.compare import compare
from layerwise.experiments.base import dataset_config
from layerwise.report.checks import Check, check_below

OLD_NAMES = {"init": "init_scale", "target_weight": "target_strength", "imbalance": "mode_imbalance",
             "flow_layer_imbalance": "flow_mode_imbalance", "variance_target": "variance_target_strength"}
"""Dataset names of older data.nc files, read under the glossary's (``imbalance`` held C = a^2 - b^2, the
``mode_imbalance``; ``flow_layer_imbalance`` C along the flow)."""


def check(ds: xr.Dataset) -> list[Check]:
    """Every check of the five panels, in order; thresholds and learning rates come from the recorded config."""
    from layerwise.experiments.feedback import EXPERIMENT  # the package imports this module: resolve at call time

    config = dataset_config(ds, EXPERIMENT)
    return [*_saturation_checks(config, ds), *_stage_checks(config, ds), *_depth_checks(config, ds),
            *_imbalance_checks(ds), *_variance_checks(config, ds)]


def saturation_rate(t: np.ndarray, fraction: np.ndarray) -> float:
    """Rate k of an exponential approach ``fraction = 1 - c exp(-k t)``, fitted over 0.1 < fraction < 0.9."""
    return metrics.exponential_rate(t, 1 - fraction, 0.1, 0.9)


def _saturation_checks(config, ds: xr.Dataset) -> list[Check]:
    """1. Sigmoidal saturation of the diagonal net (GD and exact flow) vs exponential of the linear model."""
    s, var, t = ds.target_strength.values, ds.input_variance.values, ds.time.values
    default = ds.linear_weights.mean("seed").sel(init_scale=config.init_scale).values
    checks = [check_below(
        "sigmoid_gd_vs_closed_form", f"GD (lr {config.learning_rate:g}) on the balanced diagonal net follows "
        "a_i b_i / S_i = logistic closed form (max abs error over modes and time)",
        np.max(np.abs(default - ds.theory_weights.sel(init_scale=config.init_scale).values) / s), 0.01)]
    checks.append(compare(ds.theory_flow_weights, ds.flow_weights.mean("seed"), time_dim="flow_time", rtol=1e-8,
                          name="sigmoid_flow_vs_closed_form")
                  .to_check("exact gradient flow (diffrax Dopri8) matches the logistic closed form at every time "
                            "(max relative error)"))
    regression = ds.linear_regression_weights.mean("seed").values
    checks.append(check_below(
        "linear_model_exponential", "the linear model saturates as theta_i/S_i = 1 - exp(-E[x_i^2] t) "
        "(max abs error)", np.max(np.abs(regression - ds.theory_regression_weights.values) / s), 0.01))
    rates = [saturation_rate(t, curve) for curve in (regression / s).T]
    checks.append(check_below(
        "linear_rate_equals_input_variance", "linear model: the exponential rate fitted to each mode's GD curve "
        f"(-d ln(1 - theta_i/S_i)/dt over 0.1 < theta_i/S_i < 0.9) is E[x_i^2] for every S_i = {list(s)} (max "
        f"relative error; GD at lr {config.learning_rate:g} is O(lr E[x^2]) off)", np.max(np.abs(rates / var - 1)),
        0.01))
    return checks


def _stage_checks(config, ds: xr.Dataset) -> list[Check]:
    """2. Stage-like learning: order and half-times; the stage gap grows like ln(1/u0)."""
    s, var, t = ds.target_strength.values, ds.input_variance.values, ds.time.values
    linear = ds.linear_weights.mean("seed")
    half = metrics.crossing_time(t, (linear.sel(init_scale=config.init_scale).values / s).T, 0.5)
    half_theory = np.asarray(theory.learning_time(s, config.init_scale, 0.5, tau=1 / var))
    order = np.argsort(-(s * var))
    checks = [Check(
        "stage_order", "modes are learned in decreasing order of S_i E[x_i^2] (measured half-time order)",
        [int(i) for i in np.argsort(half)], [int(i) for i in order], bool(np.all(np.argsort(half) == order)))]
    checks.append(check_below(
        "half_times_vs_theory", "measured half-times match t_1/2 = ln(S/u0 - 1)/(2 S E[x^2]) (max relative error)",
        np.max(np.abs(half - half_theory) / half_theory), 0.02))
    all_half = metrics.crossing_time(t, np.moveaxis(linear.values / s, 1, 2), 0.5)  # (init, mode)
    first, second = order[0], order[1]
    slope = np.polyfit(np.log(1 / ds.init_scale.values), all_half[:, second] - all_half[:, first], 1)[0]
    slope_theory = 1 / (2 * s[second] * var[second]) - 1 / (2 * s[first] * var[first])
    checks.append(check_below(
        "stage_gap_grows_like_log_init", "the gap between the first two stages grows like ln(1/u0) with slope "
        "1/(2 S_2 E_2) - 1/(2 S_1 E_1) (relative error of the fitted slope)",
        abs(slope - slope_theory) / slope_theory, 0.05))
    return checks


def transition_widths(ds: xr.Dataset) -> list[float]:
    """(t_90 - t_10) / t_50 of each depth's GD curve (panel 3)."""
    return [float(w) for w in metrics.transition_width(ds.depth_time.values, ds.linear_depth_weights.values)]


def _depth_checks(config, ds: xr.Dataset) -> list[Check]:
    """3. Depth: sharper transitions; each depth follows its exact solution."""
    width = transition_widths(ds)
    return [Check("depth_sharpens_transition", "relative transition width (t_90 - t_10)/t_50 decreases with depth",
                  width, "decreasing", bool(np.all(np.diff(width) < 0))),
            check_below("depth_gd_vs_exact", f"GD (lr {config.learning_rate:g}) on depth-L balanced nets follows the "
                        "exact depth-L mode solution (max abs error of u/S)",
                        float(np.max(np.abs(ds.linear_depth_weights - ds.theory_depth_weights))), 0.01)]


def _imbalance_checks(ds: xr.Dataset) -> list[Check]:
    """4. Imbalance: closed form, lazy rate, conservation (flow) and drift order (GD)."""
    c = ds.mode_imbalance.values
    checks = [check_below(
        "imbalance_gd_vs_closed_form", "GD follows the imbalanced-mode closed form for every C (max abs error of u/S)",
        float(np.max(np.abs(ds.linear_imbalance_weights - ds.theory_imbalance_weights))), 0.01)]
    checks.append(compare(ds.theory_flow_imbalance_weights, ds.flow_imbalance_weights, rtol=1e-8,
                          time_dim="flow_imbalance_time", name="imbalance_flow_vs_closed_form")
                  .to_check("exact gradient flow matches the imbalanced-mode closed form for every C at every time "
                            "(max relative error)"))
    largest = int(np.argmax(c))
    rate = saturation_rate(ds.imbalance_time.values, ds.linear_imbalance_weights.values[largest])
    checks.append(check_below(
        "lazy_rate", f"at C = {c[largest]:g} the mode saturates exponentially at rate |C| E[x^2] "
        "(relative error of the fitted rate)", abs(rate / c[largest] - 1), 0.02))
    conserved = ds.flow_mode_imbalance - ds.flow_mode_imbalance.isel(flow_imbalance_time=0)
    checks.append(check_below("imbalance_conserved_under_flow", "C = a^2 - b^2 is conserved by gradient flow "
                              "(max abs drift)", float(np.max(np.abs(conserved))), 1e-8))
    fine, coarse = ds.linear_imbalance_drift.values
    order_measured = np.log2(coarse[c > 0] / fine[c > 0])
    checks.append(check_below(
        "imbalance_drift_order", "under GD the drift of C over a fixed time is O(lr) (O(lr^2) per step): "
        "doubling lr doubles it (max |log2 ratio - 1|)", np.max(np.abs(order_measured - 1)), 0.1))
    return checks


def _relative_loss_rate(t: np.ndarray, weights: np.ndarray, s: np.ndarray, var: np.ndarray) -> np.ndarray:
    """-d ln L/dt between consecutive records of the loss L = (1/2) sum_i E[x_i^2] (w_i - S_i)^2 of a diagonal task
    (exact for whitened inputs; ``weights`` (time, mode))."""
    loss = 0.5 * np.sum(var * (weights - s) ** 2, axis=-1)
    return -np.diff(np.log(loss)) / np.diff(t)


def _variance_checks(config, ds: xr.Dataset) -> list[Check]:
    """5. The E[x^2] dependence of claims 2-4, 6 and 7, and claim 3's "no plateau"."""
    s, var = ds.variance_target_strength.values, ds.variance_input.values
    t, inits = ds.time.values, ds.init_scale.values
    half = metrics.crossing_time(t, np.moveaxis(ds.linear_variance_weights.values / s, 1, 2), 0.5)  # (init, mode)
    half_theory = np.asarray(theory.learning_time(s, inits[:, None], 0.5, tau=1 / var))
    checks = [check_below(
        "variance_half_times_vs_theory", f"E[x^2] = {list(var)}, S = {list(s)}: GD half-times of the balanced "
        "diagonal net match t_1/2 = ln(S/u0 - 1)/(2 S E[x^2]) at every u0 (max relative error)",
        np.max(np.abs(half - half_theory) / half_theory), 0.02)]
    default = int(np.flatnonzero(inits == config.init_scale)[0])
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
    rates = np.array([saturation_rate(t, curve) for curve in (ds.linear_variance_regression_weights.values / s).T])
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
        "diagonal_loss_plateau", f"the same measure finds the diagonal net's plateau (u0 = {config.init_scale:g}): "
        "its -d ln L/dt at t = 0 is below 1 % of its maximum (ratio)", float(net_rate[0] / np.max(net_rate)), 0.01))
    lazy = ds.linear_variance_lazy_weights.values / s
    lazy_rates = np.array([saturation_rate(ds.variance_lazy_time.values, curve) for curve in lazy.T])
    c = config.variance_mode_imbalance
    checks.append(check_below(
        "variance_lazy_rate", f"C = {c:g}, E[x^2] = {list(var)}: each mode saturates exponentially at rate |C| "
        "E[x_i^2] (max relative error of the fitted rates)", np.max(np.abs(lazy_rates / (c * var) - 1)), 0.02))
    depth = int(ds.variance_depth)
    checks.append(check_below(
        "variance_depth_gd_vs_exact", f"E[x^2] != 1, depth {depth}: GD follows the exact solution of du/dt = L E[x^2] "
        "u^(2-2/L) (S - u) (max abs error of u/S)",
        float(np.max(np.abs(ds.linear_variance_deep_weights - ds.theory_variance_deep_weights).values / s)), 0.01))
    return checks
