"""The no-hidden-layer baseline: a linear model has no feedback between layers, so it saturates exponentially."""

from __future__ import annotations

import jax.numpy as jnp

from layerwise._deprecation import renamed_arguments
from layerwise.theory import _checks as checks


@renamed_arguments(s="target_strength", theta0="init_scale", variance="input_variance")
def linear_mode(t, target_strength, init_scale=0.0, input_variance=1.0):
    r"""Weight of the plain linear model ``f(x) = sum_i theta_i x_i`` on a diagonal task, under gradient flow.

    .. math::  \dot\theta = -\mathbb E[x^2]\,(\theta - s)\quad\Longrightarrow\quad
               \theta(t) = s + (\theta_0 - s)\,e^{-\mathbb E[x^2]\,t}:

    exponential saturation at rate ``E[x^2]``, independent of the target ``s`` and with no plateau (Nam et al. 2025,
    §3.1; the contrast to the sigmoid of `saxe_mode`).

    Assumptions: uncorrelated inputs (a diagonal task, ``E[x_i x_j] = 0`` for ``i != j``), loss
    ``1/2 E (f - y)^2``, gradient flow with time constant 1 (GD at learning rate ``eta`` is at ``t = eta * step``).

    Args:
        t: times (any shape, broadcasts with the other arguments).
        target_strength: ``s``, the target weight ``S_i``.
        init_scale: ``theta_0``, the initial weight.
        input_variance: ``E[x_i^2]``.

    Returns:
        ``theta(t)`` with the broadcast shape of the arguments.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): shapes broadcast, all
    finite, ``t >= 0``, ``input_variance >= 0``. float32: allowed (one exponential, in the input dtype).

    Example:
        >>> round(float(linear_mode(1.0, 2.0)), 10)  # 2 (1 - e^{-1})
        1.2642411177

    References:
        Nam et al. (2025), "Position: solve layerwise linear models first ...", arXiv 2502.21009, §3.1.
    """
    name = "linear_mode"
    named = dict(t=t, target_strength=target_strength, init_scale=init_scale, input_variance=input_variance)
    arrays = {n: checks.finite(name, n, checks.as_array(name, n, a)) for n, a in named.items()}
    checks.broadcastable(name, **arrays)
    t = checks.positive(name, "t", arrays["t"], allow_zero=True)
    variance = checks.positive(name, "input_variance", arrays["input_variance"], allow_zero=True)
    s, theta0 = arrays["target_strength"], arrays["init_scale"]
    return s + (theta0 - s) * jnp.exp(-variance * t)
