"""The figure of ``neural-collapse``, drawn from its Dataset alone (``layerwise plot`` redraws it from ``data.nc``):
the linear UFM's three panels, then one row per data set of the MLP."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from layerwise.experiments.base import dataset_config
from layerwise.report.plotting import accuracy_curves, figure_grid, trajectories
from layerwise.report.style import MODEL_STYLE, mode_colors

if TYPE_CHECKING:
    from layerwise.experiments.neural_collapse import NeuralCollapseConfig


METRIC_STYLE = {"nc1": ("NC1", "C0"), "etf_distance_means": ("NC2 (ETF dist.)", "C1"),
                "equinorm_means": ("NC2 (equinorm)", "C4"), "self_duality": ("NC3", "C2"),
                "ncc_mismatch": ("NC4", "C3")}


def plot(ds: xr.Dataset) -> dict:
    """A 3 x 3 grid of the seed mean: the linear UFM (top row), the MLP on each data set (rows 2-3)."""
    from layerwise.experiments.neural_collapse import EXPERIMENT  # the package imports this module: resolve now

    config, m = dataset_config(ds, EXPERIMENT), ds.mean("seed")
    figure, axes = figure_grid(3, 3, width=5.0, height=13 / 3, title="Neural collapse — theory solid, linear "
                               "network dashed, ReLU MLP dotted")
    _plot_linear(axes[0], config, m)
    for row, name in enumerate(m.dataset.values[:2], start=1):
        _plot_mlp(axes[row], m.sel(dataset=name), str(name), "de"[row - 1])
    return {"neural_collapse": figure}


def _plot_linear(axes, config: NeuralCollapseConfig, m: xr.Dataset) -> None:
    """(a) greedy singular values, (b) OF / ETF geometry per sigma_0, (c) weight decay against the closed form."""
    s, t, classes = m.greedy_singular_value.values, m.greedy_time.values, m.sizes["greedy_class"]
    sv = m.flow_greedy_feature_sv
    colors = trajectories(axes[0], t, np.sqrt(sum(config.greedy_class_sizes) * m.theory_greedy_mode.values),
                          sv.sel(greedy_init="aligned balanced").values[:, :classes], labels=[
                              f"$n_c$={n} ($s$={v:.2f})" for n, v in zip(config.greedy_class_sizes, s)])
    random = sv.sel(greedy_init="random gaussian").values[:, : classes + 4]
    for k in range(random.shape[1]):
        axes[0].plot(t, random[:, k], color=colors[k] if k < classes else "0.6", alpha=0.45 if k < classes else 1,
                     linestyle="--", linewidth=1.0)
    axes[0].set(yscale="log", xlabel="time $t$ (gradient flow)", ylabel="singular values of features $H$",
                title="a. greedy low rank: Saxe modes (solid), aligned init (dashed),\nrandom init (faint; grey = "
                      "unlearned)")
    axes[0].legend(fontsize=7, loc="lower right")
    geometry, tg = m.linear_geometry_nc, m.geometry_time.values
    for color, scale in zip(mode_colors(len(config.init_scales), "viridis"), config.init_scales):
        free, biased = geometry.sel(init_scale=scale, bias=False), geometry.sel(init_scale=scale, bias=True)
        axes[1].plot(tg, free.sel(nc_metric="orthogonal_frame_distance_classifier"), color=color,
                     **MODEL_STYLE["linear"], label=f"$\\sigma_0$={scale:g}: OF dist. of $W$ (no bias)")
        axes[1].plot(tg, biased.sel(nc_metric="etf_distance_means"), color=color, linestyle="-.", linewidth=1.2,
                     label="ETF dist. of centred means (bias)")
        axes[1].plot(tg, free.sel(nc_metric="nc1_trace_ratio"), color=color, linestyle=(0, (5, 1, 1, 1, 1, 1)),
                     linewidth=1.0, label="tr$\\Sigma_W$/tr$\\Sigma_B$ (no bias)")
    axes[1].set(yscale="log", xlabel="time $t$", ylabel="distance / ratio", title="b. linear UFM geometry: OF "
                "without bias, ETF with bias;\nresiduals $\\propto\\sigma_0^2$")
    axes[1].legend(fontsize=6, ncol=1)
    tw, rho, wd = m.wd_time.values, float(m.theory_ufm_rho), config.weight_decay
    nc1, trace = (m.flow_wd_nc.sel(nc_metric=name).values for name in ("nc1", "nc1_trace_ratio"))
    rate, anchor = 2 * (rho / np.sqrt(config.classes) + wd), int(np.argmin(np.abs(nc1 - 1e-10)))
    trajectories(axes[2], tw, np.stack([nc1[anchor] * np.exp(-rate * (tw - tw[anchor])),
                                        trace[-1] * np.exp(-2 * wd * (tw - tw[-1]))], axis=1), colors=["C0", "C1"],
                 labels=[f"rate 2($\\rho/\\sqrt{{C}}$+wd)={rate:.3g}", f"rate 2 wd={2 * wd:g}"])
    trajectories(axes[2], tw, simulation=np.stack([nc1, trace], axis=1), colors=["C0", "C1"],
                 labels=["NC1", "tr$\\Sigma_W$/tr$\\Sigma_B$"])
    axes[2].set(yscale="log", ylim=(1e-30, 1e2), xlabel="time $t$", title=f"c. weight decay {wd:g}: collapse to the "
                f"closed form\n$WH=\\rho Y$, $\\rho$={rho:.3f}, $WW^T=\\rho/\\sqrt{{C}}\\,I$")
    inset = axes[2].inset_axes([0.55, 0.55, 0.42, 0.4])
    inset.plot(tw, m.flow_wd_classifier_gram.values, color="0.3", **MODEL_STYLE["linear"])
    inset.axhline(rho / np.sqrt(config.classes), **MODEL_STYLE["theory"], color="C3")
    inset.set_title("eig $WW^T$", fontsize=7)
    inset.tick_params(labelsize=6)
    axes[2].legend(fontsize=7, loc="lower left")


def _plot_mlp(axes, h: xr.Dataset, name: str, letter: str) -> None:
    """One data set: NC1-NC4 against the Adam step, accuracies, and sigma_k/sigma_1 of the centred features."""
    steps, accuracy = np.maximum(h.mlp_step.values, 1), h.nonlinear_train_accuracy.values
    reached = np.flatnonzero(accuracy >= 1.0)
    trajectories(axes[0], steps, simulation=np.stack([np.maximum(h.nonlinear_nc.sel(nc_metric=metric).values, 1e-6)
                                                      for metric in METRIC_STYLE], axis=1), kind="nonlinear",
                 labels=[label for label, _ in METRIC_STYLE.values()], colors=[c for _, c in METRIC_STYLE.values()])
    if reached.size:
        axes[0].axvline(steps[reached[0]], color="0.5", linewidth=0.8)
    axes[0].set(xscale="log", yscale="log", xlabel="Adam step (full batch)", ylabel="metric",
                title=f"{letter}. MLP on {name}: NC1-NC4 (grey line: 100 % train acc.)")
    accuracy_curves(axes[1], steps, accuracy, h.nonlinear_test_accuracy.values)  # step 0 at 1, as its neighbours
    axes[1].set(xlabel="Adam step", ylabel="accuracy", title=f"{name}: accuracy")
    sv = h.nonlinear_feature_sv.values
    trajectories(axes[2], steps, simulation=sv / sv[:, :1], kind="nonlinear",
                 colors=mode_colors(9, "viridis") + ["0.6"] * (sv.shape[1] - 9))
    axes[2].set(xscale="log", yscale="log", xlabel="Adam step", ylabel="$\\sigma_k/\\sigma_1$ (centred features)",
                title=f"{name}: penultimate features, top C-1 = 9 in colour")
    for ax in axes[:2]:
        ax.legend(fontsize=7)
