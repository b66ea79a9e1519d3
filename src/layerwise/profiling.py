"""Where the time goes: how many programs XLA compiled, how long compiling took, how long tracing and lowering to
XLA took, and how many programs came from the persistent compilation cache, inside a block.

JAX reports each stage through `jax.monitoring`; `CompileCounter` listens to those events, so it counts real
compilations (a hit in a jitted function's in-memory cache compiles nothing). JAX's "backend compile" event also
wraps a program loaded from the persistent compilation cache; those loads are counted under ``cache_hits`` (and
``cache_seconds``) and taken out of ``count`` and ``seconds``.
"""

from __future__ import annotations

import jax.monitoring

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_TRACING_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration")
_CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"
_CACHE_LOAD_EVENT = "/jax/compilation_cache/cache_retrieval_time_sec"
_ACTIVE: list["CompileCounter"] = []
_REGISTERED = False


def _duration_listener(event: str, duration: float, **kwargs) -> None:
    for counter in _ACTIVE:
        if event == _COMPILE_EVENT:  # a compilation or a load from the persistent cache
            counter.programs += 1
            counter.program_seconds += duration
        elif event in _TRACING_EVENTS:
            counter.tracing_seconds += duration
        elif event == _CACHE_LOAD_EVENT:
            counter.cache_seconds += duration


def _event_listener(event: str, **kwargs) -> None:
    if event == _CACHE_HIT_EVENT:
        for counter in _ACTIVE:
            counter.cache_hits += 1


class CompileCounter:
    """Context manager counting XLA compilations (``count``) and their total duration (``seconds``), the time spent
    tracing to jaxprs and lowering them to XLA (``tracing_seconds``), and the programs loaded from the persistent
    compilation cache (``cache_hits``, taking ``cache_seconds``).

    Example:
        >>> with CompileCounter() as compiled:
        ...     jax.jit(lambda x: x + 1)(1.0)
        >>> compiled.count
        1
    """

    def __init__(self):
        self.programs = 0
        self.program_seconds = 0.0
        self.tracing_seconds = 0.0
        self.cache_hits = 0
        self.cache_seconds = 0.0

    def __enter__(self) -> "CompileCounter":
        global _REGISTERED
        if not _REGISTERED:  # one process-wide listener; jax.monitoring keeps listeners for the process's life
            jax.monitoring.register_event_duration_secs_listener(_duration_listener)
            jax.monitoring.register_event_listener(_event_listener)
            _REGISTERED = True
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.remove(self)

    @property
    def count(self) -> int:
        """Programs XLA compiled (loads from the persistent cache not counted)."""
        return self.programs - self.cache_hits

    @property
    def seconds(self) -> float:
        """Seconds XLA spent compiling them."""
        return max(0.0, self.program_seconds - self.cache_seconds)

    def timing(self, wall_s: float) -> dict:
        """The ``timing`` record of a block that took ``wall_s`` seconds: ``wall_s``, ``compile_s``,
        ``compilations``, ``tracing_s``, ``cache_hits``, ``cache_load_s`` (seconds rounded to ms)."""
        return {"wall_s": round(wall_s, 3), "compile_s": round(self.seconds, 3), "compilations": self.count,
                "tracing_s": round(self.tracing_seconds, 3), "cache_hits": self.cache_hits,
                "cache_load_s": round(self.cache_seconds, 3)}
