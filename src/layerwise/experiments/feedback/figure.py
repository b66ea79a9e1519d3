"""The figure of ``feedback``, drawn from its Dataset alone (``layerwise plot`` redraws it from ``data.nc``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from layerwise import metrics, theory
from layerwise.experiments.base import dataset_config
from layerwise.experiments.feedback.checks import transition_widths
from layerwise.report.plotting import figure_grid, trajectories


def plot(ds: xr.Dataset) -> dict:
    """Panels 1-4 (2 x 2): sigmoidal vs exponential, stage half-times over ln(1/u0), depth, imbalance."""
    from layerwise.experiments.feedback import EXPERIMENT  # the package imports this module: resolve at call time

    config = dataset_config(ds, EXPERIMENT)
    s, var = ds.target_strength.values, ds.input_variance.values
    figure, axes = figure_grid(2, 2, width=5.5, height=4.25, title="Dynamical feedback principle — theory solid, "
                               "linear-network simulation dashed")
    ax = axes[0, 0]
    trajectories(ax, ds.time.values, ds.theory_weights.sel(init_scale=config.init_scale).values / s,
                 ds.linear_weights.mean("seed").sel(init_scale=config.init_scale).values / s,
                 labels=[f"$S$={v:g}" for v in s])
    trajectories(ax, ds.time.values, ds.theory_regression_weights.values[:, :1] / s[0],
                 ds.linear_regression_weights.mean("seed").values[:, :1] / s[0], colors=["0.3"],
                 labels=["linear model (all $S$)"])
    ax.set(xlabel="time $t$ = lr x step", ylabel="$a_i b_i / S_i$  ($\\theta_i / S_i$)",
           title="1. sigmoidal (diagonal net) vs exponential (linear model)")
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[0, 1]
    log_inv = np.log(1 / ds.init_scale.values)
    half = metrics.crossing_time(ds.time.values, np.moveaxis(ds.linear_weights.mean("seed").values / s, 1, 2), 0.5)
    colors = trajectories(ax, log_inv,
                          np.asarray(theory.learning_time(s, ds.init_scale.values[:, None], 0.5, tau=1 / var)))
    for i, color in enumerate(colors):
        ax.plot(log_inv, half[:, i], "o", color=color, mfc="none", label=f"$S$={s[i]:g}")
    ax.set(xlabel="$\\ln(1/u_0)$", ylabel="half-time $t_{1/2}$",
           title="2. stage-like learning: $t_{1/2}=\\ln(S/u_0-1)/(2S E[x^2])$")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    width = transition_widths(ds)
    trajectories(ax, ds.depth_time.values, ds.theory_depth_weights.values.T, ds.linear_depth_weights.values.T,
                 labels=[f"L={d}: width {w:.2f}" for d, w in zip(ds.depth.values, width)], cmap="viridis")
    ax.set(xlabel="time $t$", ylabel="$u/S$",
           title=f"3. depth sharpens the transition ($u_0$={config.depth_init_scale:g})")
    ax.legend(fontsize=8, title="(t90-t10)/t50", title_fontsize=8)
    ax = axes[1, 1]
    trajectories(ax, ds.imbalance_time.values[1:], ds.theory_imbalance_weights.values[:, 1:].T,
                 ds.linear_imbalance_weights.values[:, 1:].T, cmap="plasma",
                 labels=[f"C={c:g}: drift {d:.1e}"
                         for c, d in zip(ds.mode_imbalance.values, ds.linear_imbalance_drift[0])])
    ax.set(xscale="log", xlabel="time $t$ (log)", ylabel="$ab/S$",
           title="4. imbalance $C=a^2-b^2$: rich (sigmoid) to lazy (exponential)")
    ax.legend(fontsize=8, title=f"GD lr {config.imbalance_learning_rate:g}", title_fontsize=8)
    return {"feedback": figure}
