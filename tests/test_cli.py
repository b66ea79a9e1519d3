"""The command line: listing, one-line errors with exit status 2, and a run of `feedback` (quick: integration; the
test preset runs in tests/experiments/test_feedback.py, after the compiled programs of that module's fixture)."""

import dataclasses
import json
from pathlib import Path

import pytest
import xarray as xr

from layerwise.cli import main
from layerwise.report.claims import claim_checks


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_feedback(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and "feedback" in out


@pytest.mark.parametrize(
    "argv, words",
    [
        (["run", "no-such-experiment"], ["unknown experiment", "feedback"]),
        (["run", "feedback", "--set", "learning_rate=0"], ["learning_rate", "> 0"]),
        (["run", "feedback", "--set", "learning_rate=-1"], ["learning_rate"]),
        (["run", "feedback", "--set", "depths=0"], ["depths", ">= 2"]),
        (["run", "feedback", "--set", "duration=-3"], ["duration"]),
        (["run", "feedback", "--set", "n_samples=-10"], ["n_samples"]),
        (["run", "feedback", "--set", "colour=red"], ["unknown config key", "allowed"]),
        (["run", "feedback", "--set", "learning_rate=fast"], ["learning_rate", "float"]),
        (["run", "feedback", "--set", "learning_rate"], ["key=value"]),
        (["run", "feedback", "--seed", "-1"], ["seed"]),
        (["run", "feedback", "--no-such-flag"], ["no-such-flag"]),
        (["frobnicate"], ["frobnicate"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, words):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in err


def test_help_everywhere(capsys):
    for argv in (["--help"], ["run", "--help"], ["list", "--help"]):
        code, out, _ = run_cli(capsys, *argv)
        assert code == 0 and "Usage" in out


# A whole quick preset is an integration test (issue #13). The default suite runs the same contract on the `test`
# preset in tests/experiments/test_feedback.py, after that module's fixture: a cold run here would compile every
# program of the experiment again (in whichever worker runs it), costing as much as the fixture itself.
@pytest.mark.integration
def test_run_feedback_writes_results(capsys, tmp_path):
    assert_cli_run_writes_feedback_results(capsys, tmp_path, "quick")


def assert_cli_run_writes_feedback_results(capsys, tmp_path, preset):
    """`layerwise run feedback --preset PRESET --seed 3` writes a result whose checks all pass."""
    code, out, _ = run_cli(capsys, "run", "feedback", "--preset", preset, "--out", str(tmp_path), "--seed", "3")
    assert code == 0
    folder = tmp_path / "feedback"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["config"]["seed"] == 3
    checks = summary["checks"]
    assert len(checks) >= 10
    for check in checks:
        assert set(check) == {"name", "claim", "value", "expected", "passed", "seeds", "interval", "status"}
    failed = [c["name"] for c in checks if not c["passed"]]
    assert not failed, failed
    assert claim_checks("feedback") <= {c["name"] for c in checks}
    assert (folder / "feedback.png").stat().st_size > 10_000
    with xr.open_dataset(folder / "data.nc") as dataset:
        assert "linear_weights" in dataset and "theory_imbalance_weights" in dataset
    assert "checks passed" in out
    # No staging directories are left behind.
    assert [p.name for p in tmp_path.iterdir()] == ["feedback"]


def test_an_old_name_that_was_split_runs_and_shows_its_parts(capsys, tmp_path, monkeypatch):
    from layerwise.experiments import GROUPS

    monkeypatch.setenv("LAYERWISE_PLUGINS", "tests.plugins.tiny_experiments")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    monkeypatch.setenv("TINY_SLEEP", "0")
    monkeypatch.setitem(GROUPS, "tiny", ("alpha", "beta"))
    code, out, err = run_cli(capsys, "run", "tiny", "--quick", "--out", str(tmp_path), "--set", "scale=0.25")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha", "beta"]
    code, out, _ = run_cli(capsys, "show", str(tmp_path / "tiny"))
    assert code == 0 and "alpha_small" in out and "beta_small" in out
    code, _, err = run_cli(capsys, "run", "tiny", "--set", "colour=red")
    assert code == 2 and "unknown config key 'colour' for tiny" in err
    code, out, _ = run_cli(capsys, "reproduce", "--quick", "--only", "tiny", "--out", str(tmp_path / "r"))
    assert code == 0 and (tmp_path / "r" / "alpha").is_dir() and (tmp_path / "r" / "beta").is_dir()


def test_a_run_that_diverged_inside_an_experiment_is_reported_and_strict_fails(capsys, tmp_path, monkeypatch):
    """An engine call whose runs diverge (on_divergence='mark') inside an experiment ends the CLI run with a line
    saying which experiment and where; --strict exits 1 for it."""
    import jax.numpy as jnp
    import numpy as np

    from layerwise import data
    from layerwise.engine import train
    from layerwise.experiments import REGISTRY, Experiment, Outcome
    from layerwise.models import DiagonalLinearNetwork
    from layerwise.report.checks import check_below

    @dataclasses.dataclass(frozen=True)
    class TinyConfig:
        seed: int = 0

    def run(config, progress):
        result = train(DiagonalLinearNetwork(dim=1), 3 * jnp.ones((2, 2, 1)), data.diagonal_task([1.0]), steps=50,
                       learning_rate=np.array([0.1, 50.0]), on_divergence="mark")
        return Outcome(xr.Dataset({"loss": (("run", "step"), result.history.loss.values)}),
                       [check_below("always", "a check that passes", 0.0, 1.0)], {})

    monkeypatch.setitem(REGISTRY, "diverging", Experiment("diverging", "diverges", TinyConfig, {}, run))
    code, out, _ = run_cli(capsys, "run", "diverging", "--out", str(tmp_path), "--profile")
    assert code == 0
    assert "diverging: runs did not finish in 1 engine call(s): train: 2 runs: 1 finished, 1 diverged" in out
    assert "compiling" in out
    summary = json.loads((tmp_path / "diverging" / "summary.json").read_text())
    assert len(summary["incomplete_runs"]) == 1 and summary["timing"]["compilations"] >= 1
    code, _, _ = run_cli(capsys, "run", "diverging", "--out", str(tmp_path), "--strict")
    assert code == 1
