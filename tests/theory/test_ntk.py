"""NTK of a two-layer linear net (closed form vs automatic differentiation) and the kernel distance."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise.errors import LayerwiseError
from layerwise.models import DeepLinearNetwork
from layerwise.theory import kernel_distance, ntk_two_layer


def test_ntk_equals_the_autodiff_ntk_in_sample_major_order():
    # K = J J^T with J the Jacobian of model.apply(params, X).reshape(-1): row i*m + a is output a of sample i
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    w1, w2 = jax.random.normal(k1, (4, 3)), jax.random.normal(k2, (2, 4))
    x = jax.random.normal(k3, (5, 3))
    model = DeepLinearNetwork((3, 4, 2))
    jacobian = jax.jacobian(lambda p: model.apply(p, x).reshape(-1))((w1, w2))
    flat = jnp.concatenate([j.reshape(j.shape[0], -1) for j in jacobian], axis=1)
    np.testing.assert_allclose(ntk_two_layer(w1, w2, x), flat @ flat.T, atol=1e-12)


def test_ntk_broadcasts_over_leading_axes():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(1), 3)
    w1, w2 = jax.random.normal(k1, (6, 4, 3)), jax.random.normal(k2, (6, 2, 4))
    x = jax.random.normal(k3, (5, 3))
    with jax.numpy_rank_promotion("raise"):
        batched = ntk_two_layer(w1, w2, x)
        distances = kernel_distance(batched[0], batched)
    assert batched.shape == (6, 10, 10) and distances.shape == (6,)
    np.testing.assert_allclose(batched[4], ntk_two_layer(w1[4], w2[4], x), atol=1e-12)
    assert abs(float(distances[0])) < 1e-15


def test_kernel_distance_properties():
    k = jax.random.normal(jax.random.PRNGKey(2), (4, 4))
    kernel = k @ k.T
    other = jnp.diag(jnp.arange(1.0, 5.0))
    assert abs(float(kernel_distance(kernel, 7.0 * kernel))) < 1e-15  # scale-invariant
    np.testing.assert_allclose(kernel_distance(kernel, other), kernel_distance(other, kernel), rtol=1e-15)
    assert float(kernel_distance(jnp.diag(jnp.array([1.0, 0.0])), jnp.diag(jnp.array([0.0, 1.0])))) == 1.0
    # matches the definition 1 - <K0, K1>_F / (||K0||_F ||K1||_F)
    expected = 1.0 - jnp.sum(kernel * other) / (jnp.linalg.norm(kernel) * jnp.linalg.norm(other))
    np.testing.assert_allclose(kernel_distance(kernel, other), expected, rtol=1e-14)


# -------------------------------------------------------------------------------------------------- boundary checks
@pytest.mark.parametrize("shapes, match", [
    (((4, 3), (2, 5), (5, 3)), r"ntk_two_layer: W2 must have shape \(..., m, h\) with h = 4 .*got shape \(2, 5\)"),
    (((4, 3), (2, 4), (5, 2)), r"ntk_two_layer: X must have shape \(..., n, d\) with d = 3 .*got shape \(5, 2\)"),
    (((4,), (2, 4), (5, 3)), r"ntk_two_layer: W1 must have shape \(..., h, d\), got shape \(4,\)"),
    (((6, 4, 3), (5, 2, 4), (5, 3)), r"ntk_two_layer: the shapes of W1_batch_axes \(6,\), W2_batch_axes \(5,\)"),
])
def test_ntk_refuses_mismatched_shapes(shapes, match):
    with pytest.raises(LayerwiseError, match=match):
        ntk_two_layer(*(jnp.ones(shape) for shape in shapes))


def test_refuses_non_finite_and_degenerate_inputs(raises_at_run_time):
    with pytest.raises(LayerwiseError, match=r"ntk_two_layer: X must be finite \(no NaN or inf\), got nan"):
        ntk_two_layer(jnp.ones((4, 3)), jnp.ones((2, 4)), jnp.full((5, 3), jnp.nan))
    with pytest.raises(LayerwiseError, match=r"kernel_distance: K1 must be square, \(..., N, N\), got shape \(3, 4\)"):
        kernel_distance(jnp.eye(3), jnp.ones((3, 4)))
    with pytest.raises(LayerwiseError, match="kernel_distance: K0 and K1 must be kernels of the same size N"):
        kernel_distance(jnp.eye(3), jnp.eye(4))
    with pytest.raises(LayerwiseError, match=r"kernel_distance: K0 and K1 must be non-zero kernels"):
        kernel_distance(jnp.zeros((3, 3)), jnp.eye(3))
    with raises_at_run_time(r"kernel_distance: K0 and K1 must be non-zero kernels"):
        kernels = jnp.stack([jnp.eye(2), 0 * jnp.eye(2)])
        jax.block_until_ready(jax.vmap(lambda k: kernel_distance(k, jnp.eye(2)))(kernels))
    with raises_at_run_time(r"ntk_two_layer: W1 must be finite"):
        jax.block_until_ready(jax.jit(ntk_two_layer)(jnp.full((4, 3), jnp.inf), jnp.ones((2, 4)), jnp.ones((5, 3))))


def test_float32_follows_the_dtype():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(3), 3)
    w1, w2, x = jax.random.normal(k1, (4, 3)), jax.random.normal(k2, (2, 4)), jax.random.normal(k3, (5, 3))
    reference = ntk_two_layer(w1, w2, x)
    with jax.enable_x64(False):
        low = ntk_two_layer(*(np.asarray(a, np.float32) for a in (w1, w2, x)))
        distance = kernel_distance(low, 2.0 * low)
    assert low.dtype == distance.dtype == jnp.float32
    np.testing.assert_allclose(low, reference, rtol=1e-5, atol=1e-5 * float(jnp.max(jnp.abs(reference))))
    assert abs(float(distance)) < 1e-6
