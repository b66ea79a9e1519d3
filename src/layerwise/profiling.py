"""Where the time goes: how many programs XLA compiled, and how long compiling took, inside a block.

JAX reports each backend compilation through `jax.monitoring`; `CompileCounter` listens to those events, so it
counts real compilations (a cache hit of a jitted function compiles nothing).
"""

from __future__ import annotations

import jax.monitoring

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_ACTIVE: list["CompileCounter"] = []
_REGISTERED = False


def _listener(event: str, duration: float, **kwargs) -> None:
    if event == _COMPILE_EVENT:
        for counter in _ACTIVE:
            counter.count += 1
            counter.seconds += duration


class CompileCounter:
    """Context manager counting XLA compilations (``count``) and their total duration (``seconds``).

    Example:
        >>> with CompileCounter() as compiled:
        ...     jax.jit(lambda x: x + 1)(1.0)
        >>> compiled.count
        1
    """

    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def __enter__(self) -> "CompileCounter":
        global _REGISTERED
        if not _REGISTERED:  # one process-wide listener; jax.monitoring keeps listeners for the process's life
            jax.monitoring.register_event_duration_secs_listener(_listener)
            _REGISTERED = True
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.remove(self)
