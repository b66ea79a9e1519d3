"""A sweep's folder on disk: one ordinary result folder per cell, ``cell-<config hash>/``.

Each cell folder holds exactly what ``layerwise run`` writes (data.nc, summary.json, figures, manifest.json last),
written by `layerwise.report.results.write_results` into a hidden staging folder and renamed into place, so a killed
sweep leaves no cell folder that looks complete; a re-run finds finished cells by their config hash and manifest.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from layerwise.report.results import discard_staging, resume_state, write_results
from layerwise.sweeping.cells import Cell, Target


def sweep_folder(out, name: str) -> Path:
    """``OUT/<experiment>-sweep``."""
    return Path(out) / f"{name}-sweep"


def prepare(folder: Path) -> None:
    """Create the sweep folder and remove what a killed sweep left half-written (hidden staging folders)."""
    folder.mkdir(parents=True, exist_ok=True)
    discard_staging(folder)


def is_finished(folder: Path, cell: Cell) -> bool:
    """Whether ``folder/cell-<key>`` holds an intact result for this cell's config (made by this source)."""
    return resume_state(folder, cell.folder, cell.key)[0]


def write_cell(folder: Path, target: Target, cell: Cell, outcome, *, quick: bool) -> Path:
    """Write one cell's folder atomically: the same files `layerwise run` writes (the figures come rendered)."""
    staging = folder / f".{cell.folder}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    written = write_results(staging, target.experiment.name, outcome, cell.config,
                            wall_time=float(outcome.timing.get("wall_s", 0.0)), quick=quick, config_key=cell.key)
    final = folder / cell.folder
    if final.exists():  # a damaged or foreign folder of the same name: replaced by the fresh result
        shutil.rmtree(final)
    os.replace(written, final)
    shutil.rmtree(staging, ignore_errors=True)
    return final
