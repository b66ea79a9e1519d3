r"""Neural collapse in the unconstrained-features model (UFM) with MSE and weight decay: the global minimiser.

Features ``H`` (N, d) (one row per sample, free parameters), classifier ``W`` (C, d), optional bias ``b`` (C,),
one-hot targets ``Y`` (N, C) for ``n`` samples per class (``N = C n``, class-major order: sample ``i`` is in class
``i // n``):

.. math::  \mathcal L = \frac1{2N}\|HW^\top + \mathbf 1 b^\top - Y\|_F^2 + \frac{\lambda_W}2\|W\|_F^2
           + \frac{\lambda_H}2\|H\|_F^2 .

Because
:math:`\min_{HW^\top = Z}\tfrac{\lambda_W}2\|W\|^2 + \tfrac{\lambda_H}2\|H\|^2 = \sqrt{\lambda_W\lambda_H}\|Z\|_*`,
the problem is singular-value soft-thresholding of the (centred, with a bias) targets, whose non-zero singular values
all equal ``sqrt(n)``: every one shrinks by the same factor

.. math::  \rho = \big(1 - C\sqrt{n\lambda_W\lambda_H}\big)_+ .

Without bias the classifier rows form an orthogonal frame (OF, ``W W^T ∝ I``), with an unregularised bias a simplex
equiangular tight frame (ETF, ``W W^T ∝ I - 11^T/C``); features collapse to their class means (NC1) and are
proportional to the classifier (NC3, self-duality).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array

from layerwise.errors import LayerwiseError
from layerwise.theory import _checks as checks


class UFMMinimizer(NamedTuple):
    """A global minimiser of the MSE-UFM: classifier ``W`` (C, d), features ``H`` (N, d), bias ``b`` (C,), and the
    shrinkage ``rho`` of each target mode (see `ufm_mse_minimizer`)."""

    W: Array
    H: Array
    b: Array
    rho: Array


def ufm_collapse_factor(n_per_class: int, n_classes: int, lambda_W, lambda_H) -> Array:
    r"""``rho = (1 - C sqrt(n lambda_W lambda_H))_+``: the fitted fraction of each target mode at the minimiser.

    .. math::  \rho = \big(1 - C\sqrt{n\,\lambda_W\lambda_H}\big)_+

    Assumptions: the MSE unconstrained-features model of the module docstring (loss ``1/(2N) ||H W^T + 1 b^T -
    Y||^2`` plus ``lambda_W/2 ||W||^2 + lambda_H/2 ||H||^2``), balanced classes of ``n`` samples, with or without an
    unregularised bias (the same ``rho``).

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): ``n_per_class``,
    ``n_classes`` ints >= 1; ``lambda_W``, ``lambda_H`` finite, ``> 0``, broadcastable.
    float32: allowed (one square root, in the input dtype).

    Args:
        n_per_class: samples per class ``n``.
        n_classes: classes ``C``.
        lambda_W, lambda_H: weight decays of the classifier and the features (broadcast together).
    Returns:
        ``rho`` in ``[0, 1)``, the broadcast shape of ``lambda_W`` and ``lambda_H``.

    Example:
        >>> round(float(ufm_collapse_factor(10, 4, 1e-3, 1e-3)), 10)  # 1 - 4 sqrt(10 * 1e-6)
        0.9873508894

    References:
        Zhou, Li, Ding, You, Qu & Zhu (2022), "On the optimization landscape of neural collapse under MSE loss",
        ICML; Tirer & Bruna (2022), "Extended unconstrained features model for exploring deep neural collapse", ICML.
    """
    lambda_W, lambda_H = _decays("ufm_collapse_factor", n_per_class, n_classes, lambda_W, lambda_H)
    return jnp.maximum(0.0, 1.0 - n_classes * jnp.sqrt(n_per_class * lambda_W * lambda_H))


def ufm_network_minimum(n_classes: int, weight_decay) -> tuple[Array, Array]:
    r"""``(rho, minimum objective)`` of the bias-free MSE-UFM as a two-layer linear net with whitened one-hot inputs.

    Objective ``1/(2N) ||W_2 W_1 X^T - Y||_F^2 + wd/2 (||W_1||^2 + ||W_2||^2)`` with ``X = sqrt(N) I`` and balanced
    classes (the features are ``H = sqrt(N) W_1``). In UFM units ``lambda_W = wd``, ``lambda_H = wd/N``, so
    `ufm_collapse_factor` gives ``rho = (1 - wd sqrt(C))_+`` for any class size; the minimiser has ``W H = rho Y``
    and ``W W^T = rho/sqrt(C) I_C`` (an orthogonal frame), at objective ``(1 - rho)^2 / 2 + wd sqrt(C) rho``
    (Tirer & Bruna 2022; Zhou et al. 2022).

    Checked as `ufm_collapse_factor` (``n_classes`` an int >= 1, ``weight_decay`` finite and ``> 0``).

    Example:
        >>> [round(float(v), 12) for v in ufm_network_minimum(4, 0.05)]
        [0.9, 0.095]
    """
    rho = ufm_collapse_factor(1, n_classes, weight_decay, weight_decay / n_classes)
    return rho, 0.5 * (1 - rho) ** 2 + weight_decay * jnp.sqrt(n_classes) * rho


def _decays(function: str, n_per_class, n_classes, lambda_W, lambda_H):
    checks.positive_int(function, "n_per_class", n_per_class)
    checks.positive_int(function, "n_classes", n_classes)
    lambda_W, lambda_H = (checks.positive(function, n, checks.as_array(function, n, v))
                          for n, v in (("lambda_W", lambda_W), ("lambda_H", lambda_H)))
    checks.broadcastable(function, lambda_W=lambda_W, lambda_H=lambda_H)
    return lambda_W, lambda_H


def ufm_mse_minimizer(
    n_per_class: int, n_classes: int, feature_dim: int, lambda_W, lambda_H, *, bias: bool = False
) -> UFMMinimizer:
    r"""One global minimiser of the MSE unconstrained-features model with weight decay (closed form).

    * no bias: :math:`HW^\top = \rho Y`, :math:`WW^\top = \sqrt{\lambda_H/\lambda_W}\,\rho\sqrt n\,I_C` (OF);
    * unregularised bias: :math:`b = \mathbf 1/C`, :math:`HW^\top = \rho(Y - \mathbf 1\mathbf 1^\top/C)`,
      :math:`WW^\top = \sqrt{\lambda_H/\lambda_W}\,\rho\sqrt n\,(I_C - \mathbf 1\mathbf 1^\top/C)` (simplex ETF).

    With a frame ``F`` (C, d) (``[I_C, 0]`` without bias; an orthonormal basis of ``1^⊥`` padded with zeros with
    bias), ``W = kappa_W F`` and ``H = kappa_H Y F`` with ``kappa_W^2 = sqrt(lambda_H / lambda_W) rho sqrt(n)`` and
    ``kappa_H^2 = sqrt(lambda_W / lambda_H) rho / sqrt(n)``: the balanced factorisation that attains the nuclear-norm
    bound (``lambda_W ||W||^2 = lambda_H ||H||^2``). Every other global minimiser differs by a rotation of the
    feature space (``W -> W O``, ``H -> H O``).

    Assumptions: balanced classes, ``feature_dim >= C`` (``>= C - 1`` with bias), the objective of the module
    docstring (mean over samples; a sum instead rescales ``lambda``).

    Checked (`LayerwiseError`; ``equinox.error_if`` for traced decays): ``n_per_class``, ``n_classes``,
    ``feature_dim`` ints >= 1 with ``feature_dim`` as above; ``lambda_W``, ``lambda_H`` finite scalars ``> 0``;
    ``bias`` a bool. float32: allowed (closed form in the default float dtype).

    Args:
        n_per_class: ``n``; n_classes: ``C``; feature_dim: ``d``.
        lambda_W, lambda_H: weight decays ``> 0``.
        bias: include an unregularised bias.
    Returns:
        `UFMMinimizer` ``(W, H, b, rho)``.

    Example:
        >>> m = ufm_mse_minimizer(25, 4, 8, 5e-3, 5e-3)  # oracle: rho = 0.9, W W^T = 4.5 I
        >>> round(float(m.rho), 12), round(float((m.W @ m.W.T)[0, 0]), 12)
        (0.9, 4.5)

    References:
        Tirer & Bruna (2022), "Extended unconstrained features model for exploring deep neural collapse", ICML;
        Zhou, Li, Ding, You, Qu & Zhu (2022), "On the optimization landscape of neural collapse under MSE loss",
        ICML; Mixon, Parshall & Pi (2020) (no weight decay).
    """
    name = "ufm_mse_minimizer"
    lambda_W, lambda_H = _decays(name, n_per_class, n_classes, lambda_W, lambda_H)
    checks.ndim(name, "lambda_W", lambda_W, 0, "() (a scalar)")
    checks.ndim(name, "lambda_H", lambda_H, 0, "() (a scalar)")
    checks.positive_int(name, "feature_dim", feature_dim)
    if not isinstance(bias, bool):
        raise LayerwiseError(f"{name}: bias must be a bool, got {bias!r}")
    minimum_dim = n_classes - 1 if bias else n_classes
    if feature_dim < minimum_dim:
        raise LayerwiseError(
            f"feature_dim must be >= {minimum_dim} for {n_classes} classes (bias={bias}); got {feature_dim}"
        )
    dtype = jnp.result_type(float)
    rho = ufm_collapse_factor(n_per_class, n_classes, lambda_W, lambda_H).astype(dtype)
    if bias:
        # Orthonormal basis of the complement of 1: QR of [1, I] puts 1 in the first column, 1^⊥ in the next C - 1.
        q, _ = np.linalg.qr(np.concatenate([np.ones((n_classes, 1)), np.eye(n_classes)], axis=1))
        basis = q[:, 1:n_classes]
    else:
        basis = np.eye(n_classes)
    frame = jnp.asarray(np.pad(basis, ((0, 0), (0, feature_dim - basis.shape[1]))), dtype)
    labels = jnp.repeat(jnp.eye(n_classes, dtype=dtype), n_per_class, axis=0)  # Y (N, C), class-major
    ratio = jnp.sqrt(jnp.asarray(lambda_H, dtype) / jnp.asarray(lambda_W, dtype))
    kappa_W = jnp.sqrt(ratio * rho * np.sqrt(n_per_class))
    kappa_H = jnp.sqrt(rho / (ratio * np.sqrt(n_per_class)))
    b = jnp.full(n_classes, 1.0 / n_classes if bias else 0.0, dtype)
    return UFMMinimizer(W=kappa_W * frame, H=kappa_H * (labels @ frame), b=b, rho=rho)
