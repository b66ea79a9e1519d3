r"""Emergence and scaling laws in the skill-basis model of Nam et al. (2024): sigmoidal skills + power-law frequencies.

Skills ``g_k`` are orthogonal with ``E[g_k^2] = p_k`` (the frequency of task ``k``), the target is
``f* = S sum_k g_k`` and the model is ``f = sum_{k <= N} a_k b_k g_k`` (a two-layer diagonal linear network in the skill
basis: ``DiagonalLinearNetwork`` on ``diagonal_task(S * ones, input_variances=p)``), with loss

.. math::  \mathcal L = \tfrac12\sum_k p_k\,(S - R_k)^2,\qquad R_k = a_k b_k .

With learning rate ``eta`` and balanced init ``a_k = b_k``, each skill strength is a Saxe sigmoid with time constant
``1 / (eta p_k)``: :math:`\dot R_k = 2\eta p_k R_k (S - R_k)`. Skills emerge one after another at
``t_k ~ ln(S/R_0) / (2 eta S p_k)``; with Zipf frequencies ``p_k ∝ k^{-(alpha+1)}`` the sum of these sigmoids gives
power-law loss curves in time, data and parameters.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
from jax import Array
from jax.typing import ArrayLike

from layerwise.errors import LayerwiseError, check_choice, check_positive
from layerwise._deprecation import renamed_arguments
from layerwise.theory import _checks as checks
from layerwise.theory.saxe import saxe_mode

BOTTLENECKS = ("time", "data", "parameters", "compute")


def _frequencies(function: str, p, *, allow_zero: bool = False):
    """``p`` (K,) with every entry in (0, 1] (``[0, 1]`` with ``allow_zero``), finite."""
    p = checks.ndim(function, "p", checks.as_array(function, "p", p), 1, "(K,)")
    if p.shape[0] == 0:
        raise LayerwiseError(f"{function}: p must have shape (K,) with K >= 1, got shape {tuple(p.shape)}")
    p = checks.positive(function, "p", p, allow_zero=allow_zero, why=" (skill frequencies)")
    xp, (values,) = checks.values(p)
    return checks.satisfies(function, "p", p, values <= 1.0, "<= 1 (skill frequencies)", values)


def _scalar(function: str, name: str, value, check=checks.finite, **options):
    return check(function, name, checks.as_array(function, name, value), **options)


def skill_frequencies(n_skills: int, alpha: float) -> Array:
    r"""Zipf task frequencies ``p_k = k^{-(alpha+1)} / Z``, ``Z = sum_{j <= n_skills} j^{-(alpha+1)}``, (n_skills,).

    .. math::  p_k = \frac{k^{-(\alpha+1)}}{\sum_{j=1}^{K} j^{-(\alpha+1)}},\qquad k = 1, \dots, K .

    Assumptions: the multitask sparse-parity setting of Michaud et al. (2023), whose task ``k`` is drawn with Zipf
    probability ``p_k`` (Nam et al. 2024, §2); ``alpha > 0`` gives the power-law losses of `scaling_exponents`.

    Checked: ``n_skills`` an int >= 1, ``alpha`` finite (`LayerwiseError`).
    float32: allowed (with x64 off the frequencies are float32; the sum runs in that dtype).

    Args:
        n_skills: number of skills ``K``.
        alpha: Zipf exponent (frequencies fall as ``k^{-(alpha+1)}``).
    Returns:
        ``p``, (n_skills,), summing to 1.

    Example:
        >>> [round(float(v), 6) for v in skill_frequencies(3, 1.0)]  # 1, 1/4, 1/9 normalised
        [0.734694, 0.183673, 0.081633]

    References:
        Nam, Fonseca, Lee, Mingard & Louis (2024), "An exactly solvable model for emergence and scaling laws in the
        multitask sparse parity problem", NeurIPS, §2; Michaud et al. (2023), "The quantization model of neural
        scaling", NeurIPS.
    """
    checks.positive_int("skill_frequencies", "n_skills", n_skills)
    return _skill_frequencies(int(n_skills), _scalar("skill_frequencies", "alpha", alpha))


@functools.partial(jax.jit, static_argnums=0)
def _skill_frequencies(n_skills: int, alpha):  # one compiled program per K, not one per operation
    k = jnp.arange(1, n_skills + 1, dtype=jnp.result_type(float))
    weights = k ** (-(alpha + 1.0))
    return weights / jnp.sum(weights)


@renamed_arguments(S="target_strength", R0="init_scale")
def skill_strength(
    t: ArrayLike, p: ArrayLike, target_strength: ArrayLike = 1.0, init_scale: ArrayLike = 1e-6, eta: ArrayLike = 1.0
) -> Array:
    r"""Skill strengths ``R_k(t)`` (sigmoidal emergence of each skill).

    .. math::  \frac{R_k(t)}{S} = \frac{1}{1 + (S/R_0 - 1)\,e^{-2\eta p_k S t}}
               \qquad(\text{half-time } t_{1/2,k} = \ln(S/R_0 - 1)/(2\eta p_k S)).

    Assumptions: orthogonal skills, balanced init ``a_k(0) = b_k(0) = sqrt(R_0)``, gradient flow at learning rate
    ``eta`` on ``1/2 sum_k p_k (S - a_k b_k)^2`` (evaluated by `saxe_mode` with ``tau = 1 / (eta p_k)``).

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): ``p`` (K,) in (0, 1];
    ``t >= 0``, ``init_scale > 0``, ``eta > 0``, ``target_strength`` finite, broadcastable against the output (..., K).

    float32: allowed (depth-2 `saxe_mode`, a well-conditioned closed form, in the input dtype).

    Args:
        t: times, shape (...).
        p: skill frequencies, (K,).
        target_strength: ``S``, the target skill strength; init_scale: ``R_0``, the initial strength ``a_k b_k``;
            eta: learning rate (scalars).
    Returns:
        ``R``, shape (..., K).

    Example:
        >>> p = skill_frequencies(200_000, 0.5)
        >>> round(float(1.0 / p[0]), 7)  # Z = sum_{k <= 200000} k^{-3/2}
        2.6079032
        >>> round(float(skill_strength(18.015, p[:1])[0]), 3)  # skill 1 is half learned at t = 18.015
        0.5

    References:
        Nam, Fonseca, Lee, Mingard & Louis (2024), "An exactly solvable model for emergence and scaling laws in the
        multitask sparse parity problem", NeurIPS; Nam et al. (2025) §4.
    """
    t, p, S, R0, eta = _skill_arguments("skill_strength", t, p, target_strength, init_scale, eta)
    times = t[..., None]
    rates = p.reshape((1,) * t.ndim + p.shape)
    return saxe_mode(times, S, R0, depth=2, tau=1.0 / (eta * rates))


def _skill_arguments(function: str, t, p, S, R0, eta) -> list:
    t = checks.positive(function, "t", checks.as_array(function, "t", t), allow_zero=True)
    p = _frequencies(function, p)
    S = _scalar(function, "target_strength", S)
    R0 = _scalar(function, "init_scale", R0, checks.positive)
    eta = _scalar(function, "eta", eta, checks.positive)
    checks.shapes_broadcast(function, **{"R(t) (..., K)": t.shape + p.shape, "target_strength": S.shape,
                                         "init_scale": R0.shape,
                                         "eta": eta.shape})
    return [t, p, S, R0, eta]


@renamed_arguments(S="target_strength", R0="init_scale")
def loss_vs_time(T: ArrayLike, p: ArrayLike, target_strength: ArrayLike = 1.0, init_scale: ArrayLike = 1e-6,
                 eta: ArrayLike = 1.0) -> Array:
    r"""Loss after training time ``T`` (unlimited data and parameters): ``1/2 sum_k p_k (S - R_k(T))^2``.

    .. math::  \mathcal L(T) = \tfrac12\sum_k p_k\,\big(S - R_k(T)\big)^2

    with ``R_k`` from `skill_strength`; asymptotically ``∝ T^{-alpha/(alpha+1)}`` for ``p_k ∝ k^{-(alpha+1)}``
    (see `asymptotic_loss`). Assumptions, args and checks as in `skill_strength` (``T >= 0``); ``T`` any shape,
    ``p`` (K,); returns the shape of ``T``. float32: allowed (as `skill_strength`).

    Example:
        >>> p = skill_frequencies(3, 1.0)
        >>> round(float(loss_vs_time(0.0, p)), 6), round(float(loss_vs_time(100.0, p, init_scale=1e-3)), 10)
        (0.499999, 3e-10)

    References:
        Nam, Fonseca, Lee, Mingard & Louis (2024), NeurIPS, §3 (time bottleneck).
    """
    T, p, S, R0, eta = _skill_arguments("loss_vs_time", T, p, target_strength, init_scale, eta)
    gap = S - skill_strength(T, p, S, R0, eta)
    return 0.5 * jnp.sum(p.reshape((1,) * T.ndim + p.shape) * gap * gap, axis=-1)


@renamed_arguments(S="target_strength")
def loss_vs_data(D: ArrayLike, p: ArrayLike, target_strength: ArrayLike = 1.0) -> Array:
    r"""Loss with ``D`` training samples (unlimited time and parameters): ``1/2 S^2 sum_k p_k (1 - p_k)^D``.

    .. math::  \mathcal L(D) = \tfrac12 S^2 \sum_k p_k\,(1 - p_k)^D

    Assumptions: a skill is learned iff its task occurs at least once among ``D`` samples (one-shot learning, time
    and parameters unlimited), which happens with probability ``1 - (1 - p_k)^D``. Asymptotically
    ``∝ D^{-alpha/(alpha+1)}`` for Zipf frequencies.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): ``D >= 0`` finite,
    ``p`` (K,) in [0, 1], ``target_strength`` finite. float32: allowed (``exp(D log1p(-p))``, in the input dtype).

    Args:
        D: numbers of samples, shape (...).
        p: skill frequencies (K,); target_strength: ``S``.
    Returns:
        Shape of ``D``.

    Example:
        >>> p = skill_frequencies(3, 1.0)
        >>> round(float(loss_vs_data(0.0, p)), 10), round(float(loss_vs_data(10.0, p)), 10)
        (0.5, 0.0294871959)

    References:
        Nam, Fonseca, Lee, Mingard & Louis (2024), NeurIPS, §3 (data bottleneck).
    """
    D = checks.positive("loss_vs_data", "D", checks.as_array("loss_vs_data", "D", D), allow_zero=True)
    p = _frequencies("loss_vs_data", p, allow_zero=True)
    S = _scalar("loss_vs_data", "target_strength", target_strength)
    checks.broadcastable("loss_vs_data", D=D, target_strength=S)
    return _loss_vs_data(D, p, S)


@jax.jit
def _loss_vs_data(D, p, S):
    p = p.reshape((1,) * D.ndim + p.shape)
    unseen = jnp.exp(D[..., None] * jnp.log1p(-p))
    return 0.5 * S * S * jnp.sum(p * unseen, axis=-1)


@renamed_arguments(S="target_strength")
def loss_vs_parameters(N: ArrayLike, p: ArrayLike, target_strength: ArrayLike = 1.0) -> Array:
    r"""Loss of a model holding the ``N`` most frequent skills (unlimited time and data):
    ``1/2 S^2 sum_{k > N} p_k``. Asymptotically ``∝ N^{-alpha}``.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): ``N`` non-negative
    integers (``N > K`` counts as ``K``), ``p`` (K,) in [0, 1] and non-increasing, ``target_strength`` finite.
    float32: allowed (the tail is summed from the small end, in the input dtype).

    Args:
        N: numbers of skills the model can hold (non-negative integers), shape (...).
        p: skill frequencies sorted in decreasing order (K,); target_strength: ``S``.
    Returns:
        Shape of ``N``.
    """
    name = "loss_vs_parameters"
    N = checks.as_array(name, "N", N)
    xp, (n_values,) = checks.values(N)
    N = checks.satisfies(name, "N", N, xp.isfinite(n_values) & (n_values >= 0) & (n_values == xp.round(n_values)),
                         "non-negative integers", n_values)
    p = _frequencies(name, p, allow_zero=True)
    xp, (p_values,) = checks.values(p)
    p = checks.satisfies(name, "p", p, xp.concatenate([xp.ones(1, bool), xp.diff(p_values) <= 0]),
                         "sorted in non-increasing order (most frequent skill first)", p_values)
    S = _scalar(name, "target_strength", target_strength)
    checks.broadcastable(name, N=N, target_strength=S)
    return _loss_vs_parameters(N, p, S)


@jax.jit
def _loss_vs_parameters(N, p, S):
    # tail[n] = sum_{k > n} p_k, summed from the small end so the long tail keeps its relative accuracy.
    tail = jnp.concatenate([jnp.cumsum(p[::-1])[::-1], jnp.zeros(1, p.dtype)])
    index = jnp.clip(jnp.asarray(N).astype(jnp.int32), 0, p.shape[0])
    return 0.5 * S * S * tail[index]


def scaling_exponents(alpha: float) -> dict[str, float]:
    r"""Asymptotic exponents of ``L ∝ x^{exponent}`` for ``p_k ∝ k^{-(alpha+1)}`` (Nam et al. 2024, Table 2).

    .. math::  \mathcal L \propto T^{-\frac{\alpha}{\alpha+1}},\quad D^{-\frac{\alpha}{\alpha+1}},\quad
               N^{-\alpha},\quad C^{-\frac{\alpha}{\alpha+2}}

    for time, data, parameters and compute (``C = N T`` at the optimal allocation ``T ~ N^{alpha+1}``).

    Assumptions: the skill-basis model with Zipf frequencies (`skill_frequencies`), many skills, one bottleneck at a
    time (the others unlimited).

    Checked: ``alpha`` a finite number ``> 0`` (`LayerwiseError`). float32: not applicable (Python floats).

    Args:
        alpha: Zipf exponent ``> 0``.
    Returns:
        ``{"time", "data", "parameters", "compute"}`` -> exponent (Python floats).

    Example:
        >>> scaling_exponents(1.0)["compute"]
        -0.3333333333333333

    References:
        Nam, Fonseca, Lee, Mingard & Louis (2024), NeurIPS, Table 2.
    """
    check_positive("alpha", alpha)
    return {
        "time": -alpha / (alpha + 1.0),
        "data": -alpha / (alpha + 1.0),
        "parameters": -alpha,
        "compute": -alpha / (alpha + 2.0),
    }


@renamed_arguments(S="target_strength", R0="init_scale")
def asymptotic_loss(
    x: ArrayLike,
    bottleneck: str,
    alpha: float,
    target_strength: float = 1.0,
    init_scale: float = 1e-6,
    eta: float = 1.0,
    normalizer: float | None = None,
) -> Array:
    r"""Leading-order power law of the loss in one bottleneck (Nam et al. 2024, Table 2; prefactors derived below).

    With ``Z`` the Zipf normaliser (``zeta(alpha + 1)`` for infinitely many skills):

    * time: :math:`\frac{S^2}{2\alpha Z}k_*^{-\alpha}`,
      :math:`k_* = \big(\frac{2\eta S T}{Z\ln(S/R_0)}\big)^{1/(\alpha+1)}`
      (skills with ``t_k < T`` learned, the rest not: a step approximation, so the prefactor is rough);
    * data: :math:`\frac{S^2\,\Gamma(\frac{\alpha}{\alpha+1})}{2Z(\alpha+1)}\big(\frac{Z}{D}\big)^{\alpha/(\alpha+1)}`;
    * parameters: :math:`\frac{S^2}{2\alpha Z}N^{-\alpha}`.

    Args:
        x: ``T``, ``D`` or ``N`` values.
        bottleneck: ``"time"``, ``"data"`` or ``"parameters"``.
        alpha: Zipf exponent (``p_k ∝ k^{-(alpha+1)}``), ``> 0``.
        target_strength, init_scale, eta: ``S``, the initial strength ``R_0`` and the learning rate (``R_0`` and
            ``eta`` matter for time only).
        normalizer: ``Z``; default ``zeta(alpha + 1)``.
    Returns:
        The asymptotic loss, shape of ``x``.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): ``bottleneck``; ``x > 0``,
    ``alpha > 0``, ``normalizer > 0``, ``target_strength`` finite; for ``"time"`` also ``eta > 0`` and
    ``0 < init_scale < target_strength``.
    float32: allowed (power laws, evaluated in the default float dtype).

    Example:
        >>> round(float(asymptotic_loss(1000.0, "parameters", 0.5, normalizer=2.6079032)), 6)  # S^2/(2 alpha Z N^alpha)
        0.012126
    """
    name = "asymptotic_loss"
    check_choice("bottleneck", bottleneck, BOTTLENECKS[:3])
    x = checks.positive(name, "x", jnp.asarray(checks.as_array(name, "x", x), dtype=jnp.result_type(float)))
    alpha = _scalar(name, "alpha", alpha, checks.positive)
    S, R0 = _scalar(name, "target_strength", target_strength), init_scale
    if normalizer is not None:
        normalizer = _scalar(name, "normalizer", normalizer, checks.positive)
    if bottleneck == "time":
        eta = _scalar(name, "eta", eta, checks.positive)
        R0 = _scalar(name, "init_scale", R0, checks.positive)
        xp, (r0_values, s_values) = checks.values(R0, S)
        R0 = checks.satisfies(name, "init_scale", R0, r0_values < s_values,
                              "< target_strength (the time law needs ln(S/R0) > 0)", r0_values)
    z = jsp.zeta(alpha + 1.0, 1.0) if normalizer is None else normalizer
    if bottleneck == "parameters":
        return S * S / (2.0 * alpha * z) * x ** (-alpha)
    if bottleneck == "data":
        exponent = alpha / (alpha + 1.0)
        return S * S * jnp.exp(jsp.gammaln(exponent)) / (2.0 * z * (alpha + 1.0)) * (z / x) ** exponent
    k_star = (2.0 * eta * S * x / (z * jnp.log(S / R0))) ** (1.0 / (alpha + 1.0))
    return S * S / (2.0 * alpha * z) * k_star ** (-alpha)
