"""The one error type users see for bad input, and the one for diverging runs."""

from __future__ import annotations


class LayerwiseError(ValueError):
    """Bad user input: a one-line message that names the field and the allowed values.

    The CLI prints ``str(error)`` on one line and exits with status 2; it never shows a traceback for this type.
    """


class DivergenceError(RuntimeError):
    """A training run produced NaN or inf. The message names the run index, the step and its hyperparameters."""

    def __init__(self, message: str, run: int, step: int, hyperparameters: dict):
        super().__init__(message)
        self.run = run
        self.step = step
        self.hyperparameters = hyperparameters


class SolverError(RuntimeError):
    """An ODE solve stopped before its last time (its step budget ran out, or it failed); not a user mistake.

    The message names the run, how far it got and what to change. ``run`` and ``time`` say where."""

    def __init__(self, message: str, run: int, time: float):
        super().__init__(message)
        self.run = run
        self.time = time


def _finite(value) -> float | None:
    """``value`` as a finite float, or None when it is not a finite number."""
    import math

    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def check_finite(name: str, value) -> None:
    """Raise `LayerwiseError` unless ``value`` is a finite number."""
    if _finite(value) is None:
        raise LayerwiseError(f"{name} must be a finite number, got {value!r}")


def check_positive(name: str, value, *, allow_zero: bool = False) -> None:
    """Raise `LayerwiseError` unless ``value`` is a finite number > 0 (or >= 0 with ``allow_zero``)."""
    number = _finite(value)
    if number is None or not (number >= 0 if allow_zero else number > 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise LayerwiseError(f"{name} must be a finite number {bound}, got {value!r}")


def check_positive_int(name: str, value, *, minimum: int = 1) -> None:
    """Raise `LayerwiseError` unless ``value`` is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise LayerwiseError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_choice(name: str, value, allowed) -> None:
    """Raise `LayerwiseError` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise LayerwiseError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
