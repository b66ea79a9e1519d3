"""Initialisations: exact constraints (λ-balance, zero output, mode strengths), scales and reproducibility."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from layerwise import data, init, metrics
from layerwise.errors import LayerwiseError
from layerwise.models import MLP, DeepLinearNetwork, DiagonalLinearNetwork, mlp_init


@settings(max_examples=15, deadline=None)
@given(
    lam=st.floats(-9, 9),
    sigma=st.floats(0.01, 20),
    dims=st.sampled_from([(2, 2, 2), (5, 3, 4), (3, 3, 6), (6, 2, 2)]),
    seed=st.integers(0, 1000),
)
def test_lambda_balanced_init_is_exact(lam, sigma, dims, seed):
    d, h, m = dims
    if (lam > 0 and h > m) or (lam < 0 and h > d):
        return
    model = DeepLinearNetwork(widths=dims)
    w1, w2 = init.lambda_balanced_init(jax.random.PRNGKey(seed), model, sigma, imbalance=lam)
    # W2^T W2 - W1 W1^T = λ I_h (Dominé et al. 2025), to rounding.
    np.testing.assert_allclose(w2.T @ w2 - w1 @ w1.T, lam * np.eye(h), atol=1e-12 * max(1.0, abs(lam), sigma))
    k = min(dims)
    np.testing.assert_allclose(np.linalg.svd(w2 @ w1, compute_uv=False)[:k], sigma, rtol=1e-10)


def test_lambda_balanced_matches_authors_scale_convention(key):
    # The authors' get_lambda_balanced(λ, scale=s) has end-to-end singular values sqrt(s) (paper.md §5.2).
    model = DeepLinearNetwork(widths=(2, 2, 2))
    w1, w2 = init.lambda_balanced_init(key, model, np.sqrt(5.0), imbalance=3.0)
    a2 = (np.sqrt(9 + 4 * 5.0) - 3) / 2
    np.testing.assert_allclose(np.linalg.eigvalsh(w1 @ w1.T), [a2, a2], rtol=1e-12)


def test_lambda_balanced_rejects_impossible_widths(key):
    with pytest.raises(LayerwiseError, match="hidden width"):
        init.lambda_balanced_init(key, DeepLinearNetwork(widths=(4, 3, 2)), 1.0, imbalance=1.0)


def test_infeasible_traced_lambda_raises_not_a_wrong_init(key):
    model = DeepLinearNetwork(widths=(3, 3, 2))  # λ > 0 needs hidden width <= d_out = 2
    make = jax.vmap(lambda lam: init.lambda_balanced_init(key, model, 0.1, imbalance=lam))
    w1, w2 = make(jnp.array([-1.0, -2.0]))
    np.testing.assert_allclose(w2[0].T @ w2[0] - w1[0] @ w1[0].T, -np.eye(3), atol=1e-12)
    with pytest.raises(Exception, match="λ > 0 needs hidden width <= d_out"):
        jax.block_until_ready(make(jnp.array([-1.0, 1.0])))
    with pytest.raises(LayerwiseError, match="infeasible"):
        init.lambda_balanced_init(key, model, 0.1, imbalance=1.0)


def test_mirrored_init_any_depth_gives_zero_output(key):
    model = DeepLinearNetwork(widths=(5, 6, 4, 8, 3))
    params = init.mirrored_init(key, model, 0.3, 0.2)
    assert [w.shape for w in params] == list(model.param_shapes())
    np.testing.assert_allclose(model.end_to_end(params), 0.0, atol=1e-12)
    assert float(jnp.abs(params[1]).max()) > 0.1  # the hidden layers are not zero: only the halves cancel
    with pytest.raises(LayerwiseError, match="even hidden widths"):
        init.mirrored_init(key, DeepLinearNetwork(widths=(5, 6, 3, 2)), 0.3, 0.2)


def test_mirrored_init_zero_output_and_layer_scales(key):
    model = DeepLinearNetwork(widths=(20, 20, 2))
    w1, w2 = init.mirrored_init(key, model, 0.1, 0.3)
    np.testing.assert_allclose(w2 @ w1, 0.0, atol=1e-12)
    a, b = w1[:10] / 0.4, w2[:, :10] / 0.1
    w1_low, w2_low = init.mirrored_init(key, model, 0.1, -0.3)
    np.testing.assert_allclose(w1_low[:10] / 0.1, a, rtol=1e-12)
    np.testing.assert_allclose(w2_low[:, :10] / 0.4, b, rtol=1e-12)


def test_balanced_aligned_init_sets_mode_strengths(key):
    task, u, v = data.teacher_task(key, [3.0, 2.0, 1.0], in_dim=4, out_dim=3)
    for widths in [(4, 5, 3), (4, 3, 6, 3)]:
        model = DeepLinearNetwork(widths=widths)
        params = init.balanced_aligned_init(jax.random.PRNGKey(1), model, jnp.array([1e-3, 2e-3, 3e-3]), u, v)
        np.testing.assert_allclose(metrics.mode_strengths(model.end_to_end(params), u, v), [1e-3, 2e-3, 3e-3],
                                   rtol=1e-10)
        # Balanced: every hidden imbalance is zero.
        for block in metrics.imbalance_later_minus_earlier(model, params):
            np.testing.assert_allclose(block, 0.0, atol=1e-14)


def test_balanced_diagonal_init_imbalance_and_product():
    model = DiagonalLinearNetwork(dim=3, depth=2)
    params = init.balanced_diagonal_init(model, jnp.array([1e-3, 0.1, 1.0]), jnp.array([0.0, 1.0, 100.0]))
    np.testing.assert_allclose(params[0] * params[1], [1e-3, 0.1, 1.0], rtol=1e-12)
    np.testing.assert_allclose(params[0] ** 2 - params[1] ** 2, [0.0, 1.0, 100.0], atol=1e-12)
    deep = DiagonalLinearNetwork(dim=2, depth=4)
    np.testing.assert_allclose(deep.end_to_end(init.balanced_diagonal_init(deep, 0.0625))[0], 0.0625, rtol=1e-12)
    with pytest.raises(LayerwiseError, match="imbalance"):
        init.balanced_diagonal_init(deep, 0.1, 1.0)


def test_gaussian_init_scales(key):
    model = DeepLinearNetwork(widths=(400, 300, 2))
    w1, _ = init.gaussian_init(key, model, 2.0, parameterisation="fan_in")
    assert float(jnp.std(w1)) == pytest.approx(2.0 / np.sqrt(400), rel=0.02)
    w1, _ = init.gaussian_init(key, model, 2.0)
    assert float(jnp.std(w1)) == pytest.approx(2.0, rel=0.02)
    with pytest.raises(LayerwiseError, match="parameterisation"):
        init.gaussian_init(key, model, parameterisation="xavier")


def test_same_key_same_params_and_vmap_over_keys():
    model = DeepLinearNetwork(widths=(3, 2, 4))
    keys = jax.random.split(jax.random.PRNGKey(7), 5)
    batched = jax.vmap(lambda k: init.lambda_balanced_init(k, model, 0.2, imbalance=0.5))(keys)
    single = init.lambda_balanced_init(keys[2], model, 0.2, imbalance=0.5)
    np.testing.assert_allclose(batched[0][2], single[0], atol=1e-14)
    again = jax.vmap(lambda k: init.lambda_balanced_init(k, model, 0.2, imbalance=0.5))(keys)
    np.testing.assert_array_equal(batched[1], again[1])


def test_scale_layers():
    model = DeepLinearNetwork(widths=(3, 2, 1))
    params = (jnp.ones((2, 3)), jnp.ones((1, 2)))
    scaled = init.scale_layers(model, params, [2.0, 0.5])
    assert float(scaled[0][0, 0]) == 2.0 and float(scaled[1][0, 0]) == 0.5
    with pytest.raises(LayerwiseError):
        init.scale_layers(model, params, [1.0])
    diagonal = init.scale_layers(DiagonalLinearNetwork(dim=2, depth=3), jnp.ones((3, 2)), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(diagonal[:, 0], [1.0, 2.0, 3.0])
    with pytest.warns(DeprecationWarning, match="scale_layers"):
        old = init.scale_layers(params, [2.0, 0.5])
    np.testing.assert_array_equal(old[0], scaled[0])


def test_scale_layers_of_a_relu_net_with_unit_product_keeps_its_function():
    # ReLU is positively homogeneous, so a bias-free ReLU net is unchanged by layer factors whose product is 1 (the
    # rescaling symmetry behind upstream/downstream imbalance); with biases each (W_l, b_l) pair is scaled together.
    model = MLP((4, 8, 8, 3), activation="relu", bias=False)
    params = mlp_init(jax.random.PRNGKey(0), model)
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 4), jnp.float64)
    scaled = init.scale_layers(model, params, [4.0, 0.5, 0.5])
    np.testing.assert_allclose(model.apply(scaled, x), model.apply(params, x), rtol=1e-12)
    assert float(jnp.linalg.norm(scaled[0][0])) == pytest.approx(4 * float(jnp.linalg.norm(params[0][0])))
    biased_model = MLP((4, 8, 3), bias=True)
    biased = mlp_init(jax.random.PRNGKey(0), biased_model, bias_scale=1.0)
    scaled = init.scale_layers(biased_model, biased, [2.0, 3.0])
    np.testing.assert_allclose(scaled[1][1], 3.0 * biased[1][1])
