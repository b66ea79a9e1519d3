"""The theory-check experiment end to end on a tiny setting (every closed form vs the flow), and its config."""

import dataclasses
import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment
from layerwise.experiments.theory_check import SOLUTIONS
from layerwise.report.results import SUMMARY, write_results

TINY = {"instances": 2, "times": 21, "deep_depths": (3,), "max_dim": 3, "max_classes": 2}


def test_theory_check_tiny_run(tmp_path):
    experiment = get_experiment("theory-check")
    config = experiment.make_config(**TINY)
    calls = []
    outcome = experiment.run(config, calls.append)
    assert len(calls) == experiment.units(config)
    ds = outcome.dataset
    assert ds.max_relative_error.dims == ("solution", "instance")
    assert list(ds.solution.values) == list(SOLUTIONS) and ds.instance.size == 2
    assert np.all(np.isfinite(ds.max_relative_error)) and np.all(ds.max_relative_error <= config.tolerance)
    for name in SOLUTIONS:
        assert ds[f"{name}_theory"].shape == ds[f"{name}_flow"].shape
        assert np.all(np.isfinite(ds[f"{name}_flow"]))
    # one check per solution, every one passing
    assert [check.name for check in outcome.checks] == [f"{name}_matches_flow" for name in SOLUTIONS]
    failed = [check for check in outcome.checks if not check.passed]
    assert not failed, failed
    assert set(outcome.figures) == {"theory_check"}
    plt.close(outcome.figures["theory_check"])
    # summary.json carries the contract keys (figures are not written: PNG encoding is slow and tested elsewhere)
    path = write_results(tmp_path, experiment.name, dataclasses.replace(outcome, figures={}), config, wall_time=0.0,
                         quick=False)
    summary = json.loads((path / SUMMARY).read_text())
    for check in summary["checks"]:
        assert set(check) == {"name", "claim", "value", "expected", "passed"}
        assert check["passed"] is True and check["value"] <= 1e-8 and check["expected"] == "<= 1e-08"


@pytest.mark.parametrize("field, value", [("instances", 0), ("times", 2), ("deep_depths", (2,)), ("max_dim", 2),
                                          ("alpha_range", (1.0, 0.1)), ("rtol", 1e-9), ("tolerance", 0.0)])
def test_theory_check_config_rejects_bad_values(field, value):
    with pytest.raises(LayerwiseError, match=field):
        get_experiment("theory-check").make_config(**{field: value})
