"""`layerwise.solve` end to end on a synthetic teacher: each init's closed form against the engine's linear net."""

import numpy as np
import pytest

import layerwise as lw
from layerwise.errors import LayerwiseError
from layerwise.models import MLP

from .conftest import SINGULAR_VALUES, make_teacher


def _ratios(report, network="linear"):
    return report.modes[f"{network}_half_time"].values / report.modes.predicted_half_time.values


@pytest.mark.parametrize("depth", [2, 3])
def test_saxe_half_times_match_the_engine_within_2_percent(teacher, depth):
    x, y = teacher
    learning_rate = 0.01  # eta * s0 = 0.02
    report = lw.solve(x, y, depth=depth, learning_rate=learning_rate, test_fraction=0.0)
    assert report.summary["prediction"] == "saxe"
    np.testing.assert_allclose(report.modes.singular_value.values, SINGULAR_VALUES, atol=1e-8)
    ratios = _ratios(report)
    assert np.all(np.abs(ratios - 1) <= 0.02), ratios
    assert all(check.passed for check in report.checks), report.checks
    assert report.modes.predicted_within_run.values.all()


def test_imbalanced_init_uses_the_imbalanced_law(teacher):
    x, y = teacher
    report = lw.solve(x, y, mode_imbalance=0.3, learning_rate=0.01, test_fraction=0.0)
    assert report.summary["prediction"] == "imbalanced"
    assert report.summary["config"]["mode_imbalance"] == 0.3 and report.summary["config"]["imbalance"] == 0.0
    assert np.all(np.abs(_ratios(report) - 1) <= 0.02)
    balanced = lw.solve(x, y, learning_rate=0.01, test_fraction=0.0, steps=10)
    assert np.all(report.modes.predicted_half_time.values < balanced.modes.predicted_half_time.values)


def test_the_old_spelling_imbalance_with_an_aligned_init_keeps_its_meaning_c_and_warns(teacher):
    from layerwise._deprecation import RenamedArgumentWarning

    x, y = teacher
    new = lw.solve(x, y, mode_imbalance=0.3, learning_rate=0.01, test_fraction=0.0, steps=20)
    with pytest.warns(RenamedArgumentWarning, match="pass mode_imbalance instead") as caught:
        old = lw.solve(x, y, imbalance=0.3, learning_rate=0.01, test_fraction=0.0, steps=20)
    assert len(caught) == 1
    assert old.summary["prediction"] == "imbalanced" and old.summary["config"] == new.summary["config"]
    np.testing.assert_array_equal(old.modes.predicted_half_time.values, new.modes.predicted_half_time.values)
    np.testing.assert_array_equal(old.history.strength.values, new.history.strength.values)


def test_lambda_balanced_init_uses_the_lambda_balanced_solution_and_kernel_distance(teacher):
    x, y = teacher
    report = lw.solve(x, y, init="lambda-balanced", imbalance=-0.5, init_scale=1e-2, learning_rate=0.01,
                      test_fraction=0.0)
    assert report.summary["prediction"] == "lambda_balanced"
    assert np.all(np.abs(_ratios(report) - 1) <= 0.02)
    checks = {check.name: check for check in report.checks}
    assert checks["kernel_distance_linear"].passed, checks["kernel_distance_linear"]
    assert "kernel_distance" in report.history


def test_random_init_is_approximate_and_the_exact_flow_is_reported_separately(teacher):
    x, y = teacher
    report = lw.solve(x, y, init="random", learning_rate=0.01, test_fraction=0.0)
    assert report.summary["prediction"] == "saxe_approximate"
    entry = report.summary["modes"][0]
    assert "flow_half_time" in entry and entry["flow_half_time"] is not None
    checks = {check.name: check for check in report.checks}
    assert checks["linear_vs_flow"].passed, checks["linear_vs_flow"]


def test_chunk_size_does_not_change_the_result():
    x, y = make_teacher(n=60)
    small = lw.solve(x, y, steps=50, chunk_rows=7, test_fraction=0.25)
    large = lw.solve(x, y, steps=50, test_fraction=0.25)
    np.testing.assert_allclose(small.history.strength.values, large.history.strength.values, rtol=1e-10, atol=1e-14)


def test_a_compared_mlp_on_labels_writes_the_output_contract(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((90, 4))
    labels = np.argmax(x[:, :3], axis=1)
    report = lw.solve(x, labels, steps=60, learning_rate=0.05, seeds=2,
                      compare={"mlp": MLP((4, 8, 3), activation="relu")})
    assert set(report.history.network.values) == {"theory", "linear", "mlp"}
    assert report.history.strength.dims == ("network", "seed", "time", "mode")
    folder = report.save(tmp_path / "out")
    import json

    summary = json.loads((folder / "summary.json").read_text())
    assert {"checks", "prediction", "whitened", "dropped_directions", "modes"} <= set(summary)
    keys = {"index", "singular_value", "predicted_half_time", "within_run", "predicted_t10", "predicted_t90",
            "linear_half_time", "linear_t10", "linear_t90", "mlp_half_time", "mlp_t10", "mlp_t90"}
    assert all(keys <= set(mode) for mode in summary["modes"])
    assert [mode["index"] for mode in summary["modes"]] == list(range(len(summary["modes"])))
    assert all(set(check) == {"name", "claim", "value", "expected", "passed", "seeds", "interval", "status"} for check in summary["checks"])
    assert "mlp_nc1" in summary["measurements"] and "final_test_accuracy_mlp" in summary["measurements"]
    page = (folder / "index.html").read_text()
    assert "data:image/png;base64," in page and "<script src" not in page and "http" not in page
    assert sorted(p.name for p in folder.iterdir()) == ["data.nc", "index.html", "solve.png", "summary.json"]
    assert not list(tmp_path.glob(".*"))  # no staging folder left


@pytest.mark.parametrize("kwargs, words", [
    ({"depth": 0}, "depth"),
    ({"init_scale": 0.0}, "init_scale"),
    ({"init_scale": -1.0}, "init_scale"),
    ({"init": "lambda-balanced", "imbalance": 0.5, "width": 4}, "infeasible"),
    ({"init": "lambda-balanced", "mode_imbalance": 0.5}, "mode-imbalance"),
    ({"imbalance": 0.5, "mode_imbalance": 0.5}, "mode_imbalance"),
    ({"mode_imbalance": float("nan")}, "mode_imbalance must be a finite number"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"compare": {"mlp": MLP((5, 4, 2))}}, "outputs"),
])
def test_bad_arguments_are_refused_before_training(teacher, kwargs, words):
    x, y = teacher
    with pytest.raises(LayerwiseError, match=words):
        lw.solve(x, y, **kwargs)


def test_without_whitening_the_prediction_is_labelled_approximate(teacher):
    x, y = teacher
    report = lw.solve(x * np.array([1.0, 2.0, 1.0, 0.5, 1.0]), y, whiten=False, learning_rate=0.01,
                      test_fraction=0.0, steps=200)
    assert report.summary["prediction"] == "saxe_approximate" and report.summary["whitened"] is False
    assert report.summary["dropped_directions"] == 0


def test_a_large_learning_rate_warns_and_another_optimiser_compares_order_only(teacher):
    x, y = teacher
    report = lw.solve(x, y, learning_rate=0.05, steps=100, test_fraction=0.0)  # eta * s0 / 2 = 0.05
    assert any("discretisation" in warning for warning in report.summary["warnings"])
    adam = lw.solve(x, y, optimizer="adam", learning_rate=1e-3, steps=100, test_fraction=0.0)
    names = {check.name for check in adam.checks}
    assert "learning_order_linear" in names and "half_time_linear" not in names
