"""Shared by the three grokking parts' tests: run a part's `test` preset once and compare its checks with the stored
``expected/<name>.json`` (values, thresholds and verdicts)."""

import json
from pathlib import Path

import numpy as np

from layerwise.cli import main
from layerwise.experiments import get_experiment, no_progress
from layerwise.experiments.config import build_config
from layerwise.report.claims import claim_checks
from layerwise.runner import run_one


def run_test_preset(name: str, folder: Path) -> Path:
    experiment = get_experiment(name)
    return run_one(experiment, build_config(experiment, {}, preset="test"), folder, quick=False,
                   progress=no_progress).path


def _close(value, expected) -> bool:
    # Errors at rounding level (exact flow vs closed form, ~1e-11) vary with XLA's summation order: atol 1e-9.
    # A tiny preset that never memorises stores "nan"/"inf" (summary.json's spelling); they must stay so.
    return np.allclose(np.asarray(value, float), np.asarray(expected, float), rtol=1e-6, atol=1e-9, equal_nan=True)


def assert_checks_equal_stored(path: Path, name: str) -> None:
    expected = json.loads((Path(__file__).parent / "expected" / f"{name}.json").read_text())
    checks = {c["name"]: c for c in json.loads((path / "summary.json").read_text())["checks"]}
    assert set(checks) == set(expected)
    assert claim_checks(name) <= set(checks)
    for check, stored in expected.items():
        assert checks[check]["expected"] == stored["expected"], check  # the threshold itself
        assert checks[check]["passed"] == stored["passed"], check
        assert _close(checks[check]["value"], stored["value"]), (check, checks[check]["value"], stored["value"])


def assert_layerwise_check_reproduces(path: Path, capsys) -> None:
    assert main(["check", str(path)]) == 0
    assert "check values reproduced" in capsys.readouterr().out
