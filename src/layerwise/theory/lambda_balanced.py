r"""Exact gradient flow of a two-layer linear network from any λ-balanced initialisation (whitened input).

Stack the weights as ``Q = [W1^T; W2]`` (shape ``(d + m, h)``). If ``W2^T W2 - W1 W1^T = lambda I_h`` (λ-balanced;
conserved by the flow), gradient flow on ``L = 1/2 E||y - W2 W1 x||^2`` with ``E[x x^T] = I`` closes as

.. math::  \tau\dot Q = F_\lambda Q - \tfrac12 Q Q^\top Q,\qquad
           F_\lambda = \begin{bmatrix}-\frac\lambda2 I_d & \Sigma_{yx}^\top\\
                                     \Sigma_{yx} & \frac\lambda2 I_m\end{bmatrix},

and ``P = Q Q^T`` obeys the matrix Riccati equation ``tau P' = F P + P F - P^2``, solved by (x = t / tau)

.. math::  Q(x) = e^{F x} Q_0\, M(x),\qquad M M^\top = A(x)^{-1},\qquad
           A(x) = I_h + Q_0^\top G(x) Q_0,\quad G(x) = \int_0^x e^{2Fs}\,ds.

``P`` (hence ``W2 W1 = P_21``, the representations ``W1^T W1 = P_11``, ``W2 W2^T = P_22`` and the NTK) is exact in
closed form. ``Q`` itself is not a function of ``P`` alone: the hidden-layer basis is fixed only up to a rotation
``Q -> Q R``, ``R`` in ``O(h)``, which changes neither the function nor the loss. Gradient flow picks the
*horizontal* lift (``Q^T dQ/dt`` symmetric, the "no hidden rotation" identity of an ``O(h)``-invariant gradient
flow), which means ``dM/dx = -1/2 A^{-1} A' M``: a linear ``h x h`` equation with explicit coefficients but, for
non-aligned initialisations, no elementary solution (its time-ordered exponential is a holonomy; ``M = A^{-1/2}``
is exact only when ``A`` and ``A'`` commute, e.g. aligned or ``h = 1``). For that basis `lambda_balanced_solution`
integrates the flow with diffrax and keeps only the rotation it implies, so everything but the hidden basis is closed
form and the hidden basis is accurate to the solver tolerance (~1e-10 relative).

Evaluation: every save time independently (in parallel over the times axis), no stepping. In F's eigenbasis (eigenvalues
``mu`` in decreasing order) ``e^{Fx}`` and ``G(x)`` are diagonal, and ``C_0 = T V^T`` (QR, once) with ``V`` in
``O(h)`` and ``T`` lower trapezoidal. Since ``g_i(x) = (e^{2 mu_i x} - 1) / (2 mu_i)`` increases with ``mu_i`` at
every ``x``, scaling hidden direction ``j`` by ``sigma_j = (1 + g_j)^{1/2}`` leaves only bounded quantities:
``A = V sigma N sigma V^T`` with ``N = sigma^{-2} + K^T diag(g / (1 + g)) K``, ``K_ij = (sigma_i / sigma_j) T_ij``
(``<= |T_ij|`` below the diagonal), and ``e^{Fx} Q_0 = (e^{mu x} / sigma) K sigma V^T`` with
``e^{mu x} / sigma <= max(1, (2 mu)^{1/2})``; every exponential is computed from ``e^{-2|mu| x}`` and differences
``(mu_i - mu_j) x``. With ``L L^T = N`` (Cholesky of an ``h x h`` matrix whose conditioning does not grow with
``x``) the closed form is

.. math::  Q(x) = E\,\Big(\tfrac{e^{\mu x}}{\sigma} K\Big) L^{-\top} V^\top,\qquad
           M(x) = V \sigma^{-1} L^{-\top} V^\top\ (M M^\top = A^{-1}),

exact to rounding (relative ~1e-15, not growing with ``x``) at any time. Where every exponential is far from
overflow (``max|mu| x <= 150``, the usual case) the same ``N`` and ``M`` are evaluated *factored*: since
``K = sigma T sigma^{-1}``, ``N = sigma^{-1}(I + T^T diag(g) T) sigma^{-1}`` and ``Q = E diag(e^{mu x}) T
(sigma^{-1} L^{-T} V^T)``, so the products with the fixed ``T`` are single matrix products over all times and
only an ``h x h`` Cholesky and one ``h x h`` triangular solve remain per time (same rounding: the entry (a, b) of
``T^T diag(g) T`` sums ``g_k <= g_a, g_b`` only). Beyond that range the per-time ratio form above is used. This
gauge ``M`` is the ``"symmetric"``
hidden basis of `lambda_balanced_solution`; it equals ``A^{-1/2}`` (and the flow's own basis) for aligned inits
and ``h = 1``. The flow's own basis (``"gradient_flow"``): the ODE in F's eigenbasis, integrated once over all save
times, gives the rotation only; the weights are the closed form times the nearest orthogonal matrix, so ``P``, the
balance and every invariant stay closed-form exact.
"""

