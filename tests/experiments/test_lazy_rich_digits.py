"""The lazy-rich-digits experiment at its `test` preset: check values equal the stored ones, `layerwise check`
re-derives them from data.nc, and bad configs are one line naming the field."""

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from layerwise.cli import main
from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment, no_progress
from layerwise.experiments.config import build_config
from layerwise.report.claims import claim_checks
from layerwise.runner import run_one

from .old_names import assert_an_old_data_nc_still_checks_plots_and_loads

EXPECTED = json.loads((Path(__file__).parent / "expected" / "lazy-rich-digits.json").read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    experiment = get_experiment("lazy-rich-digits")
    config = build_config(experiment, {}, preset="test")
    return run_one(experiment, config, tmp_path_factory.mktemp("results"), quick=False, progress=no_progress).path


def _close(value, expected):
    # float32 training: values are rounding-level sensitive to XLA's summation order, hence rtol 1e-4 (not 1e-6).
    return np.allclose(np.asarray(value, float), np.asarray(expected, float), rtol=1e-4, atol=1e-9, equal_nan=True)


def test_check_values_equal_the_stored_ones(finished):
    checks = {c["name"]: c for c in json.loads((finished / "summary.json").read_text())["checks"]}
    assert set(checks) == set(EXPECTED)
    assert claim_checks("lazy-rich-digits") <= set(checks)
    for name, stored in EXPECTED.items():
        assert checks[name]["expected"] == stored["expected"], name  # the threshold itself
        assert checks[name]["passed"] == stored["passed"], name
        assert _close(checks[name]["value"], stored["value"]), (name, checks[name]["value"], stored["value"])


def test_data_nc_has_both_kinds_of_net_and_the_seeds(finished):
    with xr.open_dataset(finished / "data.nc") as ds:
        assert ds.attrs["experiment"] == "lazy-rich-digits" and ds.sizes["seed"] == 2
        assert ds.linear_relative_weight_change.dims == ("seed", "init_scale", "log2_layer_ratio", "layer")
        assert ds.nonlinear_kernel_distance.dims == ("activation", "seed", "init_scale", "log2_layer_ratio")
        assert list(ds.activation.values) == ["relu"] and np.all(np.isfinite(ds.nonlinear_kernel_distance))
    assert (finished / "lazy_rich_digits.png").stat().st_size > 10_000


def test_layerwise_check_recomputes_every_value_from_data_nc(finished, capsys):
    assert main(["check", str(finished)]) == 0
    assert "8/8 check values reproduced" in capsys.readouterr().out


@pytest.mark.parametrize("overrides, words", [
    ({"beyond_width": 7}, "'beyond_width': input should be a multiple of 2"), ({"floor": 0.0}, "'floor' must be > 0"),
    ({"beyond_models": ("gelu",)}, "'beyond_models': .*'linear'"),
    ({"beyond_train": 1797}, "'beyond_train' must be < 1797"),
    ({"beyond_init_scales": (2.0, 0.25, 5)}, "'beyond_init_scales': must be \\[start, stop, num\\] with start < stop"),
    ({"beyond_probe": 0}, "'beyond_probe' must be >= 1"),
    ({"beyond_probe": 1001}, "'beyond_probe' must be <= beyond_train = 1000 \\(the probe samples are training "
                             "samples\\), got 1001"),
    ({"beyond_train": 10}, "'beyond_probe' must be <= beyond_train = 10 .*, got 20"),  # the default broken
])
def test_bad_config_is_one_line_naming_the_field(overrides, words):
    with pytest.raises(LayerwiseError, match="^config key " + words) as error:
        build_config(get_experiment("lazy-rich-digits"), overrides)
    assert "\n" not in str(error.value)


def test_a_data_nc_under_the_older_dataset_names_still_checks_plots_and_loads(finished, capsys, tmp_path):
    assert_an_old_data_nc_still_checks_plots_and_loads(finished, "lazy-rich-digits", capsys, tmp_path)
