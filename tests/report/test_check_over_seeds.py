"""The seed-mean check: each status on a case built to produce it, and measurements kept apart from checks."""

import numpy as np
import pytest

from layerwise.report.checks import Check, Measurement, check_over_seeds, split_results
from layerwise.seeds import interval


def test_passed_carries_mean_interval_and_seed_count():
    check = check_over_seeds("c", "claim", [1.0, 1.1, 0.9], lower=0.5)
    mean, half = interval(np.array([1.0, 1.1, 0.9]))
    assert check.status == "passed" and check.passed
    assert check.value == pytest.approx(float(mean), rel=1e-15)
    assert check.interval == pytest.approx(float(half), rel=1e-15)
    assert check.seeds == 3 and check.to_json()["seeds"] == 3


@pytest.mark.parametrize("values, status", [
    ([0.1, 0.2, 0.3], "failed"),        # the mean is outside the window
    ([1.0, 0.4, 0.9], "unstable"),      # mean inside, one seed outside
    ([0.6, 0.51, 0.99], "inconclusive"),  # every seed inside, the interval reaches below 0.5
    ([1.0, np.nan, 1.0], "failed"),     # a diverged seed never passes
])
def test_each_status_fails(values, status):
    check = check_over_seeds("c", "claim", values, lower=0.5, upper=2.0)
    assert check.status == status and not check.passed


def test_one_seed_has_no_interval():
    check = check_over_seeds("c", "claim", [1.0], upper=2.0)
    assert check.passed and check.interval is None and check.seeds == 1


def test_status_must_agree_with_passed():
    with pytest.raises(ValueError, match="contradicts"):
        Check("c", "claim", 1.0, "<= 2", True, status="unstable")
    with pytest.raises(ValueError, match="status must be one of"):
        Check("c", "claim", 1.0, "<= 2", False, status="maybe")


def test_split_results_keeps_order_and_rejects_other_objects():
    a, m, b = Check("a", "x", 1, 1, True), Measurement("m", "a number", 3.0), Check("b", "y", 0, 1, False)
    assert split_results([a, m, b]) == ([a, b], [m])
    with pytest.raises(TypeError, match="Check or Measurement"):
        split_results([a, True])
