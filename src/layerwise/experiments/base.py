"""What an experiment is: a config, ``simulate`` -> Dataset, checks and figures of that Dataset; and the registry."""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Callable, Protocol

import xarray as xr
from matplotlib.figure import Figure

from layerwise.errors import LayerwiseError
from layerwise.report.checks import Check, Measurement, split_results


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
    incomplete_runs: list[str] = dataclasses.field(default_factory=list)
    """One line per engine call whose runs did not all finish (see `layerwise.engine.status.RunJournal`)."""
    timing: dict[str, float] = dataclasses.field(default_factory=dict)
    """Seconds spent compiling (``compile_s``, ``compilations``), tracing and lowering (``tracing_s``), loading from
    the persistent compilation cache (``cache_load_s``, ``cache_hits``) and in all (``wall_s``)."""
    measurements: list[Measurement] = dataclasses.field(default_factory=list)
    """Numbers reported beside the checks that test nothing (``summary.json``'s ``measurements``)."""


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A registered experiment: config -> `simulate` -> ``xarray.Dataset`` -> `check` and `plot` of that Dataset.

    Attributes:
        name: the CLI name (``layerwise run NAME``).
        description: one line for ``layerwise list``.
        config_type: a (pydantic) dataclass whose defaults are the full (paper) setting, with its constraints
            declared on the fields and one docstring per field (shown by ``--help`` and ``--print-config``).
        quick: field overrides for ``--quick`` (a run of a few minutes on 2 cores at most).
        run: the older shape, ``run(config, progress) -> Outcome`` (experiments not yet split into
            simulate/check/plot); ``None`` when ``simulate`` is given.
        units: how many times the experiment calls ``progress`` (for the progress bar), as a function of the config.
        simulate: ``simulate(config, progress) -> Dataset`` holding everything the checks and figures need, with
            variables named by source: ``theory_`` (closed form), ``flow_`` (exact ODE), ``linear_`` (GD/SGD on a
            linear model), ``nonlinear_``, ``reference_`` (an independent computation).
        check: ``check(dataset) -> list[Check | Measurement]``, a function of the Dataset alone (``layerwise check``
            re-runs it from ``data.nc``); numbers that test nothing are `Measurement` objects, not checks.
        plot: ``plot(dataset) -> {stem: Figure}``, a function of the Dataset alone (``layerwise plot`` redraws).
        presets: named overrides besides ``quick``: ``full`` is always the defaults; ``test`` is a tiny run (seconds)
            whose check values the test suite compares with stored ones.
        renamed_variables: Dataset names of older ``data.nc`` files (old -> new coordinate, dimension or variable),
            read under the new names by `read_dataset` (``layerwise check``, ``layerwise plot``,
            `layerwise.load_result`) for one release. (A sweep recomputes a cell made by an older source, so its
            cells always carry the new names.)
    """

    name: str
    description: str
    config_type: type
    quick: dict[str, Any]
    run: Callable[[Any, Progress], Outcome] | None = None
    units: Callable[[Any], int] = lambda config: 1
    simulate: Callable[[Any, Progress], xr.Dataset] | None = None
    check: Callable[[xr.Dataset], list[Check | Measurement]] | None = None
    plot: Callable[[xr.Dataset], dict[str, Figure]] | None = None
    presets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    renamed_variables: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if (self.run is None) == (self.simulate is None) or (self.simulate is not None and (
                self.check is None or self.plot is None)):
            raise ValueError(f"experiment {self.name!r} needs either run, or simulate + check + plot")

    def preset(self, name: str) -> dict[str, Any]:
        """The overrides of preset ``name`` (``full``: none; ``quick``; ``test`` and any others declared)."""
        presets = {"full": {}, "quick": self.quick, **self.presets}
        if name not in presets:
            raise LayerwiseError(f"unknown preset {name!r} for {self.name}; allowed: {', '.join(presets)}")
        return dict(presets[name])

    @property
    def preset_names(self) -> tuple[str, ...]:
        return ("full", "quick", *self.presets)

    def make_config(self, *, quick: bool = False, preset: str | None = None, **overrides) -> Any:
        """The config: defaults, then the preset's overrides (``quick=True`` is ``preset="quick"``), then
        ``overrides`` (old field names of the config's alias table accepted with a warning)."""
        from layerwise._deprecation import resolve_renamed_fields

        fields = {f.name for f in dataclasses.fields(self.config_type)}
        values = self.preset(preset or ("quick" if quick else "full"))
        for key, value in resolve_renamed_fields(self.config_type, overrides, experiment=self.name).items():
            if key not in fields:
                raise LayerwiseError(f"unknown config key {key!r} for {self.name}; allowed: {', '.join(sorted(fields))}")
            values[key] = value
        return self.config_type(**values)

    def read_dataset(self, dataset: xr.Dataset, *, source: str = "data.nc") -> xr.Dataset:
        """A saved Dataset of this experiment with the old names of `renamed_variables` read as the new ones
        (one `layerwise._deprecation.RenamedFieldWarning` when there were any; see
        `layerwise._deprecation.renamed_variables`)."""
        from layerwise._deprecation import renamed_variables

        return renamed_variables(dataset, self.renamed_variables, source=f"{source} of {self.name}")

    def outcome(self, config, progress: Progress) -> Outcome:
        """Simulate, record the config in the Dataset, then check and plot it (or the older ``run``)."""
        if self.run is not None:
            return self.run(config, progress)
        dataset = attach_config(self.simulate(config, progress), self.name, config)
        checks, measurements = split_results(self.check(dataset))
        return Outcome(dataset, checks, self.plot(dataset), measurements=measurements)


CONFIG_ATTRIBUTE = "config_toml"
"""The Dataset attribute holding the config that made it, as TOML (``data.nc`` carries it)."""


def attach_config(dataset: xr.Dataset, name: str, config) -> xr.Dataset:
    """``dataset`` with ``attrs["experiment"] = name`` and the config as TOML in ``attrs["config_toml"]``."""
    from layerwise.experiments.config import config_to_toml

    dataset.attrs["experiment"] = name
    dataset.attrs[CONFIG_ATTRIBUTE] = config_to_toml(name, config)
    return dataset


def dataset_config(dataset: xr.Dataset, experiment: "Experiment"):
    """The config recorded in a Dataset made by ``experiment`` (see `attach_config`), validated again."""
    import tomllib

    from layerwise.experiments.config import build_config

    if CONFIG_ATTRIBUTE not in dataset.attrs:
        raise LayerwiseError(f"this dataset records no config (attrs['{CONFIG_ATTRIBUTE}']); it was not made by "
                             f"Experiment.outcome or `layerwise run`")
    fields = tomllib.loads(dataset.attrs[CONFIG_ATTRIBUTE])
    name = fields.pop("experiment", None)
    if name != experiment.name:
        raise LayerwiseError(f"this dataset was made by experiment {name!r}, not {experiment.name!r}")
    return build_config(experiment, fields)


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (the CLI and the report discover experiments here)."""
    if experiment.name in REGISTRY:
        raise ValueError(f"experiment {experiment.name!r} is registered twice")
    REGISTRY[experiment.name] = experiment
    return experiment


GROUPS: dict[str, tuple[str, ...]] = {}
"""An old experiment name that was split -> the experiments that replace it (``run``, ``reproduce --only`` and
``show`` accept the old name and act on its parts)."""


def register_group(name: str, parts: tuple[str, ...]) -> None:
    """Let ``name`` stand for the registered experiments ``parts`` (in order)."""
    if name in REGISTRY or name in GROUPS:
        raise ValueError(f"experiment or group {name!r} is registered twice")
    GROUPS[name] = tuple(parts)


def expand_names(names) -> list[str]:
    """Experiment names with every group replaced by its parts (order kept, duplicates dropped); a
    `LayerwiseError` naming the allowed names for an unknown one."""
    expanded = []
    for name in names:
        if name not in REGISTRY and name not in GROUPS:
            allowed = ", ".join(sorted([*REGISTRY, *GROUPS]))
            raise LayerwiseError(f"unknown experiment {name!r}; allowed: {allowed}")
        for part in GROUPS.get(name, (name,)):
            if part not in expanded:
                expanded.append(part)
    return expanded


def get_experiment(name: str) -> Experiment:
    """The registered experiment called ``name``; a `LayerwiseError` naming the allowed names otherwise."""
    if name not in REGISTRY:
        hint = f" ({name!r} is a group of {', '.join(GROUPS[name])})" if name in GROUPS else ""
        raise LayerwiseError(f"unknown experiment {name!r}{hint}; allowed: {', '.join(sorted(REGISTRY))}")
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
