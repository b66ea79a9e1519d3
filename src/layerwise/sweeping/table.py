"""A sweep's own table, ``sweep.json``, and its figure, ``sweep.png``.

``sweep.json`` lists per cell its grid point, config, status (finished / failed, with the error), checks passed and
wall time, and per check the seed mean and the half-width of its 95 % Student-t interval (`layerwise.seeds.interval`)
read from ``sweep.nc``'s ``check__<name>``. The figure has one panel per check: its seed mean (with the interval as
error bars) over the first grid field, one line per combination of the others.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import xarray as xr

from layerwise.report.checks import _jsonable
from layerwise.seeds import interval
from layerwise.sweeping.cells import Cell, coordinate_value
from layerwise.sweeping.merge import attr_list

TABLE = "sweep.json"
FIGURE = "sweep.png"


def _seed_dim(merged: xr.Dataset) -> str | None:
    return next((d for d in ("seed", "cell_seed") if d in merged.dims and d not in attr_list(merged, "sweep_fields")),
                None)


def check_names(merged: xr.Dataset) -> list[str]:
    return [name[len("check__"):] for name in merged.data_vars if name.startswith("check__")]


def _summary_of(merged: xr.Dataset, name: str, position: dict[str, int]) -> dict:
    values = merged[f"check__{name}"].isel(position)
    seed_dim = _seed_dim(merged)
    if seed_dim is None:
        return {"mean": _jsonable(float(values)), "interval": None, "seeds": 1}
    mean, half = interval(values.values)
    return {"mean": _jsonable(float(mean)), "interval": None if math.isnan(half) else _jsonable(float(half)),
            "seeds": int(values.sizes[seed_dim]),
            "passed_seeds": int(merged[f"passed__{name}"].isel(position).values.astype(bool).sum())}


def sweep_table(spec: dict, cells: list[Cell], records: dict[str, dict], merged: xr.Dataset) -> dict:
    """The content of ``sweep.json``; ``records`` holds per cell key its status, error, checks passed, wall time."""
    fields = attr_list(merged, "sweep_fields")
    rows = []
    for cell in cells:
        position = dict(zip(fields, cell.index))
        record = records.get(cell.key, {"status": "missing"})
        checks = ({name: _summary_of(merged, name, position) for name in check_names(merged)}
                  if record.get("status") == "finished" else {})
        rows.append({"cell": cell.folder, "grid": {k: _jsonable(v) for k, v in cell.point.items()},
                     "config": _jsonable(cell.values), **record, "checks": checks})
    return {**spec, "fields": fields, "cells": rows, "not_merged": attr_list(merged, "not_merged"),
            "finished": sum(r.get("status") == "finished" for r in rows),
            "failed": sum(r.get("status") == "failed" for r in rows)}


def write_json(path, content: dict) -> None:
    """Write JSON atomically (a temporary file renamed into place)."""
    import os

    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(temporary, path)


def sweep_figure(merged: xr.Dataset, grid: dict[str, list]):
    """One panel per check: seed mean ± 95 % interval over the first grid field (categorical axis)."""
    import matplotlib.pyplot as plt

    names = check_names(merged) or [None]
    fields = list(grid)
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    labels = [str(coordinate_value(v)) for v in grid[fields[0]]]
    for axis, name in zip(axes.flat, names):
        if name is None:
            axis.set_title("no checks")
            continue
        values = merged[f"check__{name}"]
        if not np.isfinite(values.values).any():  # a check whose value is a list or text: nothing to draw
            axis.text(0.5, 0.5, "no numeric value", ha="center", va="center", transform=axis.transAxes)
        for others in itertools.product(*(range(len(grid[f])) for f in fields[1:])):
            line = values.isel(dict(zip(fields[1:], others)))
            seed_dim = _seed_dim(merged)
            if seed_dim is not None:
                mean, half = interval(np.moveaxis(line.values, line.get_axis_num(seed_dim), 0))
            else:
                mean, half = line.values, None
            label = ", ".join(f"{f}={coordinate_value(grid[f][i])}" for f, i in zip(fields[1:], others))
            axis.errorbar(np.arange(len(labels)), mean, yerr=half, marker="o", capsize=3, label=label or None)
        axis.set_xticks(np.arange(len(labels)), labels, rotation=30 if max(map(len, labels)) > 6 else 0)
        axis.set_xlabel(fields[0])
        axis.set_title(name, fontsize=8)
    for axis in list(axes.flat)[len(names):]:
        axis.set_visible(False)
    if len(fields) > 1 and names[0] is not None:
        axes.flat[0].legend(fontsize=6)
    figure.tight_layout()
    return figure
