"""Ctrl-C that takes effect while experiments compute, and one writer per results folder.

Python runs signal handlers only in the main thread, between bytecodes; a long compiled JAX call would hold off
Ctrl-C until it returned. So the command line runs the computation in a worker thread (`Session.call`) while the main
thread waits in short ``join`` slices, where ``KeyboardInterrupt`` arrives at once. On the first Ctrl-C the session
stops all result writing (`gate`: nothing is started or renamed into place afterwards), removes the staging folders,
keeps every finished result, says in one line what was kept, releases the lock on the folder and exits with status
130. A second Ctrl-C ends the process at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Callable

EXIT_INTERRUPTED = 130
_JOIN_SLICE_S = 0.1
_GRACE_S = 0.2

_gate = threading.Lock()
_stopped = False
_committed: list[str] = []


class Stopped(BaseException):
    """Raised in a writer after the main thread stopped all writing (a Ctrl-C): its result is not kept."""


@contextlib.contextmanager
def gate(committing: str | None = None):
    """Hold the writing gate around creating a staging folder and around renaming one into place (``committing`` is
    then the result's name): after `stop_writing` neither happens any more, and a rename under way completes first."""
    with _gate:
        if _stopped:
            raise Stopped("result writing was stopped (interrupted)")
        yield
        if committing is not None:
            _committed.append(committing)


def stop_writing() -> list[str]:
    """Let no result be started or committed from now on; returns the names committed since `resume_writing`."""
    global _stopped
    with _gate:
        _stopped = True
        return list(_committed)


def resume_writing() -> None:
    """Allow writing again and forget the committed names (a new session in the same process)."""
    global _stopped
    with _gate:
        _stopped = False
        _committed.clear()


def _abort_now(signum, frame) -> None:
    os._exit(EXIT_INTERRUPTED)


class Session:
    """A command that writes results to ``out``: the lock on ``out`` while it lasts, the computation in a worker
    thread, and Ctrl-C handling. Use as a context manager around the progress display, so that the display is
    stopped before the line about what was kept is printed::

        with Session(out, names) as session:
            with progress_display():
                records = session.call(compute)
    """

    def __init__(self, out, names: list[str], *, report: str | None = None):
        from layerwise.report.lock import OutputLock

        self.out = Path(out)
        self.names = list(names)
        self.report = report  # what is left unwritten when every experiment is kept (e.g. "the report")
        self.lock = OutputLock(self.out)
        self._kept: list[str] = []
        self._worker: threading.Thread | None = None
        self._done = threading.Event()  # set when the worker returns (not Thread.is_alive: see `call`)
        self._handler = None

    def keep(self, name: str) -> None:
        """Note that ``name`` is finished (ran, or was finished before): it is kept if interrupted."""
        self._kept.append(name)

    def __enter__(self) -> "Session":
        self.lock.acquire()
        resume_writing()
        return self

    def call(self, function: Callable, *args, **kwargs):
        """``function(*args, **kwargs)`` in a worker thread; its result, or its exception re-raised here."""
        outcome: dict = {}
        done = self._done = threading.Event()

        def work() -> None:
            try:
                outcome["value"] = function(*args, **kwargs)
            except BaseException as error:  # noqa: BLE001  (handed to the main thread)
                outcome["error"] = error
            finally:
                done.set()

        self._worker = threading.Thread(target=work, name="layerwise-worker", daemon=True)
        self._worker.start()
        try:
            # Short waits, so KeyboardInterrupt arrives at once. An event rather than Thread.join: a join interrupted by
            # KeyboardInterrupt can mark a running thread as stopped (CPython's bpo-45274 handling), and is_alive()
            # would then lie about a worker still computing.
            while not done.wait(_JOIN_SLICE_S):
                pass
        except KeyboardInterrupt:
            self._second_interrupt_aborts()
            raise
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    def _second_interrupt_aborts(self) -> None:
        if threading.current_thread() is threading.main_thread() and self._handler is None:
            self._handler = signal.signal(signal.SIGINT, _abort_now)

    def __exit__(self, kind, error, traceback) -> bool:
        try:
            if kind is not None and issubclass(kind, KeyboardInterrupt):
                self._second_interrupt_aborts()
                self._interrupted()  # exits the process, or raises the CLI's exit with status 130
            return False
        finally:
            self.lock.release()
            if self._handler is not None:
                signal.signal(signal.SIGINT, self._handler)
                self._handler = None
            resume_writing()

    def _interrupted(self) -> None:
        from layerwise.report.results import discard_staging

        committed = stop_writing()
        discard_staging(self.out)
        kept = [name for name in self.names if name in self._kept or name in committed]
        lost = [name for name in self.names if name not in kept]
        line = f"interrupted: {'kept ' + ', '.join(kept) if kept else 'nothing kept'}"
        if lost:
            line += f"; {', '.join(lost)} not finished"
        elif self.report:
            line += f"; {self.report} not written"
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
        self.lock.release()
        if self._worker is not None:
            if not self._done.wait(_GRACE_S):
                # The worker is inside a computation (a compiled JAX call) that Python cannot stop, and it would keep
                # the interpreter from exiting until it returned: end the process now. Every finished result is in
                # place, the staging folders are gone and the lock is released (the OS would release it too).
                os._exit(EXIT_INTERRUPTED)
        import typer

        raise typer.Exit(EXIT_INTERRUPTED)
