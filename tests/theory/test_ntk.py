"""NTK of a two-layer linear net (closed form vs automatic differentiation) and the kernel distance."""

import jax
import jax.numpy as jnp
import numpy as np

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
