"""Families 2 and 3 of ``theory-check``: balanced diagonal nets of depth ``L >= 3`` (deep Saxe modes), and the
two-layer diagonal net (imbalanced modes, the Woodworth interpolator)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax.numpy as jnp
import numpy as np

from layerwise import data, theory
from layerwise.compare import max_relative_errors
from layerwise.experiments.theory_check.solution import Solution, end_to_end_vector, family_rng, run_flow
from layerwise.metrics import exponential_times
from layerwise.models import DiagonalLinearNetwork

if TYPE_CHECKING:
    from layerwise.experiments.theory_check import TheoryCheckConfig


def deep_family(config: TheoryCheckConfig, seed: int) -> Solution:
    """Balanced diagonal nets of depth L >= 3: every coordinate follows saxe_mode(depth=L)."""
    rng = family_rng(seed, 2)
    dim = int(rng.integers(3, config.max_dim + 1))
    R = config.instances
    depths = rng.permutation(np.resize(np.asarray(config.deep_depths), R))
    s = rng.uniform(0.3, 3.0, size=(R, dim))
    ratio = 10.0 ** rng.uniform(-3.0, np.log10(0.5), size=(R, dim))
    ratio[:, -1] = rng.uniform(1.2, 3.0, size=R)
    u0 = ratio * s
    errors, predicted, simulated = np.zeros(R), [None] * R, [None] * R
    fraction = np.where(u0 < s, 0.999, 1.001)  # time to reach 0.1% of the target, from below or above
    horizon = 1.2 * max(float(np.max(theory.learning_time(s[depths == L], u0[depths == L], fraction[depths == L],
                                                          depth=int(L))))
                        for L in np.unique(depths))
    times = exponential_times(horizon, config.times)  # one grid for every depth (the figure and the dataset share it)
    for depth in np.unique(depths):
        depth = int(depth)
        index = np.flatnonzero(depths == depth)
        model = DiagonalLinearNetwork(dim=dim, depth=depth)
        params = jnp.asarray(np.broadcast_to((u0[index] ** (1.0 / depth))[:, None, :], (len(index), depth, dim)))
        tasks = data.stack_tasks([data.diagonal_task(s[i]) for i in index])
        history = run_flow(config, model, params, tasks, times, {"W": end_to_end_vector})
        theory_values = np.asarray(theory.saxe_mode(times[None, :, None], s[index, None, :], u0[index, None, :],
                                                     depth=depth))
        errors[index] = max_relative_errors(theory_values, history["W"].values, times)
        for j, i in enumerate(index):
            predicted[i] = theory_values[j] / s[i]
            simulated[i] = history["W"].values[j] / s[i]
    return Solution(
        "saxe_mode_deep",
        f"every coordinate of a balanced diagonal net of depth L in {list(config.deep_depths)} (dim {dim}, "
        "u0/s from 1e-3 to 3) follows saxe_mode(depth=L) (max relative error over coordinates and times)",
        errors, times, np.stack(predicted), np.stack(simulated), "$u_i / s_i$", depths.astype(float), "depth")


def diagonal_family(config: TheoryCheckConfig, seed: int) -> list[Solution]:
    """Imbalanced modes and the Woodworth limit on one two-layer diagonal net (one compiled flow)."""
    rng = family_rng(seed, 3)
    dim = int(rng.integers(3, config.max_dim + 1))
    R = config.instances
    model = DiagonalLinearNetwork(dim=dim, depth=2)
    observables = {"W": end_to_end_vector}

    s = rng.uniform(0.5, 3.0, size=(R, dim))
    variance = rng.uniform(0.5, 2.0, size=(R, dim))
    log_scale = rng.uniform(-3.0, 0.0, size=(R, 1))
    a0 = 10.0 ** rng.uniform(log_scale - 1.0, log_scale + 1.0, size=(R, dim))
    b0 = 10.0 ** rng.uniform(log_scale - 1.0, log_scale + 1.0, size=(R, dim))
    imbalance, u0 = a0**2 - b0**2, a0 * b0
    tasks = data.stack_tasks([data.diagonal_task(s_i, v_i) for s_i, v_i in zip(s, variance)])
    horizon = 1.2 * float(np.max((np.log(s / u0) + 10.0) / (2.0 * s * variance)))
    times = exponential_times(horizon, config.times)
    history = run_flow(config, model, jnp.asarray(np.stack([a0, b0], axis=1)), tasks, times, observables)
    predicted = np.asarray(theory.imbalanced_mode(times[None, :, None], s[:, None], u0[:, None], imbalance[:, None],
                                                  variance[:, None]))
    solutions = [Solution(
        "imbalanced_mode",
        f"every coordinate u_i = a_i b_i of a two-layer diagonal net (dim {dim}, a0, b0 in 1e-4..10 independently, "
        "so C = a0^2 - b0^2 of either sign and size; input variances 0.5..2) follows imbalanced_mode "
        "(max relative error over coordinates and times)",
        max_relative_errors(predicted, history["W"].values, times),
        times, predicted / s[:, None], history["W"].values / s[:, None], "$u_i / s_i$",
        np.max(np.abs(imbalance), axis=1), "largest |C|")]

    # Woodworth: n < dim samples, u(0) = 2 alpha, v(0) = 0; the flow's limit is the closed-form interpolator.
    samples = int(rng.integers(1, dim))
    alpha = np.exp(rng.uniform(*np.log(config.alpha_range), size=R))
    designs = rng.normal(size=(R, samples, dim))
    labels = rng.normal(size=(R, samples))
    limits = np.stack([np.asarray(theory.woodworth_solution(x, y, a)) for x, y, a in zip(designs, labels, alpha)])
    tasks = data.stack_tasks([data.Task.from_statistics(jnp.asarray(x.T @ x / samples),
                                                        jnp.asarray((y @ x / samples)[None]),
                                                        float(y @ y / samples)) for x, y in zip(designs, labels)])
    params = jnp.asarray(np.stack([np.stack([np.full(dim, 2.0 * a), np.zeros(dim)]) for a in alpha]))
    # local rate at the limit: the smallest eigenvalue of X diag(sqrt(4 w^2 + delta^2)) X^T / n (mirror-flow metric);
    # before that, the saddle-to-saddle path takes ~ ln(1/alpha) / |y|-scale
    rates = []
    for x, w, a in zip(designs, limits, alpha):
        metric = np.sqrt(4.0 * w**2 + 16.0 * a**4)
        rates.append(np.linalg.eigvalsh((x * metric) @ x.T / samples)[0])
    horizon = float(np.max(np.log(1e14) / np.asarray(rates) + 20.0 * np.log(2.0 + 1.0 / alpha)))
    times = exponential_times(horizon, config.times)
    history = run_flow(config, model, params, tasks, times, observables)
    final = history["W"].values[:, -1:]
    solutions.append(Solution(
        "woodworth_solution",
        f"gradient flow on w = u * v (dim {dim}, {samples} sample(s), u(0) = 2 alpha, v(0) = 0, alpha in "
        f"[{config.alpha_range[0]:g}, {config.alpha_range[1]:g}]) ends at woodworth_solution (relative error of w at "
        "t = T)",
        max_relative_errors(limits[:, None, :], final, times[-1:], norm=True),
        times, np.broadcast_to(limits[:, None, :], history["W"].values.shape), history["W"].values, "$w_i(t)$",
        alpha, "alpha"))
    return solutions
