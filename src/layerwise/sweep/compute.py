"""Computing one cell, wherever it runs (this process or a Ray worker): config values in, results out.

The worker rebuilds the config from plain field values, runs the experiment's ``simulate`` and ``check`` under the
same settings as ``layerwise run`` (float64, journal of unfinished runs, compile counter) and returns an `Outcome`
without figures: the driver draws them from the Dataset and writes the cell folder, so workers need no shared disk.
"""

from __future__ import annotations

import os
import time

from layerwise.experiments.base import Outcome, attach_config
from layerwise.report.checks import split_results
from layerwise.sweep.cells import FunctionTask

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
            outcome = Outcome(dataset, checks, {}, measurements=measurements)
        else:
            outcome = _experiment_outcome(task, values)
    wall = time.perf_counter() - start
    outcome.incomplete_runs = list(journal.lines)
    outcome.timing = {"wall_s": round(wall, 3), "compile_s": round(compiled.seconds, 3),
                      "compilations": compiled.count}
    return outcome


def _experiment_outcome(name: str, values: dict) -> Outcome:
    from layerwise.experiments import get_experiment, load_plugins
    from layerwise.experiments.base import no_progress

    load_plugins()
    experiment = get_experiment(name)
    config = experiment.make_config(**values)
    if experiment.run is not None:  # the older shape draws its figures itself; they travel back pickled
        return experiment.run(config, no_progress)
    dataset = attach_config(experiment.simulate(config, no_progress), name, config)
    checks, measurements = split_results(experiment.check(dataset))
    return Outcome(dataset, checks, {}, measurements=measurements)
