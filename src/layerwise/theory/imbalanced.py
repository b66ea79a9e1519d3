r"""One two-layer scalar mode with imbalanced layers: the bridge between rich (sigmoidal) and lazy (exponential).

The mode is ``f(x) = a b x`` fitted to ``y = s x`` with ``E[x^2] = v``; gradient flow
``tau a' = v b (s - ab)``, ``tau b' = v a (s - ab)`` conserves the imbalance ``C = a^2 - b^2`` and gives, for the
mode strength ``u = ab`` (using ``(a^2 + b^2)^2 = C^2 + 4u^2``),

.. math::  \tau\,\dot u = v\sqrt{C^2 + 4u^2}\,(s - u).

``C = 0`` is the balanced logistic sigmoid of `saxe_mode` (rich: self-amplifying, plateau of length
``~ log(s/u0) / (2vs)``); ``|C| >> |u|`` is linear regression with rate ``v|C|`` (lazy: only the lighter layer
moves).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from layerwise.theory._numerics import broadcast


def imbalanced_mode(
    t: ArrayLike,
    s: ArrayLike,
    u0: ArrayLike,
    imbalance: ArrayLike,
    variance: ArrayLike = 1.0,
    tau: ArrayLike = 1.0,
) -> Array:
    r"""Exact ``u(t) = a(t) b(t)`` of a two-layer scalar mode with conserved imbalance ``C = a^2 - b^2``.

    .. math::  \tau\,\dot u = v\sqrt{C^2+4u^2}\,(s-u),\qquad u(0) = u_0.

    Solution: ``G = (a + b)^2`` obeys the scalar Riccati equation
    :math:`\tau\dot G = v\,(4sG - G^2 + C^2)/2` (since :math:`u = (G - C^2/G)/4`) with fixed points
    :math:`G_\pm = 2s \pm D`, :math:`D = \sqrt{4s^2 + C^2}`, hence with :math:`E = e^{-vDt/\tau}`

    .. math::  G(t) = \frac{G_0\,(G_+ + |G_-|E) + C^2(1-E)}{G_0(1-E) + G_+E + |G_-|},\qquad
               u = \frac{g\,(g + 2|C|)}{4\,(g + |C|)},\quad g = G - |C|.

    ``g`` is evaluated from a rearranged numerator in which, for ``u0 >= 0`` and ``s >= 0``, every term is
    non-negative, so ``u`` keeps full relative accuracy on the plateau (``u << s``), near convergence and for any
    ``C`` (including ``C = 0``, where it reduces to the balanced sigmoid, and ``|C| >> u``). Negative ``u0`` uses the
    symmetry ``(a, b) -> (a, -b)``: ``u -> -u``, ``s -> -s``, ``C`` unchanged. The same solution, written through
    ``nu = s b / a``, is theory.md §1 "Unbalanced scalar" and the 1-D case of Kunin et al. (2024).

    Assumptions: one decoupled mode (scalar network, a diagonal-network coordinate, or an aligned mode of a
    two-layer linear net with whitened input), any ``u0``, ``s``, ``C``; the pair ``(a, b)`` is determined by
    ``(u0, C)`` up to a common sign, which does not affect ``u``.

    Args:
        t: times, any shape; broadcast with the other arguments.
        s: target weight (``y = s x``); for a linear-net mode, the singular value of ``Sigma_yx`` with ``v = 1``.
        u0: initial product ``a(0) b(0)``.
        imbalance: ``C = a^2 - b^2`` (conserved); ``C > 0`` means the first layer is heavier.
        variance: input variance ``v = E[x^2]`` (rescales time).
        tau: time constant of ``tau d(theta)/dt = -grad L``.
    Returns:
        ``u(t)``, broadcast shape.

    Example:
        >>> float(imbalanced_mode(1.0, 2.0, 0.5 * 0.01, 0.5**2 - 0.01**2))  # theory.md §1 oracle
        1.308608756...

    References:
        Saxe, McClelland & Ganguli (2014) (balanced limit); Kunin et al. (2024), "Get rich quick", NeurIPS
        (conserved imbalance, exact solution); Nam et al. (2025) §3.1 (mode equation); theory.md §1.
    """
    t, s, u0, c, v, tau = broadcast(t, s, u0, imbalance, variance, tau)
    flip = jnp.where(u0 < 0, -1.0, 1.0)
    u = flip * _nonnegative_start(t * v / tau, flip * s, flip * u0, jnp.abs(c))
    # s = C = 0 has no restoring force: tau u' = -2 v u |u|, solved directly.
    degenerate = (s == 0) & (c == 0)
    return jnp.where(degenerate, u0 / (1.0 + 2.0 * jnp.abs(u0) * v * t / tau), u)


def _nonnegative_start(t: Array, s: Array, u0: Array, c: Array) -> Array:
    """The solution for ``u0 >= 0``, ``c = |C|``, unit variance and tau (``t`` already rescaled)."""
    d = jnp.sqrt(4.0 * s * s + c * c)
    positive = s >= 0
    # G_+ = 2s + D and |G_-| = D - 2s, each written without cancellation for either sign of s (G_+ |G_-| = C^2).
    g_plus = jnp.where(positive, 2.0 * s + d, c * c / jnp.where(positive, 1.0, d - 2.0 * s))
    g_minus = jnp.where(positive, c * c / jnp.where(positive, 2.0 * s + d, 1.0), d - 2.0 * s)
    # G_+ - |C|: positive for s > 0, negative for s < 0 (then u must cross zero, so no relative accuracy is lost).
    excess = 2.0 * jnp.abs(s) + 4.0 * s * s / (d + c)
    delta_plus = jnp.where(positive, excess, -c * excess / jnp.where(positive, 1.0, d - 2.0 * s))
    # G_0 = (a0 + b0)^2 = sqrt(C^2 + 4u0^2) + 2u0 and G_0 - |C|, without cancellation for u0 >= 0.
    q0 = jnp.sqrt(c * c + 4.0 * u0 * u0)
    delta0 = 2.0 * u0 + 4.0 * u0 * u0 / jnp.where(q0 + c > 0, q0 + c, 1.0)
    g0 = c + delta0
    decay = jnp.exp(-d * t)
    growth = -jnp.expm1(-d * t)
    heavy = c + g_minus  # |C| (|C| + G_+) / G_+
    denominator = g0 * growth + g_plus * decay + g_minus
    # (G - |C|) * denominator, rearranged so that each term is >= 0 when u0 >= 0 and s >= 0.
    numerator = delta0 * (delta_plus + decay * heavy) + heavy * delta_plus * growth
    g = numerator / jnp.where(denominator > 0, denominator, 1.0)
    return g * (g + 2.0 * c) / (4.0 * jnp.where(g + c > 0, g + c, 1.0))
