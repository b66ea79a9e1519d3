"""What an experiment is: a config dataclass, a ``run`` that returns data + checks + figures, and a registry."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol

import xarray as xr
from matplotlib.figure import Figure

from layerwise.errors import LayerwiseError
from layerwise.report.checks import Check


class Progress(Protocol):
    """Progress sink handed to ``Experiment.run``: ``progress(description)`` marks one unit of work done."""

    def __call__(self, description: str) -> None: ...


def no_progress(description: str) -> None:
    """A `Progress` that shows nothing (for tests and library use)."""


@dataclasses.dataclass
class Outcome:
    """Everything an experiment produces. ``dataset`` is written as netCDF, ``checks`` as summary.json,
    ``figures`` (file stem -> matplotlib figure) as PNG files."""

    dataset: xr.Dataset
    checks: list[Check]
    figures: dict[str, Figure]


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes:
        name: the CLI name (``layerwise run NAME``).
        description: one line for ``layerwise list``.
        config_type: a dataclass whose defaults are the full (paper) setting; each field takes a ``seed`` etc.
        quick: field overrides for ``--quick`` (a run of a few minutes on 2 cores at most).
        run: ``run(config, progress) -> Outcome``.
        units: how many times ``run`` calls ``progress`` (for the progress bar), as a function of the config.
    """

    name: str
    description: str
    config_type: type
    quick: dict[str, Any]
    run: Callable[[Any, Progress], Outcome]
    units: Callable[[Any], int] = lambda config: 1

    def make_config(self, *, quick: bool = False, **overrides) -> Any:
        """The config: defaults, then the quick overrides (if ``quick``), then ``overrides``."""
        fields = {f.name for f in dataclasses.fields(self.config_type)}
        values = dict(self.quick) if quick else {}
        for key, value in overrides.items():
            if key not in fields:
                raise LayerwiseError(f"unknown config key {key!r} for {self.name}; allowed: {', '.join(sorted(fields))}")
            values[key] = value
        return self.config_type(**values)


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (the CLI and the report discover experiments here)."""
    if experiment.name in REGISTRY:
        raise ValueError(f"experiment {experiment.name!r} is registered twice")
    REGISTRY[experiment.name] = experiment
    return experiment


def get_experiment(name: str) -> Experiment:
    """The registered experiment called ``name``; a `LayerwiseError` naming the allowed names otherwise."""
    if name not in REGISTRY:
        raise LayerwiseError(f"unknown experiment {name!r}; allowed: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


PLUGINS_ENVIRONMENT_VARIABLE = "LAYERWISE_PLUGINS"


def load_plugins() -> None:
    """Import the modules named in ``$LAYERWISE_PLUGINS`` (comma-separated); each registers its experiments."""
    import importlib
    import os

    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENVIRONMENT_VARIABLE, "").split(","))):
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise LayerwiseError(f"{PLUGINS_ENVIRONMENT_VARIABLE}: cannot import {module!r} ({error})") from None
