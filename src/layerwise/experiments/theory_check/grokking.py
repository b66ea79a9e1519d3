"""Family 4 of ``theory-check``: the grokking toy ``f = (1/Z) sum_i a_i b_i x`` (Nam et al. 2025, §7): the rescaling
``g(t)`` of ``a + b`` and ``a - b`` over time, and its limit ``gamma_+``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np

from layerwise import data, theory
from layerwise.compare import max_relative_errors
from layerwise.experiments.theory_check.solution import (
    PLOTTED_COMPONENTS,
    Solution,
    family_rng,
    first_layer,
    run_flow,
    second_layer,
)
from layerwise.metrics import exponential_times
from layerwise.models import DeepLinearNetwork

if TYPE_CHECKING:
    from layerwise.experiments.theory_check import TheoryCheckConfig


def grokking_family(config: TheoryCheckConfig, seed: int) -> list[Solution]:
    rng = family_rng(seed, 5)
    R, p = config.instances, config.grokking_width
    z = float(rng.choice([1.0, 2.0, 4.0]))
    log_scale = rng.uniform(-2.0, 1.0, size=(R, 1))
    a = 10.0 ** log_scale * rng.normal(size=(R, p))
    b = 10.0 ** log_scale * rng.normal(size=(R, p))
    target = rng.choice([-1.0, 1.0], size=R) * rng.uniform(0.3, 3.0, size=R)
    sigma0, s0 = (np.asarray(v) for v in theory.grokking_statistics(a, b, z))
    root = np.sqrt(target**2 + sigma0**2 - s0**2)
    horizon = float(np.max(z * np.log(1e14) / (2.0 * root)))  # g^2 relaxes at 2R/Z: e^{-2RT/Z} <= 1e-14
    times = exponential_times(horizon, config.times)
    tasks = data.stack_tasks([data.Task.from_statistics(np.eye(1), np.array([[t]]), t**2) for t in target])
    history = run_flow(config, DeepLinearNetwork((1, p, 1), output_scale=1.0 / z), (jnp.asarray(a[:, :, None]),
                    jnp.asarray(b[:, None, :])), tasks, times, {"W1": first_layer, "W2": second_layer})
    a_t, b_t = history["W1"].values[:, :, :, 0], history["W2"].values[:, :, 0, :]
    g = np.asarray(theory.grokking_rescaling(times[None, :], sigma0[:, None], s0[:, None], target[:, None], z))
    plus_theory, minus_theory = g[..., None] * (a + b)[:, None, :], (a - b)[:, None, :] / g[..., None]
    errors = np.maximum(max_relative_errors(plus_theory, a_t + b_t, times, norm=True),
                        max_relative_errors(minus_theory, a_t - b_t, times, norm=True))
    k = PLOTTED_COMPONENTS // 2
    rescaling = Solution(
        "grokking_rescaling",
        f"in the grokking toy f = (1/Z) sum_i a_i b_i x (p = {p}, Z = {z:g}, target |S| in [0.3, 3], weights from "
        "1e-2 to 10 x the target) a + b grows by g(t) and a - b shrinks by 1/g(t) with g = grokking_rescaling (max "
        "relative error of both vectors over times)",
        errors, times, np.concatenate([plus_theory[..., :k], minus_theory[..., :k]], axis=-1),
        np.concatenate([(a_t + b_t)[..., :k], (a_t - b_t)[..., :k]], axis=-1), "$a_i+b_i$, $a_i-b_i$",
        sigma0 / np.abs(target), "Sigma0/|S|")
    gamma = np.asarray(theory.grokking_gamma(sigma0, s0, target))
    measured = np.sum((a_t + b_t) ** 2, axis=-1) / np.sum((a + b) ** 2, axis=-1)[:, None]  # g(t)^2 of the flow
    limit = Solution(
        "grokking_gamma",
        "the flow's final squared rescaling |a+b|^2(T) / |a+b|^2(0) equals grokking_gamma (relative error at t = T)",
        max_relative_errors(gamma[:, None, None], measured[:, -1:, None], times[-1:]),
        times, np.broadcast_to(gamma[:, None, None], measured[..., None].shape), measured[..., None],
        "$g(t)^2 \\to \\gamma_+$", sigma0 / np.abs(target), "Sigma0/|S|")
    return [rescaling, limit]
