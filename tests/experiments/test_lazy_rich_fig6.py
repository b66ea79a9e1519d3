"""The lazy-rich-fig6 experiment at its `test` preset: check values equal the stored ones, `layerwise check`
re-derives them from data.nc, the robust Fig. 6a checks pass even on its tiny grid, and bad configs are one line."""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from layerwise.cli import main
from layerwise.errors import LayerwiseError
from layerwise.experiments import GROUPS, get_experiment, no_progress
from layerwise.experiments.config import build_config
from layerwise.report.claims import claim_checks
from layerwise.runner import run_one

from .old_names import assert_an_old_data_nc_still_checks_plots_and_loads

EXPECTED = json.loads((Path(__file__).parent / "expected" / "lazy-rich-fig6.json").read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    experiment = get_experiment("lazy-rich-fig6")
    config = build_config(experiment, {}, preset="test")
    return run_one(experiment, config, tmp_path_factory.mktemp("results"), quick=False, progress=no_progress).path


def _close(value, expected):
    return np.allclose(np.asarray(value, float), np.asarray(expected, float), rtol=1e-6, atol=1e-9)


def test_check_values_equal_the_stored_ones(finished):
    checks = {c["name"]: c for c in json.loads((finished / "summary.json").read_text())["checks"]}
    assert set(checks) == set(EXPECTED)
    assert claim_checks("lazy-rich-fig6") <= set(checks)
    for name, stored in EXPECTED.items():
        assert checks[name]["expected"] == stored["expected"], name  # the threshold itself
        assert checks[name]["passed"] == stored["passed"], name
        assert _close(checks[name]["value"], stored["value"]), (name, checks[name]["value"], stored["value"])
    # GD (lr 0.01, 4,000 steps) vs the exact λ-balanced flow, and the ±λ symmetry: robust even on this grid.
    for name in ("fig6a_closed_form_vs_gd", "fig6a_closed_form_vs_gd_in_time", "fig6a_falls_with_scale",
                 "fig6a_symmetric_in_lambda", "fig6a_lambda_conserved"):
        assert checks[name]["passed"], checks[name]


def test_data_nc_has_the_grids_the_seeds_and_the_figure(finished):
    with xr.open_dataset(finished / "data.nc") as ds:
        assert ds.attrs["experiment"] == "lazy-rich-fig6" and ds.sizes["seed"] == 2
        assert ds.linear_kernel_distance_a.dims == ("seed", "imbalance_a", "init_target_ratio_a", "step_a")
        assert ds.linear_kernel_distance_b.dims == ("seed", "scale_difference_b", "target_divisor_b")
        assert ds.linear_kernel_distance_a.shape == (2, 6, 3, 8) and ds.linear_kernel_distance_b.shape == (2, 4, 3)
        assert np.all(np.isfinite(ds.linear_kernel_distance_a)) and np.all(ds.theory_kernel_distance_a >= 0)
        assert {name.split("_")[0] for name in ds.data_vars} <= {"linear", "theory"}
    assert (finished / "lazy_rich_fig6.png").stat().st_size > 10_000


def test_layerwise_check_recomputes_every_value_from_data_nc(finished, capsys):
    assert main(["check", str(finished)]) == 0
    assert "12/12 check values reproduced" in capsys.readouterr().out


def test_the_old_name_is_a_group_of_both_parts():
    assert GROUPS["lazy-rich"] == ("lazy-rich-fig6", "lazy-rich-digits")


@pytest.mark.parametrize("field, value, words", [
    ("init_target_ratio_a", (20.0, 1.0, 40), "start < stop"), ("target_divisor_b", (0.0, 50.0, 40), "> 0"),
    ("imbalance_a", (-9.0, 9.0, 1), ">= 2"), ("scale_difference_b", (0.5, -0.5, 40), "start < stop"),
    ("init_scale_b", 0.0, "> 0"), ("floor", 0.0, "> 0"), ("n_samples", 2, ">= 3"), ("steps", 0, ">= 1"), ("seeds", 0, ">= 1"),
])
def test_bad_config_is_one_line_naming_the_field(field, value, words):
    with pytest.raises(LayerwiseError, match=words) as error:
        build_config(get_experiment("lazy-rich-fig6"), {field: value})
    assert "\n" not in str(error.value) and field in str(error.value)


def test_a_data_nc_under_the_older_dataset_names_still_checks_plots_and_loads(finished, capsys, tmp_path):
    assert_an_old_data_nc_still_checks_plots_and_loads(finished, "lazy-rich-fig6", capsys, tmp_path)