from __future__ import annotations

import functools

import diffrax
import jax
import jax.numpy as jnp
from jax import Array, custom_batching
from jax.typing import ArrayLike

from layerwise.errors import LayerwiseError, check_choice
from layerwise.theory import _checks as checks
from layerwise.theory._numerics import expm1_over, one_minus_exp_over

HIDDEN_BASES = ("gradient_flow", "symmetric")
# hidden_basis="gradient_flow": tolerances of the flow's ODE in F's eigenbasis (its error, ~1e-10 relative, sets
# that basis' accuracy) and its step budget for the whole horizon
_TRANSPORT_RTOL = 1e-10
_TRANSPORT_ATOL = 1e-12
_TRANSPORT_MAX_STEPS = 1_000_000  # explicit Dopri8 needs ~ t * max|eig F| / 5 steps once converged
_NOISE_FLOOR = 64 * 2.0**-52  # relative to max|C_0|: below it, an entry of T is rounding noise
# λ-balance is accepted when max|W2^T W2 - W1 W1^T - lambda I| <= this * (||W1||_F^2 + ||W2||_F^2): constructions in
# float64 reach ~1e-16 of that scale; an imbalance eps perturbs the trajectory by O(eps), above the stated accuracy.
BALANCE_RTOL = 1e-10
# the factored evaluation (matrix products over all times) is used while max|eig F| * t / tau <= this: then
# e^{mu x} and e^{2 mu x} stay within [1e-131, 1e131] (no overflow, no denormals); beyond, the per-time ratio form
_FACTORED_RANGE = 150.0
_NAME = "lambda_balanced_solution"


