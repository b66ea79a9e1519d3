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
    """

    name: str
    claim: str
    value: Any
    expected: Any
    passed: bool

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "claim": self.claim,
            "value": _jsonable(self.value),
            "expected": _jsonable(self.expected),
            "passed": bool(self.passed),
        }


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
