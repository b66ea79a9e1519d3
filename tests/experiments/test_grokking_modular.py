"""grokking-modular: the `test` preset against stored checks, and bad configs."""

import numpy as np
import pytest
import xarray as xr

from layerwise.errors import LayerwiseError
from layerwise.experiments import GROUPS, get_experiment
from layerwise.experiments.config import build_config
from .grokking_presets import assert_checks_equal_stored, assert_layerwise_check_reproduces, run_test_preset


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return run_test_preset("grokking-modular", tmp_path_factory.mktemp("results"))


def test_check_values_equal_the_stored_ones(finished):
    assert_checks_equal_stored(finished, "grokking-modular")


def test_data_nc_holds_the_runs_per_seed(finished, capsys):
    with xr.open_dataset(finished / "data.nc") as ds:
        assert ds.nonlinear_test_accuracy.dims == ("seed", "run", "step") and ds.sizes["seed"] == 3
        assert list(ds.run.values) == ["baseline", "small init", "large target", "upstream", "downstream"]
        assert np.all((ds.nonlinear_train_accuracy >= 0) & (ds.nonlinear_train_accuracy <= 1))
        assert ds.transformer_test_accuracy.dims == ("seed", "init", "transformer_step")
        assert list(ds.init.values) == ["upstream", "balanced", "downstream"]
        assert np.all((ds.transformer_test_accuracy >= 0) & (ds.transformer_test_accuracy <= 1))
        # An even record grid: the delay's resolution is one spacing, far below the checks' margins.
        assert np.all(np.diff(ds.transformer_step.values) == 10) and np.all(np.diff(ds.step.values) == 20)
        assert ds.attrs["data_source"] == "modular-11" and "float32" in ds.attrs["departures"]
    assert_layerwise_check_reproduces(finished, capsys)


def test_grokking_is_the_group_of_its_three_parts():
    assert GROUPS["grokking"] == ("grokking-toy", "grokking-fig11", "grokking-modular")


@pytest.mark.parametrize("field, value, words", [
    ("train_fraction", 1.0, "< 1"), ("modulus", 2, ">= 3"), ("layer_ratio", -1.0, "> 0"),
    ("modular_weight_decay", -0.1, ">= 0"), ("seed", -1, ">= 0"), ("transformer_d_model", 128, "<= 64"),
    ("transformer_train_fraction", 0.7, "<= 0.5"),
])
def test_bad_config_is_one_line_naming_the_field(field, value, words):
    with pytest.raises(LayerwiseError, match=words) as error:
        build_config(get_experiment("grokking-modular"), {field: value})
    assert "\n" not in str(error.value) and field in str(error.value)
