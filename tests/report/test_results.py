"""Atomic result writing: a failure mid-write leaves no directory that looks complete; rewrites replace."""

import dataclasses
import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from layerwise.experiments.base import Outcome
from layerwise.report.checks import Check, check_below
from layerwise.report.results import read_checks, write_results


@dataclasses.dataclass(frozen=True)
class _Config:
    seed: int = 0


def _outcome(value=1.0):
    figure = plt.figure()
    plt.plot([0, 1], [0, value])
    dataset = xr.Dataset({"x": (("run",), np.array([value, 2.0]))})
    return Outcome(dataset, [check_below("small", "x is small", value, 2.0)], {"plot": figure})


def test_write_then_read_back(tmp_path):
    path = write_results(tmp_path, "demo", _outcome(), _Config(), wall_time=1.5, quick=True)
    summary = json.loads((path / "summary.json").read_text())
    assert summary["checks"] == [{"name": "small", "claim": "x is small", "value": 1.0, "expected": "<= 2",
                                  "passed": True, "seeds": 1, "interval": None, "status": "passed"}]
    assert read_checks(path) == [Check("small", "x is small", 1.0, "<= 2", True)]
    with xr.open_dataset(path / "data.nc") as dataset:
        np.testing.assert_array_equal(dataset.x, [1.0, 2.0])
    assert (path / "plot.png").exists()


def test_interrupted_write_leaves_previous_result_intact(tmp_path, monkeypatch):
    write_results(tmp_path, "demo", _outcome(1.0), _Config(), wall_time=1.0, quick=True)
    broken = _outcome(1.5)

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(broken.figures["plot"]), "savefig", fail)
    with pytest.raises(KeyboardInterrupt):
        write_results(tmp_path, "demo", broken, _Config(), wall_time=1.0, quick=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
    assert read_checks(tmp_path / "demo")[0].value == 1.0


def test_nonfinite_values_are_json_safe(tmp_path):
    outcome = _outcome()
    outcome.checks.append(check_below("nan", "a NaN never passes", float("nan"), 1.0))
    path = write_results(tmp_path, "demo", outcome, _Config(), wall_time=1.0, quick=True)
    checks = json.loads((path / "summary.json").read_text())["checks"]
    assert checks[1]["value"] == "nan" and checks[1]["passed"] is False
