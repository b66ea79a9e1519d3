"""Small numerically careful building blocks shared by the closed forms (private).

Every helper is elementwise, jit/vmap-safe (no Python control flow on values) and keeps float64 accuracy where the
naive expression would cancel or overflow. ``jnp.where`` evaluates both branches, so each branch is fed a "safe"
argument: the unused branch never produces a NaN that could leak into gradients.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array


def broadcast(*arrays) -> list[Array]:
    """Convert to float arrays (float64 when x64 is on) and broadcast explicitly to one shape.

    Explicit broadcasting keeps the closed forms valid under ``jax_numpy_rank_promotion="raise"``.
    """
    arrays = [jnp.asarray(a) for a in arrays]
    dtype = jnp.result_type(float, *arrays)
    return list(jnp.broadcast_arrays(*(a.astype(dtype) for a in arrays)))


def one_minus_exp_over(x: Array) -> Array:
    r"""``(1 - e^{-x}) / x`` for any real ``x``, equal to 1 at ``x = 0``; no cancellation near 0 (via ``expm1``)."""
    small = jnp.abs(x) < 1e-8
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, 1.0 - 0.5 * x, -jnp.expm1(-safe) / safe)


def expm1_over(x: Array) -> Array:
    r"""``(e^{x} - 1) / x`` for any real ``x``, equal to 1 at ``x = 0``."""
    return one_minus_exp_over(-x)


def log_expm1_over(x: Array) -> Array:
    r"""``log((e^{x} - 1) / x)`` without overflow for large ``x`` (it is ``x - log x + log(1 - e^{-x})`` there)."""
    large = x > 1.0
    safe_large = jnp.where(large, x, 2.0)
    safe_small = jnp.where(large, 0.0, x)
    return jnp.where(
        large,
        safe_large + jnp.log(-jnp.expm1(-safe_large)) - jnp.log(safe_large),
        jnp.log(expm1_over(safe_small)),
    )


def log_expm1(x: Array) -> Array:
    r"""``log(e^{x} - 1)`` for ``x > 0`` without overflow (the inverse of softplus)."""
    large = x > 1.0
    safe_large = jnp.where(large, x, 2.0)
    safe_small = jnp.where(large, 1.0, x)
    return jnp.where(large, safe_large + jnp.log(-jnp.expm1(-safe_large)), jnp.log(jnp.expm1(safe_small)))


def safe_divide(numerator: Array, denominator: Array, fallback) -> Array:
    """``numerator / denominator`` where the denominator is non-zero, ``fallback`` elsewhere (NaN-free both ways)."""
    zero = denominator == 0
    return jnp.where(zero, fallback, numerator / jnp.where(zero, 1.0, denominator))


def broadcast_batch(arrays, core_ndims) -> list[Array]:
    """Broadcast the leading (batch) axes of ``arrays`` explicitly; array ``i`` keeps its last ``core_ndims[i]`` axes.

    Explicit, so that batched linear algebra also works under ``jax_numpy_rank_promotion="raise"``.
    """
    arrays = [jnp.asarray(a) for a in arrays]
    batch = jnp.broadcast_shapes(*(a.shape[: a.ndim - k] for a, k in zip(arrays, core_ndims)))
    return [jnp.broadcast_to(a, batch + a.shape[a.ndim - k :]) for a, k in zip(arrays, core_ndims)]
