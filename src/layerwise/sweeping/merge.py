"""Merging a sweep's cells into one labelled Dataset, ``sweep.nc``.

Dimensions: the sweep's grid fields (named as the fields, in grid order; a tuple-valued field's coordinate is its
TOML text) and, for seeded experiments, ``seed``. It holds ``check__<name>`` (the check's value) and
``passed__<name>`` for every check, per seed (the check function run on each seed's slice of the cell's Dataset),
and every cell variable whose dimensions and coordinates agree across cells, stacked on the grid dimensions. A cell
dimension or variable that has a grid field's name is renamed ``cell_<name>``; variables whose dimensions or
coordinates differ between cells stay in the cell folders and are listed in ``attrs["not_merged"]``. Cells that
failed are NaN. ``sweep.nc`` holds results only: no timings, paths or host names.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import xarray as xr

from layerwise.report.checks import split_results
from layerwise.sweeping.cells import Cell, coordinate_value

CellChecks = dict[str, tuple[np.ndarray, np.ndarray]]
"""Check name -> (value per seed, passed per seed) for one cell (a single entry per check when unseeded)."""


def _number(value) -> float:
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return float(value)
    return math.nan


def per_seed_checks(check: Callable[[xr.Dataset], list], dataset: xr.Dataset, seed_dim: str = "seed"
                    ) -> tuple[CellChecks, list[str]]:
    """Each check's value and verdict on every seed alone (``check`` on the seed's slice of ``dataset``), and the
    problems met (a check function that cannot judge a single seed, a value that is not a number)."""
    slices = ([dataset.isel({seed_dim: [i]}) for i in range(dataset.sizes[seed_dim])] if seed_dim in dataset.dims
              else [dataset])
    values: dict[str, list] = {}
    problems = []
    for position, part in enumerate(slices):
        try:
            checks, _ = split_results(check(part))
        except Exception as error:  # noqa: BLE001 — recorded as NaN for this seed, named in not_merged
            problems.append(f"checks on one seed ({type(error).__name__})")
            continue
        for item in checks:
            value = _number(item.value)
            if math.isnan(value) and not isinstance(item.value, float):
                problems.append(f"check__{item.name} (its value is not a number)")
            entry = values.setdefault(item.name, [(math.nan, False)] * len(slices))
            entry[position] = (value, bool(item.passed))
    return {name: (np.array([v for v, _ in entry]), np.array([p for _, p in entry])) for name, entry in
            values.items()}, sorted(set(problems))


def attr_list(dataset: xr.Dataset, name: str) -> list[str]:
    """A list attribute of ``sweep.nc`` (netCDF gives a one-item list back as a string, an empty one as [])."""
    value = dataset.attrs.get(name, [])
    return [value] if isinstance(value, str) else [str(v) for v in np.atleast_1d(value)]


def _renamed(dataset: xr.Dataset, fields) -> xr.Dataset:
    names = [name for name in [*dataset.variables, *dataset.dims] if name in fields]
    return dataset.rename({name: f"cell_{name}" for name in dict.fromkeys(names)})


def _signature(dataset: xr.Dataset, name: str):
    variable = dataset[name]
    coords = tuple((dim, dataset[dim].values.tobytes() if dim in dataset.coords else None) for dim in variable.dims)
    return variable.dims, variable.shape, variable.dtype.kind, coords


def _stack(arrays: list[np.ndarray | None], grid_shape: tuple[int, ...]) -> np.ndarray:
    present = next(a for a in arrays if a is not None)
    if all(a is not None for a in arrays):
        return np.stack(arrays).reshape(grid_shape + present.shape)
    fill = "" if present.dtype.kind in "US" else math.nan
    dtype = present.dtype if present.dtype.kind in "USfc" else np.float64
    filled = [np.asarray(a, dtype) if a is not None else np.full(present.shape, fill, dtype) for a in arrays]
    return np.stack(filled).reshape(grid_shape + present.shape)


def merge_cells(cells: list[Cell], grid: dict[str, list], datasets: dict[str, xr.Dataset | None],
                checks: dict[str, CellChecks], attrs: dict[str, Any] | None = None,
                problems: list[str] = ()) -> xr.Dataset:
    """The sweep Dataset of ``cells`` (in grid order; ``datasets`` and ``checks`` by cell key, None for failed)."""
    fields = list(grid)
    coords: dict[str, Any] = {field: [coordinate_value(getattr(cells[i].config, field, value))
                                      for i, value in _first_cells(cells, grid, field)] for field in fields}
    grid_shape = tuple(len(values) for values in grid.values())
    present = {key: _renamed(ds, fields) for key, ds in datasets.items() if ds is not None}
    seed_dim = "cell_seed" if "seed" in fields else "seed"
    variables, not_merged = {}, list(problems)
    for name, (data, dims, cell_coords) in _cell_variables(cells, present, grid_shape).items():
        if data is None:
            not_merged.append(name)
            continue
        variables[name] = ([*fields, *dims], data)
        coords.update(cell_coords)
    sample = next(iter(present.values()), None)
    check_dims = [seed_dim] if sample is not None and seed_dim in sample.dims else []
    for name in dict.fromkeys(n for entry in checks.values() if entry for n in entry):
        for prefix, part in (("check__", 0), ("passed__", 1)):
            arrays = [checks[c.key][name][part] if checks.get(c.key) and name in checks[c.key] else None
                      for c in cells]
            variables[f"{prefix}{name}"] = ([*fields, *check_dims], _stack(arrays, grid_shape).reshape(
                grid_shape + (-1,) if check_dims else grid_shape))
    seed_labels = {ds[seed_dim].values.tobytes() for ds in present.values() if seed_dim in ds.coords}
    if check_dims and seed_dim not in coords and len(seed_labels) == 1:  # a grid over `seed`: positions only
        coords[seed_dim] = sample[seed_dim].values
    merged = xr.Dataset(variables, coords=coords)
    merged.attrs = {**(attrs or {}), "sweep_fields": fields, "not_merged": sorted(set(not_merged))}
    return merged


def _first_cells(cells: list[Cell], grid: dict[str, list], field: str):
    """For each value of ``field``, the position of a cell holding it and the value (for its coerced form)."""
    position = list(grid).index(field)
    for index, value in enumerate(grid[field]):
        yield next(i for i, c in enumerate(cells) if c.index[position] == index), value


def _cell_variables(cells: list[Cell], present: dict[str, xr.Dataset], grid_shape):
    """Variable name -> (stacked data, cell dims, cell coords), or (None, ...) where the cells disagree."""
    result = {}
    if not present:
        return result
    datasets = list(present.values())
    names = dict.fromkeys(n for ds in datasets for n in ds.variables if n not in ds.dims)
    for name in names:
        signatures = {_signature(ds, name) if name in ds.variables else None for ds in datasets}
        if len(signatures) != 1 or None in signatures:
            result[name] = (None, (), {})
            continue
        first = next(ds for ds in datasets if name in ds.variables)
        arrays = [present[c.key][name].values if c.key in present else None for c in cells]
        dims = first[name].dims
        result[name] = (_stack(arrays, grid_shape), dims, {d: first[d].values for d in dims if d in first.coords})
    return result
