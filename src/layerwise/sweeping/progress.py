"""A rich progress bar over a sweep's cells: done / running / failed and the time left, for every backend."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class CellProgress:
    """Context manager: ``start()`` when a cell begins, ``finish(failed)`` when it ends (``enabled=False``: silent)."""

    def __init__(self, name: str, total: int, *, skipped: int = 0, enabled: bool = True,
                 console: Console | None = None):
        self.done, self.running, self.failed, self.skipped = skipped, 0, 0, skipped
        self._progress = Progress(TextColumn(f"[bold]{name}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.description}"), TimeElapsedColumn(), TextColumn("ETA"),
                                  TimeRemainingColumn(), console=console, disable=not enabled)
        self._task = self._progress.add_task(self._text(), total=total, completed=skipped)

    def _text(self) -> str:
        skipped = f" ({self.skipped} finished before)" if self.skipped else ""
        return f"done {self.done}{skipped} / running {self.running} / failed {self.failed}"

    def start(self, cell=None) -> None:
        self.running += 1
        self._progress.update(self._task, description=self._text())

    def finish(self, failed: bool) -> None:
        self.running = max(0, self.running - 1)
        self.done += 1
        self.failed += bool(failed)
        self._progress.update(self._task, advance=1, description=self._text())

    def __enter__(self) -> "CellProgress":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)
