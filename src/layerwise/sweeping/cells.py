"""The cells of a sweep: one validated config per point of the grid, named by its config hash.

Precedence for a cell's config: the experiment's defaults < the preset < ``--set`` < the grid point; ``--seeds N``
sets the config's ``seeds`` field (the seeds of a cell run inside it, vectorised, along the Dataset's ``seed``
dimension). Every cell is built (and so validated) before anything runs: an unknown field or a bad value is one
`LayerwiseError` naming the field.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Callable

import xarray as xr

from layerwise._deprecation import resolve_renamed_fields
from layerwise.errors import LayerwiseError
from layerwise.experiments.base import Experiment
from layerwise.experiments.config import _toml_value, build_config, config_key


@dataclasses.dataclass(frozen=True)
class FunctionTask:
    """A researcher's own question swept like an experiment: ``function(config: dict) -> xarray.Dataset``, with an
    optional ``check(dataset) -> list[Check | Measurement]``. Picklable, so a Ray worker can run it."""

    name: str
    function: Callable[[dict], xr.Dataset]
    check: Callable[[xr.Dataset], list] | None = None


@dataclasses.dataclass(frozen=True)
class Target:
    """What a sweep runs: a registered experiment (``task`` is its name, looked up again in the worker) or a
    `FunctionTask`; ``experiment`` is the driver's view of it (config type, plot) for writing cell folders."""

    experiment: Experiment
    task: str | FunctionTask


@dataclasses.dataclass(frozen=True)
class Cell:
    """One grid point: its position, the grid values there, the full config and its hash."""

    index: tuple[int, ...]
    point: dict[str, Any]
    config: Any
    key: str

    @property
    def folder(self) -> str:
        return f"cell-{self.key}"

    @property
    def values(self) -> dict[str, Any]:
        """The config as plain field values (what a worker rebuilds the config from)."""
        return dataclasses.asdict(self.config)


def registered_target(name: str) -> Target:
    from layerwise.experiments import get_experiment, load_plugins

    load_plugins()
    return Target(get_experiment(name), name)


def function_target(function: Callable, config: dict[str, Any], grid: dict[str, list], seeds: int | None,
                    name: str | None = None, check: Callable | None = None) -> Target:
    """A `Target` for ``function(config) -> Dataset``: its config fields are those of ``config``, the grid's and
    (with ``seeds``) ``seed`` and ``seeds``."""
    fields = {**({"seed": 0, "seeds": 1} if seeds is not None else {}), **config,
              **{key: values[0] for key, values in grid.items()}}
    name = name or getattr(function, "__name__", "function")
    config_type = dataclasses.make_dataclass(f"{name}_config", [(k, Any, dataclasses.field(default=v))
                                                                for k, v in fields.items()], frozen=True)
    task = FunctionTask(name, function, check)
    experiment = Experiment(name=name, description=f"the function {name}", config_type=config_type, quick={},
                            simulate=lambda config, progress: function(dataclasses.asdict(config)),
                            check=check or (lambda dataset: []), plot=lambda dataset: {})
    return Target(experiment, task)


def _field_names(experiment: Experiment) -> list[str]:
    return [f.name for f in dataclasses.fields(experiment.config_type)]


def resolve_field(experiment: Experiment, key: str) -> str:
    """A grid or ``--set`` field's name as the config has it: an old name in the config's alias table
    (`layerwise._deprecation.renamed_fields`) becomes the new one, with a warning."""
    name = next(iter(resolve_renamed_fields(experiment.config_type, {key: None}, experiment=experiment.name)))
    if name not in _field_names(experiment):
        raise LayerwiseError(f"unknown config key {key!r} for {experiment.name}; allowed: "
                             f"{', '.join(_field_names(experiment))}")
    return name


def make_cells(target: Target, grid: dict[str, list], *, values: dict | None = None, preset: str | None = None,
               seeds: int | None = None) -> list[Cell]:
    """Every cell of the grid (Cartesian product, the grid's field order), each config built and validated."""
    experiment = target.experiment
    names = [resolve_field(experiment, key) for key in grid]
    if len(set(names)) != len(names):
        raise LayerwiseError(f"the grid names one field twice (an old and a new name?): {', '.join(grid)}")
    grid = {name: list(items) for name, items in zip(names, grid.values())}
    base = {resolve_field(experiment, key): value for key, value in (values or {}).items()}
    if seeds is not None:
        if "seeds" not in _field_names(experiment):
            raise LayerwiseError(f"--seeds: experiment {experiment.name} has no 'seeds' config field (it has no "
                                 "randomness to repeat); sweep without --seeds")
        if "seeds" in grid:
            raise LayerwiseError("--seeds and a grid over 'seeds' exclude each other; choose one")
        base["seeds"] = seeds
    cells = []
    for index in itertools.product(*(range(len(items)) for items in grid.values())):
        point = {key: grid[key][i] for key, i in zip(grid, index)}
        config = _build(target, {**base, **point}, preset)
        cells.append(Cell(tuple(index), point, config, config_key(experiment.name, config)))
    keys = [cell.key for cell in cells]
    if len(set(keys)) != len(keys):  # e.g. 1 and 1.0 for a float field
        raise LayerwiseError("two grid points give the same config (a value repeated in another spelling?)")
    return cells


def _build(target: Target, values: dict, preset: str | None):
    if isinstance(target.task, FunctionTask):
        if preset not in (None, "full"):
            raise LayerwiseError(f"a function sweep has no presets (got {preset!r})")
        return target.experiment.make_config(**values)
    return build_config(target.experiment, values, preset=preset)


def coordinate_value(value) -> Any:
    """A grid value as a coordinate label: numbers and strings as they are, a tuple/list as its TOML text."""
    return _toml_value(value) if isinstance(value, (list, tuple)) else value
