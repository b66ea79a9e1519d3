"""One writer per results folder: an exclusive, non-blocking ``flock`` on ``OUT/.lock``.

The operating system releases the lock when its holder exits, however it exits (``kill -9`` included), so a stale
lock file never blocks a later run. A holder that releases the lock normally also removes the file; a process that
locked the file just as it was removed notices (the path no longer names its file) and tries again.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from layerwise.errors import LayerwiseError

LOCK = ".lock"
_ATTEMPTS = 20


class OutputLock:
    """The lock on ``directory`` (created if needed), held from `acquire` to `release` (or the process's end)."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.path = self.directory / LOCK
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        """Take the lock; a `LayerwiseError` in one line if another process holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(_ATTEMPTS):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                raise LayerwiseError(
                    f"--out {str(self.directory)!r} is being written by another layerwise process"
                    f"{f' (pid {holder})' if holder else ''}; wait for it to finish or choose another --out") from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:  # the previous holder removed the file after we opened it
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
                return self
            os.close(fd)
        raise LayerwiseError(f"--out {str(self.directory)!r}: cannot take the lock {str(self.path)!r} "
                             f"(it keeps being replaced)")

    def release(self) -> None:
        """Give the lock back and remove the lock file (removed while still held, so no one locks a removed file
        without noticing). Releasing twice does nothing."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "OutputLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        return int(text) if text.isdigit() else None
    except (OSError, UnicodeDecodeError):
        return None