def lambda_balanced_solution(
    t: ArrayLike,
    W1_0: ArrayLike,
    W2_0: ArrayLike,
    Sigma_yx: ArrayLike,
    tau: float = 1.0,
    *,
    hidden_basis: str = "gradient_flow",
) -> tuple[Array, Array]:
    r"""Weights ``W1(t), W2(t)`` of a two-layer linear net trained by gradient flow from a λ-balanced init.

    .. math::  \tau\dot W_1 = W_2^\top(\Sigma_{yx} - W_2W_1),\qquad \tau\dot W_2 = (\Sigma_{yx} - W_2W_1)W_1^\top,

    solved through the Riccati form above (``P(t) = e^{Fx}P_0(I + G P_0)^{-1}e^{Fx}``), evaluated at every save time
    independently, in parallel, with the growing exponentials factored out (module docstring): exact to ~1e-15
    relative at any ``t`` (checked against the ODE and a high-precision evaluation up to ``t = 1e3 tau``,
    converged and finite at ``t = 1e6 tau``).

    Assumptions: whitened input (``Sigma_xx = I``), exact λ-balance ``W2_0^T W2_0 - W1_0 W1_0^T = lambda I_h``
    (λ is read off as the mean diagonal of that matrix; ``lambda > 0`` needs ``h <= m``, ``lambda < 0`` needs
    ``h <= d``). Any scale and any alignment with ``Sigma_yx``: small or aligned init is not needed. A hidden
    direction absent from the init (``Q_0 v = 0``, possible only for λ = 0) stays absent; an init at the saddle
    itself (no component along a growing eigenvector of F) escapes only through rounding, as the ODE does.

    Args:
        t: save times ``>= 0``: a scalar or a non-decreasing 1-D array (T,).
        W1_0: first layer at ``t = 0``, (h, d).
        W2_0: second layer at ``t = 0``, (m, h).
        Sigma_yx: ``E[y x^T]``, (m, d).
        tau: time constant of ``tau d(theta)/dt = -grad L``.
        hidden_basis: ``"gradient_flow"`` returns the weights of the flow itself: the closed form times the
            hidden rotation implied by one diffrax pass of the flow's ODE (accurate to ~1e-10 relative; ``P`` and
            the balance stay exact); ``"symmetric"`` returns the pure closed form in the gauge
            ``M = V sigma^{-1} L^{-T} V^T`` of the module docstring (``M M^T = A^{-1}``; it is ``A^{-1/2}`` for
            aligned inits and ``h = 1``, a triangular factor otherwise, and depends on ``t`` only, not on the
            other requested times): the same ``W2 W1``, ``W1^T W1``, ``W2 W2^T``, NTK and loss, with weights that
            differ from the flow's by a rotation of the hidden layer (identical for aligned inits and ``h = 1``).
            No ODE: cheaper to compile and to run.
    Returns:
        ``(W1, W2)`` with shapes ``(T, h, d)``, ``(T, m, h)`` (no time axis for scalar ``t``). Use ``jax.vmap``
        over a runs axis.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): the shapes above, with
    ``W2_0`` (m, h) and ``Sigma_yx`` (m, d) matching ``W1_0`` (h, d) (a transposed ``Sigma_yx`` is refused when
    ``m != d``); every input finite; ``t >= 0`` and non-decreasing; ``tau > 0``; λ-balance to a relative
    tolerance: ``max|W2_0^T W2_0 - W1_0 W1_0^T - lambda I| <= 1e-10 (||W1_0||_F^2 + ||W2_0||_F^2)``
    (`BALANCE_RTOL`); and, for ``"gradient_flow"``, that the diffrax solve of the flow succeeded.

    float32: refused (`LayerwiseError`): the flow's ODE is solved to rtol 1e-10 and the closed form is exact to
    ~1e-15, far below float32's rounding, so float64 is needed.

    Example:
        >>> import jax.numpy as jnp
        >>> W1 = 0.1 * jnp.array([[1.0, 0.5], [0.0, 1.0]])
        >>> c, s = jnp.cos(0.7), jnp.sin(0.7)
        >>> W2 = jnp.array([[c, -s], [s, c]]) @ W1.T  # balanced: W2^T W2 = W1 W1^T
        >>> W1t, W2t = lambda_balanced_solution(2.0, W1, W2, jnp.diag(jnp.array([2.0, 1.0])))
        >>> [[round(float(v), 6) for v in row] for row in W2t @ W1t]  # oracle value
        [[1.799888, 0.060277], [0.064276, 0.410157]]

    References:
        Fukumizu (1998) (matrix Riccati solution); Braun, Dominé, Fitzgerald & Saxe (2022), "Exact learning
        dynamics of deep linear networks with prior knowledge", NeurIPS (λ = 0, arbitrary alignment);
        Dominé et al. (2025), "From lazy to rich", ICLR (λ-balanced).
    """
    check_choice("hidden_basis", hidden_basis, HIDDEN_BASES)
    t, W1_0, W2_0, Sigma_yx, tau = _checked_arguments(t, W1_0, W2_0, Sigma_yx, tau)
    dtype = jnp.result_type(float, t, W1_0, W2_0, Sigma_yx)
    times = jnp.atleast_1d(t).astype(dtype)
    W1, W2, solved = _solve(
        times, W1_0.astype(dtype), W2_0.astype(dtype), Sigma_yx.astype(dtype), jnp.asarray(tau, dtype),
        track=hidden_basis == "gradient_flow",
    )
    # on both outputs, so that the check survives whichever one a jitted caller keeps
    W1, W2 = checks.check((W1, W2), ~solved, f"{_NAME}: the diffrax solve of the hidden-basis transport did not "
                          "succeed (max_steps reached or step size collapsed); hidden_basis='symmetric' needs no "
                          "ODE solve")
    if t.ndim == 0:
        return W1[0], W2[0]
    return W1, W2


