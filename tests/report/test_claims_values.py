"""The check-value contract of claims.json and summary.json: a check's value is a number or a list of numbers, never
a bare boolean (`layerwise.report.checks.value_problem`; enforced by `Check` when REQUIRE_NUMERIC_VALUES is on)."""

import numpy as np
import pytest

from layerwise.report import checks
from layerwise.report.checks import Check, check_below, check_over_seeds, value_problem


@pytest.mark.parametrize("value", [0.5, 3, float("nan"), float("inf"), [1, 2.5], [[1, 2], [3.0]], np.float32(2),
                                   np.arange(3), (1, 2)])
def test_numbers_and_lists_of_numbers_are_check_values(value):
    assert value_problem(value) is None


@pytest.mark.parametrize("value, problem", [
    (True, "a boolean (True)"), (np.bool_(False), "a boolean (False)"), (np.array([True]), "a boolean array"),
    ([1, False], "a list holding a boolean (False)"), (["digits", "mnist1d"], "a list holding a str ('digits')"),
    ({"time": -1.2}, "a dict"), ("none compared", "a str ('none compared')"), (None, "a NoneType (None)"),
])
def test_booleans_strings_and_dicts_are_not(value, problem):
    assert value_problem(value).startswith(problem)


def test_with_the_contract_on_a_check_rejects_a_boolean_value_with_a_clear_error(monkeypatch):
    monkeypatch.setattr(checks, "REQUIRE_NUMERIC_VALUES", True)
    with pytest.raises(ValueError, match=r"check 'datasets_ok': value must be a number or a list of numbers, got a "
                                         r"boolean \(True\).*Measurement"):
        Check("datasets_ok", "the data sets loaded", True, True, True)
    # what the helpers build passes
    check_below("small", "x <= 1", 0.5, 1.0)
    check_over_seeds("mean", "in [0, 1]", [0.2, 0.3, 0.4], lower=0, upper=1)
    Check("order", "learned in order", [0, 1, 2], [0, 1, 2], True)


def test_with_the_contract_off_existing_values_still_construct(monkeypatch):
    monkeypatch.setattr(checks, "REQUIRE_NUMERIC_VALUES", False)  # the switch still lets a plugin opt out
    assert Check("legacy", "", ["digits"], "", True).value == ["digits"]


# Check values that break the contract in the stored test-preset results (none: checks.REQUIRE_NUMERIC_VALUES is on).
KNOWN_NON_NUMERIC: set = set()  # both former entries are Measurements now


def test_no_new_check_breaks_the_value_contract():
    import json
    from pathlib import Path

    def number(v):  # summary.json stores non-finite floats as strings
        return float(v) if v in ("nan", "inf", "-inf") else [number(x) for x in v] if isinstance(v, list) else v

    found = set()
    for path in sorted((Path(__file__).parents[1] / "experiments" / "expected").glob("*.json")):
        for name, stored in json.loads(path.read_text()).items():
            if isinstance(stored, dict) and "value" in stored and value_problem(number(stored["value"])):
                found.add((path.stem, name))
    assert found <= KNOWN_NON_NUMERIC, f"check values that are not numbers (make them Measurements): " \
                                       f"{sorted(found - KNOWN_NON_NUMERIC)}"
