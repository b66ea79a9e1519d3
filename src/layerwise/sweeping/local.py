"""The ``local`` backend: cells run in this process, one after another (no new dependency)."""

from __future__ import annotations

from typing import Callable, Iterator

from layerwise.sweeping.cells import Cell, Target
from layerwise.sweeping.compute import compute_cell

Finished = tuple[Cell, object, str | None]
"""``(cell, outcome, error)``: the `Outcome` of a cell, or ``None`` and its error in one line."""


def error_line(error: BaseException) -> str:
    """An exception as one line: its type and message."""
    return " ".join(f"{type(error).__name__}: {error}".split())


def run_local(target: Target, cells: list[Cell], *, on_start: Callable[[Cell], None]) -> Iterator[Finished]:
    """Compute ``cells`` in order, yielding each as it finishes; a cell that raises is yielded with its error and
    the others still run (Ctrl-C stops the sweep)."""
    for cell in cells:
        on_start(cell)
        try:
            yield cell, compute_cell(target.task, cell.values), None
        except Exception as error:  # a cell that fails is recorded as failed; the sweep goes on
            yield cell, None, error_line(error)
