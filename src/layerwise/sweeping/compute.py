"""Computing one cell, wherever it runs (this process or a Ray worker): config values in, results out.

The worker rebuilds the config from plain field values, runs the experiment's ``simulate``, ``check`` and ``plot``
under the same settings as ``layerwise run`` (float64, journal of unfinished runs, compile counter) and returns an
`Outcome` whose figures are already rendered to PNG bytes (`RenderedFigure`: drawing is a cell's work, done where
the cell runs); the driver only writes the cell folder, so workers need no shared disk.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from matplotlib.figure import Figure

from layerwise.experiments.base import Outcome
from layerwise.report.checks import split_results
from layerwise.sweeping.cells import FunctionTask

ENVIRONMENT_VARIABLES = ("XLA_FLAGS", "JAX_PLATFORMS", "JAX_ENABLE_X64", "JAX_DEFAULT_MATMUL_PRECISION")
"""The settings that decide a cell's numbers, handed from the driver to every worker."""


def environment(*, devices: bool = True) -> dict[str, str]:
    """The driver's numerics settings (`ENVIRONMENT_VARIABLES` that are set) plus (``devices``) its JAX device
    count (asking for it starts JAX's backend)."""
    settings = {name: os.environ[name] for name in ENVIRONMENT_VARIABLES if name in os.environ}
    if devices:
        import jax

        settings["device_count"] = str(jax.device_count())
    return settings


def _check_environment(expected: dict[str, str]) -> None:
    """Refuse to compute under other numerics than the driver's (results would not be bitwise the same)."""
    here = environment()
    differing = sorted(key for key in set(expected) | set(here) if expected.get(key) != here.get(key))
    if differing:
        raise RuntimeError(f"this worker's {', '.join(differing)} differ from the driver's "
                           f"({', '.join(f'{k}={expected.get(k)!r} here {here.get(k)!r}' for k in differing)})")


class RenderedFigure(Figure):
    """A figure already rendered to PNG bytes (as `layerwise.report.results.write_results` saves figures): saving
    it writes those bytes, so a worker's drawing travels to the driver as a few kB."""

    def __init__(self, figure: Figure):
        super().__init__()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
        self.png = buffer.getvalue()

    def savefig(self, fname, *args, **kwargs) -> None:  # noqa: D102 — the bytes rendered in the worker
        Path(fname).write_bytes(self.png)


def _rendered(figures: dict) -> dict[str, RenderedFigure]:
    import matplotlib.pyplot as plt

    rendered = {}
    for stem, figure in figures.items():
        rendered[stem] = figure if isinstance(figure, RenderedFigure) else RenderedFigure(figure)
        plt.close(figure)
    return rendered


def compute_cell(task: str | FunctionTask, values: dict, expected_environment: dict | None = None) -> Outcome:
    """The `Outcome` of one cell (no figures), with ``timing`` and ``incomplete_runs`` as `layerwise run` records.

    Args:
        task: a registered experiment's name, or a `FunctionTask`.
        values: the cell's config as plain field values.
        expected_environment: the driver's `environment`; a worker whose settings differ fails the cell.
    """
    from layerwise.engine.status import RunJournal
    from layerwise.precision import enable_x64
    from layerwise.profiling import CompileCounter

    if expected_environment is not None:
        _check_environment(expected_environment)
    start = time.perf_counter()
    with enable_x64(), RunJournal() as journal, CompileCounter() as compiled:
        if isinstance(task, FunctionTask):
            dataset = task.function(dict(values))
            checks, measurements = split_results(task.check(dataset) if task.check else [])
            outcome = Outcome(dataset, checks, {}, measurements=measurements)  # a function draws no figures
        else:
            outcome = _experiment_outcome(task, values)
        outcome.figures = _rendered(outcome.figures)
    wall = time.perf_counter() - start
    outcome.incomplete_runs = list(journal.lines)
    outcome.timing = compiled.timing(wall)
    return outcome


def _experiment_outcome(name: str, values: dict) -> Outcome:
    from layerwise.experiments import get_experiment, load_plugins
    from layerwise.experiments.base import no_progress

    load_plugins()
    experiment = get_experiment(name)
    config = experiment.make_config(**values)
    if experiment.run is not None:  # the older shape: run() checks and draws itself
        return experiment.run(config, no_progress)
    return experiment.outcome(config, no_progress)
