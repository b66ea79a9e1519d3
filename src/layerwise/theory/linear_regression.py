"""The no-hidden-layer baseline: a linear model has no feedback between layers, so it saturates exponentially."""

from __future__ import annotations

import jax.numpy as jnp

from layerwise.theory import _checks as checks


def linear_mode(t, s, theta0=0.0, variance=1.0):
    r"""Weight of the plain linear model ``f(x) = sum_i theta_i x_i`` on a diagonal task, under gradient flow.

    ``d(theta)/dt = -E[x^2] (theta - s)`` gives ``theta(t) = s + (theta0 - s) exp(-E[x^2] t)``: exponential
    saturation at rate ``E[x^2]``, independent of the target ``s`` and with no plateau (Nam et al. 2025, §3.1; the
    contrast to the sigmoid of `saxe_mode`).

    Args:
        t: times (any shape, broadcasts with the other arguments).
        s: target weight ``S_i``.
        theta0: initial weight.
        variance: input variance ``E[x_i^2]``.

    Checked (`LayerwiseError` for concrete inputs, ``equinox.error_if`` under jit/vmap): shapes broadcast, all
    finite, ``t >= 0``, ``variance >= 0``. float32: allowed (one exponential, in the input dtype).
    """
    name = "linear_mode"
    named = dict(t=t, s=s, theta0=theta0, variance=variance)
    arrays = {n: checks.finite(name, n, checks.as_array(name, n, a)) for n, a in named.items()}
    checks.broadcastable(name, **arrays)
    t = checks.positive(name, "t", arrays["t"], allow_zero=True)
    variance = checks.positive(name, "variance", arrays["variance"], allow_zero=True)
    s, theta0 = arrays["s"], arrays["theta0"]
    return s + (theta0 - s) * jnp.exp(-variance * t)
