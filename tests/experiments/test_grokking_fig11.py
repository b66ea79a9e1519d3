"""grokking-fig11: the input/output-scaled MLP and PyTorch's init, and the `test` preset against stored checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment
from layerwise.experiments.config import build_config
from layerwise.experiments.grokking_fig11 import _InputScaledMLP, _torch_mlp_init
from layerwise.models import MLP
from .grokking_presets import assert_checks_equal_stored, assert_layerwise_check_reproduces, run_test_preset


def test_scaled_mlp_is_the_mlp_with_input_and_output_multipliers(key):
    mlp = MLP((5, 7, 3), activation="tanh")
    scaled = MLP((5, 7, 3), activation="tanh", output_scale=0.1)
    params = _torch_mlp_init(key, mlp, 5.0, jnp.float64)
    x = jax.random.normal(jax.random.PRNGKey(1), (4, 5))
    model = _InputScaledMLP(scaled, 0.01)
    np.testing.assert_allclose(model.apply(params, x), 0.1 * mlp.apply(params, 0.01 * x), rtol=1e-12)
    model.check_params(params)
    # PyTorch's default bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), independent of the weight scale.
    assert np.all(np.abs(params[0][1]) <= 1 / np.sqrt(5)) and np.all(np.abs(params[1][1]) <= 1 / np.sqrt(7))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return run_test_preset("grokking-fig11", tmp_path_factory.mktemp("results"))


def test_check_values_equal_the_stored_ones(finished):
    assert_checks_equal_stored(finished, "grokking-fig11")


def test_data_nc_holds_the_panels_per_seed(finished, capsys):
    with xr.open_dataset(finished / "data.nc") as ds:
        assert ds.nonlinear_test_accuracy.dims == ("seed", "panel", "epoch") and ds.sizes["panel"] == 5
        assert ds.sizes["seed"] == 3  # each seed its own split and init:
        assert not np.array_equal(ds.nonlinear_train_accuracy[0], ds.nonlinear_train_accuracy[1])
        assert ds.attrs["data_source"] in ("mnist", "mnist1d")
        assert np.all((ds.nonlinear_test_accuracy >= 0) & (ds.nonlinear_test_accuracy <= 1))
    assert_layerwise_check_reproduces(finished, capsys)


@pytest.mark.parametrize("field, value, words", [
    ("init_scales", (1.0, 2.0), "'init_scales' must be one value per panel a-e \\(5 values\\), got \\(1.0, 2.0\\)"),
    ("target_scales", (3.0,) * 6, "'target_scales' must be one value per panel"),
    ("input_scales", (), "'input_scales' must be one value per panel"),
    ("output_scales", 0.1, "'output_scales' must be one value per panel"),  # a scalar is a one-item list
    ("epochs", 0, ">= 1"), ("learning_rate", 0.0, "> 0"),
    ("record_epochs", 2, ">= 3"), ("weight_decay", -1.0, ">= 0"),
])
def test_bad_config_is_one_line_naming_the_field(field, value, words):
    with pytest.raises(LayerwiseError, match=words) as error:
        build_config(get_experiment("grokking-fig11"), {field: value})
    assert "\n" not in str(error.value) and field in str(error.value)


def test_generalisation_at_memorisation_separates_grokking_from_a_smooth_lag():
    from layerwise.experiments.grokking_fig11 import generalisation_at_memorisation
    epochs = np.array([0, 1, 10, 100, 1000])
    train = np.array([[0.1, 1.0, 1.0, 1.0, 1.0], [0.1, 0.5, 1.0, 1.0, 1.0]])
    test = np.array([[0.1, 0.2, 0.3, 0.6, 0.9], [0.1, 0.4, 0.83, 0.9, 0.9]])  # grokking; a smooth lag
    ds = xr.Dataset({"nonlinear_train_accuracy": (("panel", "epoch"), train),
                     "nonlinear_test_accuracy": (("panel", "epoch"), test)}, coords={"epoch": epochs})
    np.testing.assert_allclose(generalisation_at_memorisation(ds), [0.1 / 0.8, 0.73 / 0.8])