def _checked_arguments(t, W1_0, W2_0, Sigma_yx, tau):
    """Shapes, dtype, finiteness, times, tau and λ-balance of `lambda_balanced_solution`'s inputs."""
    named = dict(t=t, W1_0=W1_0, W2_0=W2_0, Sigma_yx=Sigma_yx, tau=tau)
    arrays = {name: checks.as_array(_NAME, name, value) for name, value in named.items()}
    checks.require_float64(_NAME, "flow ODE solved to rtol 1e-10", **arrays)
    t, W1_0, W2_0, Sigma_yx, tau = arrays.values()
    checks.ndim(_NAME, "t", t, (0, 1), "() or (T,)")
    checks.ndim(_NAME, "W1_0", W1_0, 2, "(h, d)")
    h, d = W1_0.shape
    checks.ndim(_NAME, "W2_0", W2_0, 2, f"(m, h) with h = {h} (from W1_0 (h, d))")
    if W2_0.shape[1] != h:
        raise LayerwiseError(
            f"{_NAME}: W2_0 must have shape (m, h) with h = {h} (from W1_0 {tuple(W1_0.shape)}), "
            f"got shape {tuple(W2_0.shape)}"
        )
    m = W2_0.shape[0]
    if Sigma_yx.shape != (m, d):
        transposed = " (transposed? Sigma_yx is E[y x^T], (d_out, d_in))" if Sigma_yx.shape == (d, m) else ""
        raise LayerwiseError(
            f"{_NAME}: Sigma_yx must have shape (m, d) = {(m, d)} from W2_0 (m, h) and W1_0 (h, d), "
            f"got shape {tuple(Sigma_yx.shape)}{transposed}"
        )
    checks.ndim(_NAME, "tau", tau, 0, "() (a scalar)")
    t, W1_0, W2_0, Sigma_yx = (checks.finite(_NAME, name, a) for name, a in
                               (("t", t), ("W1_0", W1_0), ("W2_0", W2_0), ("Sigma_yx", Sigma_yx)))
    t = checks.positive(_NAME, "t", t, allow_zero=True)
    if t.ndim == 1 and t.shape[0] > 1:
        xp, (values,) = checks.values(t)
        increasing = xp.concatenate([xp.ones(1, bool), xp.diff(values) >= 0])
        t = checks.satisfies(_NAME, "t", t, increasing, "non-decreasing", value=values)
    tau = checks.positive(_NAME, "tau", tau)
    W1_0 = _check_balance(W1_0, W2_0)
    return t, W1_0, W2_0, Sigma_yx, tau


def _check_balance(W1_0, W2_0):
    """λ-balance of the init to `BALANCE_RTOL` of the weights' scale (numpy for concrete inputs)."""
    xp, (w1, w2) = checks.values(W1_0, W2_0)
    b = w2.T @ w2 - w1 @ w1.T
    h = b.shape[0]
    lam = xp.trace(b) / h
    deviation = xp.max(xp.abs(b - lam * xp.eye(h, dtype=b.dtype)))
    scale = xp.sum(w1 * w1) + xp.sum(w2 * w2)
    relative = deviation / xp.where(scale > 0, scale, 1.0)
    return checks.satisfies(
        _NAME, "(W1_0, W2_0)", W1_0, deviation <= BALANCE_RTOL * scale,
        f"λ-balanced, max|W2_0^T W2_0 - W1_0 W1_0^T - lambda I| / (||W1_0||_F^2 + ||W2_0||_F^2) <= {BALANCE_RTOL:g}",
        value=relative,
    )


def balance(W1: ArrayLike, W2: ArrayLike) -> Array:
    r"""The conserved matrix ``W2^T W2 - W1 W1^T`` (..., h, h); it equals ``lambda I_h`` for a λ-balanced network.

    .. math::  B = W_2^\top W_2 - W_1 W_1^\top,\qquad \dot B = 0 \text{ under gradient flow (no weight decay).}

    ``W1`` (..., h, d) and ``W2`` (..., m, h) with broadcastable leading axes; checked: shapes (`LayerwiseError`).
    float32: allowed (two matrix products, computed in the input dtype).

    Args:
        W1: first-layer weights (..., h, d).
        W2: second-layer weights (..., m, h).
    Returns:
        ``B``, (..., h, h).

    Example:
        >>> import jax.numpy as jnp
        >>> balance(jnp.array([[1.0, 0.0], [0.0, 2.0]]), jnp.array([[2.0, 0.0], [0.0, 3.0]])).tolist()
        [[3.0, 0.0], [0.0, 5.0]]

    References:
        Du, Hu & Lee (2018), "Algorithmic regularization in learning deep homogeneous models: layers are
        automatically balanced", NeurIPS (the conservation law); Dominé et al. (2025), "From lazy to rich", ICLR
        (λ-balanced initialisations).
    """
    W1, W2 = (checks.as_array("balance", name, a) for name, a in (("W1", W1), ("W2", W2)))
    checks.min_ndim("balance", "W1", W1, 2, "(..., h, d)")
    checks.min_ndim("balance", "W2", W2, 2, "(..., m, h)")
    if W2.shape[-1] != W1.shape[-2]:
        raise LayerwiseError(
            f"balance: W2 must have shape (..., m, h) with h = {W1.shape[-2]} (from W1 {tuple(W1.shape)}), "
            f"got shape {tuple(W2.shape)}"
        )
    checks.shapes_broadcast("balance", W1_batch_axes=W1.shape[:-2], W2_batch_axes=W2.shape[:-2])
    return jnp.swapaxes(W2, -1, -2) @ W2 - W1 @ jnp.swapaxes(W1, -1, -2)


