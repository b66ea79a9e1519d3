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

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from layerwise._deprecation import renamed_arguments
from layerwise.theory import _checks as checks
from layerwise.theory._numerics import broadcast, one_minus_exp_over

_NAME = "imbalanced_mode"


@renamed_arguments(s="target_strength", u0="init_scale", imbalance="mode_imbalance", variance="input_variance")
def imbalanced_mode(
    t: ArrayLike,
    target_strength: ArrayLike,
    init_scale: ArrayLike,
    mode_imbalance: ArrayLike,
    input_variance: ArrayLike = 1.0,
    tau: ArrayLike = 1.0,
) -> Array:
    r"""Exact ``u(t) = a(t) b(t)`` of a two-layer scalar mode with conserved imbalance ``C = a^2 - b^2``.

    .. math::  \tau\,\dot u = v\sqrt{C^2+4u^2}\,(s-u),\qquad u(0) = u_0.

    Solution: ``G = (a + b)^2`` obeys the scalar Riccati equation
    :math:`\tau\dot G = v\,(4sG - G^2 + C^2)/2` (since :math:`u = (G - C^2/G)/4`) with fixed points
    :math:`G_\pm = 2s \pm D`, :math:`D = \sqrt{4s^2 + C^2}`, hence with :math:`E = e^{-vDt/\tau}`

    .. math::  G(t) = \frac{G_0\,(G_+ + |G_-|E) + C^2(1-E)}{G_0(1-E) + G_+E + |G_-|},\qquad
               u = \frac{g\,(g + 2|C|)}{4\,(g + |C|)},\quad g = G - |C|.

    Both ``G`` and ``g`` are evaluated as ratios whose terms (for ``s >= 0``) are all non-negative except in the
    numerator of ``g`` when ``u0 < 0``, where they cancel only as ``u`` crosses zero. ``u`` is taken from ``g`` while
    ``G >= |C|/2`` and from ``(G - C^2/G)/4`` below, so it keeps full relative accuracy on the plateau (``u << s``),
    near convergence, for any ``C`` (``C = 0`` gives the balanced sigmoid, ``|C| >> |u|`` linear regression) and for
    negative starts (``a ≈ -b``). Negative ``s`` uses the symmetry ``(a, b) -> (a, -b)``: ``u -> -u``,
    ``s -> -s``, ``C`` unchanged. The same solution, written through ``nu = s b / a``, is the 1-D case of
    Kunin et al. (2024).

    Assumptions: one decoupled mode (scalar network, a diagonal-network coordinate, or an aligned mode of a
    two-layer linear net with whitened input), any ``u0``, ``s``, ``C``; the pair ``(a, b)`` is determined by
    ``(u0, C)`` up to a common sign, which does not affect ``u``.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): shapes broadcast, all
    finite, ``t >= 0``, ``input_variance > 0``, ``tau > 0``.

    float32: refused (`LayerwiseError`): starts with ``u0 s < 0`` and small ``|C|`` cancel as ``u`` crosses zero
    (float32 errors up to ~1e-3 of ``|s|`` measured), so float64 is needed.

    Args:
        t: times, any shape; broadcast with the other arguments.
        target_strength: ``s``, the target weight (``y = s x``); for a linear-net mode, the singular value of
            ``Sigma_yx`` with ``v = 1``.
        init_scale: ``u0``, the initial product ``a(0) b(0)``.
        mode_imbalance: ``C = a^2 - b^2`` (conserved); ``C > 0`` means the first layer is heavier (a mode of a
            λ-balanced net has ``C = -λ``; see the glossary).
        input_variance: ``v = E[x^2]`` (rescales time).
        tau: time constant of ``tau d(theta)/dt = -grad L``.
    Returns:
        ``u(t)``, broadcast shape.

    Example:
        >>> float(imbalanced_mode(1.0, 2.0, 0.5 * 0.01, 0.5**2 - 0.01**2))  # oracle value
        1.308608756...

    References:
        Saxe, McClelland & Ganguli (2014) (balanced limit); Kunin et al. (2024), "Get rich quick", NeurIPS
        (conserved imbalance, exact solution); Nam et al. (2025) §3.1 (mode equation).
    """
    named = dict(t=t, target_strength=target_strength, init_scale=init_scale, mode_imbalance=mode_imbalance,
                 input_variance=input_variance, tau=tau)
    arrays = {name: checks.as_array(_NAME, name, value) for name, value in named.items()}
    checks.broadcastable(_NAME, **arrays)
    checks.require_float64(_NAME, "the saddle crossing for u0 s < 0 cancels", **arrays)
    arrays = {name: checks.finite(_NAME, name, value) for name, value in arrays.items()}
    arrays["t"] = checks.positive(_NAME, "t", arrays["t"], allow_zero=True)
    arrays["input_variance"] = checks.positive(_NAME, "input_variance", arrays["input_variance"])
    arrays["tau"] = checks.positive(_NAME, "tau", arrays["tau"])
    return _imbalanced_mode(*arrays.values())


