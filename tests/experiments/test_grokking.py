"""Grokking experiment: the toy's rescaling structure under the engine, gamma_+, the scaled MLP, a tiny full run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import data, theory
from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment, no_progress
from layerwise.experiments.grokking import GrokkingConfig, _InputScaledMLP, _torch_mlp_init
from layerwise.models import MLP, DeepLinearNetwork
from layerwise.engine import gradient_flow, train
from layerwise.report.claims import claim_checks

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
    v_i(t) = v_i(0) / g(t) with the same g for every unit, and g(inf)^2 = gamma_+ (paper.md §3.5)."""
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


@pytest.mark.parametrize("field, value", [("toy_width", 3), ("weight_scales", (1.0, 2.0)), ("train_fraction", 1.0),
                                          ("epochs", 0), ("imbalance", -1.0), ("toy_ratios", (1.0, 0.0))])
def test_bad_config_is_one_line_error(field, value):
    with pytest.raises(LayerwiseError, match=field):
        GrokkingConfig(**{field: value})


def test_tiny_run_end_to_end():
    experiment = get_experiment("grokking")
    config = experiment.make_config(toy_ratios=(0.01, 1.0, 100.0), toy_ntk_widths=(4,), mlp_width=16, epochs=6,
                                    n_train=200, record_epochs=5, modulus=7, modular_width=8, modular_steps=20)
    outcome = experiment.run(config, no_progress)
    checks = {check.name: check for check in outcome.checks}
    assert claim_checks("grokking") <= set(checks)  # every check a claim relies on exists
    assert set(checks) == {"gamma_plus_matches_simulation", "rescaling_trajectory_matches_theory",
                           "v_shrinks_by_the_same_factor", "lazy_and_rich_limits",
                           "ntk_equals_target_downscaling", "ntk_width_makes_lazy", "fig11a_groks",
                           "fig11b_to_e_no_delay", "modular_groks", "modular_levers_shorten_delay",
                           "modular_upstream_shortens_delay"}
    for name in ("gamma_plus_matches_simulation", "rescaling_trajectory_matches_theory", "v_shrinks_by_the_same_factor",
                 "lazy_and_rich_limits", "ntk_equals_target_downscaling"):
        assert checks[name].passed, checks[name]
    dataset = outcome.dataset
    assert dataset.mlp_train_accuracy.dims == ("panel", "mlp_epoch") and dataset.sizes["panel"] == 5
    assert dataset.modular_test_accuracy.dims == ("modular_run", "modular_step")
    assert dataset.sizes["toy_run"] == 1 + 2 * 3 + 3 + 1  # NTK, weight (S0 = 0 and != 0), target grid + NTK ratios
    assert "digits" in dataset.attrs["data_source"] or "MNIST" in dataset.attrs["data_source"]
    assert np.all((dataset.mlp_test_accuracy >= 0) & (dataset.mlp_test_accuracy <= 1))
    assert set(outcome.figures) == {"grokking"}


def test_images_come_from_mnist_idx_files_when_given(tmp_path, monkeypatch):
    """A generated IDX directory is used (seeded n_train subset, full test set); without one, digits."""
    from layerwise.experiments.grokking import load_images

    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), rng.integers(0, 10, 30).astype(np.uint8)
    for stem, array in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels),
                        ("t10k-images-idx3-ubyte", images[:7]), ("t10k-labels-idx1-ubyte", labels[:7])):
        data.write_idx(tmp_path / stem, array)
    x_train, y_train, x_test, y_test, source = load_images(GrokkingConfig(mnist_path=str(tmp_path), n_train=12))
    assert x_train.shape == (12, 784) and x_test.shape == (7, 784) and "MNIST" in source
    match = [np.flatnonzero((images.reshape(30, -1) / 255.0 == row).all(axis=1))[0] for row in x_train]
    np.testing.assert_array_equal(y_train, labels[match])  # labels travel with their images
    monkeypatch.delenv(data.images.MNIST_ENVIRONMENT_VARIABLE, raising=False)
    x_train, _, x_test, _, source = load_images(GrokkingConfig(n_train=12))
    assert x_train.shape == (12, 64) and x_test.shape == (1797 - 12, 64) and "digits" in source
