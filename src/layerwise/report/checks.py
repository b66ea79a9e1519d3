"""A numeric check of a claim: the unit of every experiment's ``summary.json``."""

from __future__ import annotations

import dataclasses
import math
from typing import Any


@dataclasses.dataclass(frozen=True)
class Check:
    """One claim, tested numerically.

    Attributes:
        name: short identifier, unique within an experiment (``snake_case``).
        claim: the claim in words, including the tolerance or bound.
        value: the measured number (or short list of numbers).
        expected: the expected value or bound, as a number or a short string such as ``"< 1e-6"``.
        passed: whether ``value`` satisfies ``expected``.
        seeds: how many seeds the value rests on (1 for a deterministic computation).
        interval: half-width of the 95 % interval of ``value`` over the seeds (`layerwise.seeds.interval`), or
            ``None`` when there is none (one seed, or deterministic).
        status: ``"passed"``, ``"failed"``, ``"unstable"`` (the seeds disagree on pass/fail) or ``"inconclusive"``
            (the seeds agree but the interval reaches across the bound); only ``"passed"`` passes. Empty means
            derived from ``passed``.
    """

    name: str
    claim: str
    value: Any
    expected: Any
    passed: bool
    seeds: int = 1
    interval: Any = None
    status: str = ""

    def __post_init__(self):
        if not self.status:
            object.__setattr__(self, "status", "passed" if self.passed else "failed")
        if self.status not in STATUSES:
            raise ValueError(f"check {self.name!r}: status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        if (self.status == "passed") != bool(self.passed):
            raise ValueError(f"check {self.name!r}: status {self.status!r} contradicts passed={self.passed}")
        if REQUIRE_NUMERIC_VALUES and (problem := value_problem(self.value)) is not None:
            raise ValueError(f"check {self.name!r}: value must be a number or a list of numbers, got {problem} (a "
                             "value that tests nothing belongs in a Measurement)")

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "claim": self.claim,
            "value": _jsonable(self.value),
            "expected": _jsonable(self.expected),
            "passed": bool(self.passed),
            "seeds": int(self.seeds),
            "interval": _jsonable(self.interval),
            "status": self.status,
        }


STATUSES = ("passed", "failed", "unstable", "inconclusive")
"""The outcomes of a check (`Check.status`)."""

REQUIRE_NUMERIC_VALUES = True
"""Whether `Check` rejects a value that is not a number or a list of numbers (`value_problem`); on since every
experiment complies (``tests/report/test_claims_values.py`` checks the stored test-preset results)."""

NONFINITE_SPELLINGS = ("nan", "inf", "-inf")
"""Non-finite floats as ``summary.json`` writes them (`_jsonable`): check values read back from a file."""


def value_problem(value) -> str | None:
    """Why ``value`` is not a check value (a real number, NaN and infinities included, or a possibly nested list or
    tuple of them, numpy and JAX arrays included), or None when it is one. A bare boolean is not a number here.

    >>> value_problem(0.5), value_problem([1, 2.0, float("nan")]), value_problem(True), value_problem(["digits"])
    (None, None, 'a boolean (True)', "a list holding a str ('digits')")
    """
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return f"a boolean ({bool(value)})"
    if isinstance(value, np.ndarray) or hasattr(value, "__jax_array__") or type(value).__module__.startswith("jax"):
        array = np.asarray(value)
        if array.dtype == bool:
            return "a boolean array"
        return None if np.issubdtype(array.dtype, np.number) and not np.iscomplexobj(array) else \
            f"an array of {array.dtype}"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return None
    if value in NONFINITE_SPELLINGS:  # how summary.json spells a non-finite float (JSON has no NaN)
        return None
    if isinstance(value, (list, tuple)):
        for item in value:
            if (problem := value_problem(item)) is not None:
                return problem if isinstance(item, (list, tuple)) else f"a list holding {problem}"
        return None
    return f"a {type(value).__name__} ({value!r})"[:120]


