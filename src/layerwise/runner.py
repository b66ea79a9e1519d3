"""Running experiments for the CLI: one at a time (``run``) or all of them with a report (``reproduce``).

Results are keyed by their config: a finished experiment whose ``summary.json`` carries the same config key is
skipped on a re-run (unless ``force``) when its manifest verifies (see `layerwise.report.manifest`), and a run killed
at any moment leaves only hidden staging directories, which the next run removes, so an interrupted ``reproduce``
finishes the rest and never reads a partial file. A result that is damaged, incomplete or made by other source is
named in one line (``on_problem``) and run again.

Long training calls checkpoint into ``OUT/.checkpoints/NAME/`` (see `layerwise.engine.checkpoint`): a run killed
mid-experiment resumes each call from its last checkpoint, bitwise equal to a run never interrupted; the folder is
removed once the result is written. A checkpoint is saved at most every ``$LAYERWISE_CHECKPOINT_SECONDS`` seconds
(default 30; 0 saves after every chunk of `CHECKPOINT_SEGMENTS` recording segments).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

import jax

from layerwise.errors import LayerwiseError
from layerwise.experiments.base import REGISTRY, Experiment
from layerwise.engine.checkpoint import Checkpointer
from layerwise.engine.status import RunJournal
from layerwise.precision import enable_x64
from layerwise.profiling import CompileCounter
from layerwise.experiments.config import build_config, config_key
from layerwise.report.claims import judge_all
from layerwise.report.claims_file import write_claims
from layerwise.report.html import load_summaries, write_report
from layerwise.report.manifest import verify_manifest
from layerwise.report.results import clean_partial, read_summary, resume_state, write_results


@dataclasses.dataclass
class RunRecord:
    name: str
    path: Path
    wall_time: float
    skipped: bool
    passed: int
    total: int
    incomplete_runs: list[str] = dataclasses.field(default_factory=list)
    timing: dict = dataclasses.field(default_factory=dict)


ProgressFactory = Callable[[str, int], Callable[[str], None]]
CHECKPOINTS = ".checkpoints"
CHECKPOINT_SEGMENTS = 10
"""Recording segments per chunk of a checkpointed training call."""


def checkpoint_seconds() -> float:
    """Seconds between checkpoints: ``$LAYERWISE_CHECKPOINT_SECONDS`` (default 30)."""
    raw = os.environ.get("LAYERWISE_CHECKPOINT_SECONDS", "30")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise LayerwiseError(f"LAYERWISE_CHECKPOINT_SECONDS must be a number of seconds >= 0, got {raw!r}")
    return seconds


def checkpointer(out, name: str, key: str, on_problem: Callable[[str], None] = None) -> Checkpointer:
    """The checkpoints of experiment ``name`` (config key ``key``) in ``out/.checkpoints/name``."""
    return Checkpointer(Path(out) / CHECKPOINTS / name, CHECKPOINT_SEGMENTS, min_interval_s=checkpoint_seconds(),
                        scope=key, on_problem=on_problem or _warn)


def discard_checkpoints(out, name: str) -> None:
    """Remove experiment ``name``'s checkpoints (and the checkpoints folder once it is empty)."""
    shutil.rmtree(Path(out) / CHECKPOINTS / name, ignore_errors=True)
    with contextlib.suppress(OSError):
        (Path(out) / CHECKPOINTS).rmdir()


def run_one(experiment: Experiment, config, out, *, quick: bool, progress: Callable[[str], None],
            checkpoint: bool = True) -> RunRecord:
    """Run ``experiment`` with ``config`` and write ``out/NAME`` atomically (with ``checkpoint``, its training calls
    checkpoint into ``out/.checkpoints/NAME``, removed once the result is written)."""
    start = time.perf_counter()
    key = config_key(experiment.name, config)
    checkpoints = checkpointer(out, experiment.name, key) if checkpoint else contextlib.nullcontext()
    # float64 for the checks' tolerances (the caller's setting comes back afterwards); every engine call whose
    # runs did not all finish is journalled; compilations are counted for --profile.
    with enable_x64(), RunJournal() as journal, CompileCounter() as compiled, checkpoints:
        outcome = experiment.outcome(config, progress)
    wall = time.perf_counter() - start
    outcome.incomplete_runs = list(journal.lines)
    outcome.timing = compiled.timing(wall)
    try:
        path = write_results(out, experiment.name, outcome, config, wall_time=wall, quick=quick, config_key=key)
    except OSError as error:  # the disk filled up or the folder went away while the experiment ran
        raise LayerwiseError(f"cannot write results to {str(Path(out) / experiment.name)!r}: "
                             f"{error.strerror or error}") from None
    discard_checkpoints(out, experiment.name)
    passed = sum(check.passed for check in outcome.checks)
    return RunRecord(experiment.name, path, wall, False, passed, len(outcome.checks), outcome.incomplete_runs,
                     outcome.timing)


def _warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def reproduce(out, names: list[str], *, quick: bool, force: bool, progress_factory: ProgressFactory,
              on_record: Callable[[RunRecord], None] = lambda record: None,
              on_problem: Callable[[str], None] = _warn, checkpoint: bool = True) -> tuple[list[RunRecord], Path]:
    """Run every experiment in ``names`` (skipping finished ones unless ``force``), then write ``out/claims.json``
    (`layerwise.report.claims_file`) and ``out/index.html`` (a result whose manifest does not verify is left out of
    both and named through ``on_problem``); ``checkpoint``: long training calls save their state in
    ``out/.checkpoints/`` and resume from it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clean_partial(out)
    records = []
    for name in names:
        experiment = REGISTRY[name]
        config = build_config(experiment, {}, quick=quick)
        finished, problem = (False, None) if force else resume_state(out, name, config_key(name, config))
        if problem is not None:
            on_problem(f"{out / name}: {problem}; running it again")
        if finished:
            summary = read_summary(out / name)
            record = RunRecord(name, out / name, summary.get("wall_time_s", 0.0), True, summary["passed"],
                               summary["passed"] + summary["failed"], list(summary.get("incomplete_runs", [])),
                               dict(summary.get("timing", {})))
        else:
            record = run_one(experiment, config, out, quick=quick,
                             progress=progress_factory(name, experiment.units(config)), checkpoint=checkpoint)
            # Experiments share few compiled programs: dropping JAX's in-memory caches of the one that finished
            # keeps the process's peak memory near the largest single experiment's instead of their sum.
            jax.clear_caches()
        records.append(record)
        on_record(record)
    problems = {r.name: problem for r in records if (problem := verify_manifest(r.path)) is not None}
    for name, problem in problems.items():
        on_problem(f"{out / name}: {problem}; left out of the report")
    verdicts = judge_all(load_summaries(out, names, skip=problems), problems)
    size = "quick" if quick else "full"
    write_claims(out, verdicts, size)
    report = write_report(out, names, {n: REGISTRY[n].description for n in names},
                          {r.name: r.wall_time for r in records}, problems=problems, verdicts=verdicts, size=size)
    return records, report
