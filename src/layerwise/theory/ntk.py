r"""Neural tangent kernel of a two-layer linear network, and the kernel distance that measures how far it moves.

For ``f(x) = W2 W1 x`` the parameter gradient is linear in the weights, so the NTK is a closed form in the two
representation matrices ``W1^T W1`` (input side) and ``W2 W2^T`` (output side):

.. math::  K\big((x,a),(x',b)\big) = \sum_\theta \partial_\theta f_a(x)\,\partial_\theta f_b(x')
           = (x^\top x')\,(W_2W_2^\top)_{ab} + (x^\top W_1^\top W_1 x')\,\delta_{ab}.

Both matrices are blocks of ``P = Q Q^T`` (`layerwise.theory.lambda_balanced`), so along a λ-balanced flow the NTK,
and the kernel distance ``S(0, t)``, are closed forms.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from layerwise.errors import LayerwiseError
from layerwise.theory import _checks as checks
from layerwise.theory._numerics import broadcast_batch


def ntk_two_layer(W1: ArrayLike, W2: ArrayLike, X: ArrayLike) -> Array:
    r"""Empirical NTK of ``f(x) = W2 W1 x`` on the samples ``X``, as an ``(n m, n m)`` matrix.

    .. math::  K = (XX^\top)\otimes(W_2W_2^\top) + (XW_1^\top W_1X^\top)\otimes I_m .

    Ordering: sample-major, row ``i * m + a`` is output ``a`` of sample ``i``, which is the order of
    ``jax.jacobian`` of ``model.apply(params, X).reshape(-1)`` (outputs ``(n, m)`` flattened row-major). Leading
    batch axes of ``W1``, ``W2``, ``X`` broadcast (e.g. a time axis from `lambda_balanced_solution`).

    Args:
        W1: first layer, (..., h, d).
        W2: second layer, (..., m, h).
        X: samples as rows, (..., n, d).
    Returns:
        ``K``, (..., n m, n m).

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): the shapes above agree
    (``h`` of ``W1`` and ``W2``, ``d`` of ``W1`` and ``X``; batch axes broadcast); all entries finite.
    float32: allowed (products of the inputs, computed in their dtype).

    Example:
        >>> import jax.numpy as jnp
        >>> ntk_two_layer(jnp.eye(2), jnp.eye(2), jnp.eye(2)).shape
        (4, 4)

    References:
        Jacot, Gabriel & Hongler (2018), "Neural tangent kernel", NeurIPS; Braun et al. (2022) (NTK of linear nets
        from the Riccati solution); Nam et al. (2025) §6 (lazy and rich regimes).
    """
    name = "ntk_two_layer"
    W1, W2, X = (checks.as_array(name, n, a) for n, a in (("W1", W1), ("W2", W2), ("X", X)))
    checks.min_ndim(name, "W1", W1, 2, "(..., h, d)")
    h, d = W1.shape[-2:]
    checks.min_ndim(name, "W2", W2, 2, f"(..., m, h) with h = {h} (from W1)")
    checks.min_ndim(name, "X", X, 2, f"(..., n, d) with d = {d} (from W1)")
    if W2.shape[-1] != h:
        raise LayerwiseError(f"{name}: W2 must have shape (..., m, h) with h = {h} (from W1 {tuple(W1.shape)}), "
                             f"got shape {tuple(W2.shape)}")
    if X.shape[-1] != d:
        raise LayerwiseError(f"{name}: X must have shape (..., n, d) with d = {d} (from W1 {tuple(W1.shape)}), "
                             f"got shape {tuple(X.shape)}")
    checks.shapes_broadcast(name, W1_batch_axes=W1.shape[:-2], W2_batch_axes=W2.shape[:-2],
                            X_batch_axes=X.shape[:-2])
    W1, W2, X = (checks.finite(name, n, a) for n, a in (("W1", W1), ("W2", W2), ("X", X)))
    return _ntk_two_layer(W1, W2, X)


@jax.jit
def _ntk_two_layer(W1, W2, X):
    W1, W2, X = broadcast_batch((W1, W2, X), (2, 2, 2))
    inputs = X @ jnp.swapaxes(X, -1, -2)  # (..., n, n)
    features = X @ jnp.swapaxes(W1, -1, -2)  # (..., n, h)
    hidden = features @ jnp.swapaxes(features, -1, -2)  # x^T W1^T W1 x'
    outputs = W2 @ jnp.swapaxes(W2, -1, -2)  # (..., m, m)
    m = outputs.shape[-1]
    n = inputs.shape[-1]
    identity = jnp.eye(m, dtype=outputs.dtype).reshape((1,) * (outputs.ndim - 2) + (1, m, 1, m))
    kernel = (
        inputs[..., :, None, :, None] * outputs[..., None, :, None, :]
        + hidden[..., :, None, :, None] * identity
    )
    return kernel.reshape(*kernel.shape[:-4], n * m, n * m)


def kernel_distance(K0: ArrayLike, K1: ArrayLike) -> Array:
    r"""Kernel distance ``S = 1 - <K0, K1>_F / (||K0||_F ||K1||_F)`` over the last two axes (0: same direction).

    Scale-invariant; 0 when the kernel only rescales, up to 1 for orthogonal kernels. Leading axes broadcast, so
    ``kernel_distance(K[0], K)`` is the trajectory ``S(0, t)``.

    Args:
        K0, K1: kernels, (..., N, N).
    Returns:
        ``S``, (...).

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): square kernels of the same
    size, batch axes broadcast, finite entries, and no all-zero kernel (the distance is undefined there).
    float32: allowed; ``S`` is then accurate to ~1e-6 absolute (``1 - cosine`` cancels for nearby kernels).

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(kernel_distance(jnp.eye(3), 2.0 * jnp.eye(3))), 12)  # scale-invariant
        0.0

    References:
        Fort et al. (2020), "Deep learning versus kernel learning", NeurIPS (kernel distance;
        normalised by the product of both Frobenius norms).
    """
    name = "kernel_distance"
    K0, K1 = (checks.as_array(name, n, a) for n, a in (("K0", K0), ("K1", K1)))
    for n, k in (("K0", K0), ("K1", K1)):
        checks.min_ndim(name, n, k, 2, "(..., N, N)")
        if k.shape[-1] != k.shape[-2]:
            raise LayerwiseError(f"{name}: {n} must be square, (..., N, N), got shape {tuple(k.shape)}")
    if K0.shape[-1] != K1.shape[-1]:
        raise LayerwiseError(f"{name}: K0 and K1 must be kernels of the same size N, got shapes {tuple(K0.shape)} "
                             f"and {tuple(K1.shape)}")
    checks.shapes_broadcast(name, K0_batch_axes=K0.shape[:-2], K1_batch_axes=K1.shape[:-2])
    K0, K1 = checks.finite(name, "K0", K0), checks.finite(name, "K1", K1)
    distance, norms = _kernel_distance(K0, K1)
    return checks.check(distance, norms == 0, f"{name}: K0 and K1 must be non-zero kernels (zero Frobenius norm)")


@jax.jit
def _kernel_distance(K0, K1):
    K0, K1 = broadcast_batch((K0, K1), (2, 2))
    inner = jnp.sum(K0 * K1, axis=(-2, -1))
    norms = jnp.sqrt(jnp.sum(K0 * K0, axis=(-2, -1)) * jnp.sum(K1 * K1, axis=(-2, -1)))
    return 1.0 - inner / norms, norms
