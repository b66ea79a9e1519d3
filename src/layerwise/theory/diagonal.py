r"""Diagonal linear networks ``w = u ⊙ v`` on regression: where gradient flow ends (implicit bias) and, in the
small-initialisation limit, how it gets there (saddle-to-saddle jumps).

The network is ``f(x) = sum_i x_i u_i v_i`` (``DiagonalLinearNetwork(dim, depth=2)``, params rows ``u, v``) trained
on samples ``X`` (n, d), ``y`` (n,) by gradient flow on the squared error. Each coordinate conserves
``delta_i = u_i^2 - v_i^2`` and moves as ``w_i' = -sqrt(4 w_i^2 + delta_i^2) g_i`` (``g = grad_w L``), a mirror flow
with potential ``sum_i phi_i(w_i)``, ``phi_i'(w) = 1/2 arsinh(2w/|delta_i|)``. Hence, when the flow interpolates,
it converges to the interpolator that minimises the potential's Bregman divergence from the init: small
``|delta|`` (small init) gives sparse, ℓ1-like solutions (rich); large ``|delta|`` gives ℓ2 (kernel, lazy).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import scipy.optimize
from jax import Array
from jax.typing import ArrayLike

from layerwise.errors import LayerwiseError
from layerwise._deprecation import renamed_arguments
from layerwise.theory import _checks as checks

# The interpolator is accepted when max|X w - y| <= this * (max|y| + max_i sum_j |X_ij w_j|): the polished dual
# solution reaches ~1e-15 of that scale; an infeasible X w = y or a diverged solve is far above it.
_INTERPOLATION_RTOL = 1e-9
_FLOAT64_WHY = "the dual is solved to rtol 1e-10 and polished by Newton to 1e-14"


def woodworth_solution(X: ArrayLike, y: ArrayLike, alpha: ArrayLike) -> Array:
    r"""The interpolator reached by gradient flow from scale ``alpha`` (Woodworth et al. 2020).

    Model ``w = u_+^2 - u_-^2`` with ``u_±(0) = alpha 1`` (so ``w(0) = 0``; the same flow as ``w = u ⊙ v`` from
    ``u(0) = 2 alpha``, ``v(0) = 0`` up to a time rescaling), squared loss. If the flow reaches zero loss,

    .. math::  w_\infty = \arg\min_{Xw=y} Q_\alpha(w),\qquad Q_\alpha(w) = \alpha^2\sum_i q(w_i/\alpha^2),\quad
               q(z) = 2 - \sqrt{4+z^2} + z\,\operatorname{arsinh}(z/2),

    which interpolates min-ℓ2 (``alpha -> inf``) and min-ℓ1 (``alpha -> 0``). Solved through its KKT form
    ``w = 2 alpha^2 sinh(2 X^T nu)`` (see `azulay_solution`, of which this is ``delta = 4 alpha^2``, ``w0 = 0``).

    Assumptions: ``Xw = y`` is feasible (e.g. ``n < d`` in general position), squared loss (any normalisation),
    depth 2.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): ``X`` (n, d), ``y`` (n,),
    ``alpha`` a scalar ``> 0``, all finite; and that the solve converged to an interpolator
    (``max|Xw - y| <= 1e-9`` of the scale of ``Xw`` and ``y``; an infeasible ``Xw = y`` fails here).

    float32: refused (`LayerwiseError`): the dual solve's tolerances (1e-10 BFGS, 1e-14 Newton) need float64.

    Args:
        X: samples as rows, (n, d).
        y: targets, (n,).
        alpha: initialisation scale ``> 0``.
    Returns:
        ``w_inf``, (d,).

    Example:
        >>> import jax.numpy as jnp
        >>> w = woodworth_solution(jnp.array([[1.0, 0.5, 0.25]]), jnp.array([1.0]), 0.3)
        >>> [round(float(v), 6) for v in w]  # oracle value
        [0.848869, 0.248791, 0.106944]

    References:
        Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry & Srebro (2020), "Kernel and rich regimes in
        overparametrized models", COLT, Theorem 1.
    """
    name = "woodworth_solution"
    X, y, alpha = (checks.as_array(name, n, v) for n, v in (("X", X), ("y", y), ("alpha", alpha)))
    checks.require_float64(name, _FLOAT64_WHY, X=X, y=y, alpha=alpha)
    _check_design(name, X, y)
    checks.ndim(name, "alpha", alpha, 0, "() (a scalar)")
    alpha = checks.positive(name, "alpha", alpha)
    X, y = checks.finite(name, "X", X), checks.finite(name, "y", y)
    dtype = jnp.result_type(float, X, y, alpha)
    imbalance = jnp.full(X.shape[-1], 4.0, dtype) * alpha.astype(dtype) ** 2
    return _solve(name, X, y, imbalance, jnp.zeros(X.shape[-1], dtype))


@renamed_arguments(imbalance="mode_imbalance", w0="init_scale")
def azulay_solution(X: ArrayLike, y: ArrayLike, mode_imbalance: ArrayLike, init_scale: ArrayLike) -> Array:
    r"""The interpolator reached by gradient flow on ``w = u ⊙ v`` from any init ("shape"), Azulay et al. (2021).

    With the conserved ``delta_i = u_i(0)^2 - v_i(0)^2 != 0`` and ``w0 = u(0) ⊙ v(0)``,

    .. math::  w_\infty = \arg\min_{Xw=y}\sum_i\Big[\frac{w_i}{2}\operatorname{arsinh}\frac{2w_i}{|\delta_i|}
               - \frac12\sqrt{w_i^2+\delta_i^2/4} - \frac{w_i}{2}\operatorname{arsinh}\frac{2w_{0,i}}{|\delta_i|}\Big],

    whose KKT conditions give ``w_i = |delta_i|/2 sinh(2 (X^T nu)_i + arsinh(2 w0_i / |delta_i|))``. The
    multiplier ``nu`` (n,) minimises the smooth, strictly convex dual
    ``D(nu) = sum_i |delta_i|/4 cosh(2 (X^T nu)_i + c_i) - y^T nu``, solved by BFGS (global) and polished by
    Newton's method on ``grad D = X w(nu) - y = 0`` (quadratic local convergence), both from optimistix.

    Assumptions: ``Xw = y`` feasible, every ``delta_i != 0``, squared loss, depth 2.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): ``X`` (n, d), ``y`` (n,),
    ``mode_imbalance`` and ``init_scale`` (d,), all finite, every ``mode_imbalance != 0``; and that the solve converged to an
    interpolator (``max|Xw - y| <= 1e-9`` of the scale of ``Xw`` and ``y``; an infeasible ``Xw = y`` fails here).

    float32: refused (`LayerwiseError`): the dual solve's tolerances (1e-10 BFGS, 1e-14 Newton) need float64.

    Args:
        X: samples as rows, (n, d).
        y: targets, (n,).
        mode_imbalance: ``delta = u(0)^2 - v(0)^2`` (the glossary's ``C``), (d,).
        init_scale: ``w0``, the initial ``w = u(0) ⊙ v(0)``, (d,).
    Returns:
        ``w_inf``, (d,).

    Example:
        >>> import jax.numpy as jnp
        >>> u0, v0 = jnp.array([0.5, 0.1, 0.3]), jnp.array([0.1, 0.2, -0.05])
        >>> X, y = jnp.array([[1.0, 0.5, 0.25]]), jnp.array([1.0])
        >>> [round(float(v), 6) for v in azulay_solution(X, y, u0**2 - v0**2, u0 * v0)]  # oracle value
        [0.960718, 0.072891, 0.011344]

    References:
        Azulay, Moroshko, Nacson, Woodworth, Srebro, Globerson & Soudry (2021), "On the implicit bias of initialization
        shape: beyond infinitesimal mirror descent", ICML, Theorem 2.
    """
    name = "azulay_solution"
    named = dict(X=X, y=y, mode_imbalance=mode_imbalance, init_scale=init_scale)
    arrays = {n: checks.as_array(name, n, v) for n, v in named.items()}
    checks.require_float64(name, _FLOAT64_WHY, **arrays)
    X, y, imbalance, w0 = arrays.values()
    _check_design(name, X, y)
    d = X.shape[1]
    for n, v in (("mode_imbalance", imbalance), ("init_scale", w0)):
        if v.shape != (d,):
            raise LayerwiseError(f"{name}: {n} must have shape (d,) = ({d},) from X (n, d), got shape {tuple(v.shape)}")
    X, y, w0 = checks.finite(name, "X", X), checks.finite(name, "y", y), checks.finite(name, "init_scale", w0)
    imbalance = checks.nonzero(name, "mode_imbalance", imbalance, why=" (delta = u0^2 - v0^2)")
    return _solve(name, X, y, imbalance, w0)


def _check_design(function: str, X, y) -> None:
    checks.ndim(function, "X", X, 2, "(n, d)")
    if y.shape != (X.shape[0],):
        raise LayerwiseError(f"{function}: y must have shape (n,) = ({X.shape[0]},) from X (n, d), got shape "
                             f"{tuple(y.shape)}")


def _solve(function: str, X, y, imbalance, w0):
    dtype = jnp.result_type(float, X, y, imbalance, w0)
    w, residual, scale = _mirror_interpolator(X.astype(dtype), y.astype(dtype), imbalance.astype(dtype),
                                              w0.astype(dtype))
    converged = residual <= _INTERPOLATION_RTOL * scale  # False for NaN
    return checks.check(w, ~converged, f"{function}: the dual solve did not reach an interpolator "
                        f"(max|Xw - y| above {_INTERPOLATION_RTOL:g} of its scale): is X w = y feasible?")


@jax.jit
def _mirror_interpolator(X, y, imbalance, w0):
    """The KKT interpolator, its residual ``max|X w - y|`` and the scale that residual is compared to."""
    scale = 0.5 * jnp.abs(imbalance)
    offset = jnp.arcsinh(w0 / scale)

    def primal(nu):
        return scale * jnp.sinh(2.0 * (X.T @ nu) + offset)

    def dual(nu, args):
        return 0.5 * jnp.sum(scale * jnp.cosh(2.0 * (X.T @ nu) + offset)) - y @ nu

    def dual_gradient(nu, args):
        return X @ primal(nu) - y

    nu0 = jnp.zeros(X.shape[0], X.dtype)
    coarse = optx.minimise(dual, optx.BFGS(rtol=1e-10, atol=1e-12), nu0, max_steps=10_000, throw=False)
    fine = optx.root_find(dual_gradient, optx.Newton(rtol=1e-14, atol=1e-14), coarse.value, max_steps=50, throw=False)
    # Success is judged by the interpolation residual, not by optimistix's flags: Newton at rtol 1e-14 can stop at
    # max_steps with a residual ~1e-14 (converged for every purpose), and BFGS's step count does not matter once
    # Newton has polished its result.
    w = primal(fine.value)
    residual = jnp.max(jnp.abs(X @ w - y))
    scale = jnp.max(jnp.abs(y)) + jnp.max(jnp.abs(X) @ jnp.abs(w))
    return w, residual, scale


@dataclasses.dataclass(frozen=True)
class SaddleToSaddle:
    """The small-initialisation limit of a diagonal network: a staircase of plateaus.

    Attributes:
        jump_times: accelerated times ``t~_1 < t~_2 < ...`` of the jumps, (K,). Raw time is ``t = t~ ln(1/alpha)``.
        plateaus: ``plateaus[k]`` is ``beta`` on ``[t~_k, t~_{k+1})`` (after jump ``k``), (K, d); ``beta = 0`` before
            the first jump. The last one is the min-ℓ1 interpolator (or the sign-constrained minimiser).
    """

    jump_times: np.ndarray
    plateaus: np.ndarray

    def at(self, accelerated_time) -> np.ndarray:
        """The limit ``beta(t~)`` at accelerated times of any shape; returns shape ``(..., d)``."""
        index = np.searchsorted(self.jump_times, np.asarray(accelerated_time, dtype=float), side="right")
        values = np.concatenate([np.zeros((1, self.plateaus.shape[1])), self.plateaus])
        return values[index]


def saddle_to_saddle(X: ArrayLike, y: ArrayLike, *, max_jumps: int | None = None, tol: float = 1e-12) -> SaddleToSaddle:
    r"""Jump times and plateau values of gradient flow on a diagonal network as the init scale ``alpha -> 0``.

    Model ``beta = u ⊙ v``, ``u(0) = sqrt(2) alpha 1``, ``v(0) = 0``, loss ``L = 1/(2n) ||X beta - y||^2``. In the
    accelerated time ``t~ = t / ln(1/alpha)`` the flow converges, as ``alpha -> 0``, to a piecewise-constant path
    (Pesme & Flammarion 2023). With the dual variable ``s(t~) = -int_0^t~ grad L(beta) in [-1, 1]^d``:

    * between jumps, ``beta = argmin L`` subject to ``beta_i >= 0`` where ``s_i = 1``, ``beta_i <= 0`` where
      ``s_i = -1`` and ``beta_i = 0`` where ``|s_i| < 1`` (a non-negative least squares, scipy ``nnls``);
    * ``s`` moves linearly, ``s <- s - Delta g``, ``g = grad L(beta)``, and the next jump happens when an inactive
      coordinate reaches ``|s_i| = 1``: ``Delta = min_i (sign(-g_i) - s_i) / (-g_i)``;
    * it stops when no coordinate can reach the boundary; the last plateau is the min-ℓ1 interpolator.

    The mirror map ``1/2 arsinh(beta / alpha^2)`` behind it also sets the speed of convergence in ``alpha``: the
    finite-``alpha`` flow deviates by ``O(1 / ln(1/alpha))`` (tests: ~0.05 at ``alpha <= 1e-12``).

    Not jit-able (a data-dependent number of jumps); runs in numpy/scipy.

    Checked (`LayerwiseError`): ``X`` (n, d) with ``n, d >= 1``, ``y`` with ``n`` entries, both finite;
    ``max_jumps`` an int >= 1 or None; ``tol`` finite and ``> 0``.
    float32: not applicable: always computed in numpy float64, whatever the JAX setting.

    Args:
        X: samples as rows, (n, d).
        y: targets, (n,).
        max_jumps: safety cap on the number of jumps (default ``4 d``).
        tol: tolerance for "on the boundary" and "zero gradient".
    Returns:
        A `SaddleToSaddle` with the jump times (K,) and plateau values (K, d).

    Example:
        >>> import numpy as np
        >>> path = saddle_to_saddle(np.eye(3) * np.sqrt(3), np.sqrt(3) * np.array([2.0, 1.0, 0.5]))
        >>> [round(float(t), 6) for t in path.jump_times]  # orthogonal design: jumps at 1 / |beta*_i|
        [0.5, 1.0, 2.0]

    References:
        Pesme & Flammarion (2023), "Saddle-to-saddle dynamics in diagonal linear networks", NeurIPS, Theorem 1 and
        Algorithm 1.
    """
    name = "saddle_to_saddle"
    if checks.traced(X, y):
        raise LayerwiseError(f"{name} runs in numpy and cannot be traced (jit/vmap); call it on concrete arrays")
    X, y = (_numpy_float(name, n, v) for n, v in (("X", X), ("y", y)))
    y = y.reshape(-1)
    checks.ndim(name, "X", X, 2, "(n, d)")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise LayerwiseError(f"{name}: X must have shape (n, d) with n, d >= 1, got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise LayerwiseError(f"{name}: y must have n = {X.shape[0]} entries (from X (n, d)), got {y.size}")
    checks.finite(name, "X", X)
    checks.finite(name, "y", y)
    if max_jumps is not None:
        checks.positive_int(name, "max_jumps", max_jumps)
    checks.positive(name, "tol", np.asarray(tol, dtype=float))
    n, d = X.shape
    hessian, moment = X.T @ X / n, X.T @ y / n
    s = np.zeros(d)
    beta = np.zeros(d)
    time = 0.0
    times, plateaus = [], []
    for _ in range(max_jumps or 4 * d):
        gradient = hessian @ beta - moment
        inactive = np.abs(s) < 1.0
        moving = inactive & (np.abs(gradient) > tol)
        if not np.any(moving):
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            waits = np.where(moving, (np.sign(-gradient) - s) / -gradient, np.inf)
        wait = waits.min()
        time += wait
        s = np.where(inactive, s - wait * gradient, s)
        s = np.where(np.abs(s) >= 1.0 - tol, np.sign(s), s)  # the coordinate(s) that hit the boundary
        beta = _sign_constrained_least_squares(X, y, s)
        times.append(time)
        plateaus.append(beta)
    return SaddleToSaddle(np.asarray(times), np.asarray(plateaus).reshape(-1, d))


def _numpy_float(function: str, name: str, value) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise LayerwiseError(f"{function}: {name} must be a real numeric array, got {type(value).__name__}") from error


def _sign_constrained_least_squares(X: np.ndarray, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``argmin ||X beta - y||`` with ``sign(beta_i) = s_i`` (or 0) where ``|s_i| = 1`` and ``beta_i = 0`` elsewhere."""
    active = np.abs(s) == 1.0
    beta = np.zeros(X.shape[1])
    if np.any(active):
        magnitudes, _ = scipy.optimize.nnls(X[:, active] * s[active], y)
        beta[active] = s[active] * magnitudes
    return beta
