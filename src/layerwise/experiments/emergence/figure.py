"""The figure of ``emergence`` (2 x 4), from its Dataset alone: ``R_k/S`` over time, data and width, the stage gap,
and the four scaling laws (theory solid, skill-basis model dashed, ReLU MLP dotted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import warnings

import matplotlib.ticker
import numpy as np
import xarray as xr

from layerwise import theory
from layerwise.experiments.emergence.mlp import mlp_losses
from layerwise.experiments.emergence.skill_basis import scaling_fits
from layerwise.report.plotting import figure_grid, seed_bands, trajectories
from layerwise.report.style import MODEL_STYLE

if TYPE_CHECKING:
    from layerwise.experiments.emergence import EmergenceConfig


def figures(ds: xr.Dataset, config: EmergenceConfig) -> dict:
    """``{"emergence": figure}`` of the Dataset ``ds`` made with ``config``."""
    p, steps, n_s = ds.frequency.values, ds.time_step.values[1:], ds.sizes["skill"]
    nl = MODEL_STYLE["nonlinear"]
    figure, axes = figure_grid(2, 4, width=5.0, height=4.5, title=(
        "Emergence on multitask sparse parity: theory solid, skill-basis model dashed, ReLU MLP dotted (n_s="
        f"{n_s}, n_b={config.n_bits}, m={config.bits_per_skill}, alpha={config.alpha}, S={config.target_scale:g})"))
    ax, mlp = axes[0, 0], ds.nonlinear_time_strength.values[:, 1:]
    colors = trajectories(ax, steps, ds.theory_time_strength.values[1:], ds.linear_time_strength.values.mean(0)[1:])
    trajectories(ax, steps, None, mlp.mean(0), kind="nonlinear", colors=colors,
                 labels=[f"k={k + 1} (p={p[k]:.3f})" for k in range(n_s)])
    seed_bands(ax, steps, mlp, colors)
    ax.set(xscale="log", xlabel="SGD step T", ylabel="$R_k/S$", ylim=(-0.05, 1.1),
           title=f"time (calibrated $N_{{free}}$={ds.attrs['n_free']:.1f}, width {config.width})")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[0, 1]
    trajectories(ax, (ds.data_size.values, ds.sb_data_size.values), ds.theory_data_strength.values,
                 ds.linear_data_strength.values.mean(1), colors=colors)
    for k, color in enumerate(colors):
        ax.plot(ds.sb_data_size.values, ds.theory_data_one_shot.values[:, k], color=color, lw=1, alpha=0.5)
        ax.plot(ds.data_size.values, ds.nonlinear_data_strength.values.mean(0)[:, k], "o", color=color, ms=3, **nl)
    ax.set(xscale="log", xlabel="training-set size D", ylabel="$R_k/S$", ylim=(-0.05, 1.1),
           title=f"data (calibrated $D_c$={ds.attrs['d_c']:.0f}; left: skill basis, one-shot)")
    ax, widths, mlp = axes[0, 2], ds.width.values, ds.nonlinear_param_strength.values
    trajectories(ax, widths, ds.theory_param_strength.values, ds.linear_param_strength.values, colors=colors)
    for k, color in enumerate(colors):
        ax.plot(widths, mlp.mean(0)[:, k], "o", color=color, ms=3, **nl)
    seed_bands(ax, widths, mlp, colors)
    ax.set(xlabel="hidden width N (skills held, skill basis)", ylabel="$R_k/S$", ylim=(-0.05, 1.1),
           title=f"parameters (calibrated $N_c$={ds.attrs['n_c']:.2f})")
    _stage_gap(axes[0, 3], ds, config)
    _scaling(axes[1], ds, config)
    return {"emergence": figure}


def _stage_gap(ax, ds, config: EmergenceConfig):
    p, inits = ds.frequency.values, ds.gap_init_scale.values
    log_inv, flow = np.log(1 / inits), ds.flow_gap_half_time.values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a skill no seed learned: NaN, left out of the plot
        mlp = np.nanmean(ds.nonlinear_gap_half_time.values, axis=1)
    ax.plot(log_inv, ds.theory_gap_mlp.values, color="C3", label="MLP theory (calibrated)", **MODEL_STYLE["theory"])
    ax.plot(log_inv, mlp[:, 1] - mlp[:, 0], "o", color="C3", label="MLP (steps)", **MODEL_STYLE["nonlinear"])
    twin, S = ax.twinx(), config.target_scale
    twin.plot(log_inv, np.log(S / inits**2 - 1) * (1 / p[1] - 1 / p[0]) / (2 * S), color="C0", **MODEL_STYLE["theory"])
    twin.plot(log_inv, flow[:, 1] - flow[:, 0], "s", color="C0", label="skill basis (flow time)",
              **MODEL_STYLE["linear"])
    ax.set(xlabel="ln(1/init)", ylabel="MLP stage gap $t_2-t_1$ (steps)", title="stage gap grows like ln(1/init)")
    twin.set_ylabel("skill-basis stage gap (time)")
    ax.legend(fontsize=8, loc="upper left")
    twin.legend(fontsize=8, loc="lower right")


def _scaling(axes, ds, config: EmergenceConfig):
    exponents, fits, mlp = theory.scaling_exponents(config.alpha), scaling_fits(ds, config), mlp_losses(ds)
    mlp["time"] = tuple(v[1:] for v in mlp["time"])
    panels = [("time", "time T (skill basis)", ds.linear_scaling_loss_time[1:], ds.theory_scaling_loss_time[1:]),
              ("data", "data D", ds.linear_scaling_loss_data.mean("scaling_seed"), ds.theory_scaling_loss_data),
              ("parameters", "parameters N", ds.linear_scaling_loss_params, ds.theory_scaling_loss_params),
              ("compute", "compute C = N T (optimal allocation)", ds.linear_scaling_loss_compute, None)]
    for ax, (name, label, simulated, predicted) in zip(axes, panels):
        x, y = simulated[simulated.dims[0]].values, simulated.values
        if predicted is not None:
            ax.plot(x, predicted.values, color="k", label="theory", **MODEL_STYLE["theory"])
        ax.plot(x, y, color="C0", label=f"skill basis: slope {fits[name]:.3f}", **MODEL_STYLE["linear"])
        guide = y[len(y) // 2] * (x / x[len(x) // 2]) ** exponents[name]
        ax.plot(x, guide, color="0.5", lw=1, label=f"$\\propto$ {label.split()[0]}$^{{{exponents[name]:.3f}}}$")
        if name in mlp:
            ax.plot(*mlp[name], color="C3", label="MLP (own x units)", **MODEL_STYLE["nonlinear"])
        ax.set(xscale="log", yscale="log", xlabel=label, ylabel="test loss L", title=f"scaling in {name}")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.legend(fontsize=8)