def _coupling_matrix(Sigma_yx: Array, lam: Array) -> Array:
    """``F_lambda`` of the module docstring, (d + m, d + m)."""
    m, d = Sigma_yx.shape
    top = jnp.concatenate([-0.5 * lam * jnp.eye(d, dtype=Sigma_yx.dtype), Sigma_yx.T], axis=1)
    bottom = jnp.concatenate([Sigma_yx, 0.5 * lam * jnp.eye(m, dtype=Sigma_yx.dtype)], axis=1)
    return jnp.concatenate([top, bottom], axis=0)


@functools.partial(jax.jit, static_argnames=("track",))
def _solve(times, W1_0, W2_0, Sigma_yx, tau, *, track):
    h, d = W1_0.shape
    lam = jnp.trace(balance(W1_0, W2_0)) / h
    # F's eigenbasis, eigenvalues in decreasing order: e^{F x} and G(x) are diagonal there.
    mu, basis = jnp.linalg.eigh(_coupling_matrix(Sigma_yx, lam))
    mu, basis = mu[::-1], basis[:, ::-1]
    coords0 = basis.T @ jnp.concatenate([W1_0.T, W2_0], axis=0)  # C_0, (d + m, h)
    x = times / tau
    # C_0 = T V^T with V (h, h) orthogonal and T lower trapezoidal (T_ij = 0 for j > i, rows in decreasing mu);
    # entries at rounding level are zeroed (a direction absent from the init stays absent)
    hidden, upper = jnp.linalg.qr(coords0.T)
    trapezoid = jnp.tril(upper.T)
    floor = _NOISE_FLOOR * jnp.max(jnp.abs(coords0))
    trapezoid = jnp.where(jnp.abs(trapezoid) > floor, trapezoid, 0.0)
    # every requested time at once: the factored form (big matrix products over the times axis) where no
    # exponential can overflow, else the per-time form that works with ratios of exponentials only
    factored = _for_every_run(jnp.max(jnp.abs(mu)) * x[-1] <= _FACTORED_RANGE)
    coords = jax.lax.cond(factored, _factored_coordinates, _stable_coordinates, x, mu, trapezoid, hidden)
    solved = jnp.array(True)
    if track:
        # the flow's hidden basis: the rotation R in O(h) with C_flow = C R nearest to the integrated flow
        # (orthogonal Procrustes), so that P = C C^T, the balance and every invariant stay closed-form exact
        flow, solved = _flow_coordinates(coords0, mu, x)
        coords = coords @ jax.vmap(_nearest_rotation)(coords, flow)
    # the weights Q = basis @ coords, each layer straight in its own layout (no transposed copy of W1)
    W1 = jnp.einsum("ab,tbh->tha", basis[:d], coords)
    W2 = jnp.einsum("ab,tbh->tah", basis[d:], coords)
    return W1, W2, solved


@custom_batching.custom_vmap
def _for_every_run(flag: Array) -> Array:
    """``flag`` itself; under ``jax.vmap`` its AND over the runs axis (unbatched), so that a ``lax.cond`` on it
    runs one branch for the whole batch instead of both branches and a select. Used to choose between two
    evaluations of the same closed form (equal to rounding), so the choice changes no result beyond rounding."""
    return flag


@_for_every_run.def_vmap
def _for_every_run_batched(axis_size, in_batched, flag):
    (batched,) = in_batched
    return (jnp.all(flag) if batched else flag), False


