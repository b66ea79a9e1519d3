"""Running a sweep: validate every cell, skip finished ones, compute the rest on a backend, write each cell folder
as it arrives, then merge ``sweep.nc`` and write ``sweep.json`` and ``sweep.png``.

Layout of ``OUT/<experiment>-sweep/``: ``cell-<config hash>/`` per cell (what ``layerwise run`` writes),
``sweep.nc`` (see `layerwise.sweeping.merge`), ``sweep.json`` and ``sweep.png`` (see `layerwise.sweeping.table`). A re-run
of the same sweep skips cells whose folder holds an intact result for the same config hash and re-does only missing
or failed ones.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import xarray as xr

from layerwise.precision import enable_x64
from layerwise.report.results import DATA, _netcdf_safe, read_summary
from layerwise.sweeping.cells import Cell, Target
from layerwise.sweeping.local import run_local
from layerwise.sweeping.merge import merge_cells, per_seed_checks
from layerwise.sweeping.progress import CellProgress
from layerwise.sweeping.store import is_finished, prepare, write_cell
from layerwise.sweeping.table import FIGURE, TABLE, sweep_figure, sweep_table, write_json

MERGED = "sweep.nc"


@dataclasses.dataclass
class SweepRun:
    """What a finished sweep call reports: the merged Dataset, the table, and which cells ran or were skipped."""

    dataset: xr.Dataset
    table: dict
    folder: Path
    ran: list[str]
    skipped: list[str]
    failed: dict[str, str]


def run_sweep(target: Target, cells: list[Cell], grid: dict[str, list], folder: Path, *, backend: str = "local",
              address: str | None = None, preset: str | None = None, progress: bool = True,
              max_retries: int | None = None) -> SweepRun:
    """Compute the unfinished ``cells`` of a sweep into ``folder`` and merge them all (see the module doc)."""
    prepare(folder)
    todo = [cell for cell in cells if not is_finished(folder, cell)]
    skipped = [cell.key for cell in cells if cell not in todo]
    records = _earlier_records(folder)
    failed: dict[str, str] = {}
    with CellProgress(target.experiment.name, len(cells), skipped=len(skipped), enabled=progress) as bar:
        if backend == "ray":
            from layerwise.sweeping.ray_backend import MAX_RETRIES, run_ray

            results = run_ray(target, todo, on_start=bar.start, address=address,
                              max_retries=MAX_RETRIES if max_retries is None else max_retries)
        else:
            results = run_local(target, todo, on_start=bar.start)
        for cell, outcome, error in results:
            if error is None:
                write_cell(folder, target, cell, outcome, quick=preset == "quick")
                records[cell.key] = {"status": "finished"}
            else:
                failed[cell.key] = error
                records[cell.key] = {"status": "failed", "error": error}
            bar.finish(error is not None)
    merged, table = merge_folder(target, cells, grid, folder, records, {"experiment": target.experiment.name,
                                                                       "preset": preset or "full"})
    table.update(backend=backend, address=address)
    write_json(folder / TABLE, table)
    return SweepRun(merged, table, folder, [c.key for c in todo], skipped, failed)


def _earlier_records(folder: Path) -> dict[str, dict]:
    """The failed cells' errors from an earlier run's table (finished cells are read from their folders)."""
    import json

    try:
        rows = json.loads((folder / TABLE).read_text())["cells"]
        return {row["cell"][len("cell-"):]: {"status": "failed", "error": row.get("error", "")}
                for row in rows if row.get("status") == "failed"}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def merge_folder(target: Target, cells: list[Cell], grid: dict[str, list], folder: Path, records: dict,
                 spec: dict) -> tuple[xr.Dataset, dict]:
    """Read every finished cell folder, merge them into ``sweep.nc`` (atomically), draw ``sweep.png``, and return
    the merged Dataset and the table."""
    import matplotlib.pyplot as plt

    datasets, checks, problems = {}, {}, []
    check = target.experiment.check or (lambda dataset: [])
    for cell in cells:
        if not is_finished(folder, cell):
            datasets[cell.key] = None
            if records.get(cell.key, {}).get("status") != "failed":
                records[cell.key] = {"status": "missing"}
            continue
        summary = read_summary(folder / cell.folder)
        records[cell.key] = {"status": "finished", "checks_passed": summary["passed"],
                             "checks_total": summary["passed"] + summary["failed"],
                             "wall_time_s": summary["wall_time_s"]}
        with xr.open_dataset(folder / cell.folder / DATA, engine="h5netcdf") as opened:
            datasets[cell.key] = opened.load()
        with enable_x64():  # the checks' tolerances assume float64, as in `layerwise run`
            checks[cell.key], found = per_seed_checks(check, datasets[cell.key])
        problems.extend(found)
    merged = merge_cells(cells, grid, datasets, checks, dict(spec), problems)
    temporary = folder / f".{MERGED}.partial"
    _netcdf_safe(merged).to_netcdf(temporary, engine="h5netcdf")
    os.replace(temporary, folder / MERGED)
    with xr.open_dataset(folder / MERGED, engine="h5netcdf") as opened:  # the caller gets exactly sweep.nc
        merged = opened.load()
    table = sweep_table(spec, cells, records, merged)
    figure = sweep_figure(merged, grid)
    figure.savefig(folder / f".{FIGURE}.partial.png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    os.replace(folder / f".{FIGURE}.partial.png", folder / FIGURE)
    return merged, table
