"""What an experiment is: a config dataclass, a ``run`` that returns data + checks + figures, and a registry."""

from __future__ import annotations

import dataclasses
import types
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
ENTRY_POINT_GROUP = "layerwise.experiments"


def _register_object(source: str, value) -> None:
    """Register what a plugin offers: an `Experiment`, or a list/tuple of them (a module's ``EXPERIMENTS``)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not isinstance(item, Experiment):
            raise LayerwiseError(f"{source}: expected an Experiment (or a list of them), got {type(item).__name__}")
        if REGISTRY.get(item.name) is not item:
            register(item)


def load_plugins() -> None:
    """Register plugin experiments: each module named in ``$LAYERWISE_PLUGINS`` (comma-separated) is imported and
    its ``EXPERIMENTS`` list (or ``EXPERIMENT``) registered, unless the module registered them itself with
    `register`; then every entry point of the ``layerwise.experiments`` group (an `Experiment`, a list of them, or
    a module with ``EXPERIMENTS``) is loaded. Loading twice registers nothing twice."""
    import importlib
    import os
    from importlib.metadata import entry_points

    for module_name in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENVIRONMENT_VARIABLE, "").split(","))):
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise LayerwiseError(f"{PLUGINS_ENVIRONMENT_VARIABLE}: cannot import {module_name!r} ({error})") from None
        offered = getattr(module, "EXPERIMENTS", getattr(module, "EXPERIMENT", None))
        if offered is not None:
            _register_object(f"{PLUGINS_ENVIRONMENT_VARIABLE} module {module_name!r}", offered)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            value = entry_point.load()
        except Exception as error:  # a broken third-party plugin: one line naming it
            raise LayerwiseError(f"entry point {entry_point.name!r} ({entry_point.value}) cannot be loaded: "
                                 f"{error}") from None
        if isinstance(value, types.ModuleType):
            value = getattr(value, "EXPERIMENTS", getattr(value, "EXPERIMENT", []))
        _register_object(f"entry point {entry_point.name!r}", value)
