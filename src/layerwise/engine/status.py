"""How each run ended, as diffrax's ``Solution.result``: a per-run status instead of silent NaN."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import numpy as np
import xarray as xr


_JOURNALS: list["RunJournal"] = []


class RunJournal:
    """Context manager collecting one line for every `train` / `gradient_flow` call inside it whose runs did not
    all finish (diverged, or out of solver steps with ``on_divergence="mark"``): the CLI reports them, so a
    divergence inside an experiment is never silent.

    Example:
        >>> with RunJournal() as journal:
        ...     pass                                                 # experiments train here
        >>> journal.lines
        []
    """

    def __init__(self):
        self.lines: list[str] = []

    def __enter__(self) -> "RunJournal":
        _JOURNALS.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _JOURNALS.remove(self)


def journal(result: "TrainResult", where: str) -> None:
    """Note ``result`` in every open `RunJournal` when some of its runs did not finish."""
    if _JOURNALS and np.any(result.status != Status.FINISHED):
        line = f"{where}: {result.summary()}"
        for open_journal in _JOURNALS:
            open_journal.lines.append(line)


class Status(enum.IntEnum):
    """Per-run outcome of `train` / `gradient_flow`."""

    FINISHED = 0
    """Reached the last step (or time)."""
    DIVERGED = 1
    """Params or loss became NaN/inf; the run kept its last finite params and records after that are NaN."""
    MAX_STEPS = 2
    """The ODE solver ran out of steps before the last time (gradient flow only); later records are NaN."""


@dataclasses.dataclass
class TrainResult:
    """What the engine returns.

    Attributes:
        history: Dataset with dims ``(run, step)`` (or ``(run, time)``) holding ``loss`` and every observable, and
            per run ``status`` and ``stopped_at``; the run coordinates carry each swept hyperparameter.
        params: final params, leading axis = runs (the last finite params of a diverged run).
        status: (R,) `Status` values.
        stopped_at: (R,) the step (`train`) or time index (`gradient_flow`) at which each run stopped: the number of
            steps (the last time index) for a finished run, the first non-finite step for a diverged one.
    """

    history: xr.Dataset
    params: Any
    status: np.ndarray
    stopped_at: np.ndarray

    @property
    def diverged(self) -> np.ndarray:
        """(R,) bool: which runs diverged."""
        return self.status == Status.DIVERGED

    @property
    def diverged_step(self) -> np.ndarray:
        """(R,) the step at which each run diverged, -1 if it did not."""
        return np.where(self.diverged, self.stopped_at, -1)

    def summary(self) -> str:
        """One line: how many runs finished, diverged or ran out of solver steps, and where."""
        parts = [f"{int(np.sum(self.status == s))} {s.name.lower()}" for s in Status if np.any(self.status == s)]
        bad = np.flatnonzero(self.status != Status.FINISHED)
        where = "" if not bad.size else f" (first: run {int(bad[0])} at {int(self.stopped_at[bad[0]])})"
        return f"{len(self.status)} runs: {', '.join(parts)}{where}"
