r"""The single-neuron linear network of Kunin et al. (2024), "Get rich quick": exact dynamics for any imbalance.

``f(x) = a w^T x`` (``w`` in R^d, ``a`` scalar), whitened input ``E[x x^T] = I``, target ``y = beta*^T x + noise``.
Gradient flow ``tau w' = -a (beta - beta*)``, ``tau a' = -w^T (beta - beta*)`` (``beta = a w``) conserves

.. math::  \delta = a^2 - \|w\|^2,

and the function moves with the NTK ``K = a^2 I + w w^T``: ``delta -> +inf`` is lazy linear regression
(``K ~ a^2 I``), ``delta -> -inf`` lazy along a fixed direction (``K ~ w w^T``), ``delta ~ 0`` rich (sigmoidal).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from layerwise.errors import LayerwiseError
from layerwise.theory import _checks as checks
from layerwise.theory._numerics import log_expm1_over

_NAME = "kunin_single_neuron"


def kunin_single_neuron(
    t: ArrayLike, w0: ArrayLike, a0: ArrayLike, beta_star: ArrayLike, tau: ArrayLike = 1.0
) -> tuple[Array, Array]:
    r"""Exact ``w(t), a(t)`` of the single-neuron network ``f(x) = a w^T x`` from any ``(w0, a0)``.

    The network is a two-layer linear net with one hidden unit (``W1 = w^T``, ``W2 = [[a]]``); one hidden unit is
    always λ-balanced with ``lambda = delta`` and has no hidden-basis freedom, so with ``q = (w, a)`` and
    ``x = t / tau`` the Riccati solution of `lambda_balanced_solution` is explicit:

    .. math::  q(t) = \frac{e^{Fx}q_0}{\sqrt{1 + q_0^\top G(x)\,q_0}},\qquad
               F = \begin{bmatrix}-\frac\delta2 I_d & \beta_*\\ \beta_*^\top & \frac\delta2\end{bmatrix},\quad
               G(x) = \int_0^x e^{2Fs}ds .

    ``F`` has eigenvalues ``±sqrt(||beta*||^2 + delta^2/4)`` on ``span{beta*, e_a}`` and ``-delta/2`` elsewhere (the
    rate ``D/2`` of the notebook's ``nu(t) = (-delta + D tanh(D t/2 + artanh((delta + 2 nu0)/D)))/2``,
    ``nu = (w/a)^T beta*``). Evaluated in F's eigenbasis with every exponential taken in the log domain
    (``log(1 + sum_k c_k^2 (e^{2 mu_k x} - 1)/(2 mu_k))`` by log-sum-exp), so it neither overflows nor loses accuracy
    at long times.

    Assumptions: whitened input, equal learning rates for ``w`` and ``a`` (the engine's gradient flow), any
    ``delta``, scale and alignment. (Exactly anti-aligned starts with ``a0 w0^T beta* < 0`` and
    ``w0 || beta*`` sit on the stable manifold of the saddle ``q = 0`` and are handled like any other start.)

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): ``w0`` (d,), ``a0`` a
    scalar, ``beta_star`` (d,) of the same ``d``, ``tau`` broadcastable with ``t``; all finite; ``t >= 0``,
    ``tau > 0``.

    float32: refused (`LayerwiseError`): the eigenbasis of ``F`` and the log-domain exponentials lose ~1e-3 of
    ``|beta|`` in float32 (measured), far above the 1e-8 the closed form is checked to.

    Args:
        t: times, any shape (...).
        w0: first-layer weights at 0, (d,).
        a0: second-layer weight at 0, scalar.
        beta_star: the regression target ``E[x y]`` (d,) (``Sigma_yx`` as a vector).
        tau: time constant of ``tau d(theta)/dt = -grad L``.
    Returns:
        ``(w, a)`` with shapes ``(..., d)`` and ``(...)``; ``beta(t) = a w``.

    Example:
        >>> import jax.numpy as jnp
        >>> a0 = 1.004939  # oracle value: beta0 = a0 w0 = (-0.1, 0), delta = a0^2 - |w0|^2 = +1
        >>> w, a = kunin_single_neuron(1.0, jnp.array([-0.1 / a0, 0.0]), a0, jnp.array([0.0, 1.0]))
        >>> [round(float(v), 4) for v in a * w]  # beta(1) = (-0.036305, 0.738548)
        [-0.0363, 0.7385]

    References:
        Kunin, Raventós, Dominé, Chen, Klindt, Saxe & Ganguli (2024), "Get rich quick: exact solutions reveal how
        unbalanced initializations promote rapid feature learning", NeurIPS, §3; code
        ``allanraventos/getrichquick:single-neuron/Single_Neuron.ipynb``.
    """
    named = dict(t=t, w0=w0, a0=a0, beta_star=beta_star, tau=tau)
    arrays = {name: checks.as_array(_NAME, name, value) for name, value in named.items()}
    checks.require_float64(_NAME, "the closed form is checked to 1e-8 against the flow", **arrays)
    checks.ndim(_NAME, "w0", arrays["w0"], 1, "(d,)")
    checks.ndim(_NAME, "a0", arrays["a0"], 0, "() (a scalar)")
    d = arrays["w0"].shape[0]
    if arrays["beta_star"].shape != (d,):
        raise LayerwiseError(f"{_NAME}: beta_star must have shape (d,) = ({d},) like w0, got shape "
                             f"{tuple(arrays['beta_star'].shape)}")
    checks.broadcastable(_NAME, t=arrays["t"], tau=arrays["tau"])
    arrays = {name: checks.finite(_NAME, name, value) for name, value in arrays.items()}
    arrays["t"] = checks.positive(_NAME, "t", arrays["t"], allow_zero=True)
    arrays["tau"] = checks.positive(_NAME, "tau", arrays["tau"])
    return _kunin_single_neuron(*arrays.values())


@jax.jit
def _kunin_single_neuron(t, w0, a0, beta_star, tau):
    dtype = jnp.result_type(float, t, a0, tau, w0, beta_star)
    x = (t / tau).astype(dtype)
    d = w0.shape[-1]
    delta = a0 * a0 - jnp.sum(w0 * w0)
    coupling = jnp.zeros((d + 1, d + 1), dtype).at[:d, :d].set(-0.5 * delta * jnp.eye(d, dtype=dtype))
    coupling = coupling.at[:d, d].set(beta_star).at[d, :d].set(beta_star).at[d, d].set(0.5 * delta)
    mu, basis = jnp.linalg.eigh(coupling)
    coords = basis.T @ jnp.concatenate([w0, a0[None]]).astype(dtype)  # (d + 1,)

    xs = x[..., None]  # (..., 1) against the eigen-axis (d + 1,)
    mu_b = mu.reshape((1,) * x.ndim + mu.shape)
    log_c2 = jnp.log(coords * coords).reshape(mu_b.shape)
    # log G_k(x) = log x + log((e^{2 mu_k x} - 1) / (2 mu_k x)); log A = log(1 + sum_k c_k^2 G_k).
    log_g = jnp.log(xs) + log_expm1_over(2.0 * mu_b * xs)
    terms = jnp.concatenate([jnp.zeros_like(xs), log_c2 + log_g], axis=-1)
    log_a = jax.nn.logsumexp(terms, axis=-1, keepdims=True)
    scaled = jnp.sign(coords).reshape(mu_b.shape) * jnp.exp(0.5 * log_c2 + mu_b * xs - 0.5 * log_a)
    q = scaled @ basis.T  # (..., d + 1)
    return q[..., :d], q[..., d]
