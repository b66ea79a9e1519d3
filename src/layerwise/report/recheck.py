"""Re-deriving a finished result from its ``data.nc`` alone: the checks (``layerwise check``) and the figures
(``layerwise plot``). Both read only the saved Dataset (which records its config), never in-memory state."""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
from pathlib import Path

import xarray as xr

from layerwise.errors import LayerwiseError
from layerwise.report.checks import _jsonable, split_results
from layerwise.report.results import DATA, _umask, read_summary, write_png

RELATIVE_TOLERANCE = 1e-12
"""Two check values agree when they differ by at most this fraction of the larger (rounding in re-reading)."""


@dataclasses.dataclass
class Recheck:
    """The recomputed checks (as ``summary.json`` dicts) and one line per check whose value or verdict differs."""

    name: str
    checks: list[dict]
    differences: list[str]


def _experiment_and_data(path, registry):
    path = Path(path)
    summary = read_summary(path)
    name = summary["experiment"]
    if name not in registry:
        raise LayerwiseError(f"{str(path)!r} was made by experiment {name!r}, which is not registered here")
    experiment = registry[name]
    if experiment.simulate is None:
        raise LayerwiseError(f"experiment {name!r} still computes its checks inside run(); it cannot be re-checked "
                             "from data.nc yet")
    try:
        dataset = xr.open_dataset(path / DATA, engine="h5netcdf").load()
    except (OSError, ValueError) as error:
        raise LayerwiseError(f"{str(path / DATA)!r} cannot be read as netCDF: {error}") from None
    return experiment, summary, experiment.read_dataset(dataset, source=str(path / DATA))


def same_value(a, b, rtol: float = RELATIVE_TOLERANCE) -> bool:
    """Whether two JSON check values agree: numbers to ``rtol`` relative, lists elementwise, the rest exactly."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y, rtol) for x, y in zip(a, b))
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)
    return a == b


def recheck(path, registry) -> Recheck:
    """Recompute the checks of the result folder ``path`` from its ``data.nc`` and compare with ``summary.json``."""
    experiment, summary, dataset = _experiment_and_data(path, registry)
    checks = [check.to_json() for check in split_results(experiment.check(dataset))[0]]
    stored = {check["name"]: check for check in summary["checks"]}
    differences = []
    for check in checks:
        old = stored.pop(check["name"], None)
        if old is None:
            differences.append(f"{check['name']}: not in summary.json")
        elif not same_value(_jsonable(check["value"]), old["value"]) or check["passed"] != old["passed"]:
            differences.append(f"{check['name']}: value {old['value']!r} in summary.json, {check['value']!r} from "
                               f"data.nc")
    differences += [f"{name}: in summary.json but not recomputed" for name in stored]
    return Recheck(summary["experiment"], checks, differences)


def replot(path, registry, target) -> list[Path]:
    """Redraw the figures of ``path`` from its ``data.nc`` into the folder ``target`` (written atomically: a
    staging folder renamed into place, replacing an earlier replot there). Returns the PNG paths."""
    experiment, _, dataset = _experiment_and_data(path, registry)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not target.is_dir():
        raise LayerwiseError(f"--out {str(target)!r} exists and is not a directory")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        for stem, figure in experiment.plot(dataset).items():
            write_png(figure, staging / f"{stem}.png")
        os.chmod(staging, 0o777 & ~_umask())
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(target.glob("*.png"))