def _factored_coordinates(x: Array, mu: Array, trapezoid: Array, hidden: Array) -> Array:
    r"""The closed-form coordinates ``e^{mu x} C_0 M(x)`` (F's eigenbasis), (T, n, h), when ``max|mu| x`` stays in
    `_FACTORED_RANGE` (so ``e^{mu x}``, ``g`` and ``sigma`` are all finite and far from under/overflow).

    The same matrices as `_stable_coordinates` (``N`` and ``M = V sigma^{-1} L^{-T} V^T``), written so that every
    product with a fixed matrix is one matrix product over all times: with ``g_k(x)`` in a (T, n) array,
    ``N = sigma^{-1}(I + T^T diag(g) T) sigma^{-1}`` is ``g @ (T_ka T_kb)`` (an (n, h^2) fixed matrix) scaled
    elementwise, and ``e^{mu x} C_0 M = diag(e^{mu x}) T (sigma^{-1} L^{-T} V^T)``: only the h x h Cholesky and one
    h x h triangular solve are per time. Rounding is that of the stable form: ``T^T diag(g) T``'s entry (a, b) sums
    ``g_k`` over ``k >= max(a, b)`` only (``T`` is lower trapezoidal), all ``<= g_a, g_b``, so dividing by
    ``sigma_a sigma_b`` leaves a relative error ~1e-16 of a bounded matrix; ``T (sigma^{-1} R)`` rows are scaled
    by ``e^{mu_k x}`` with ``e^{mu_k x} / sigma_a`` bounded for ``a <= k``.
    """
    n, h = trapezoid.shape
    e = jnp.exp(mu[None, :] * x[:, None])  # (T, n), e^{mu x}
    g = x[:, None] * expm1_over(2.0 * mu[None, :] * x[:, None])  # (T, n), (e^{2 mu x} - 1) / (2 mu)
    sigma = jnp.sqrt(1.0 + g[:, :h])  # (T, h)
    pairs = (trapezoid[:, :, None] * trapezoid[:, None, :]).reshape(n, h * h)
    gram = (g @ pairs).reshape(x.shape[0], h, h)  # T^T diag(g) T
    normal = (jnp.eye(h, dtype=x.dtype)[None] + gram) / (sigma[:, :, None] * sigma[:, None, :])
    factor = jax.lax.linalg.cholesky(normal, symmetrize_input=False)
    # V L^{-1} (a right-side solve with h right-hand sides, not n), transposed: L^{-T} V^T
    rotated = jax.lax.linalg.triangular_solve(factor, jnp.broadcast_to(hidden, normal.shape), left_side=False,
                                              lower=True)
    right = jnp.swapaxes(rotated, 1, 2) / sigma[:, :, None]  # sigma^{-1} L^{-T} V^T, (T, h, h)
    return jnp.einsum("ka,tab->tkb", trapezoid, right) * e[:, :, None]


def _stable_coordinates(x: Array, mu: Array, trapezoid: Array, hidden: Array) -> Array:
    """`_closed_form_coordinates` at every time (``jax.vmap``), times ``V^T``: (T, n, h); valid at any ``x``."""
    return jax.vmap(_closed_form_coordinates, in_axes=(0, None, None))(x, mu, trapezoid) @ hidden.T


