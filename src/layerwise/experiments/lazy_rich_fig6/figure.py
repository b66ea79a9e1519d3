"""The figure of ``lazy-rich-fig6``, drawn from its Dataset alone (``layerwise plot`` redraws it from ``data.nc``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from layerwise.experiments.base import dataset_config
from layerwise.experiments.lazy_rich_fig6.checks import nearest
from layerwise.report.plotting import figure_grid, heatmap, trajectories
from layerwise.report.style import mode_colors


def plot(ds: xr.Dataset) -> dict:
    """Four panels of the seed mean: the 6a heatmaps of GD and of the exact flow, S(K0, Kt) over time at s = 1, and
    the 6b heatmap."""
    from layerwise.experiments.lazy_rich_fig6 import EXPERIMENT  # the package imports this module: resolve now

    config = dataset_config(ds, EXPERIMENT)
    mean = ds.mean("seed")
    gd, flow = mean.linear_kernel_distance_a.values, mean.theory_kernel_distance_a.values
    lam, s = ds.imbalance_a.values, ds.init_target_ratio_a.values
    figure, axes = figure_grid(1, 4, width=5.0, height=4.6, title=(
        "Lazy vs rich: kernel distance log10(S(K0, Kt) + 1e-6). Axes as simulated: λ increases upwards, s to the right "
        "(the authors' 6a ticks put +9 at the top row, which is λ = −9; their 6b ticks read ±5 for λ = ∓0.5)"))
    xlabel = "weight-to-target ratio s (init singular values √s, target Y/s)"
    colour = dict(vmin=-6, vmax=0, ylabel="layer imbalance λ", xlabel=xlabel, label="log10 S(K0, Kt)")
    heatmap(axes[0, 0], s, lam, np.log10(gd[..., -1] + config.floor),
            title=f"6a. GD (lr {config.learning_rate:g}, {config.steps} steps)", **colour)
    heatmap(axes[0, 1], s, lam, np.log10(flow[..., -1] + config.floor), title="6a. exact λ-balanced flow (closed form)",
            **colour)
    ax, i_s = axes[0, 2], nearest(s, 1.0)
    shown = [i for i in np.unique([nearest(lam, v) for v in (0.23, 0.7, 2.1, 4.4, 9.0)]) if lam[i] > 0]
    trajectories(ax, ds.time_a.values[1:], flow[shown, i_s, 1:].T, gd[shown, i_s, 1:].T,
                 labels=[f"λ = {lam[i]:.2f}" for i in shown], colors=mode_colors(len(shown), "viridis"))
    ax.set(xscale="log", yscale="log", xlabel="time t = lr × step", ylabel="S(K0, Kt)",
           title=f"6a. S(K0, Kt) at s = {s[i_s]:g}: theory solid, GD dashed")
    ax.legend(fontsize=8)
    heatmap(axes[0, 3], ds.target_divisor_b.values, ds.scale_difference_b.values,
            np.log10(mean.linear_kernel_distance_b.values + config.floor),
            title="6b. 20-20-2, mirrored zero-output init",
            xlabel="target divisor s (target Y/s)", ylabel="layer-scale imbalance σ1 − σ2", vmin=-6, vmax=0,
            label="log10 S(K0, Kt)")
    return {"lazy_rich_fig6": figure}
