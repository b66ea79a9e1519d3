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

from layerwise.theory._numerics import broadcast_batch


@jax.jit
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

    Example:
        >>> import jax.numpy as jnp
        >>> ntk_two_layer(jnp.eye(2), jnp.eye(2), jnp.eye(2)).shape
        (4, 4)

    References:
        Jacot, Gabriel & Hongler (2018), "Neural tangent kernel", NeurIPS; Braun et al. (2022) (NTK of linear nets
        from the Riccati solution); theory.md §3 ("Reading off the blocks"); paper.md §3.4.
    """
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


@jax.jit
def kernel_distance(K0: ArrayLike, K1: ArrayLike) -> Array:
    r"""Kernel distance ``S = 1 - <K0, K1>_F / (||K0||_F ||K1||_F)`` over the last two axes (0: same direction).

    Scale-invariant; 0 when the kernel only rescales, up to 1 for orthogonal kernels. Leading axes broadcast, so
    ``kernel_distance(K[0], K)`` is the trajectory ``S(0, t)``.

    Args:
        K0, K1: kernels, (..., N, N).
    Returns:
        ``S``, (...).

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(kernel_distance(jnp.eye(3), 2.0 * jnp.eye(3))), 12)  # scale-invariant
        0.0

    References:
        Fort et al. (2020), "Deep learning versus kernel learning", NeurIPS (kernel distance); theory.md §9
        (note the denominator bug of the getrichquick notebook, §5c, not reproduced here).
    """
    K0, K1 = broadcast_batch((K0, K1), (2, 2))
    inner = jnp.sum(K0 * K1, axis=(-2, -1))
    norms = jnp.sqrt(jnp.sum(K0 * K0, axis=(-2, -1)) * jnp.sum(K1 * K1, axis=(-2, -1)))
    return 1.0 - inner / norms