def _closed_form_coordinates(x: Array, mu: Array, trapezoid: Array) -> Array:
    r"""``Y(x) = e^{mu x} C_0 V sigma^{-1} L^{-T}`` (F's eigenbasis, times ``V^T`` = the weights), every factor bounded.

    With ``C_0 = T V^T`` (``T`` lower trapezoidal, rows in decreasing ``mu``), ``g_i = (e^{2 mu_i x} - 1)/(2 mu_i)``
    and ``sigma_j = (1 + g_j)^{1/2}`` for the first ``h`` rows:

    * ``A = V sigma N sigma V^T`` with ``N = sigma^{-2} + K^T diag(g/(1+g)) K`` and ``K_ij = (sigma_i/sigma_j) T_ij``;
    * ``e^{mu x} C_0 = Z sigma V^T`` with ``Z_ij = (e^{mu_i x}/sigma_i) K_ij``.

    ``g`` increases with ``mu`` at every ``x``, so below the diagonal ``sigma_i <= sigma_j``: every entry of ``K`` is
    at most ``|T_ij|``, ``g/(1+g) < 1`` and ``e^{mu x}/sigma <= max(1, (2 mu)^{1/2})``. ``N`` is then a bounded,
    ``x``-uniformly conditioned ``h x h`` matrix (for a generic init), and ``M = V sigma^{-1} L^{-T} V^T``
    (``L L^T = N``) satisfies ``M M^T = A^{-1}``: ``Q = e^{Fx} Q_0 M`` with no growing exponential left.
    Every exponential is evaluated from ``e^{-2|mu| x}`` and differences ``(mu_i - mu_j) x``, so nothing overflows
    and the relative error does not grow with ``x``.
    """
    n, h = trapezoid.shape
    growing = mu > 0
    decay = jnp.exp(-2.0 * jnp.abs(mu) * x)  # e^{-2|mu| x}, in (0, 1]
    integral = x * one_minus_exp_over(2.0 * jnp.abs(mu) * x)  # (1 - e^{-2|mu|x}) / (2|mu|) (x at mu = 0)
    rest = jnp.where(growing, decay + integral, 1.0 + integral)  # (1 + g) e^{-2 max(mu, 0) x}
    positive = jnp.maximum(mu, 0.0)
    log_rest = jnp.log(rest)
    lower = jnp.tril(jnp.ones((n, h), dtype=bool))
    log_ratio = (positive[:, None] - positive[None, :h]) * x + 0.5 * (log_rest[:, None] - log_rest[None, :h])
    scaled = jnp.exp(jnp.where(lower, log_ratio, -jnp.inf)) * trapezoid  # K
    front = jnp.sqrt(jnp.where(growing, 1.0, decay) / rest)  # e^{mu x} / sigma
    gain = integral / rest  # g / (1 + g)
    inverse_sigma2 = jnp.exp(-2.0 * positive[:h] * x) / rest[:h]  # 1 / (1 + g_j)
    normal = jnp.diag(inverse_sigma2) + (scaled.T * gain[None, :]) @ scaled
    factor = jnp.linalg.cholesky(normal)
    return jax.lax.linalg.triangular_solve(factor, front[:, None] * scaled, left_side=False, lower=True,
                                           transpose_a=True)


def _nearest_rotation(coords: Array, flow: Array) -> Array:
    r"""The orthogonal ``R`` with ``coords R`` nearest to ``flow`` (both (n, h), ``flow ~ coords R``): orthogonal
    Procrustes, the polar factor of ``coords^T flow`` (SVD). Well conditioned: an error ``E`` in ``flow`` moves
    ``coords R`` by at most ~``|E|`` even where ``coords`` has tiny singular values (a least-squares ``R`` followed
    by re-orthogonalisation would amplify it by ``cond(coords)``)."""
    u, _, vt = jnp.linalg.svd(coords.T @ flow)
    return u @ vt


def _flow_coordinates(coords0: Array, mu: Array, x: Array) -> tuple[Array, Array]:
    r"""The flow's own weights in F's eigenbasis, ``dC/dx = diag(mu) C - 1/2 C C^T C`` (diffrax Dopri8), at ``x``;
    and whether diffrax reports success.

    The hidden-basis rotation of the flow (the horizontal lift of the closed-form ``P``) has no closed form; it is
    integrated here as the flow itself, in the basis where ``F`` is diagonal, in one pass over all save times."""

    def field(s, c, args):
        return mu[:, None] * c - 0.5 * c @ (c.T @ c)

    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Dopri8(),
        t0=jnp.zeros_like(x[-1]),
        t1=x[-1],
        dt0=None,
        y0=coords0,
        saveat=diffrax.SaveAt(ts=x),
        stepsize_controller=diffrax.PIDController(rtol=_TRANSPORT_RTOL, atol=_TRANSPORT_ATOL),
        max_steps=_TRANSPORT_MAX_STEPS,
        adjoint=diffrax.ForwardMode(),  # forward-only: cheaper to compile than checkpointed reverse mode
        throw=False,
    )
    # throw=False: the status is checked once in lambda_balanced_solution; a failed solve is also NaN here, so
    # nothing downstream looks valid.
    ok = solution.result == diffrax.RESULTS.successful
    return jnp.where(ok, solution.ys, jnp.nan), ok
