"""The checks of ``theory-check``, functions of its Dataset (and the config it records): each closed form's largest
relative error against the flow, over seeds and instances, within ``tolerance``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from layerwise.experiments.theory_check.solution import LIMITS, SOLUTIONS
from layerwise.report.checks import Check

if TYPE_CHECKING:
    from layerwise.experiments.theory_check import TheoryCheckConfig


def results(ds: xr.Dataset, config: TheoryCheckConfig) -> list[Check]:
    """One check per closed form from the Dataset ``ds`` made with ``config``."""
    seeds = f"seed {config.seed}" if config.seeds == 1 else f"seeds {config.seed}-{config.seed + config.seeds - 1}"
    checks = []
    for name in SOLUTIONS:
        value = float(np.max(ds.flow_max_relative_error.sel(solution=name).values))  # NaN propagates: fails
        kind = "limit" if name in LIMITS else "trajectory"
        checks.append(Check(
            f"{name}_matches_flow",
            f"{ds[f'theory_{name}'].attrs['description']}; {config.instances} random instances ({seeds}), {kind} "
            f"compared with the engine's gradient flow (Dopri8, rtol {config.rtol:g}, atol {config.atol:g}); value: "
            "the largest relative error over the instances",
            value, f"<= {config.tolerance:g}", bool(value <= config.tolerance)))
    return checks
