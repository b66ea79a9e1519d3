"""The checks of ``neural-collapse``: functions of its Dataset alone (``layerwise check`` re-runs them from
``data.nc``), each part judged on the seed mean."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from layerwise import metrics
from layerwise.compare import compare
from layerwise.experiments.base import dataset_config
from layerwise.report.checks import Check, Measurement, check_above, check_below

if TYPE_CHECKING:
    from layerwise.experiments.neural_collapse import NeuralCollapseConfig


def check(ds: xr.Dataset) -> list[Check | Measurement]:
    """The greedy, geometry, weight-decay and MLP checks, in order, on the seed mean."""
    from layerwise.experiments.neural_collapse import EXPERIMENT  # the package imports this module: resolve now

    config, m = dataset_config(ds, EXPERIMENT), ds.mean("seed")
    return [*_greedy_checks(config, m), *_geometry_checks(config, m), *_weight_decay_checks(config, m),
            *_mlp_checks(m)]


def _greedy_checks(config: NeuralCollapseConfig, m: xr.Dataset) -> list[Check]:
    """Aligned init follows the Saxe modes exactly; a small random init learns them in the same order, rank C."""
    s, t, classes = m.greedy_singular_value.values, m.greedy_time.values, m.sizes["greedy_class"]
    aligned, random = m.sel(greedy_init="aligned balanced"), m.sel(greedy_init="random gaussian")
    aligned_u = aligned.flow_greedy_feature_sv.values[:, :classes] ** 2 / sum(config.greedy_class_sizes)
    checks = [compare(m.theory_greedy_mode.values / s, aligned_u / s, rtol=0.0, atol=1e-5, times=t,
                      name="greedy_modes_vs_saxe").to_check(
        f"aligned balanced init (u0 = {config.greedy_init_scale:g}), exact gradient flow: feature singular values "
        "sigma_c(H)^2/N follow the Saxe mode u_c(t) = saxe_mode(t, s_c = sqrt(n_c/N), u0) at every time (max abs "
        "error of u_c/s_c)")]
    half = metrics.crossing_time(t, (random.flow_greedy_mode.values / s).T, 0.5)
    order, expected = [int(i) for i in np.argsort(half)], [int(i) for i in np.argsort(-s)]
    checks.append(Check("greedy_order", "small random init: modes reach half their strength in decreasing order of "
                        "the singular value s_c = sqrt(n_c/N) (larger classes first)", order, expected,
                        bool(np.all(np.isfinite(half)) and order == expected)))
    half_aligned = metrics.crossing_time(t, (aligned.flow_greedy_mode.values / s).T, 0.5)
    # `theory.learning_time(s, u0)`, in numpy's rounding: data.nc files written before still re-check to 1e-12
    half_theory = np.log(s / config.greedy_init_scale - 1) / (2 * s)
    checks.append(check_below("greedy_half_times", "aligned init: half-times match ln(s/u0 - 1)/(2 s) (max relative "
                              "error)", np.max(np.abs(half_aligned - half_theory) / half_theory), 0.02))
    for variable, label, rank in (("feature_sv", "features H", classes),
                                  ("centred_sv", "centred features H - mean", classes - 1)):
        start, end = random[f"flow_greedy_{variable}"].values[[0, -1]]
        checks.append(check_above(
            f"{variable}_top_{rank}_learned", f"small random init: the top {rank} singular values of the {label} grow "
            "from the init scale (smallest growth factor)", np.min(end[:rank] / start[:rank]), 10.0))
        checks.append(check_below(
            f"{variable}_rest_not_learned", f"... while the others stay at the init scale (rank {rank}): max over "
            "the rest of sigma_k(end)/sigma_k(0)", np.max(end[rank:] / start[rank:]), 2.0))
    within = random.flow_greedy_within_class.values
    checks.append(check_below(
        "within_class_scatter_non_increasing", "small random init: the within-class scatter ||H P_perp||_F never "
        "increases under the flow (UFM gradient flow: d(H P_perp)/dt = -W^T W H P_perp; max relative increment)",
        np.max(np.diff(within) / within[:-1]), 1e-8))
    return checks


def _geometry_checks(config: NeuralCollapseConfig, m: xr.Dataset) -> list[Check]:
    """OF without bias, ETF with bias, residuals scaling as sigma_0^2; NC1 and NC4 of the linear UFM."""
    scales, final = np.asarray(config.init_scales), m.linear_geometry_nc.isel(geometry_time=-1)
    free, biased = final.sel(bias=False), final.sel(bias=True)  # (init_scale, nc_metric)
    smallest, checks = int(np.argmin(scales)), []
    for name, claim, values in (
        ("no_bias_orthogonal_frame", "bias-free: classifier rows reach an orthogonal frame (Dang et al. 2023 "
         "distance)", free.sel(nc_metric="orthogonal_frame_distance_classifier").values),
        ("no_bias_means_orthogonal_frame", "bias-free: uncentred class means reach an orthogonal frame",
         free.sel(nc_metric="orthogonal_frame_distance_means").values),
        ("bias_simplex_etf", "with biases: centred class means reach a simplex ETF (Zhu et al. 2021 distance)",
         biased.sel(nc_metric="etf_distance_means").values),
        ("trace_ratio", "bias-free: tr(Sigma_W)/tr(Sigma_B) -> 0", free.sel(nc_metric="nc1_trace_ratio").values),
    ):
        checks.append(check_below(f"{name}_smallest_init", f"{claim}, at sigma_0 = {scales[smallest]:g}",
                                  values[smallest], 1e-2 if name == "trace_ratio" else 1e-3))
        checks.append(check_below(
            f"{name}_scales_as_init_variance", f"{claim}: the residual scales as sigma_0^2 (conserved within-class "
            "scatter / layer imbalance of the UFM gradient flow): |fitted log-log slope - 2|",
            abs(metrics.loglog_slope(scales, values) - 2), 0.25))
    checks.append(check_below(
        "linear_nc1", "bias-free UFM: NC1 = tr(Sigma_W Sigma_B^+)/C -> 0 (largest sigma_0; the class-mean span "
        "is emptied at rate 2 s)", np.max(free.sel(nc_metric="nc1").values), 1e-4))
    checks.append(check_below("linear_ncc_mismatch", "linear UFM (both variants): NC4 = 0 at the end",
                              float(final.sel(nc_metric="ncc_mismatch").max()), 0.0))
    return checks


def _weight_decay_checks(config: NeuralCollapseConfig, m: xr.Dataset) -> list[Check]:
    """The closed-form minimiser (outputs, classifier frame, objective) and the predicted decay rates."""
    rho, wd, classes = float(m.theory_ufm_rho), config.weight_decay, config.classes
    gram = m.flow_wd_classifier_gram.isel(wd_time=-1).values
    checks = [check_below("wd_outputs_vs_closed_form", f"gradient flow with weight decay {wd:g} converges to "
                          f"W H = rho Y, rho = 1 - wd sqrt(C) = {rho:.4f} (max abs error of the outputs)",
                          np.max(np.abs(m.flow_wd_outputs.values - m.theory_wd_outputs.values)), 1e-4),
              check_below("wd_classifier_orthogonal_frame", f"... with W W^T = rho/sqrt(C) I = "
                          f"{rho / np.sqrt(classes):.4f} I (max relative error of the eigenvalues)",
                          np.max(np.abs(gram / (rho / np.sqrt(classes)) - 1)), 1e-4),
              check_below("wd_objective_vs_closed_form", f"... at the closed-form minimum objective "
                          f"{float(m.theory_ufm_objective):.6f} (relative error)",
                          abs(float(m.flow_wd_objective) / float(m.theory_ufm_objective) - 1), 1e-6)]
    tw, late = m.wd_time.values, m.wd_time.values > m.wd_time.values[-1] / 2
    rate_nc1 = metrics.exponential_rate(tw, m.flow_wd_nc.sel(nc_metric="nc1").values, 1e-15, 1e-7)
    rate_trace = metrics.exponential_rate(tw[late], m.flow_wd_nc.sel(nc_metric="nc1_trace_ratio").values[late], 0, 1)
    nc1_rate_theory = 2 * (rho / np.sqrt(classes) + wd)
    checks.append(check_below(
        "wd_nc1_rate", f"with weight decay NC1 -> 0 exponentially at rate 2 (rho/sqrt(C) + wd) = {nc1_rate_theory:.4f} "
        "once the modes are learned (within-class scatter inside the class-mean span; fit over 1e-15 < NC1 < 1e-7, "
        "before a slower second-order term takes over; relative error of the fitted rate)",
        abs(rate_nc1 / nc1_rate_theory - 1), 0.05))
    checks.append(check_below(
        "wd_trace_ratio_rate", f"... and tr(Sigma_W)/tr(Sigma_B) at rate 2 wd = {2 * wd:g} (scatter outside it; "
        "relative error of the fitted rate)", abs(rate_trace / (2 * wd) - 1), 0.05))
    return checks


def _mlp_checks(m: xr.Dataset) -> list[Check | Measurement]:
    """The terminal phase of training of the ReLU MLP on each data set."""
    checks = []
    for name in m.dataset.values:
        h = m.sel(dataset=name)
        accuracy, values = h.nonlinear_train_accuracy.values, h.nonlinear_nc
        reached = np.flatnonzero(accuracy >= 1.0)
        checks.append(check_above(f"mlp_{name}_train_accuracy", f"{name}: the MLP reaches 100 % train accuracy",
                                  accuracy[-1], 1.0))
        start = int(reached[0]) if reached.size else len(accuracy) - 1
        ratio = lambda metric: values.sel(nc_metric=metric).values[[start, -1]]  # noqa: E731
        checks.append(check_above(
            f"mlp_{name}_nc1_drop", f"{name}: NC1 falls by >= 2 orders of magnitude from its value at the first "
            f"100 % train accuracy (step {int(h.mlp_step.values[start])}) to the end (ratio)",
            ratio("nc1")[0] / ratio("nc1")[1], 100.0))
        for metric, label in (("equinorm_means", "NC2 equinorm"), ("etf_distance_means", "NC2 ETF distance"),
                              ("self_duality", "NC3 self-duality")):
            checks.append(check_below(
                f"mlp_{name}_{metric}_trend", f"{name}: {label} of the class means shrinks over the terminal phase "
                "(final / value at 100 % train accuracy)", ratio(metric)[1] / ratio(metric)[0], 0.7))
        checks.append(check_below(f"mlp_{name}_nc4", f"{name}: NC4, classifier vs nearest class centre, at the end",
                                  values.sel(nc_metric="ncc_mismatch").values[-1], 0.01))
        sv = h.nonlinear_feature_sv.values[-1]
        checks.append(check_below(
            f"mlp_{name}_rank_c_minus_1", f"{name}: centred penultimate features are close to rank C-1 at the end "
            "(sigma_C / sigma_{C-1})", sv[9] / sv[8], 0.2))
    checks.append(Measurement("mlp_datasets", "data sets the MLP was trained on (real MNIST when IDX files are "
                              "found, else MNIST-1D)", [str(name) for name in m.dataset.values]))
    return checks
