"""Kernel metrics: autodiff NTK vs closed form, kernel distance, alignment, relative weight change."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import data, init, metrics
from layerwise.errors import LayerwiseError
from layerwise.models import MLP, DeepLinearNetwork, DiagonalLinearNetwork, mlp_init
from layerwise.engine import train


@pytest.mark.parametrize("mode", ["rev", "fwd", "auto"])
def test_empirical_ntk_equals_two_layer_closed_form(key, mode):
    # K = X X^T ⊗ W2 W2^T + X W1^T W1 X^T ⊗ I_m (sample-major); float64, agreement to 1e-12 relative.
    model = DeepLinearNetwork((3, 4, 2))
    params = init.gaussian_init(key, model, 0.7)
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 3))
    autodiff = metrics.empirical_ntk(model, params, x, mode=mode)
    closed = metrics.ntk_two_layer(params[0], params[1], x)
    assert autodiff.shape == (10, 10)
    np.testing.assert_allclose(autodiff, closed, rtol=1e-12, atol=1e-12 * np.abs(closed).max())


def test_empirical_ntk_of_linear_model_is_gram_matrix(key):
    # Depth 1, f = W x: dF_a(x_i)/dW_bc = delta_ab x_ic, so K = X X^T ⊗ I_m, independent of W.
    model = DeepLinearNetwork((3, 2))
    x = jax.random.normal(key, (4, 3))
    kernel = metrics.empirical_ntk(model, (jax.random.normal(jax.random.PRNGKey(2), (2, 3)),), x)
    np.testing.assert_allclose(kernel, np.kron(x @ x.T, np.eye(2)), rtol=1e-12)


def test_empirical_ntk_mlp_is_symmetric_psd_and_vmaps(key):
    model = MLP((3, 8, 2), activation="tanh")
    # each step one compiled program: eagerly, the vmapped init and both autodiff kernels compile ~130 small programs
    params = jax.jit(jax.vmap(lambda k: mlp_init(k, model, 1.0, 0.1)))(jax.random.split(key, 3))
    x = jax.random.normal(jax.random.PRNGKey(3), (4, 3))
    kernels = jax.jit(jax.vmap(lambda p: metrics.empirical_ntk(model, p, x)))(params)
    assert kernels.shape == (3, 8, 8)
    np.testing.assert_allclose(kernels, np.swapaxes(kernels, 1, 2), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(kernels) > -1e-10)
    one = jax.jit(lambda p: metrics.empirical_ntk(model, p, x, mode="fwd"))(
        jax.tree_util.tree_map(lambda a: a[1], params))
    np.testing.assert_allclose(kernels[1], one, rtol=1e-10)


def test_kernel_distance_self_zero_and_scale_invariant(key):
    k0, k1 = (a @ a.T for a in jax.random.normal(key, (2, 6, 6)))
    assert abs(float(metrics.kernel_distance(k0, k0))) < 1e-14
    base = float(metrics.kernel_distance(k0, k1))
    assert base > 1e-3  # different kernels are at a positive distance
    assert abs(float(metrics.kernel_distance(3.0 * k0, 0.25 * k1)) - base) < 1e-14


def test_kernel_target_alignment_oracles(key):
    y = jax.random.normal(key, (7,))
    for centering in ("none", "both"):
        # K = y y^T is perfectly aligned (centred: H y y^T H = y_c y_c^T).
        assert abs(float(metrics.kernel_target_alignment(jnp.outer(y, y), y, centering=centering)) - 1) < 1e-12
    # One-sided: H y y^T = y_c y^T against y_c y_c^T gives |y_c|^4 / (|y_c| |y| |y_c|^2) = |y_c| / |y| < 1.
    one_sided = metrics.kernel_target_alignment(jnp.outer(y, y), y, centering="columns")
    assert abs(float(one_sided) - float(jnp.linalg.norm(y - y.mean()) / jnp.linalg.norm(y))) < 1e-12
    # K = I_n: y^T y / (sqrt(n) |y|^2) = 1/sqrt(n).
    assert abs(float(metrics.kernel_target_alignment(jnp.eye(7), y)) - 1 / np.sqrt(7)) < 1e-12
    # Centred alignment ignores a constant shift of the targets and of the kernel (K + c 1 1^T); uncentred does not.
    k = jnp.outer(y, y) + 0.3 * jnp.eye(7)
    shifted = metrics.kernel_target_alignment(k + 2.0, y + 5.0, centering="both")
    assert abs(float(shifted - metrics.kernel_target_alignment(k, y, centering="both"))) < 1e-12
    assert abs(float(metrics.kernel_target_alignment(k + 2.0, y + 5.0) - metrics.kernel_target_alignment(k, y))) > 1e-3


def test_kernel_target_alignment_on_sample_major_ntk(key):
    y = jax.random.normal(key, (5, 2))
    vec = y.reshape(-1)  # sample-major: row i * m + a
    assert abs(float(metrics.kernel_target_alignment(jnp.outer(vec, vec), y)) - 1) < 1e-12
    # Per-output centring: shifting each output's targets by a constant leaves the centred alignment unchanged.
    k = jnp.outer(vec, vec) + 0.5 * jnp.eye(10)
    a = metrics.kernel_target_alignment(k, y, centering="both")
    b = metrics.kernel_target_alignment(k, y + jnp.array([3.0, -1.0]), centering="both")
    assert abs(float(a - b)) < 1e-12
    with pytest.raises(LayerwiseError, match="kernel"):
        metrics.kernel_target_alignment(jnp.eye(4), y)
    with pytest.raises(LayerwiseError, match="centering"):
        metrics.kernel_target_alignment(k, y, centering="left")


@pytest.mark.parametrize("lam", [-9.0, -0.23, 0.0, 0.7, 9.0])
def test_lambda_balanced_init_constraint(key, lam):
    # W2^T W2 - W1 W1^T = λ I exactly and W2 W1 has singular values sqrt(s) (the authors' scale s = 7).
    model = DeepLinearNetwork((2, 2, 2))
    w1, w2 = init.lambda_balanced_init(key, model, np.sqrt(7.0), imbalance=lam)
    np.testing.assert_allclose(w2.T @ w2 - w1 @ w1.T, lam * np.eye(2), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(w2 @ w1, compute_uv=False), np.sqrt(7.0), rtol=1e-12)


def test_large_imbalance_moves_only_the_lighter_layer(key):
    # λ = +9: W2 heavy (b^2 - a^2 = 9), so W1 does the learning; λ = -9 the reverse (lazy, Dominé et al. 2025).
    model = DeepLinearNetwork((2, 2, 2))
    task = data.whitened_regression(key, 10, 2, 2)
    lams = jnp.array([9.0, -9.0])
    params = jax.vmap(lambda l: init.lambda_balanced_init(jax.random.PRNGKey(4), model, 1.0, imbalance=l))(lams)
    result = train(model, params, task, steps=500, learning_rate=0.01, record_steps=np.array([500]))
    change = np.asarray(jax.vmap(lambda p, q: metrics.relative_weight_change(model, p, q))(result.params, params))
    assert change.shape == (2, 2)
    assert change[0, 0] > 20 * change[0, 1]  # λ = +9: first (lighter) layer moves
    assert change[1, 1] > 20 * change[1, 0]  # λ = -9: second (lighter) layer moves


def test_relative_weight_change_layers():
    diagonal = jnp.array([[1.0, 1.0], [2.0, 0.0]])
    moved = diagonal.at[0].add(jnp.array([0.3, 0.4]))
    np.testing.assert_allclose(
        metrics.relative_weight_change(DiagonalLinearNetwork(dim=2, depth=2), moved, diagonal), [0.5 / np.sqrt(2), 0.0])
    with pytest.warns(DeprecationWarning):
        np.testing.assert_allclose(metrics.relative_weight_change(moved, diagonal), [0.5 / np.sqrt(2), 0.0])
    model = MLP((2, 3, 1))
    params = mlp_init(jax.random.PRNGKey(0), model, 1.0, 0.0)
    doubled = tuple((2 * w, b) for w, b in params)
    np.testing.assert_allclose(metrics.relative_weight_change(model, doubled, params), [1.0, 1.0], rtol=1e-12)
