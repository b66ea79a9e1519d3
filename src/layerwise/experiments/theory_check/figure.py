"""The figure of ``theory-check``, from its Dataset alone: per solution the instance of largest error (closed form
solid, flow dashed), and every instance's error against the tolerance."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from layerwise.experiments.theory_check.solution import LIMITS, PLOTTED_COMPONENTS, SOLUTIONS
from layerwise.report.plotting import error_bars, figure_grid, trajectories
from layerwise.report.style import MODEL_STYLE, mode_colors

if TYPE_CHECKING:
    from layerwise.experiments.theory_check import TheoryCheckConfig


def figures(ds: xr.Dataset, config: TheoryCheckConfig) -> dict:
    """``{"theory_check": figure}`` of the Dataset ``ds`` made with ``config``."""
    figure, axes = figure_grid(3, 4, width=4.25, height=11.5 / 3, title=(
        f"Every closed form vs the engine's gradient flow (theory solid, flow dashed; seed {config.seed}, "
        f"{config.instances} instances each, Dopri8 rtol {config.rtol:g})"))
    for ax, name in zip(axes.flat, SOLUTIONS):
        _worst_instance_panel(ax, ds, name)
    axes[0, 0].plot([], [], color="0.3", label="closed form", **MODEL_STYLE["theory"])
    axes[0, 0].plot([], [], color="0.3", label="gradient flow", **MODEL_STYLE["linear"])
    axes[0, 0].legend(fontsize=7, loc="lower right")
    for ax in axes[2, 2:]:
        ax.remove()
    ax = figure.add_subplot(axes[0, 0].get_gridspec()[2, 2:])
    error_bars(ax, SOLUTIONS, [ds.flow_max_relative_error.sel(solution=n).values for n in SOLUTIONS],
               config.tolerance)
    ax.set(ylabel="max relative error (dots: instances)",
           title="closed form vs gradient flow: largest relative error per solution")
    ax.legend(fontsize=8)
    return {"theory_check": figure}


def _worst_instance_panel(ax, ds: xr.Dataset, name: str) -> None:
    """The closed form (solid) and the flow (dashed) of the instance with the largest error, on a log time axis."""
    errors = ds.flow_max_relative_error.sel(solution=name).values  # (seed, instance)
    errors = np.where(np.isfinite(errors), errors, np.inf)  # a NaN instance counts as the worst one
    seed, shown = np.unravel_index(int(np.argmax(errors)), errors.shape)
    component = f"{name}_component"
    theory_values = ds[f"theory_{name}"].isel(seed=seed, instance=shown).dropna(component, how="all")  # no padding
    flow_values = ds[f"flow_{name}"].isel(seed=seed, instance=shown).sel({component: theory_values[component]})
    times = ds[f"flow_{name}_time"].values[seed]
    later = times > 0  # log time axis
    count = min(theory_values.shape[-1], PLOTTED_COMPONENTS)
    trajectories(ax, times[later], theory_values.values[later, :count], flow_values.values[later, :count],
                 colors=mode_colors(theory_values.shape[-1])[:count])
    ax.set_xscale("log")
    kind = " (limit: at the last time)" if name in LIMITS else ""
    ax.set_title(f"{name}{kind}\nmax rel err {float(np.max(errors)):.1e} over {errors.size} instances", fontsize=9)
    ax.set_xlabel("time $t$ (log)", fontsize=8)
    ax.set_ylabel(ds[f"theory_{name}"].attrs["label"], fontsize=8)
    ax.tick_params(labelsize=7)
    parameter = ds[f"{name}_parameter"]
    where = f"{shown}" if ds.sizes["seed"] == 1 else f"seed {int(ds.seed[seed])}, {shown}"
    ax.text(0.02, 0.97, f"worst instance ({where}): {parameter.attrs['name']} = {float(parameter[seed, shown]):.3g}",
            transform=ax.transAxes, fontsize=7, va="top")
