"""What a sweep is: an experiment, a preset, ``--set`` values, a grid of config fields and a seed count.

A grid is the Cartesian product of its fields' values, in the order the fields were given. On the command line
``--grid KEY=V1,V2`` reads the right-hand side as the items of a TOML array, so ``--grid depths=[2,3],[2,4]`` has two
values, ``[2, 3]`` and ``[2, 4]`` (a bare word is a string, as for ``--set``). A ``SPEC.toml`` file holds the same::

    experiment = "lazy-rich-fig6"
    preset = "quick"
    seeds = 5
    backend = "local"          # or "ray"; address = "HOST:6379" joins a cluster
    [set]
    n_samples = 10
    [grid]
    steps = [1000, 4000]
    learning_rate = [0.005, 0.01]
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from layerwise.errors import LayerwiseError
from layerwise.experiments.config import parse_literal, read_config_file

BACKENDS = ("local", "ray")
SPEC_KEYS = ("experiment", "preset", "seeds", "backend", "address", "set", "grid")


@dataclasses.dataclass
class SweepSpec:
    """A sweep as the user wrote it (validated against the experiment's config by `layerwise.sweeping.cells`)."""

    experiment: str
    grid: dict[str, list[Any]]
    preset: str | None = None
    seeds: int | None = None
    backend: str = "local"
    address: str | None = None
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The ``--set`` values (below the grid in precedence)."""

    def __post_init__(self):
        check_grid(self.grid)
        if self.backend not in BACKENDS:
            raise LayerwiseError(f"backend must be one of {', '.join(BACKENDS)}; got {self.backend!r}")
        if self.seeds is not None and (isinstance(self.seeds, bool) or not isinstance(self.seeds, int)
                                       or self.seeds < 1):
            raise LayerwiseError(f"seeds must be an integer >= 1, got {self.seeds!r}")
        if self.address is not None and self.backend != "ray":
            raise LayerwiseError(f"address {self.address!r} needs backend 'ray' (got {self.backend!r})")
        # precedence: the grid's values win over a --set of the same field
        self.values = {key: value for key, value in self.values.items() if key not in self.grid}


def check_grid(grid) -> None:
    """A grid must map field names to non-empty lists without repeated values."""
    if not isinstance(grid, dict) or not grid:
        raise LayerwiseError("a sweep needs at least one grid field (--grid KEY=V1,V2 or a [grid] table)")
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise LayerwiseError(f"grid field {key!r} needs a non-empty list of values, got {values!r}")
        texts = [repr(v) for v in values]
        if len(set(texts)) != len(texts):
            raise LayerwiseError(f"grid field {key!r} repeats a value: {', '.join(texts)}")


def parse_grid_value(text: str) -> list[Any]:
    """The values of ``--grid KEY=TEXT``: TEXT as the items of a TOML array (bare words as strings).

    Example:
        >>> parse_grid_value("[2,3],[2,4]")
        [[2, 3], [2, 4]]
        >>> parse_grid_value("0.005, 0.01")
        [0.005, 0.01]
    """
    try:
        return tomllib.loads(f"value = [{text}]")["value"]
    except (ValueError, RecursionError):  # bare words: each comma-separated item as a --set value
        return [parse_literal(item.strip()) for item in text.split(",") if item.strip()]


def parse_grid(assignments: list[str]) -> dict[str, list[Any]]:
    """``["key=v1,v2", ...]`` from ``--grid`` as ``{key: [v1, v2]}`` (a key given twice is an error)."""
    grid: dict[str, list[Any]] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise LayerwiseError(f"--grid expects KEY=V1,V2,..., got {assignment!r}")
        if key in grid:
            raise LayerwiseError(f"--grid {key} is given twice; list all its values in one --grid {key}=V1,V2")
        grid[key] = parse_grid_value(text)
    return grid


def read_spec(path) -> dict[str, Any]:
    """A ``SPEC.toml`` file as a dict of `SweepSpec` arguments (keys checked; the experiment named)."""
    name, content = read_config_file(path)  # the same file errors as a config file (missing, not TOML, ...)
    unknown = sorted(set(content) - set(SPEC_KEYS))
    if unknown:
        raise LayerwiseError(f"sweep file {str(Path(path))!r}: unknown key {unknown[0]!r}; allowed: "
                             f"{', '.join(SPEC_KEYS)}")
    for table in ("set", "grid"):
        if not isinstance(content.get(table, {}), dict):
            raise LayerwiseError(f"sweep file {str(Path(path))!r}: {table!r} must be a table ([{table}])")
    spec = {"experiment": name, "grid": content.get("grid", {}), "values": content.get("set", {})}
    for key in ("preset", "seeds", "backend", "address"):
        if key in content:
            spec[key] = content[key]
    return spec
