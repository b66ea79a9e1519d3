r"""The skill-basis model ``f = sum_k a_k b_k g_k`` of ``emergence`` (a `DiagonalLinearNetwork` on the skill features,
Nam et al. 2024): SGD on the MLP's samples, the exact flow's stage gap, one-shot learning (trained to convergence on
``D`` samples, ``E[R_k/S] = 1 - (1 - p_k)^D``) and, with ``scaling_skills`` skills, the scaling laws ``L(T), L(D),
L(N)`` and ``L(C = N T)`` with exponents ``-alpha/(alpha+1), -alpha/(alpha+1), -alpha, -alpha/(alpha+2)``. The loss
is a sum of independent one-skill terms (`layerwise.data.one_skill_tasks`), trained as vmapped one-skill runs;
``L(N)`` is measured on held-out samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from layerwise import observables, theory
from layerwise.data import Task, one_skill_tasks
from layerwise.data.sparse_parity import _skill_features  # one compiled program per problem, shared with the samplers
from layerwise.engine import gradient_flow, linear_record_steps, log_record_steps, train
from layerwise.experiments.emergence.mlp import dataset_seed
from layerwise.metrics import compute_frontier, crossing_time, loglog_slope
from layerwise.models import DiagonalLinearNetwork
from layerwise.seeds import numpy_generator

if TYPE_CHECKING:
    from layerwise.experiments.emergence import EmergenceConfig

PARAM_TRAIN_SAMPLES, PARAM_TEST_SAMPLES = 10_000_000, 1_000_000
"""Samples the parameter scaling law's skill-basis models are trained on, and the held-out samples that test them."""
SKILL_BASIS_DRAWS = 32
"""Nested data sets on which the skill-basis model's one-shot learning is averaged."""


def converged_strengths(frequencies, S, u0, steps=150):
    """``a_k b_k`` of the skill-basis model trained to convergence on skill frequencies (..., K): GD per coordinate
    with step ``0.5/(2 S p_k)`` (1 where ``p_k = 0``: no gradient, the coordinate stays at ``u0``)."""
    frequencies = np.asarray(frequencies, dtype=float)
    flat = frequencies.reshape(-1)
    rate = np.where(flat > 0, 0.5 / (2 * S * np.where(flat > 0, flat, 1.0)), 1.0)
    result = train(DiagonalLinearNetwork(dim=1, depth=2), np.full((flat.size, 2, 1), np.sqrt(u0)),
                   one_skill_tasks(flat, S), steps=steps, learning_rate=rate, task_batched=True,
                   record_steps=np.array([steps]))
    return np.prod(np.asarray(result.params), axis=1)[:, 0].reshape(frequencies.shape)


