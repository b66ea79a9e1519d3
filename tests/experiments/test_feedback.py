"""The feedback experiment at its `test` preset: check values equal the stored ones (so a loosened threshold or a
changed computation fails here), `layerwise check` / `layerwise plot` re-derive them from data.nc alone, and
`layerwise run feedback --preset test --seed 3` passes every check."""

import json
from pathlib import Path

import numpy as np
import pytest

from layerwise.cli import main
from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment, no_progress
from layerwise.experiments.config import build_config
from layerwise.report.claims import claim_checks
from layerwise.runner import run_one
from tests.test_cli import assert_cli_run_writes_feedback_results

from .old_names import assert_an_old_data_nc_still_checks_plots_and_loads

EXPECTED = json.loads((Path(__file__).parent / "expected" / "feedback.json").read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    experiment = get_experiment("feedback")
    config = build_config(experiment, {}, preset="test")
    record = run_one(experiment, config, tmp_path_factory.mktemp("results"), quick=False, progress=no_progress)
    return record.path


def _close(value, expected):
    # Errors at rounding level (the exact flow vs its closed form, ~1e-10) vary with XLA's summation order.
    return np.allclose(np.asarray(value, float), np.asarray(expected, float), rtol=1e-6, atol=1e-9)


def test_check_values_equal_the_stored_ones(finished):
    checks = {c["name"]: c for c in json.loads((finished / "summary.json").read_text())["checks"]}
    assert set(checks) == set(EXPECTED)
    assert claim_checks("feedback") <= set(checks)
    for name, stored in EXPECTED.items():
        assert checks[name]["expected"] == stored["expected"], name  # the threshold itself
        assert checks[name]["passed"] == stored["passed"], name
        assert _close(checks[name]["value"], stored["value"]), (name, checks[name]["value"], stored["value"])


def test_data_nc_records_the_config_and_seeds(finished):
    import xarray as xr

    with xr.open_dataset(finished / "data.nc") as ds:
        assert ds.attrs["experiment"] == "feedback" and "seeds = 2" in ds.attrs["config_toml"]
        assert ds.sizes["seed"] == 2
        assert {name.split("_")[0] for name in ds.data_vars} <= {"linear", "theory", "flow"}


def test_layerwise_check_recomputes_every_value_from_data_nc(finished, capsys, tmp_path):
    assert main(["check", str(finished)]) == 0
    assert "22/22 check values reproduced" in capsys.readouterr().out
    # An altered summary value is named and the exit status is 1.
    altered = tmp_path / "feedback"
    altered.mkdir()
    for item in finished.iterdir():
        if item.is_file():
            (altered / item.name).write_bytes(item.read_bytes())
    summary = json.loads((altered / "summary.json").read_text())
    summary["checks"][0]["value"] = 0.5
    (altered / "summary.json").write_text(json.dumps(summary))
    assert main(["check", str(altered)]) == 1
    assert "differs: sigmoid_gd_vs_closed_form" in capsys.readouterr().out


def test_layerwise_plot_redraws_into_a_new_folder(finished, capsys, tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in finished.iterdir() if p.is_file()}
    assert main(["plot", str(finished), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "feedback.png").stat().st_size > 10_000
    assert {p.name: p.stat().st_mtime_ns for p in finished.iterdir() if p.is_file()} == before


def test_a_data_nc_under_the_older_dataset_names_still_checks_plots_and_loads(finished, capsys, tmp_path):
    import xarray as xr

    with xr.open_dataset(finished / "data.nc") as ds:  # the glossary's names, C under mode_imbalance
        assert ds.linear_weights.dims == ("seed", "init_scale", "time", "mode") and "target_strength" in ds.coords
        assert ds.flow_mode_imbalance.dims == ("mode_imbalance", "flow_imbalance_time")
        np.testing.assert_allclose(ds.flow_mode_imbalance.isel(flow_imbalance_time=0), ds.mode_imbalance,
                                   rtol=1e-9, atol=1e-12)
    assert_an_old_data_nc_still_checks_plots_and_loads(finished, "feedback", capsys, tmp_path)


def test_cli_run_of_the_test_preset_writes_results(finished, capsys, tmp_path):
    # After the fixture (`finished`): the CLI run at seed 3 reuses its compiled programs (the seed changes the
    # sample values, not the shapes), so this costs a run, not a compilation of the whole experiment.
    assert_cli_run_writes_feedback_results(capsys, tmp_path, "test")


def test_check_of_a_bad_folder_is_one_line(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "summary.json" in err


@pytest.mark.parametrize("overrides, words", [
    ({"learning_rate": 0.0}, "'learning_rate' must be > 0"), ({"depths": (1,)}, "'depths' must be >= 2"),
    ({"stage_gap_init_scales": ()}, "'stage_gap_init_scales' expects a non-empty list"),
    ({"seeds": 0}, "'seeds' must be >= 1"),
    ({"target_strengths": (1.0,), "input_variances": (1.0,)}, "'target_strengths' expects a list of at least 2 values"),
    ({"target_strengths": (1.0, 2.0, 3.0)}, "'input_variances' must be one value per entry of target_strengths "
                                            "\\(3 values\\), got \\(1.0, 1.0, 1.0, 1.0\\)"),
    ({"n_samples": 4}, "'n_samples' must be > the number of modes \\(4\\), got 4"),
    ({"init_scale": 10.0}, "'init_scale' must be below every target strength \\(< 0.5\\), got 10.0"),
    ({"stage_gap_init_scales": (1e-2, 0.5)}, "'stage_gap_init_scales' must be below every target strength"),
    ({"target_strengths": (4.0, 2.0, 1.0, 1e-3)}, "'stage_gap_init_scales' must be below every target strength "
                                                 "\\(< 0.001\\), got \\(0.01,"),  # a default broken by another field
    ({"variance_target_strengths": (3.0,)}, "'variance_target_strengths' expects a list of at least 2 values"),
    ({"variance_target_strengths": (3e-4, 1e-4)}, "'variance_target_strengths' must be above every init scale "
                                                  "\\(> max\\(init_scale, depth_init_scale, stage_gap_init_scales\\) "
                                                  "= 0.01\\), got \\(0.0003, 0.0001\\)"),
    ({"depth_init_scale": 2.0}, "'variance_target_strengths' must be above every init scale .* = 2\\)"),
    ({"variance_inputs": (0.5,)}, "'variance_inputs' must be one value per entry of variance_target_strengths "
                                  "\\(2 values\\)"),
    ({"variance_inputs": (1.0, 3.0)}, "'variance_inputs' must be values whose products S E\\[x\\^2\\] with "
                                      "variance_target_strengths are distinct"),  # 3 * 1 == 1 * 3
    ({"variance_inputs": (1.0, 1.0)}, "'variance_inputs' must be values that order the modes by S E\\[x\\^2\\] "
                                      "differently"),  # S E[x^2] would order them as S does
])
def test_bad_config_is_one_line_naming_the_field(overrides, words):
    with pytest.raises(LayerwiseError, match="^config key " + words) as error:
        build_config(get_experiment("feedback"), overrides)
    assert "\n" not in str(error.value)
