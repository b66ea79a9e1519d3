r"""The grokking toy of Nam et al. (2025, §7): a wide scalar linear network, where the weight-to-target ratio
``Sigma_0 / S`` decides between rich (fast feature change) and lazy (grokking-like delayed) learning.

Model: ``f(x) = (1/Z) sum_{i=1}^p a_i b_i x`` fitted to ``y = S x`` with ``E[x^2] = 1`` (a
``DeepLinearNetwork(widths=(1, p, 1), output_scale=1/Z)``). With the slope ``𝒮 = (1/Z) sum a_i b_i``, gradient flow
``a_i' = (b_i/Z)(S - 𝒮)``, ``b_i' = (a_i/Z)(S - 𝒮)`` acts on ``u_i = a_i + b_i`` and ``v_i = a_i - b_i`` by one
common factor: ``u_i(t) = g(t) u_i(0)``, ``v_i(t) = v_i(0) / g(t)``. Writing

.. math::  \Sigma_0 = \sum_i\frac{a_i(0)^2 + b_i(0)^2}{2Z},\qquad \mathcal S_0 = \frac1Z\sum_i a_i(0)b_i(0),

the slope is :math:`\mathcal S = \tfrac12\big[g^2(\Sigma_0 + \mathcal S_0) - g^{-2}(\Sigma_0 - \mathcal S_0)\big]`,
so ``g^2`` obeys a scalar Riccati equation whose stable fixed point is :math:`\gamma_+`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from layerwise.errors import LayerwiseError
from layerwise.theory import _checks as checks
from layerwise.theory._numerics import broadcast

# Sigma_0 >= |S_0| holds exactly in exact arithmetic; sums of rounded squares may exceed it by a few ulps.
_CAUCHY_SCHWARZ_RTOL = 1e-12


def _statistics_arguments(function: str, **named) -> list:
    """Checks shared by the grokking closed forms: numeric arrays that broadcast, all finite,
    ``Sigma0 > 0``, ``|S0| <= Sigma0``, ``Sigma0 + S0 > 0``, and (if given) ``t >= 0``, ``Z > 0``."""
    arrays = {name: checks.as_array(function, name, value) for name, value in named.items()}
    checks.broadcastable(function, **arrays)
    arrays = {name: checks.finite(function, name, value) for name, value in arrays.items()}
    if "t" in arrays:
        arrays["t"] = checks.positive(function, "t", arrays["t"], allow_zero=True)
    if "Z" in arrays:
        arrays["Z"] = checks.positive(function, "Z", arrays["Z"])
    sigma0, s0 = arrays["Sigma0"], arrays["S0"]
    sigma0 = checks.positive(function, "Sigma0", sigma0)
    xp, (sigma_v, s0_v) = checks.values(sigma0, s0)
    s0 = checks.satisfies(function, "S0", s0, xp.abs(s0_v) <= sigma_v * (1.0 + _CAUCHY_SCHWARZ_RTOL),
                          "at most Sigma0 in absolute value (Sigma0 = sum(a^2 + b^2)/(2Z) >= |sum(a b)|/Z)", s0_v)
    s0 = checks.satisfies(function, "S0", s0, sigma_v + s0_v > 0,
                          "> -Sigma0 (S0 = -Sigma0 means a = -b: the a + b component is zero)", s0_v)
    arrays["Sigma0"], arrays["S0"] = sigma0, s0
    return list(arrays.values())


def grokking_gamma(Sigma0: ArrayLike, S0: ArrayLike, S: ArrayLike) -> Array:
    r"""The final squared rescaling ``gamma_+ = g(inf)^2`` of the (a + b) components (Nam et al. 2025, §7).

    .. math::  \gamma_+ = \frac{S + \sqrt{\Sigma_0^2 - \mathcal S_0^2 + S^2}}{\Sigma_0 + \mathcal S_0}.

    ``gamma_+ >> 1``: features change a lot (rich, fast generalisation); ``gamma_+ ~ 1``: they barely move (lazy,
    grokking). With ``𝒮_0 = 0``: ``gamma_+ = S/Sigma_0 + sqrt(1 + S^2/Sigma_0^2)``, which tends to 1 as
    ``Sigma_0 / S -> inf`` and to ``2 S / Sigma_0`` as ``Sigma_0 / S -> 0``. For ``S < 0`` the equivalent
    ``(Sigma_0 - 𝒮_0) / (sqrt(...) - S)`` is used (no cancellation).

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): shapes broadcast, all
    finite, ``Sigma0 > 0``, ``-Sigma0 < S0 <= Sigma0``.

    float32: allowed, evaluated in the input dtype (ratios of non-negative terms; ~2e-7 relative measured).

    Args:
        Sigma0: initial weight scale ``Sigma_0 >= |𝒮_0|``.
        S0: initial slope ``𝒮_0``.
        S: target slope.
    Returns:
        ``gamma_+``, broadcast shape.

    Example:
        >>> round(float(grokking_gamma(0.632, 0.0, 1.0)), 4)  # S/Sigma_0 + sqrt(1 + S^2/Sigma_0^2)
        3.4541

    References:
        Nam, Lee, Mingard, Louis et al. (2025), "Position: Solve layerwise linear models first to understand neural
        dynamical phenomena", §7 (grokking).
    """
    return _grokking_gamma(*_statistics_arguments("grokking_gamma", Sigma0=Sigma0, S0=S0, S=S))


@jax.jit
def _grokking_gamma(Sigma0, S0, S):
    Sigma0, S0, S = broadcast(Sigma0, S0, S)
    root = jnp.sqrt(Sigma0 * Sigma0 - S0 * S0 + S * S)
    return jnp.where(S >= 0, (S + root) / (Sigma0 + S0), (Sigma0 - S0) / (root - S))


def grokking_rescaling(t: ArrayLike, Sigma0: ArrayLike, S0: ArrayLike, S: ArrayLike, Z: ArrayLike = 1.0) -> Array:
    r"""The common rescaling factor ``g(t)`` (``a_i + b_i -> g (a_i + b_i)``, ``a_i - b_i -> (a_i - b_i)/g``).

    ``G = g^2`` obeys :math:`Z\dot G = -\big[(\Sigma_0 + \mathcal S_0)G^2 - 2SG - (\Sigma_0 - \mathcal S_0)\big]`,
    ``G(0) = 1``, with fixed points :math:`G_\pm = (S \pm R)/(\Sigma_0 + \mathcal S_0)`,
    :math:`R = \sqrt{S^2 + \Sigma_0^2 - \mathcal S_0^2}`, so with :math:`E = e^{-2Rt/Z}`

    .. math::  G(t) = \frac{G_+ + |G_-|E + \frac{\Sigma_0 - \mathcal S_0}{\Sigma_0 + \mathcal S_0}(1 - E)}
                           {(1 - E) + G_+E + |G_-|}\ \xrightarrow{t\to\infty}\ \gamma_+ ,

    a ratio of non-negative terms (``G_+ >= 0 >= G_-``), hence accurate for every ``t``, sign of ``S`` and scale.

    Assumptions: the toy model of the module docstring, unit input variance, no weight decay, ``tau = 1``.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): shapes broadcast, all
    finite, ``t >= 0``, ``Z > 0``, ``Sigma0 > 0``, ``-Sigma0 < S0 <= Sigma0``.

    float32: allowed, evaluated in the input dtype (ratios of non-negative terms; ~2e-7 relative measured).

    Args:
        t: times, any shape; broadcast with the rest.
        Sigma0, S0: initial weight scale and slope (see `grokking_statistics`).
        S: target slope.
        Z: output normalisation (``f = (1/Z) sum a_i b_i x``); time runs as ``t / Z``.
    Returns:
        ``g(t)``, broadcast shape.

    Example:
        >>> round(float(grokking_rescaling(1e3, 0.632, 0.0, 1.0) ** 2), 4)  # -> gamma_+
        3.4541

    References:
        Nam et al. (2025) §7 (the toy model as reconstructed in the module docstring).
    """
    return _grokking_rescaling(*_statistics_arguments("grokking_rescaling", t=t, Sigma0=Sigma0, S0=S0, S=S, Z=Z))


@jax.jit
def _grokking_rescaling(t, Sigma0, S0, S, Z):
    t, Sigma0, S0, S, Z = broadcast(t, Sigma0, S0, S, Z)
    p, q = Sigma0 + S0, Sigma0 - S0
    root = jnp.sqrt(S * S + p * q)
    positive = S >= 0
    # G_+ = (S + R)/p and |G_-| = (R - S)/p, each rewritten with (R - S)(R + S) = p q where it would cancel.
    g_plus = jnp.where(positive, (S + root) / p, q / (root - S))
    g_minus = jnp.where(positive, q / (root + S), (root - S) / p)
    decay = jnp.exp(-2.0 * root * t / Z)
    growth = -jnp.expm1(-2.0 * root * t / Z)
    squared = (g_plus + g_minus * decay + (q / p) * growth) / (growth + g_plus * decay + g_minus)
    return jnp.sqrt(squared)


def grokking_slope(t: ArrayLike, Sigma0: ArrayLike, S0: ArrayLike, S: ArrayLike, Z: ArrayLike = 1.0) -> Array:
    r"""The network's slope ``𝒮(t) = (1/Z) sum a_i b_i = [g^2 (Sigma_0 + 𝒮_0) - (Sigma_0 - 𝒮_0)/g^2] / 2``.

    Args, assumptions and checks as in `grokking_rescaling`. Returns ``𝒮(t)``, broadcast shape (tends to ``S``).
    float32: allowed, evaluated in the input dtype (the difference is accurate to ~1e-7 of ``Sigma_0``).
    """
    return _grokking_slope(*_statistics_arguments("grokking_slope", t=t, Sigma0=Sigma0, S0=S0, S=S, Z=Z))


@jax.jit
def _grokking_slope(t, Sigma0, S0, S, Z):
    t, Sigma0, S0, S, Z = broadcast(t, Sigma0, S0, S, Z)
    squared = _grokking_rescaling(t, Sigma0, S0, S, Z) ** 2
    return 0.5 * (squared * (Sigma0 + S0) - (Sigma0 - S0) / squared)


def grokking_statistics(a: ArrayLike, b: ArrayLike, Z: ArrayLike = 1.0) -> tuple[Array, Array]:
    r"""``(Sigma_0, 𝒮_0) = (sum (a_i^2 + b_i^2) / (2Z), sum a_i b_i / Z)`` of hidden weights ``a, b`` (..., p).

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): ``a``, ``b`` of the same
    last axis ``p >= 1``, broadcastable; all finite; ``Z > 0``.
    float32: allowed (sums of products, in the input dtype).
    """
    name = "grokking_statistics"
    a, b, Z = (checks.as_array(name, n, v) for n, v in (("a", a), ("b", b), ("Z", Z)))
    checks.min_ndim(name, "a", a, 1, "(..., p)")
    checks.min_ndim(name, "b", b, 1, "(..., p)")
    if a.shape[-1] != b.shape[-1] or a.shape[-1] == 0:
        raise LayerwiseError(f"{name}: a and b must have the same last axis p >= 1, got shapes "
                                    f"{tuple(a.shape)} and {tuple(b.shape)}")
    checks.broadcastable(name, a=a, b=b)
    a, b, Z = checks.finite(name, "a", a), checks.finite(name, "b", b), checks.positive(name, "Z", Z)
    return jnp.sum(a * a + b * b, axis=-1) / (2.0 * Z), jnp.sum(a * b, axis=-1) / Z