def sgd_on_mlp_samples(config: EmergenceConfig, problem, x_eval, y_eval, sample_key, calibration) -> dict:
    """The skill-basis model trained by SGD at ``eta'`` from ``R_0`` on the same samples as each MLP seed (same
    sample key): ``linear_time_strength`` (seed, time_step, skill)."""
    n_s = problem.n_skills
    g_mix, y_mix = problem.sample_features(jax.random.fold_in(sample_key, 999), 64)
    skills = observables.SkillStrengths(_skill_features(problem, x_eval), y_eval)
    history = train(DiagonalLinearNetwork(dim=n_s, depth=2), np.full((config.seeds, 2, n_s),
                                                                      np.sqrt(calibration["r0"])),
                    Task.from_samples(g_mix, y_mix, sampler=problem.sample_features), steps=config.time_steps,
                    learning_rate=calibration["eta_model"], batch_size=config.batch_size, key=sample_key,
                    observables={"skill_strength": skills},
                    record_steps=linear_record_steps(config.time_steps, max(1, config.time_steps // 100))).history
    return {"linear_time_strength": (("seed", "time_step", "skill"),
                                     history.skill_strength.values / config.target_scale)}


def flow_half_times(p, S, inits) -> dict:
    """Half-times (init, skill) of the exact gradient flow (population, ``E[g g^T] = diag p``) from ``a_k = b_k =
    init``: ``flow_gap_half_time``."""
    times = np.linspace(0.0, 1.5 * np.log(S / inits.min() ** 2) / (2 * S * p[1]), 3001)
    params = np.stack([np.full((2, p.size), a) for a in inits])
    flow = gradient_flow(DiagonalLinearNetwork(dim=p.size, depth=2), params,
                         Task.from_statistics(np.diag(p), S * p[None, :], S * S), times, rtol=1e-10, atol=1e-12,
                         observables={"strength": observables.EndToEnd()}).history
    half = crossing_time(times, np.moveaxis(flow.strength.values[:, :, 0, :] / S, -1, -2), 0.5)
    return {"flow_gap_half_time": (("gap_init_scale", "skill"), half)}


def one_shot_counts(config: EmergenceConfig, problem) -> tuple[np.ndarray, np.ndarray]:
    """The sizes of the one-shot panel and the skill counts (size, draw, skill) of ``SKILL_BASIS_DRAWS`` nested data
    sets (draw 0 is the MLP's)."""
    sizes, seed = np.asarray(config.data_sizes), dataset_seed(config)
    sb_sizes = np.unique(np.concatenate([np.round(np.geomspace(1, sizes[-1], 30)).astype(int), sizes]))
    draws = [np.asarray(problem.dataset_skills(jax.random.PRNGKey(seed + j), int(sb_sizes[-1])))
             for j in range(SKILL_BASIS_DRAWS)]
    prefix = np.stack([np.cumsum(np.eye(problem.n_skills)[skills], axis=0) for skills in draws])
    return sb_sizes, prefix[:, sb_sizes - 1].transpose(1, 0, 2)


def emergence_times(config: EmergenceConfig):
    """Scaling panels: ``p_k`` over ``scaling_skills`` skills, ``R_0 = init^2`` and the flow times ``t_k``."""
    p = np.asarray(theory.skill_frequencies(config.scaling_skills, config.alpha))
    r0 = config.init_scale**2
    return p, r0, np.log(config.target_scale / r0 - 1) / (2 * config.target_scale * p)


def scaling_samples(config: EmergenceConfig, p) -> dict[str, np.ndarray]:
    """The scaling laws' draws (numpy, ``default_rng(seed)``): per data size D (spanning the emergence of skills
    k_lo..k_hi) ``scaling_data_seeds`` multinomial skill counts; the model holding skills 1..N, N over k_lo..k_hi,
    is trained on ``PARAM_TRAIN_SAMPLES`` samples and tested on ``PARAM_TEST_SAMPLES`` others."""
    k_lo, k_hi = config.fit_skills
    rng = numpy_generator(jax.random.PRNGKey(config.seed))  # default_rng(seed): the stored draws
    sizes = np.unique(np.round(np.geomspace(1 / p[k_lo - 1], 1 / p[k_hi - 1], 12)).astype(int))
    counts = np.stack([rng.multinomial(size, p, size=config.scaling_data_seeds) for size in sizes])
    return {"sizes": sizes, "counts": counts, "widths": np.unique(np.round(np.geomspace(k_lo, k_hi, 12)).astype(int)),
            "train": rng.multinomial(PARAM_TRAIN_SAMPLES, p) / PARAM_TRAIN_SAMPLES,
            "test": rng.multinomial(PARAM_TEST_SAMPLES, p) / PARAM_TEST_SAMPLES}


def converged_panels(config: EmergenceConfig, problem) -> tuple[np.ndarray, dict]:
    """Every panel of the model trained to convergence, from one `converged_strengths` call (one compiled program):
    one-shot learning on the nested data sets against the skill counts and ``E[R_k/S] = 1 - (1 - p_k)^D``; the
    model holding skills ``1..N`` (``linear_param_strength``); with ``scaling_skills`` skills, ``L(D)`` (each
    coordinate trained on its empirical frequency) and ``L(N)`` on held-out samples (a skill outside the model, or
    unseen in training, costs ``S^2/2``). Returns the one-shot sizes and the variables."""
    S, p = config.target_scale, problem.frequencies
    p_scaling, r0, _ = emergence_times(config)
    sb_sizes, counts = one_shot_counts(config, problem)
    draws = scaling_samples(config, p_scaling)
    sizes, widths, test = draws["sizes"], draws["widths"], draws["test"]
    inputs = [counts / sb_sizes[:, None, None], p, draws["counts"] / sizes[:, None, None], draws["train"]]
    flat = converged_strengths(np.concatenate([v.reshape(-1) for v in inputs]), S, r0)
    one_shot, held_p, data, seen = np.split(flat, np.cumsum([v.size for v in inputs])[:-1])
    one_shot, data = one_shot.reshape(counts.shape) / S, data.reshape(draws["counts"].shape)
    held = np.concatenate([[0.0], np.cumsum(test * 0.5 * (S - seen) ** 2)])
    rest = 0.5 * S * S * np.concatenate([np.cumsum(test[::-1])[::-1], [0.0]])  # skills k > N
    dims, D, N = ("sb_data_size", "sb_data_draw", "skill"), {"scaling_data_size": sizes}, {"scaling_width": widths}
    in_model = np.arange(p.size)[None, :] < np.asarray(config.param_widths)[:, None]
    return sb_sizes, {
        "linear_data_strength": (dims, one_shot), "linear_data_count": (dims, counts),
        "theory_data_one_shot": (("sb_data_size", "skill"), 1 - (1 - p[None, :]) ** sb_sizes[:, None]),
        "linear_param_strength": (("width", "skill"), in_model * held_p[None, :] / S),
        "linear_scaling_loss_data": xr.DataArray(0.5 * np.sum(p_scaling * (S - data) ** 2, axis=-1), D,
                                                 ("scaling_data_size", "scaling_seed")),
        "theory_scaling_loss_data": xr.DataArray(np.asarray(theory.loss_vs_data(sizes.astype(float), p_scaling, S)),
                                                 D, ("scaling_data_size",)),
        "linear_scaling_loss_params": xr.DataArray(held[widths] + rest[widths], N, ("scaling_width",)),
        "theory_scaling_loss_params": xr.DataArray(np.asarray(theory.loss_vs_parameters(widths, p_scaling, S)), N,
                                                   ("scaling_width",)),
    }


def scaling_laws(config: EmergenceConfig) -> dict[str, xr.DataArray]:
    """The loss with ``scaling_skills`` skills vs time T (GD, log-recorded) and the compute frontier
    ``min_{N T = C} L(N, T)`` (``L(D)`` and ``L(N)``: `converged_panels`). The loss is a sum of independent one-skill
    terms, trained as vmapped one-skill runs."""
    S = config.target_scale
    p, r0, emerge = emergence_times(config)
    k_lo, k_hi = config.fit_skills
    lr = 0.5 / (2 * S * p[0])  # stable for the fastest skill; skills k >= k_lo are resolved to < 2.5 % per step
    steps = int(np.ceil(2 * emerge[k_hi - 1] / lr))
    result = train(DiagonalLinearNetwork(dim=1, depth=2), np.full((p.size, 2, 1), np.sqrt(r0)), one_skill_tasks(p, S),
                   steps=steps, learning_rate=lr, task_batched=True, record_steps=log_record_steps(steps, 90))
    per_skill, times = result.history.loss.values, result.history.time.values[0]  # 1/2 p_k (S - a_k b_k)^2
    tail = 0.5 * S * S * np.concatenate([np.cumsum(p[::-1])[::-1][1:], [0.0]])  # loss of the skills k > N
    loss_nt = np.cumsum(per_skill, axis=0) + tail[:, None]  # L(N, T)
    compute = np.geomspace(k_lo * emerge[k_lo - 1], k_hi * emerge[k_hi - 1], 25)
    T = {"scaling_time": times}
    return {
        "linear_scaling_loss_time": xr.DataArray(per_skill.sum(0), T, ("scaling_time",)),
        "theory_scaling_loss_time": xr.DataArray(np.asarray(theory.loss_vs_time(times, p, S, r0)), T,
                                                 ("scaling_time",)),
        "linear_scaling_loss_compute": xr.DataArray([compute_frontier(loss_nt, times, c) for c in compute],
                                                    {"compute": compute}, ("compute",)),
    }


def scaling_fits(ds: xr.Dataset, config: EmergenceConfig) -> dict[str, float]:
    """Fitted exponents of the skill-basis losses (time: where skills k_lo..k_hi emerge)."""
    _, _, emerge = emergence_times(config)
    times, k_lo, k_hi = ds.scaling_time.values, *config.fit_skills
    window = (times >= emerge[k_lo - 1]) & (times <= emerge[k_hi - 1])
    return {"time": loglog_slope(times[window], ds.linear_scaling_loss_time.values[window]),
            "data": loglog_slope(ds.scaling_data_size.values, ds.linear_scaling_loss_data.values.mean(1)),
            "parameters": loglog_slope(ds.scaling_width.values, ds.linear_scaling_loss_params.values),
            "compute": loglog_slope(ds["compute"].values, ds.linear_scaling_loss_compute.values)}