@jax.jit
def _imbalanced_mode(t, s, u0, imbalance, variance, tau):
    t, s, u0, c, v, tau = broadcast(t, s, u0, imbalance, variance, tau)
    x = t * v / tau
    flip = jnp.where(s < 0, -1.0, 1.0)
    u = flip * _nonnegative_target(x, flip * s, flip * u0, jnp.abs(c))
    # C = 0 with u0 s < 0 (e.g. a = -b for s > 0): the growing combination of a and b is exactly 0, and
    # tau |u|' = -2 v |u| (|s| + |u|): the mode decays into the saddle u = 0. s = C = 0 is the
    # same law. Solution: |u| = |u0| e^{-r} / (1 + |u0| (1 - e^{-r}) / |s|), r = 2|s| v t / tau.
    rate = 2.0 * jnp.abs(s) * x
    saddle = u0 * jnp.exp(-rate) / (1.0 + 2.0 * jnp.abs(u0) * x * one_minus_exp_over(rate))
    degenerate = (c == 0) & ((u0 * s < 0) | (s == 0))
    return jnp.where(degenerate, saddle, u)


def _nonnegative_target(x: Array, s: Array, u0: Array, c: Array) -> Array:
    """The solution for ``s >= 0``, any ``u0``, ``c = |C|``, at rescaled time ``x = v t / tau``."""
    d = jnp.sqrt(4.0 * s * s + c * c)
    g_plus = 2.0 * s + d  # G_+
    g_minus = c * c / jnp.where(g_plus > 0, g_plus, 1.0)  # |G_-| = D - 2s, without cancellation
    delta_plus = 2.0 * s + 4.0 * s * s / jnp.where(d + c > 0, d + c, 1.0)  # G_+ - |C| >= 0
    q0 = jnp.sqrt(c * c + 4.0 * u0 * u0)  # a0^2 + b0^2
    positive = u0 >= 0
    shrink = 4.0 * u0 * u0 / jnp.where(q0 + c > 0, q0 + c, 1.0)  # q0 - |C|
    across = q0 + 2.0 * jnp.abs(u0)  # (a0 - b0)^2 when u0 < 0
    safe_across = jnp.where(across > 0, across, 1.0)
    # G_0 = (a0 + b0)^2 and G_0 - |C|, each without cancellation for either sign of u0
    g0 = jnp.where(positive, q0 + 2.0 * u0, c * c / safe_across)
    delta0 = jnp.where(positive, 2.0 * u0 + shrink, -c * (shrink + 2.0 * jnp.abs(u0)) / safe_across)
    decay = jnp.exp(-d * x)
    growth = -jnp.expm1(-d * x)
    heavy = c + g_minus  # |C| (|C| + G_+) / G_+
    denominator = g0 * growth + g_plus * decay + g_minus
    safe_denominator = jnp.where(denominator > 0, denominator, 1.0)
    big = (g0 * (g_plus + g_minus * decay) + c * c * growth) / safe_denominator  # G
    # (G - |C|) * denominator rearranged: non-negative terms for u0 >= 0; for u0 < 0 they cancel only near u = 0
    g = (delta0 * (delta_plus + decay * heavy) + heavy * delta_plus * growth) / safe_denominator
    near = g >= -0.5 * c  # G >= |C|/2: g + |C| is not a cancellation
    from_g = g * (g + 2.0 * c) / (4.0 * jnp.where(near & (g + c > 0), g + c, 1.0))
    safe_big = jnp.where(near | (big <= 0), 1.0, big)
    from_big = (safe_big - c * c / safe_big) / 4.0  # G < |C|/2: c^2/G dominates, no cancellation
    return jnp.where(near, from_g, from_big)
