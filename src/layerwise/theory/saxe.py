r"""Balanced deep linear modes: the exact mode strength ``u(t)`` of Saxe, McClelland & Ganguli (2014) at any depth.

A *mode* is one singular direction of ``Sigma_yx = U S V^T`` (whitened input) learned by a balanced, aligned
network: every one of the ``L = depth`` layers carries the same strength ``a`` along it, so the mode strength is
``u = a^L`` and

.. math::  \tau\,\dot a = a^{L-1}(s - a^L) \quad\Longleftrightarrow\quad \tau\,\dot u = L\,u^{2-2/L}\,(s-u).

The same equation governs one coordinate of a balanced diagonal linear network of depth ``L`` (all layers equal),
whose mode strength is the end-to-end weight ``prod_l a^(l)_i`` and whose ``s`` is the target weight (unit input
variance; a variance ``v`` rescales time, ``tau -> tau / v``).

Depth 1 is linear regression (exponential approach, no plateau), depth 2 the logistic sigmoid, depth ``L >= 3`` has
no elementary inverse: the learning time is an exact closed-form integral, inverted here by a safeguarded Newton
iteration in a variable in which it is nearly linear (see `_deep_time_map`).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from layerwise._deprecation import renamed_arguments
from layerwise.theory import _checks as checks
from layerwise.theory._numerics import broadcast, log_expm1, one_minus_exp_over

# Newton converges in about 6 iterations over u0 in [1e-300, 1e10], depths 3-10 (measured). The fixed count is
# sized for the bisection fallback instead: some XLA CPU compilations (vmapped batches of 2, 3 or 5 with jax 0.10)
# send Newton outside the bracket near the root, and 24 iterations then stopped 7e-7 short; 64 halvings shrink any
# bracket to 5e-20 of its width.
_NEWTON_ITERATIONS = 64
# After the iteration the residual of kappa t = F(a) - F(a0) must be this small relative to the magnitude of the terms
# it is computed from (their rounding sets its floor, ~1e-15 of that; the regression above stopped ~1e-7 short).
_NEWTON_RESIDUAL_RTOL = 1e-9
_FLOAT64_WHY = "depth >= 3: the Newton inversion and its 1e-300 safeguards are tuned to float64"


@renamed_arguments(s="target_strength", u0="init_scale")
def saxe_mode(t: ArrayLike, target_strength: ArrayLike, init_scale: ArrayLike, depth: int = 2, tau: ArrayLike = 1.0
              ) -> Array:
    r"""Strength ``u(t)`` of one balanced mode of a depth-``L`` linear network under gradient flow.

    .. math::  \tau\,\dot u = L\,u^{2-2/L}(s-u),\qquad u(0)=u_0.

    * ``L = 1``: :math:`u = s + (u_0 - s)e^{-t/\tau}`.
    * ``L = 2`` (Saxe et al. 2014, eq. 7): :math:`u = \dfrac{s\,e^{2st/\tau}}{e^{2st/\tau} - 1 + s/u_0}`, evaluated as
      :math:`u_0 / \big(e^{-x} + u_0\,(1-e^{-x})/s\big)`, :math:`x = 2st/\tau`, which has only positive terms and
      stays exact for ``s -> 0`` and large ``t``.
    * ``L >= 3``: with :math:`r = u/s`, :math:`a = r^{1/L}` and :math:`\kappa = L s^{2-2/L}/\tau`,
      :math:`\kappa t = F(a) - F(a_0)` exactly, where
      :math:`F(a) = -\frac{L}{L-2}a^{2-L} - \sum_{k=0}^{L-1}\operatorname{Re}\big[\omega_k^2\log(a-\omega_k)\big]`,
      :math:`\omega_k = e^{2\pi i k/L}` (partial fractions of :math:`L/(a^{L-1}(1-a^L))`). It is inverted to full
      float64 accuracy for ``u`` near 0, near ``s`` and above ``s`` (see `_deep_time_map`).

    Assumptions: whitened input (or unit input variance for a diagonal net), balanced and aligned init
    (every layer ``a_0 = u0^{1/L}`` along the mode), ``u0 > 0``; for ``L >= 3`` also ``s > 0``.
    For depth 2 with imbalanced layers use `imbalanced_mode`.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): shapes broadcast; ``t >= 0``,
    ``tau > 0``, all finite; ``u0`` any real for ``L = 1``, ``u0 >= 0`` for ``L = 2`` (``u0 = 0`` is the saddle,
    ``u = 0``), ``u0 > 0`` and ``s > 0`` for ``L >= 3``; for ``L >= 3`` also that the Newton inversion converged.

    float32: ``L <= 2`` are well-conditioned closed forms evaluated in the input dtype (~1e-6 relative in
    float32); ``L >= 3`` needs float64 and raises `LayerwiseError` otherwise.

    Args:
        t: times, any shape; broadcast with the other arguments.
        target_strength: ``s``, the singular value of ``Sigma_yx`` (target strength of the mode; see the glossary).
        init_scale: ``u0 = u(0)``, the initial mode strength (``> 0``).
        depth: number of weight layers ``L >= 1`` (a Python int).
        tau: time constant of the flow ``tau d(theta)/dt = -grad L``.
    Returns:
        ``u(t)`` with the broadcast shape of the arguments.

    Example:
        >>> float(saxe_mode(1.0, 3.0, 1e-3))  # Saxe et al. (2014), eq. 7
        0.3557124789...

    References:
        Saxe, McClelland & Ganguli (2014), "Exact solutions to the nonlinear dynamics of learning in deep linear
        neural networks", ICLR, eq. (7) and §3 (depth); Nam et al. (2025) §3.1 (diagonal, depth L).
    """
    t, s, u0, tau = _mode_arguments("saxe_mode", depth, t=t, target_strength=target_strength, init_scale=init_scale,
                                    tau=tau)
    t = checks.positive("saxe_mode", "t", t, allow_zero=True)
    if depth == 2:
        u0 = checks.positive("saxe_mode", "init_scale", u0, allow_zero=True, why=" (balanced depth 2: u0 = a0^2)")
    u, converged = _saxe_mode(t, s, u0, depth, tau)
    if depth >= 3:
        u = checks.check(u, ~converged, f"saxe_mode: the Newton inversion of the depth-{depth} learning time did "
                         f"not converge in {_NEWTON_ITERATIONS} iterations (residual above {_NEWTON_RESIDUAL_RTOL:g} "
                         "of its terms)")
    return u


@functools.partial(jax.jit, static_argnames=("depth",))
def _saxe_mode(t, s, u0, depth, tau):
    """`saxe_mode` after its checks: ``(u, converged)`` (``converged`` is all True for ``depth <= 2``)."""
    t, s, u0, tau = broadcast(t, s, u0, tau)
    if depth == 1:
        return s + (u0 - s) * jnp.exp(-t / tau), jnp.ones(t.shape, bool)
    if depth == 2:
        x = 2.0 * s * t / tau
        # (1 - e^{-x}) / s = (2t/tau) * (1 - e^{-x}) / x: finite at s = 0, where u = u0 / (1 + 2 u0 t / tau).
        return u0 / (jnp.exp(-x) + u0 * (2.0 * t / tau) * one_minus_exp_over(x)), jnp.ones(t.shape, bool)
    return _deep_mode(t, s, u0, depth, tau)


@renamed_arguments(s="target_strength", u0="init_scale")
def learning_time(
    target_strength: ArrayLike, init_scale: ArrayLike, fraction: ArrayLike = 0.5, depth: int = 2, tau: ArrayLike = 1.0
) -> Array:
    r"""Time for a balanced depth-``L`` mode to go from ``u0`` to ``fraction * s`` (exact).

    .. math::  t = \tau\int_{u_0}^{fs}\frac{du}{L\,u^{2-2/L}(s-u)} =
        \begin{cases}\tau\ln\frac{s-u_0}{s-fs} & L=1\\[2pt]
        \frac{\tau}{2s}\ln\frac{f(s-u_0)}{u_0(1-f)} & L=2\\[2pt]
        \frac{\tau}{\kappa}\,[F(a_f)-F(a_0)],\ \kappa=Ls^{2-2/L} & L\ge 3\end{cases}

    For small ``u0`` and ``L >= 3`` this grows like :math:`\tau/((L-2)\,s\,u_0^{(L-2)/L})`: a power of ``1/u0``
    instead of a logarithm (sharper plateaus with depth). Returns NaN when ``fraction * s`` is not between ``u0``
    and ``s`` (never reached). Assumptions as in `saxe_mode`.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): shapes broadcast;
    ``tau > 0``, ``fraction`` finite; ``s != 0`` for ``L = 1``, ``s > 0`` and ``u0 > 0`` for ``L >= 2``.

    float32: ``L <= 2`` are well-conditioned logarithms evaluated in the input dtype; ``L >= 3`` needs float64
    and raises `LayerwiseError` otherwise.

    Args:
        target_strength, init_scale: ``s`` and ``u0`` as in `saxe_mode`; broadcast with ``fraction`` and ``tau``.
        fraction: target ``u / s``, strictly between ``u0 / s`` and 1.
        depth: number of weight layers ``L >= 1``.
        tau: time constant.
    Returns:
        The learning time, broadcast shape.

    Example:
        >>> float(learning_time(2.0, 1e-3, 0.5, depth=3))  # oracle value
        4.6613275...

    References:
        Saxe et al. (2014), §2-3.
    """
    s, u0, tau, fraction = _mode_arguments("learning_time", depth, target_strength=target_strength,
                                           init_scale=init_scale, tau=tau, fraction=fraction)
    if depth == 1:
        s = checks.nonzero("learning_time", "target_strength", s)
    else:
        s = checks.positive("learning_time", "target_strength", s, why=f" for depth {depth}")
        u0 = checks.positive("learning_time", "init_scale", u0, why=f" for depth {depth}")
    return _learning_time(s, u0, fraction, depth, tau)


@functools.partial(jax.jit, static_argnames=("depth",))
def _learning_time(s, u0, fraction, depth, tau):
    s, u0, fraction, tau = broadcast(s, u0, fraction, tau)
    r0 = u0 / s
    reachable = (fraction - r0) * (1.0 - fraction) > 0
    if depth == 1:
        time = tau * jnp.log((1.0 - r0) / (1.0 - fraction))
    elif depth == 2:
        time = tau / (2.0 * s) * (jnp.log(fraction / r0) + jnp.log((1.0 - r0) / (1.0 - fraction)))
    else:
        k = (depth - 2) / depth
        x0 = jnp.abs(jnp.expm1(-k * jnp.log(r0)))
        xf = jnp.abs(jnp.expm1(-k * jnp.log(fraction)))
        sign = jnp.sign(1.0 - r0)
        kappa = depth * s ** (2.0 - 2.0 / depth) / tau
        time = _deep_time_map(xf, jnp.log(xf), x0, sign, depth) / kappa
    return jnp.where(reachable, time, jnp.nan)


# ------------------------------------------------------------------------------------------------ depth >= 3
def _mode_arguments(function: str, depth, **named) -> list[Array]:
    """Checks common to `saxe_mode` and `learning_time`: depth, numeric arrays that broadcast, dtype, and
    finiteness of everything; ``tau > 0``; for ``depth >= 3`` also ``s > 0`` and ``u0 > 0``. Returns the arrays in
    the order given (checked, so that traced checks stay attached)."""
    checks.static_depth(function, depth)
    arrays = {name: checks.as_array(function, name, value) for name, value in named.items()}
    checks.broadcastable(function, **arrays)
    if depth >= 3:
        checks.require_float64(function, _FLOAT64_WHY, **arrays)
    for name in arrays:
        arrays[name] = checks.finite(function, name, arrays[name])
    arrays["tau"] = checks.positive(function, "tau", arrays["tau"])
    if depth >= 3:
        for name in ("target_strength", "init_scale"):
            arrays[name] = checks.positive(function, name, arrays[name], why=f" for depth {depth} (u0 = a0^{depth})"
                                           if name == "init_scale" else f" for depth {depth}")
    return list(arrays.values())


def _log_x(eta: Array) -> Array:
    r"""``log(softplus(-eta))`` without underflow: ``-eta + log(log1p(z)/z)``, ``z = e^{-eta}``, for ``eta >= 0``."""
    positive = eta >= 0
    z = jnp.exp(-jnp.where(positive, eta, 0.0))
    ratio = jnp.where(z < 1e-8, 1.0 - 0.5 * z, jnp.log1p(z) / jnp.where(z < 1e-8, 1.0, z))
    return jnp.where(positive, -eta + jnp.log(ratio), jnp.log(jax.nn.softplus(-jnp.where(positive, 0.0, eta))))


def _gap_ratio(x: Array, sign: Array, depth: int) -> Array:
    r"""``|1 - r| / x`` with ``r = (1 + sign*x)^{-L/(L-2)}``; tends to ``L/(L-2)`` as ``x -> 0`` (series there)."""
    m = depth / (depth - 2)
    small = x < 1e-8
    safe = jnp.where(small, 1.0, x)
    exact = jnp.abs(jnp.expm1(-m * jnp.log1p(sign * safe))) / safe
    return jnp.where(small, m * (1.0 - 0.5 * sign * (m + 1.0) * x), exact)


def _log_terms(x: Array, log_x: Array, sign: Array, depth: int) -> Array:
    r"""``Lambda(a) = sum_k Re[omega_k^2 log(a - omega_k)]`` at ``a = w^{-1/(L-2)}``, ``w = 1 + sign * x``.

    The root ``omega_0 = 1`` gives ``log|a - 1|``, which diverges as ``u -> s``; it is computed as
    ``log|1 - a| = log x + log(|1 - r| / x) - log(sum_j a^j)`` from ``log x`` (never from a difference), so it keeps
    full accuracy arbitrarily close to convergence, even after ``x`` itself underflows. The other roots are bounded
    away from ``a``; their arguments ``atan2(-sin th, a - cos th)`` never cross the branch cut (``a > 0``).
    """
    log_a = -jnp.log1p(sign * x) / (depth - 2)
    a = jnp.exp(log_a)
    geometric = sum(jnp.exp(j * log_a) for j in range(depth))
    total = log_x + jnp.log(_gap_ratio(x, sign, depth)) - jnp.log(geometric)
    for k in range(1, depth):
        theta = 2.0 * math.pi * k / depth
        cos_t, sin_t = math.cos(theta), math.sin(theta)
        log_modulus = 0.5 * jnp.log1p(a * a - 2.0 * a * cos_t)
        total = total + math.cos(2 * theta) * log_modulus - math.sin(2 * theta) * jnp.arctan2(-sin_t, a - cos_t)
    return total


def _deep_time_map(x: Array, log_x: Array, x0: Array, sign: Array, depth: int, terms0: Array | None = None) -> Array:
    r"""``kappa * t`` to go from ``x0`` to ``x``, where ``x = |w - 1|``, ``w = r^{-(L-2)/L}`` (``r = u/s``).

    ``kappa t = F(a) - F(a_0) = L/(L-2) * (w_0 - w) - [Lambda(a) - Lambda(a_0)]`` with ``w_0 - w = sign*(x0 - x)``.
    The variable ``w`` makes the flow simple: ``dw/dt = -(L-2)/L * kappa * (1 - r)``, i.e. ``w`` falls linearly on
    the plateau (``r << 1``) and ``x = |w - 1|`` decays exponentially near convergence.
    """
    if terms0 is None:
        terms0 = _log_terms(x0, jnp.log(x0), sign, depth)
    lead = depth / (depth - 2) * sign * (x0 - x)
    return lead - (_log_terms(x, log_x, sign, depth) - terms0)


def _deep_mode(t: Array, s: Array, u0: Array, depth: int, tau: Array) -> Array:
    r"""Invert ``kappa t = F(a) - F(a_0)`` for ``L >= 3`` by safeguarded Newton in ``eta = -log(e^x - 1)``.

    Why ``eta``: ``x = softplus(-eta)`` behaves like ``-eta`` on the plateau (``x`` large, where ``kappa t`` is
    linear in ``x``) and like ``e^{-eta}`` near convergence (where ``kappa t`` is linear in ``log x``), so
    ``d(kappa t)/d eta = (1 - e^{-x}) / (k |1 - r|)`` (``k = (L-2)/L``) stays within ``[1, 2/k]`` below ``s`` and
    within ``[slope(x0), 1]`` above ``s``. Newton then converges in a handful of steps from anywhere in the bracket
    those bounds give, for ``u0`` down to the smallest float. Every iterate is kept inside the bracket (bisection
    fallback), and the iteration count is fixed, so the function is jit/vmap-able with no data-dependent control flow.
    """
    k = (depth - 2) / depth
    m = depth / (depth - 2)
    r0 = u0 / s
    sign = jnp.where(r0 < 1.0, 1.0, -1.0)
    x0 = jnp.abs(jnp.expm1(-k * jnp.log(r0)))
    kappa = depth * s ** (2.0 - 2.0 / depth) / tau
    target = kappa * t
    eta0 = -log_expm1(x0)
    terms0 = _log_terms(x0, jnp.log(x0), sign, depth)  # constant along the iteration

    def slope(x):
        return one_minus_exp_over(x) / (k * _gap_ratio(x, sign, depth))

    below = sign > 0
    slope0 = slope(x0)
    lo = eta0 + target / jnp.where(below, 2.0 / k, 1.0)
    hi = eta0 + target / jnp.where(below, 1.0, jnp.maximum(slope0, 1e-300))
    eta = jnp.where(below, lo, jnp.minimum(hi, eta0 + target / jnp.maximum(slope0, 1e-3)))

    def newton(_, state):
        eta, lo, hi = state
        x = jax.nn.softplus(-eta)
        residual = _deep_time_map(x, _log_x(eta), x0, sign, depth, terms0) - target
        lo = jnp.where(residual < 0, eta, lo)
        hi = jnp.where(residual > 0, eta, hi)
        step = eta - residual / slope(x)
        inside = (step >= lo) & (step <= hi)
        eta = jnp.where(residual == 0, eta, jnp.where(inside, step, 0.5 * (lo + hi)))
        return eta, lo, hi

    eta, _, _ = jax.lax.fori_loop(0, _NEWTON_ITERATIONS, newton, (eta, lo, hi))
    x = jax.nn.softplus(-eta)
    r = jnp.exp(-m * jnp.log1p(sign * x))
    at_start = (t == 0) | (r0 == 1.0)
    # Did it converge? The residual against the magnitude of the terms it is the difference of.
    terms = _log_terms(x, _log_x(eta), sign, depth)
    residual = m * sign * (x0 - x) - (terms - terms0) - target
    magnitude = jnp.abs(target) + m * (x0 + x) + jnp.abs(terms) + jnp.abs(terms0)
    converged = at_start | (jnp.abs(residual) <= _NEWTON_RESIDUAL_RTOL * magnitude)
    return jnp.where(at_start, u0, s * r), converged
