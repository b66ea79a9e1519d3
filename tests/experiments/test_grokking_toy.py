"""grokking-toy: the toy's rescaling structure under the engine, and the `test` preset against stored checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from layerwise import data, theory
from layerwise.engine import gradient_flow, train
from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment
from layerwise.experiments.config import build_config
from layerwise.models import DeepLinearNetwork
from .grokking_presets import assert_checks_equal_stored, assert_layerwise_check_reproduces, run_test_preset
from .old_names import assert_an_old_data_nc_still_checks_plots_and_loads

P, Z, S = 6, 1.3, 2.0


def _toy(key):
    """f(x) = (1/Z) sum_i a_i b_i x on y = S x (E[x^2] = 1), from independent N(0, 0.3^2) units (S0 != 0)."""
    model = DeepLinearNetwork((1, P, 1), output_scale=1 / Z)
    key_a, key_b = jax.random.split(key)
    a, b = 0.3 * jax.random.normal(key_a, (P,)), 0.3 * jax.random.normal(key_b, (P,))
    task = data.Task.from_statistics(jnp.ones((1, 1)), S * jnp.ones((1, 1)), S**2)
    return model, (a[None, :, None], b[None, None, :]), task, np.asarray(a), np.asarray(b)


UNITS = {"a": (lambda m, p, t: p[0][:, 0], ("unit",)), "b": (lambda m, p, t: p[1][0], ("unit",))}


def test_flow_rescales_every_unit_by_one_common_factor_and_ends_at_gamma_plus(key):
    """u_i = a_i + b_i obey du_i/dt = -(S(t) - S) u_i / Z, v_i = a_i - b_i the opposite sign: u_i(t) = g(t) u_i(0),
    v_i(t) = v_i(0) / g(t) with the same g for every unit, and g(inf)^2 = gamma_+ (Nam et al. 2025, §7)."""
    model, params, task, a0, b0 = _toy(key)
    history = gradient_flow(model, params, task, np.linspace(0, 40, 21), observables=UNITS).history
    u = (history.a + history.b).isel(run=0).values
    v = (history.a - history.b).isel(run=0).values
    growth = u / (a0 + b0)  # (time, unit): one column per unit
    np.testing.assert_allclose(growth, growth[:, :1] * np.ones((1, P)), rtol=1e-8)  # common factor g(t)
    np.testing.assert_allclose(v * growth[:, :1], np.broadcast_to(a0 - b0, v.shape), rtol=1e-8, atol=1e-12)
    sigma0, s0 = np.sum(a0**2 + b0**2) / (2 * Z), np.sum(a0 * b0) / Z
    gamma = theory.grokking_gamma(sigma0, s0, S)
    np.testing.assert_allclose(np.sum(u[-1] ** 2) / np.sum(u[0] ** 2), gamma, rtol=1e-8)
    assert growth[-1, 0] ** 2 > 1.5  # the rich toy's features did grow


def test_gd_keeps_the_common_factor_exactly(key):
    """A GD step multiplies every u_i by (1 - lr e/Z) and every v_i by (1 + lr e/Z): the common factor holds at any
    learning rate (only g * (1/g) = 1 picks up O(lr^2) per step)."""
    model, params, task, a0, b0 = _toy(key)
    history = train(model, params, task, steps=400, learning_rate=0.05, record_steps=np.arange(0, 401, 50),
                    observables=UNITS).history
    u = (history.a + history.b).isel(run=0).values
    growth = u / (a0 + b0)
    np.testing.assert_allclose(growth, growth[:, :1] * np.ones((1, P)), rtol=1e-10)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return run_test_preset("grokking-toy", tmp_path_factory.mktemp("results"))


def test_check_values_equal_the_stored_ones(finished):
    assert_checks_equal_stored(finished, "grokking-toy")


def test_data_nc_holds_every_route_per_seed(finished, capsys):
    with xr.open_dataset(finished / "data.nc") as ds:
        assert ds.sizes["seed"] == 2 and ds.flow_growth.dims == ("seed", "run", "time")
        assert ds.sizes["run"] == 1 + 2 * 3 + 3 + 1  # NTK, weight (S0 = 0 and != 0), target grid + NTK ratios
        assert {name.split("_")[0] for name in ds.data_vars} <= {"flow", "theory"}
    assert_layerwise_check_reproduces(finished, capsys)


@pytest.mark.parametrize("overrides, words", [
    ({"toy_width": 3}, "'toy_width' must be even \\(the zero-output init mirrors pairs\\), got 3"),
    ({"toy_ratios": (1.0, 0.0)}, "'toy_ratios' must be > 0"),
    ({"toy_ratios": (1.0,)}, "'toy_ratios' expects a list of at least 2 values"),
    ({"toy_ntk_widths": (4, 5)}, "'toy_ntk_widths' must be even widths \\(the zero-output init mirrors pairs\\), "
                                 "got \\(4, 5\\)"),
    ({"toy_ntk_widths": ()}, "'toy_ntk_widths' expects a non-empty list"), ({"seeds": 0}, "'seeds' must be >= 1"),
])
def test_bad_config_is_one_line_naming_the_field(overrides, words):
    with pytest.raises(LayerwiseError, match="^config key " + words) as error:
        build_config(get_experiment("grokking-toy"), overrides)
    assert "\n" not in str(error.value)


def test_a_data_nc_under_the_older_dataset_names_still_checks_plots_and_loads(finished, capsys, tmp_path):
    assert_an_old_data_nc_still_checks_plots_and_loads(finished, "grokking-toy", capsys, tmp_path)