@dataclasses.dataclass(frozen=True)
class Measurement:
    """A number an experiment reports that tests nothing (a data set's name, a fitted exponent no claim bounds).

    Measurements go to ``summary.json``'s ``measurements`` list, never to ``checks``: a check must be able to fail.
    An experiment's ``check`` function may return measurements among its checks; `split_results` separates them.
    """

    name: str
    description: str
    value: Any

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description, "value": _jsonable(self.value)}


def split_results(items) -> tuple[list[Check], list[Measurement]]:
    """``(checks, measurements)`` from what an experiment's ``check`` function returned (in their order)."""
    items = list(items)
    bad = [type(item).__name__ for item in items if not isinstance(item, (Check, Measurement))]
    if bad:
        raise TypeError(f"a check function must return Check or Measurement objects, got {', '.join(bad)}")
    return [i for i in items if isinstance(i, Check)], [i for i in items if isinstance(i, Measurement)]


def check_over_seeds(name: str, claim: str, values, *, lower: float | None = None, upper: float | None = None,
                     expected: Any = None) -> Check:
    r"""A check on the seed mean of ``values`` (one number per seed) lying in the window ``[lower, upper]``.

    The value is the mean over seeds, with its 95 % Student-t interval (`layerwise.seeds.interval`). Status:
    ``failed`` if the mean lies outside the window (or any seed is NaN); ``unstable`` if the mean lies inside but
    some seeds, taken alone, lie outside (the seeds disagree); ``inconclusive`` if every seed lies inside but the
    interval ``mean ± half-width`` reaches outside the window; otherwise ``passed``.

    Args:
        name, claim: as for `Check`.
        values: the per-seed values, shape ``(seeds,)``.
        lower, upper: the window's bounds (at least one; ``None`` = unbounded on that side).
        expected: what ``summary.json`` shows as expected; default the window in words.
    """
    import numpy as np

    from layerwise.seeds import interval

    if lower is None and upper is None:
        raise ValueError(f"check {name!r}: give lower, upper or both")
    values = np.asarray(values, dtype=float).reshape(-1)
    if values.size == 0:
        raise ValueError(f"check {name!r}: no seeds to check")
    mean, half = interval(values)
    mean, half = float(mean), float(half)

    def inside(v):
        return (lower is None or v >= lower) and (upper is None or v <= upper)

    if expected is None:
        expected = (f"in [{lower:g}, {upper:g}]" if lower is not None and upper is not None
                    else f">= {lower:g}" if lower is not None else f"<= {upper:g}")
    if not np.all(np.isfinite(values)) or not inside(mean):
        status = "failed"
    elif not all(inside(v) for v in values):
        status = "unstable"
    elif values.size > 1 and not (inside(mean - half) and inside(mean + half)):
        status = "inconclusive"
    else:
        status = "passed"
    return Check(name, claim, mean, expected, status == "passed", seeds=int(values.size),
                 interval=None if values.size == 1 else half, status=status)


def _jsonable(value):
    """Numbers (numpy or JAX scalars, arrays) as plain JSON; non-finite floats as strings ("nan", "inf")."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def check_below(name: str, claim: str, value: float, bound: float) -> Check:
    """A check that passes when ``value <= bound`` (NaN fails)."""
    value = float(value)
    return Check(name, claim, value, f"<= {bound:g}", bool(value <= bound))


def check_above(name: str, claim: str, value: float, bound: float) -> Check:
    """A check that passes when ``value >= bound`` (NaN fails)."""
    value = float(value)
    return Check(name, claim, value, f">= {bound:g}", bool(value >= bound))


def check_close(name: str, claim: str, value: float, expected: float, rtol: float) -> Check:
    """A check that passes when ``|value - expected| <= rtol * |expected|``."""
    value, expected = float(value), float(expected)
    return Check(name, claim, value, expected, bool(abs(value - expected) <= rtol * abs(expected)))
