r"""Experiment ``emergence``: emergence and scaling laws on multitask sparse parity (Nam et al. 2025 Fig. 4; Nam et
al. 2024).

Skills ``g_k`` of multitask sparse parity (`layerwise.data.sparse_parity`) are orthogonal, ``E[g_k^2] = p_k ∝
k^-(alpha+1)``. The skill-basis model ``f = sum_k a_k b_k g_k`` (a `DiagonalLinearNetwork` on ``g(x)``) has Saxe-sigmoid
skill strengths ``R_k/S = 1/(1 + (S/R_0 - 1) e^{-2 eta p_k S t})``; a 2-layer ReLU MLP (``n_s + n_b -> N -> 1``,
weights and biases ``N(0, init^2)``, MSE, as the authors) is trained by the same engine on the same samples. Panels:

1. time: ``R_k/S`` vs SGD step ``T``; theory = the authors' calibrated extended model ``1/(1 + c e^{-m_k T})``,
   ``c = 3.6 S/init^2 - 1``, ``m_k = 4 eta p_k S / N_free``, ``N_free`` fitted per seed to every skill that
   crosses (authors: 22); the skill-basis model runs SGD at ``eta' = 2 eta / N_free`` from ``R_0 = S/(1 + c)`` on
   each MLP seed's samples.
2. stage gap: ``t_2 - t_1`` vs ``ln(1/init)``: slope ``(1/p_2 - 1/p_1)/S`` for the skill-basis exact flow
   (``R_0 = init^2``), ``2 (1/m_2 - 1/m_1)`` predicted for the MLP (Nam et al. 2025, §4).
3. data: ``R_k/S`` after ``data_steps`` on ``D`` fixed samples; theory ``1 - sqrt(max(0, 1 - D p_k / D_c))``, ``D_c``
   fitted per seed to every skill that crosses (authors: 800); the skill-basis model, trained to convergence, is a
   one-shot learner, ``E[R_k/S] = 1 - (1 - p_k)^D``.
4. parameters: ``R_k/S`` vs width ``N`` (Adam); theory ``clip((N - (k-1) N_c)/N_c, 0, 1)``, ``N_c`` fitted
   likewise (authors: 4). Widths are padded to the largest with all-zero units (exactly zero gradient), so all
   train in one call.
5. scaling laws of the skill-basis model with ``scaling_skills`` skills: ``L(T), L(D), L(N)`` and ``L(C = N T)``,
   exponents ``-alpha/(alpha+1), -alpha/(alpha+1), -alpha, -alpha/(alpha+2)``. The loss is a sum of independent
   one-skill terms (`layerwise.data.one_skill_tasks`), trained as vmapped one-skill runs; ``L(N)`` is measured on
   held-out samples.

Each MLP panel is judged by `crossing_errors` over seeds (`check_over_seeds`): every skill predicted or measured to
cross within the run is compared with a window of half the log-gap to its neighbour's prediction (`spacing_windows`).

Shrunk from the authors (Nam et al. 2025 Fig. 4 code) for CPU: batch 500 instead of 4,000, 5 seeds instead of 10,
``data_steps`` mini-batch steps instead of 100,000 epochs at the time panel's lr and init, ``param_steps`` Adam steps.
"""

from __future__ import annotations

import warnings
from typing import Annotated

import jax
import matplotlib.ticker
import jax.numpy as jnp
import numpy as np
import xarray as xr
from pydantic import Field

from layerwise import observables, theory
from layerwise.compare import compare
from layerwise.data import Task, one_skill_tasks, sparse_parity_problem
from layerwise.engine import gradient_flow, linear_record_steps, log_record_steps, train
from layerwise.errors import LayerwiseError
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.metrics import compute_frontier, crossing_time, log_crossing, loglog_slope
from layerwise.models import MLP, DiagonalLinearNetwork, mlp_init
from layerwise.report.checks import Check, Measurement, check_below, check_over_seeds
from layerwise.report.plotting import figure_grid, trajectories
from layerwise.report.style import MODEL_STYLE

AUTHORS_C_FACTOR = 3.6
"""``c = 3.6 S / init^2 - 1``: the authors' empirical fit of the MLP's initial skill strength."""
AUTHORS_N_FREE = 22.0
"""The authors' fitted N_free (``m_k = 4 eta p_k S / N_free``), used only if skill 1 never emerges."""
PARAM_TRAIN_SAMPLES, PARAM_TEST_SAMPLES = 10_000_000, 1_000_000
"""Samples the parameter scaling law's skill-basis models are trained on, and the held-out samples that test them."""
MIN_SKILLS = 4
"""Skills that must cross within a panel's run (fewer than the run allows: the panel's check fails)."""
SKILL_BASIS_DRAWS = 32
"""Nested data sets on which the skill-basis model's one-shot learning is averaged."""
Grid = Annotated[tuple[F.Count, ...], Field(min_length=3)]


@F.config_dataclass
class EmergenceConfig:
    """Settings of the ``emergence`` experiment (defaults: the full run, the authors' sizes where CPU allows)."""

    seed: F.Seed = 0
    """Draws the skills' bits, the MLP inits, the samples and the data sets."""
    seeds: F.at_least(3) = 5
    """MLP runs per setting of the time, stage-gap and parameter panels (>= 3: checks judge their mean and 95 %
    interval)."""
    n_skills: F.at_least(3) = 5
    """Number of skills n_s (one-hot control bits)."""
    n_bits: F.Count = 32
    """Number of task bits n_b."""
    bits_per_skill: F.Count = 3
    """Task bits per skill m (each skill's parity is over its own m bits)."""
    alpha: F.PositiveFloat = 0.6
    """Zipf exponent: p_k ∝ k^-(alpha+1)."""
    target_scale: F.PositiveFloat = 5.0
    """S: labels are ±S."""
    width: F.Count = 1000
    """Hidden width of the MLP in the time and data panels."""
    init: F.PositiveFloat = 0.01
    """Std of the MLP's weights and biases (time and data panels)."""
    learning_rate: F.PositiveFloat = 0.02
    """SGD learning rate of the time and data panels."""
    batch_size: F.Count = 500
    """Samples per SGD/Adam step."""
    time_steps: F.Count = 25000
    """SGD steps of the time panel."""
    gap_inits: F.PositiveFloats = (0.003, 0.03)
    """Further MLP init scales for the stage gap (with init; same seeds, unit-normal directions and samples)."""
    gap_steps: F.Count = 12000
    """SGD steps of each further stage-gap run (t_2 at the smallest init must fall inside: ~7,000 at full size)."""
    data_sizes: Grid = (1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 48000)
    """Training-set sizes D of the data panel (increasing)."""
    data_seeds: F.at_least(3) = 3
    """MLP runs per data set (each D has one fixed data set; seeds vary the init and the batch order; >= 3)."""
    data_steps: F.Count = 25000
    """SGD steps per data-panel run."""
    param_widths: Grid = tuple(range(1, 21)) + (24, 28, 32, 40)
    """Hidden widths N of the parameter panel (increasing; the authors' plot: 1..20)."""
    param_init: F.PositiveFloat = 0.05
    """Std of the MLP's weights and biases in the parameter panel."""
    param_learning_rate: F.PositiveFloat = 0.01
    """Adam learning rate of the parameter panel (the authors' 0.05 learned nothing within 3,000 steps here)."""
    param_steps: F.Count = 15000
    """Adam steps of the parameter panel."""
    eval_size: F.Count = 2000
    """Held-out samples per skill for R_k (authors: 20,000)."""
    scaling_skills: F.Count = 30000
    """Skills of the skill-basis model in the scaling-law panels (p_k over k = 1..scaling_skills)."""
    fit_skills: tuple[F.at_least(2), F.at_least(2)] = (8, 100)
    """Fit the exponents where skills k_lo..k_hi emerge (T in [t_klo, t_khi], D in [1/p_klo, 1/p_khi], N in [k_lo,
    k_hi]); k_hi << scaling_skills keeps the finite-n_s truncation small."""
    scaling_data_seeds: F.Count = 4
    """Multinomial data draws per D in the data scaling law."""

    def __post_init__(self):
        if self.n_skills * self.bits_per_skill > self.n_bits:
            raise LayerwiseError("n_bits must be >= n_skills * bits_per_skill (disjoint skills)")
        if self.init in self.gap_inits:
            raise LayerwiseError("gap_inits must differ from init")
        for name in ("data_sizes", "param_widths"):
            if list(getattr(self, name)) != sorted(set(getattr(self, name))):
                raise LayerwiseError(f"{name} must be increasing integers")
        if not self.fit_skills[0] < self.fit_skills[1] <= self.scaling_skills // 10:
            raise LayerwiseError("fit_skills must be (k_lo, k_hi) with 2 <= k_lo < k_hi <= scaling_skills / 10")


def _mlp_runs(keys, problem, width, scales, sampler, steps, skills, *, optimizer="sgd", learning_rate, batch_size,
              records, alive=None):
    """MLPs with weights and biases ``scale * N(0, 1)`` (one run per scale; units where ``alive`` is 0 zeroed)
    trained on ``sampler`` with MSE; ``keys`` = (init key, sample-stream key)."""
    init_key, sample_key = keys
    model = MLP(widths=(problem.in_dim, width, 1), activation="relu")
    scales = jnp.asarray(scales, jnp.float32)
    unit = jax.vmap(lambda k: mlp_init(k, model, 1.0, 1.0, parameterisation="standard", dtype=jnp.float32))(
        jax.random.split(init_key, scales.shape[0]))
    (w1, b1), (w2, b2) = jax.tree_util.tree_map(lambda v: v * scales.reshape((-1,) + (1,) * (v.ndim - 1)), unit)
    if alive is not None:  # zero units get exactly zero gradient (ReLU output 0, output weight 0): a narrower net
        w1, b1, w2 = w1 * alive[:, :, None], b1 * alive, w2 * alive[:, None, :]
    task = Task.from_samples(*problem.sample(jax.random.fold_in(sample_key, 999), 64), sampler=sampler)
    return train(model, ((w1, b1), (w2, b2)), task, steps=steps, optimizer=optimizer, learning_rate=learning_rate,
                 batch_size=batch_size, key=sample_key, observables=skills, loss="mean_squared_error",
                 record_steps=linear_record_steps(steps, max(1, steps // records)))


def _half_times(steps, strength):
    """First step where each skill's R_k/S reaches 1/2: strength (..., step, skill) -> (..., skill)."""
    return crossing_time(steps, np.moveaxis(np.asarray(strength), -1, -2), 0.5)


def _converged_strengths(frequencies, S, u0, steps=150):
    """``a_k b_k`` of the skill-basis model trained to convergence on skill frequencies (..., K): GD per coordinate
    with step ``0.5/(2 S p_k)`` (1 where ``p_k = 0``: no gradient, the coordinate stays at ``u0``)."""
    frequencies = np.asarray(frequencies, dtype=float)
    flat = frequencies.reshape(-1)
    rate = np.where(flat > 0, 0.5 / (2 * S * np.where(flat > 0, flat, 1.0)), 1.0)
    result = train(DiagonalLinearNetwork(dim=1, depth=2), jnp.full((flat.size, 2, 1), np.sqrt(u0)),
                   one_skill_tasks(flat, S), steps=steps, learning_rate=rate, task_batched=True,
                   record_steps=np.array([steps]))
    return np.asarray(jnp.prod(result.params, axis=1)[:, 0]).reshape(frequencies.shape)


def _emergence_times(config):
    """Scaling panels: ``p_k`` over ``scaling_skills`` skills, ``R_0 = init^2`` and the flow times ``t_k``."""
    p = np.asarray(theory.skill_frequencies(config.scaling_skills, config.alpha))
    r0 = config.init**2
    return p, r0, np.log(config.target_scale / r0 - 1) / (2 * config.target_scale * p)


def simulate(config: EmergenceConfig, progress: Progress) -> xr.Dataset:
    S, eta = config.target_scale, config.learning_rate
    problem = sparse_parity_problem(config.seed, config.n_skills, config.n_bits, config.bits_per_skill, config.alpha,
                                    S, dtype="float32")
    p, n_s, key = problem.frequencies, problem.n_skills, jax.random.PRNGKey(config.seed)
    x_eval, y_eval = problem.evaluation_sets(jax.random.fold_in(key, 0), config.eval_size)
    skills = {"skill_strength": observables.SkillStrengths(x_eval, y_eval),
              "skill_loss": observables.SkillLosses(x_eval, y_eval)}
    sgd = dict(learning_rate=eta, batch_size=config.batch_size, records=100)
    # 1. time; 2. stage gap: every init shares the seeds' unit-normal directions and samples (time_key).
    time_key = jax.random.fold_in(key, 1)
    time_keys = (jax.random.fold_in(time_key, 0), jax.random.fold_in(time_key, 1))
    gap_inits = np.sort(np.concatenate([[config.init], config.gap_inits]))[::-1]
    mlp = {value: _mlp_runs(time_keys, problem, config.width, np.full(config.seeds, value), problem.sample,
                            config.time_steps if value == config.init else config.gap_steps, skills, **sgd).history
           for value in [config.init, *config.gap_inits]}
    time = mlp[config.init]
    steps = time.step.values
    c = AUTHORS_C_FACTOR * S / config.init**2 - 1
    # N_free: one constant t_k = C / p_k fitted (in log) to every skill that crosses, per seed; the authors' 22 if
    # none does (the checks then fail).
    constant = _seed_mean(_calibrate(_half_times(steps, time.skill_strength.values / S), 1 / p))
    n_free = 4 * eta * S * constant / np.log(c) if np.isfinite(constant) else AUTHORS_N_FREE
    r0, eta_model = S / (1 + c), 2 * eta / n_free  # rate 2 eta' p_k S = 4 eta p_k S / N_free
    linear_time = _skill_basis_sgd(config, problem, x_eval, y_eval, time_keys[1], eta_model, r0)
    progress("time emergence")
    gap_half = np.stack([_half_times(mlp[v].step.values, mlp[v].skill_strength.values / S) for v in gap_inits])
    flow_half, m = _skill_basis_flow_half_times(p, S, gap_inits), 4 * eta * p * S / n_free
    progress("stage gap")
    data, d_c, sizes_sb, linear_data, counts = _data_panel(config, problem, skills, jax.random.fold_in(key, 3))
    progress("data emergence")
    params, n_c, leak = _parameter_panel(config, problem, skills, jax.random.fold_in(key, 4))
    progress("parameter emergence")
    scaling = _scaling(config)
    progress("scaling laws")
    sizes, widths = np.asarray(config.data_sizes), np.asarray(config.param_widths)
    return xr.Dataset(
        {
            "nonlinear_time_strength": (("seed", "time_step", "skill"), time.skill_strength.values / S),
            "nonlinear_time_skill_loss": (("seed", "time_step", "skill"), time.skill_loss.values),
            "linear_time_strength": (("seed", "time_step", "skill"), linear_time.skill_strength.values / S),
            "theory_time_strength": (("time_step", "skill"), np.asarray(theory.skill_strength(
                steps.astype(float), p, S, r0, eta_model)) / S),
            "nonlinear_gap_half_time": (("gap_init", "seed", "skill"), gap_half),
            "flow_gap_half_time": (("gap_init", "skill"), flow_half),
            "theory_gap_mlp": (("gap_init",), np.log(AUTHORS_C_FACTOR * S / gap_inits**2 - 1) * (1 / m[1] - 1 / m[0])),
            "nonlinear_data_strength": (("data_seed", "data_size", "skill"), data["skill_strength"] / S),
            "nonlinear_data_skill_loss": (("data_seed", "data_size", "skill"), data["skill_loss"]),
            "theory_data_strength": (("data_size", "skill"), _data_theory(sizes, p, d_c)),
            "linear_data_strength": (("sb_data_size", "sb_data_draw", "skill"), linear_data),
            "linear_data_count": (("sb_data_size", "sb_data_draw", "skill"), counts),
            "theory_data_one_shot": (("sb_data_size", "skill"), 1 - (1 - p[None, :]) ** sizes_sb[:, None]),
            "nonlinear_param_strength": (("seed", "width", "skill"), params.skill_strength.values / S),
            "nonlinear_param_skill_loss": (("seed", "width", "skill"), params.skill_loss.values),
            "nonlinear_padded_leak": ((), leak),
            "theory_param_strength": (("width", "skill"), _param_theory(widths, n_s, n_c)),
            "linear_param_strength": (("width", "skill"), (np.arange(n_s)[None, :] < widths[:, None])
                                      * _converged_strengths(p, S, config.init**2)[None, :] / S),
            **scaling,
        },
        coords={"skill": np.arange(1, n_s + 1), "frequency": ("skill", p), "seed": np.arange(config.seeds),
                "time_step": steps, "gap_init": gap_inits, "data_seed": np.arange(config.data_seeds),
                "data_size": sizes, "sb_data_size": sizes_sb, "sb_data_draw": np.arange(SKILL_BASIS_DRAWS),
                "width": widths, "scaling_seed": np.arange(config.scaling_data_seeds)},
        attrs={"description": "Emergence in time, data and parameters and scaling laws: skill-basis model vs a ReLU "
                              "MLP on multitask sparse parity (Nam et al. 2025 Fig. 4; Nam et al. 2024)",
               "n_free": n_free, "d_c": d_c, "n_c": n_c, "c": c, "skill_bits": str(problem.skill_bits)},
    )


def _skill_basis_sgd(config, problem, x_eval, y_eval, sample_key, learning_rate, r0):
    """The skill-basis model trained by SGD from ``R_0`` on the same samples as each MLP seed (same sample key)."""
    n_s = problem.n_skills
    g_mix, y_mix = problem.sample_features(jax.random.fold_in(sample_key, 999), 64)
    skills = observables.SkillStrengths(jax.vmap(problem.skill_features)(x_eval), y_eval)
    return train(DiagonalLinearNetwork(dim=n_s, depth=2), jnp.full((config.seeds, 2, n_s), np.sqrt(r0)),
                 Task.from_samples(g_mix, y_mix, sampler=problem.sample_features), steps=config.time_steps,
                 learning_rate=learning_rate, batch_size=config.batch_size, key=sample_key,
                 observables={"skill_strength": skills},
                 record_steps=linear_record_steps(config.time_steps, max(1, config.time_steps // 100))).history


def _skill_basis_flow_half_times(p, S, inits):
    """Half-times (init, skill) of the skill-basis model's exact gradient flow (population, ``E[g g^T] = diag p``)
    from ``a_k = b_k = init``."""
    times = np.linspace(0.0, 1.5 * np.log(S / inits.min() ** 2) / (2 * S * p[1]), 3001)
    params = jnp.stack([jnp.full((2, p.size), a) for a in inits])
    flow = gradient_flow(DiagonalLinearNetwork(dim=p.size, depth=2), params,
                         Task.from_statistics(np.diag(p), S * p[None, :], S * S), times, rtol=1e-10, atol=1e-12,
                         observables={"strength": observables.EndToEnd()}).history
    return crossing_time(times, np.moveaxis(flow.strength.values[:, :, 0, :] / S, -1, -2), 0.5)


def _dataset_seed(config) -> int:
    return int(config.seed) * 1_000_003 + 17


def _data_theory(sizes, p, d_c):
    return 1.0 - np.sqrt(np.clip(1.0 - np.outer(sizes, p) / d_c, 0.0, None))


def _param_theory(widths, n_skills, n_c):
    return np.clip((np.asarray(widths, float)[:, None] - np.arange(n_skills)[None, :] * n_c) / n_c, 0.0, 1.0)


def _data_panel(config, problem, skills, key):
    """MLPs trained on each fixed data set (history dims (data_seed, data_size, skill)), the calibrated ``D_c``, and
    the skill-basis model trained to convergence on ``SKILL_BASIS_DRAWS`` nested data sets (draw 0 is the MLP's)."""
    S, sizes, seed = config.target_scale, np.asarray(config.data_sizes), _dataset_seed(config)
    runs = [_mlp_runs((jax.random.fold_in(key, 2 * i), jax.random.fold_in(key, 2 * i + 1)), problem, config.width,
                      np.full(config.data_seeds, config.init), problem.dataset_sampler(seed, int(size)),
                      config.data_steps, skills, learning_rate=config.learning_rate, batch_size=config.batch_size,
                      records=10).history.isel(step=-1) for i, size in enumerate(sizes)]
    data = {name: np.stack([run[name].values for run in runs], axis=1) for name in skills}  # (seed, size, skill)
    crossings = log_crossing(sizes, np.moveaxis(data["skill_strength"] / S, -1, -2), 0.5)  # (seed, skill)
    d_c = _seed_mean(_calibrate(crossings, 1 / problem.frequencies)) / 0.75  # D_k = 0.75 D_c / p_k
    sb_sizes = np.unique(np.concatenate([np.round(np.geomspace(1, sizes[-1], 30)).astype(int), sizes]))
    draws = [np.asarray(problem.dataset_skills(seed + j, int(sb_sizes[-1]))) for j in range(SKILL_BASIS_DRAWS)]
    prefix = np.stack([np.cumsum(np.eye(problem.n_skills)[skills], axis=0) for skills in draws])
    counts = prefix[:, sb_sizes - 1].transpose(1, 0, 2)  # (size, draw, skill)
    strengths = _converged_strengths(counts / sb_sizes[:, None, None], S, config.init**2) / S
    return data, d_c, sb_sizes, strengths, counts


def _parameter_panel(config, problem, skills, key):
    """Adam-trained MLPs of every width (padded to the largest; history dims (seed, width, skill)), the calibrated
    ``N_c`` and the largest |weight| the padded units reached (exactly 0 when padding is exact)."""
    widths = np.asarray(config.param_widths)
    run_widths = np.repeat(widths, config.seeds)
    alive = (np.arange(widths.max())[None, :] < run_widths[:, None]).astype(np.float32)
    result = _mlp_runs((jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)), problem, int(widths.max()),
                       np.full(run_widths.size, config.param_init), problem.sample, config.param_steps, skills,
                       optimizer="adam", learning_rate=config.param_learning_rate, batch_size=config.batch_size,
                       records=10, alive=alive)
    (w1, b1), (w2, _) = result.params
    dead = 1.0 - alive
    leak = float(max(np.max(np.abs(np.asarray(w1) * dead[:, :, None])), np.max(np.abs(np.asarray(b1) * dead)),
                     np.max(np.abs(np.asarray(w2) * dead[:, None, :]))))
    final = result.history.isel(step=-1)
    shape = (widths.size, config.seeds, problem.n_skills)
    params = xr.Dataset({name: (("seed", "width", "skill"), final[name].values.reshape(shape).transpose(1, 0, 2))
                         for name in skills})
    crossings = log_crossing(widths, np.moveaxis(params.skill_strength.values / config.target_scale, -1, -2), 0.5)
    n_c = _seed_mean(_calibrate(crossings, np.arange(problem.n_skills) + 0.5))  # N_k = (k - 1/2) N_c
    return params, n_c, leak


def _scaling(config) -> dict[str, xr.DataArray]:
    """The skill-basis model's losses with ``scaling_skills`` skills vs time T (GD, log-recorded), data D (each
    coordinate trained to convergence on its empirical frequency), parameters N (the N most frequent skills) and the
    compute frontier ``min_{N T = C} L(N, T)``."""
    S = config.target_scale
    p, r0, emerge = _emergence_times(config)
    k_lo, k_hi = config.fit_skills
    lr = 0.5 / (2 * S * p[0])  # stable for the fastest skill; skills k >= k_lo are resolved to < 2.5 % per step
    steps = int(np.ceil(2 * emerge[k_hi - 1] / lr))
    result = train(DiagonalLinearNetwork(dim=1, depth=2), jnp.full((p.size, 2, 1), np.sqrt(r0)), one_skill_tasks(p, S),
                   steps=steps, learning_rate=lr, task_batched=True, record_steps=log_record_steps(steps, 90))
    per_skill, times = result.history.loss.values, result.history.time.values[0]  # 1/2 p_k (S - a_k b_k)^2
    tail = 0.5 * S * S * np.concatenate([np.cumsum(p[::-1])[::-1][1:], [0.0]])  # loss of the skills k > N
    loss_nt = np.cumsum(per_skill, axis=0) + tail[:, None]  # L(N, T)
    compute = np.geomspace(k_lo * emerge[k_lo - 1], k_hi * emerge[k_hi - 1], 25)
    rng = np.random.default_rng(config.seed)
    sizes = np.unique(np.round(np.geomspace(1 / p[k_lo - 1], 1 / p[k_hi - 1], 12)).astype(int))
    counts = np.stack([rng.multinomial(size, p, size=config.scaling_data_seeds) for size in sizes])
    strengths = _converged_strengths(counts / sizes[:, None, None], S, r0)
    widths = np.unique(np.round(np.geomspace(k_lo, k_hi, 12)).astype(int))
    # L(N) on held-out data: the model holding skills 1..N, trained to convergence on PARAM_TRAIN_SAMPLES samples,
    # tested on PARAM_TEST_SAMPLES other samples (a skill outside the model, or unseen in training, costs S^2/2).
    seen = _converged_strengths(rng.multinomial(PARAM_TRAIN_SAMPLES, p) / PARAM_TRAIN_SAMPLES, S, r0)
    test = rng.multinomial(PARAM_TEST_SAMPLES, p) / PARAM_TEST_SAMPLES
    held = np.concatenate([[0.0], np.cumsum(test * 0.5 * (S - seen) ** 2)])
    rest = 0.5 * S * S * np.concatenate([np.cumsum(test[::-1])[::-1], [0.0]])  # skills k > N
    T, D, N = {"scaling_time": times}, {"scaling_data_size": sizes}, {"scaling_width": widths}
    return {
        "linear_scaling_loss_time": xr.DataArray(per_skill.sum(0), T, ("scaling_time",)),
        "theory_scaling_loss_time": xr.DataArray(np.asarray(theory.loss_vs_time(times, p, S, r0)), T,
                                                 ("scaling_time",)),
        "linear_scaling_loss_data": xr.DataArray(0.5 * np.sum(p * (S - strengths) ** 2, axis=-1), D,
                                                 ("scaling_data_size", "scaling_seed")),
        "theory_scaling_loss_data": xr.DataArray(np.asarray(theory.loss_vs_data(sizes.astype(float), p, S)), D,
                                                 ("scaling_data_size",)),
        "linear_scaling_loss_params": xr.DataArray(held[widths] + rest[widths], N, ("scaling_width",)),
        "theory_scaling_loss_params": xr.DataArray(np.asarray(theory.loss_vs_parameters(widths, p, S)), N,
                                                   ("scaling_width",)),
        "linear_scaling_loss_compute": xr.DataArray([compute_frontier(loss_nt, times, c) for c in compute],
                                                    {"compute": compute}, ("compute",)),
    }


def _mlp_losses(ds: xr.Dataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The MLP's test loss ``L = sum_k p_k L_k`` (seed mean) against T, D and N: ``name -> (x, L)``."""
    p = ds.frequency.values
    return {"time": (ds.time_step.values, np.sum(p * ds.nonlinear_time_skill_loss.values.mean(0), axis=-1)),
            "data": (ds.data_size.values, np.sum(p * ds.nonlinear_data_skill_loss.values.mean(0), axis=-1)),
            "parameters": (ds.width.values, np.sum(p * ds.nonlinear_param_skill_loss.values.mean(0), axis=-1))}


def _skill_basis_fits(ds: xr.Dataset, config) -> dict[str, float]:
    """Fitted exponents of the skill-basis losses (time: where skills k_lo..k_hi emerge)."""
    _, _, emerge = _emergence_times(config)
    times, k_lo, k_hi = ds.scaling_time.values, *config.fit_skills
    window = (times >= emerge[k_lo - 1]) & (times <= emerge[k_hi - 1])
    return {"time": loglog_slope(times[window], ds.linear_scaling_loss_time.values[window]),
            "data": loglog_slope(ds.scaling_data_size.values, ds.linear_scaling_loss_data.values.mean(1)),
            "parameters": loglog_slope(ds.scaling_width.values, ds.linear_scaling_loss_params.values),
            "compute": loglog_slope(ds["compute"].values, ds.linear_scaling_loss_compute.values)}


def _seed_mean(values) -> float:
    """The mean over seeds ignoring NaN seeds (NaN when every seed is NaN)."""
    values = np.asarray(values, float)
    return float(np.mean(values[np.isfinite(values)])) if np.isfinite(values).any() else float("nan")


def _calibrate(crossings, shape):
    """The one constant ``C`` of a prediction ``C * shape_k``, fitted in log to the skills that cross (per row):
    ``C = exp(mean_k ln(crossing_k / shape_k))``; NaN for a row where no skill crosses."""
    ratios = np.log(np.asarray(crossings, float) / np.asarray(shape, float))
    finite = np.isfinite(ratios)
    with np.errstate(invalid="ignore"):
        return np.exp(np.where(finite.any(-1), np.nansum(np.where(finite, ratios, 0), -1) / finite.sum(-1), np.nan))


def spacing_windows(shape) -> np.ndarray:
    r"""Each skill's window: half the log-gap between its predicted crossing and its nearest neighbour's,
    ``w_k = 1/2 min(|ln(s_k / s_{k-1})|, |ln(s_{k+1} / s_k)|)`` for a prediction ``∝ s_k``. A crossing within
    ``e^{±w_k}`` of its prediction is nearer to it than to any other skill's.

    Example:
        >>> np.round(np.exp(spacing_windows([1.0, 4.0, 8.0])), 3).tolist()
        [2.0, 1.414, 1.414]
    """
    gaps = np.abs(np.diff(np.log(np.asarray(shape, float))))
    return 0.5 * np.minimum(np.concatenate([[np.inf], gaps]), np.concatenate([gaps, [np.inf]]))


def crossing_errors(crossings, shape, limit: float, minimum: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Per seed, how far measured crossings lie from a one-constant prediction ``C s_k``, in units of the windows.

    Per row of ``crossings`` (seed, skill; NaN = never crossed within the run): ``C`` = `_calibrate`; skill ``k`` is
    predicted inside the run if ``C s_k e^{w_k} <= limit`` and outside if ``C s_k e^{-w_k} > limit`` (`spacing_windows`;
    in between it may do either). The error is ``max_k |ln(crossing_k / (C s_k))| / w_k`` over the skills that cross;
    NaN (a failure) when a skill predicted inside does not cross, one predicted outside crosses, or fewer than
    ``minimum`` skills are included (those that cross or are predicted inside).

    Returns:
        ``(errors (seed,), constants (seed,), ratios (seed, skill))``, ratios ``crossing / (C s_k)``.
    """
    crossings, shape = np.atleast_2d(np.asarray(crossings, float)), np.asarray(shape, float)
    windows, constants = spacing_windows(shape), _calibrate(crossings, shape)
    predicted = constants[:, None] * shape[None, :]
    crossed = np.isfinite(crossings)
    inside, outside = predicted * np.exp(windows) <= limit, predicted * np.exp(-windows) > limit
    ratios = crossings / predicted
    with np.errstate(invalid="ignore"):
        worst = np.nanmax(np.where(crossed, np.abs(np.log(ratios)) / windows, np.nan), axis=-1, initial=0.0)
    bad = ((inside & ~crossed) | (outside & crossed)).any(-1) | ((crossed | inside).sum(-1) < minimum)
    bad |= ~np.isfinite(constants)
    return np.where(bad, np.nan, worst), constants, ratios


def _window_words(shape) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in np.exp(spacing_windows(shape))) + "]"


def _panel_check(name, what, crossings, shape, limit, minimum, theory_words):
    """The check of one MLP panel (`crossing_errors` over seeds, mean <= 1) and the seed-mean ratios."""
    errors, constants, ratios = crossing_errors(crossings, shape, limit, minimum)
    check = check_over_seeds(name, (
        f"the {what} at which the MLP's skill k reaches R_k/S = 1/2 follows {theory_words} with one constant fitted "
        f"(in log) to the skills that cross, per seed: every skill predicted or measured to cross within the run "
        f"(at least {minimum}) is compared, a skill that does only one of the two fails the seed; value = worst "
        f"|ln(measured/predicted)| in units of each skill's window, half the log-gap to its neighbour's prediction "
        f"(factors {_window_words(shape)}, fixed by the theory's spacing)"), errors, upper=1.0)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN skills: NaN is the answer
        mean_ratios = np.nanmean(ratios, axis=0)
    return check, constants, [round(float(r), 3) for r in mean_ratios]


def _inversions(half_times, minimum: int) -> float:
    """Pairs ``k < l`` (skill ``k`` more frequent) with ``t_k > t_l`` among the finite half-times; NaN if fewer than
    ``minimum`` are finite."""
    finite = half_times[np.isfinite(half_times)]
    if finite.size < minimum:
        return float("nan")
    return float(np.sum(np.triu(finite[:, None] > finite[None, :], 1)))


def _logit_fit(steps, strength, low=0.1, high=0.9):
    """``(ln c, m)`` of ``R/S = 1/(1 + c e^{-m T})`` fitted to one curve where ``low < R/S < high`` (NaN if < 3
    points): ``ln(S/R - 1) = ln c - m T``."""
    window = (strength > low) & (strength < high)
    if window.sum() < 3:
        return np.nan, np.nan
    slope, intercept = np.polyfit(steps[window], np.log(1 / strength[window] - 1), 1)
    return intercept, -slope


def _time_results(ds, config) -> list:
    p, steps, S, eta = ds.frequency.values, ds.time_step.values, config.target_scale, config.learning_rate
    strength = ds.nonlinear_time_strength.values  # (seed, step, skill)
    half = _half_times(steps, strength)  # (seed, skill)
    n_s, minimum = p.size, min(MIN_SKILLS, p.size)
    results = [check_over_seeds(
        "mlp_stage_order", f"per seed, the number of pairs of skills whose half-times (R_k/S = 1/2) are out of the "
        f"order of p_k (the theory's order), among the skills that cross within the run; a seed where fewer than "
        f"{minimum} of {n_s} skills cross fails", [_inversions(h, minimum) for h in half], upper=0.0)]
    time_check, constants, ratios = _panel_check(
        "mlp_emergence_times_vs_theory", "SGD step T", half, 1 / p, float(steps[-1]), minimum,
        "t_k = C/p_k (C = ln(c) N_free/(4 eta S), the authors' calibrated time curve)")
    log_c_authors = np.log(AUTHORS_C_FACTOR * S / config.init**2 - 1)
    n_free = 4 * eta * S * constants / log_c_authors
    fits = np.array([[_logit_fit(steps, strength[s, :, k]) for k in range(n_s)] for s in range(half.shape[0])])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN skills: NaN is the answer
        c_factor = np.nanmedian((np.exp(fits[..., 0]) + 1) * config.init**2 / S, axis=1)
        n_free_fit = np.nanmedian(4 * eta * p[None, :] * S / fits[..., 1], axis=1)
    words = f"(width {config.width}, lr {eta:g}, init {config.init:g}; mean over {half.shape[0]} seeds)"
    results += [time_check, Measurement(
        "mlp_emergence_time_ratios", "seed-mean measured/predicted half-time per skill of the MLP (NaN: never "
        "crossed)", ratios), Measurement(
        "n_free_calibrated", f"N_free from the fitted t_k = C/p_k with the authors' c = 3.6 S/init^2 - 1 {words}; "
        "Nam et al. (2025): 22", _seed_mean(n_free)), Measurement(
        "c_factor_refitted", f"the factor in c = factor * S/init^2 - 1, refitted from the MLP's own sigmoids "
        f"ln(S/R_k - 1) = ln c - m_k T (median over skills) {words}; Nam et al. (2025): 3.6",
        _seed_mean(c_factor)), Measurement(
        "n_free_refitted", f"N_free = 4 eta p_k S / m_k from the same sigmoid fits {words}; Nam et al. (2025): 22",
        _seed_mean(n_free_fit))]
    return results + [_gap_check(ds, config, constants)]


def _gap_check(ds, config, constants) -> Check:
    """Per seed: the fitted slope of the MLP's t_2 - t_1 against ln(1/init) over the theory's, whose 1/m_k =
    C/(p_k ln c) uses that seed's time constant ``C``."""
    p, S, inits = ds.frequency.values, config.target_scale, ds.gap_init.values
    log_inv, gap = np.log(1 / inits), ds.nonlinear_gap_half_time.values  # (init, seed, skill)
    mlp_gap = gap[:, :, 1] - gap[:, :, 0]
    log_c = np.log(AUTHORS_C_FACTOR * S / inits**2 - 1)
    per_unit = np.polyfit(log_inv, log_c, 1)[0] / np.log(AUTHORS_C_FACTOR * S / config.init**2 - 1)
    ratios = [float(np.polyfit(log_inv, mlp_gap[:, s], 1)[0]) / (per_unit * constants[s] * (1 / p[1] - 1 / p[0]))
              if np.all(np.isfinite(mlp_gap[:, s])) else np.nan for s in range(mlp_gap.shape[1])]
    return check_over_seeds(
        "mlp_stage_gap_grows_like_log_init", "MLP: the stage gap t_2 - t_1 grows like ln(1/init) with the slope of "
        "the calibrated theory 2(1/m_2 - 1/m_1), c = 3.6 S/init^2 - 1 (per seed: fitted slope over the theory's, "
        f"inits {', '.join(f'{v:g}' for v in inits)}; within a factor 2)", ratios, lower=0.5, upper=2.0)


def _data_and_parameter_results(ds, config) -> list:
    p, S = ds.frequency.values, config.target_scale
    minimum = min(MIN_SKILLS, p.size)
    sizes, widths = ds.data_size.values, ds.width.values
    data_cross = log_crossing(sizes, np.moveaxis(ds.nonlinear_data_strength.values, -1, -2), 0.5)
    data_check, d_c, data_ratios = _panel_check(
        "mlp_data_emergence_vs_theory", f"training-set size D (after {config.data_steps} SGD steps)", data_cross,
        1 / p, float(sizes[-1]), minimum, "the D_c-shot theory D_k = 0.75 D_c/p_k")
    param_cross = log_crossing(widths, np.moveaxis(ds.nonlinear_param_strength.values, -1, -2), 0.5)
    param_check, n_c, param_ratios = _panel_check(
        "mlp_parameter_emergence_vs_theory", f"hidden width N (after {config.param_steps} Adam steps)", param_cross,
        np.arange(p.size) + 0.5, float(widths[-1]), minimum, "the N_c-shot theory N_k = (k - 1/2) N_c")
    seeds = f"mean over {d_c.size} seeds"
    return [data_check, Measurement("mlp_data_emergence_ratios", "seed-mean measured/predicted D per skill",
                                    data_ratios),
            Measurement("d_c_calibrated", f"D_c of the MLP (width {config.width}, lr {config.learning_rate:g}, "
                        f"{config.data_steps} steps; {seeds}); Nam et al. (2025): 800", _seed_mean(d_c / 0.75)),
            param_check, Measurement("mlp_parameter_emergence_ratios", "seed-mean measured/predicted width per skill",
                                     param_ratios),
            Measurement("n_c_calibrated", f"N_c of the MLP (Adam lr {config.param_learning_rate:g}, init "
                        f"{config.param_init:g}, {config.param_steps} steps; mean over {n_c.size} seeds); Nam et al. "
                        "(2025): 4", _seed_mean(n_c)),
            Measurement("padded_units_max_weight", "largest |weight| of the zero-padded hidden units after Adam (0: "
                        "each padded run is a true width-N net; the unit test trains padded against narrow nets)",
                        float(ds.nonlinear_padded_leak))]


def _skill_basis_results(ds, config) -> list:
    p, steps, S = ds.frequency.values, ds.time_step.values, config.target_scale
    results = [compare(ds.theory_time_strength.values, ds.linear_time_strength.values.mean(0), rtol=0.0, atol=0.05,
                       times=steps.astype(float), name="skill_basis_sgd_vs_theory").to_check(
        "the skill-basis model trained by SGD on the MLP's samples follows its sigmoid "
        "R_k/S = 1/(1 + c e^{-2 eta' p_k S T}) (max abs error of the seed mean, SGD noise)")]
    log_inv = np.log(1 / ds.gap_init.values)
    sb_gap = ds.flow_gap_half_time.values[:, 1] - ds.flow_gap_half_time.values[:, 0]
    results.append(check_below(
        "skill_basis_stage_gap_slope", "skill-basis model (exact flow): the gap t_2 - t_1 grows like ln(1/init) with "
        "slope (1/p_2 - 1/p_1)/S (relative error of the fitted slope)",
        abs(float(np.polyfit(log_inv, sb_gap, 1)[0]) / ((1 / p[1] - 1 / p[0]) / S) - 1), 0.02))
    seen = (ds.linear_data_count.values > 0).astype(float)
    results.append(check_below(
        "skill_basis_learns_iff_seen_vs_counts", "skill-basis model trained (engine, GD) on each of "
        f"{SKILL_BASIS_DRAWS} nested data sets: R_k/S = 1 if skill k occurs in the data, ~0 if not, against the "
        "skill counts taken in numpy (max abs difference over D, data sets and skills)",
        float(np.max(np.abs(ds.linear_data_strength.values - seen))), 1e-3))
    results.append(Measurement(
        "skill_basis_one_shot_mean_abs_error", f"mean abs difference between the fraction of the {SKILL_BASIS_DRAWS} "
        "data sets holding skill k and 1 - (1 - p_k)^D (Monte Carlo error of the one-shot law)",
        float(np.mean(np.abs(seen.mean(1) - ds.theory_data_one_shot.values)))))
    exponents, fits = theory.scaling_exponents(config.alpha), _skill_basis_fits(ds, config)
    sources = {"time": "GD on the population loss", "data": "trained to convergence on sampled data sets",
               "parameters": "trained on sampled data, loss on held-out samples",
               "compute": "the GD losses' compute frontier"}
    for name, fitted in fits.items():
        results.append(check_below(
            f"skill_basis_exponent_{name}", f"skill-basis model ({config.scaling_skills} skills, {sources[name]}): "
            f"fitted exponent of L vs {name} {fitted:.4f} vs the asymptotic theory {exponents[name]:.4f} (relative "
            "error; 10% required)", abs(fitted / exponents[name] - 1), 0.10))
    return results


def _mlp_exponents(ds, config) -> list:
    """The MLP's fitted loss exponents (5 skills only: no clean power law, so measurements, not checks)."""
    steps, exponents, losses = ds.time_step.values, theory.scaling_exponents(config.alpha), _mlp_losses(ds)
    first = _seed_mean(_half_times(steps, ds.nonlinear_time_strength.values)[:, 0])
    start = np.searchsorted(steps, first) if np.isfinite(first) else steps.size
    fits = {"time": loglog_slope(*(v[start:] for v in losses["time"])) if start < steps.size - 2 else np.nan,
            **{name: loglog_slope(*losses[name]) for name in ("data", "parameters")}}
    return [Measurement(f"mlp_exponent_{name}", f"fitted exponent of the MLP's L = sum_k p_k L_k vs {name} ("
                        f"{ds.sizes['skill']} skills; theory for many skills {exponents[name]:.3f})", float(value))
            for name, value in fits.items()]


def check(ds: xr.Dataset) -> list:
    config = dataset_config(ds, EXPERIMENT)
    return [*_time_results(ds, config), *_data_and_parameter_results(ds, config), *_skill_basis_results(ds, config),
            *_mlp_exponents(ds, config)]


def plot(ds: xr.Dataset) -> dict:
    config = dataset_config(ds, EXPERIMENT)
    p, steps, n_s = ds.frequency.values, ds.time_step.values[1:], ds.sizes["skill"]
    nl = MODEL_STYLE["nonlinear"]
    figure, axes = figure_grid(2, 4, width=5.0, height=4.5, title=(
        "Emergence on multitask sparse parity: theory solid, skill-basis model dashed, ReLU MLP dotted (n_s="
        f"{n_s}, n_b={config.n_bits}, m={config.bits_per_skill}, alpha={config.alpha}, S={config.target_scale:g})"))
    ax, mlp = axes[0, 0], ds.nonlinear_time_strength.values[:, 1:]
    colors = trajectories(ax, steps, ds.theory_time_strength.values[1:], ds.linear_time_strength.values.mean(0)[1:])
    trajectories(ax, steps, None, mlp.mean(0), kind="nonlinear", colors=colors,
                 labels=[f"k={k + 1} (p={p[k]:.3f})" for k in range(n_s)])
    for k, color in enumerate(colors):
        ax.fill_between(steps, (mlp.mean(0) - mlp.std(0))[:, k], (mlp.mean(0) + mlp.std(0))[:, k], color=color,
                        alpha=0.12)
    ax.set(xscale="log", xlabel="SGD step T", ylabel="$R_k/S$", ylim=(-0.05, 1.1),
           title=f"time (calibrated $N_{{free}}$={ds.attrs['n_free']:.1f}, width {config.width})")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[0, 1]
    trajectories(ax, (ds.data_size.values, ds.sb_data_size.values), ds.theory_data_strength.values,
                 ds.linear_data_strength.values.mean(1), colors=colors)
    for k, color in enumerate(colors):
        ax.plot(ds.sb_data_size.values, ds.theory_data_one_shot.values[:, k], color=color, lw=1, alpha=0.5)
        ax.plot(ds.data_size.values, ds.nonlinear_data_strength.values.mean(0)[:, k], "o", color=color, ms=3, **nl)
    ax.set(xscale="log", xlabel="training-set size D", ylabel="$R_k/S$", ylim=(-0.05, 1.1),
           title=f"data (calibrated $D_c$={ds.attrs['d_c']:.0f}; left: skill basis, one-shot)")
    ax, widths, mlp = axes[0, 2], ds.width.values, ds.nonlinear_param_strength.values
    trajectories(ax, widths, ds.theory_param_strength.values, ds.linear_param_strength.values, colors=colors)
    for k, color in enumerate(colors):
        ax.plot(widths, mlp.mean(0)[:, k], "o", color=color, ms=3, **nl)
        ax.fill_between(widths, (mlp.mean(0) - mlp.std(0))[:, k], (mlp.mean(0) + mlp.std(0))[:, k], color=color,
                        alpha=0.12)
    ax.set(xlabel="hidden width N (skills held, skill basis)", ylabel="$R_k/S$", ylim=(-0.05, 1.1),
           title=f"parameters (calibrated $N_c$={ds.attrs['n_c']:.2f})")
    _plot_stage_gap(axes[0, 3], ds, config)
    _plot_scaling(axes[1], ds, config)
    return {"emergence": figure}


def _plot_stage_gap(ax, ds, config):
    p, inits = ds.frequency.values, ds.gap_init.values
    log_inv, flow = np.log(1 / inits), ds.flow_gap_half_time.values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a skill no seed learned: NaN, left out of the plot
        mlp = np.nanmean(ds.nonlinear_gap_half_time.values, axis=1)
    ax.plot(log_inv, ds.theory_gap_mlp.values, color="C3", label="MLP theory (calibrated)", **MODEL_STYLE["theory"])
    ax.plot(log_inv, mlp[:, 1] - mlp[:, 0], "o", color="C3", label="MLP (steps)", **MODEL_STYLE["nonlinear"])
    twin, S = ax.twinx(), config.target_scale
    twin.plot(log_inv, np.log(S / inits**2 - 1) * (1 / p[1] - 1 / p[0]) / (2 * S), color="C0", **MODEL_STYLE["theory"])
    twin.plot(log_inv, flow[:, 1] - flow[:, 0], "s", color="C0", label="skill basis (flow time)",
              **MODEL_STYLE["linear"])
    ax.set(xlabel="ln(1/init)", ylabel="MLP stage gap $t_2-t_1$ (steps)", title="stage gap grows like ln(1/init)")
    twin.set_ylabel("skill-basis stage gap (time)")
    ax.legend(fontsize=8, loc="upper left")
    twin.legend(fontsize=8, loc="lower right")


def _plot_scaling(axes, ds, config):
    exponents, fits, mlp = theory.scaling_exponents(config.alpha), _skill_basis_fits(ds, config), _mlp_losses(ds)
    mlp["time"] = tuple(v[1:] for v in mlp["time"])
    panels = [("time", "time T (skill basis)", ds.linear_scaling_loss_time[1:], ds.theory_scaling_loss_time[1:]),
              ("data", "data D", ds.linear_scaling_loss_data.mean("scaling_seed"), ds.theory_scaling_loss_data),
              ("parameters", "parameters N", ds.linear_scaling_loss_params, ds.theory_scaling_loss_params),
              ("compute", "compute C = N T (optimal allocation)", ds.linear_scaling_loss_compute, None)]
    for ax, (name, label, simulated, predicted) in zip(axes, panels):
        x, y = simulated[simulated.dims[0]].values, simulated.values
        if predicted is not None:
            ax.plot(x, predicted.values, color="k", label="theory", **MODEL_STYLE["theory"])
        ax.plot(x, y, color="C0", label=f"skill basis: slope {fits[name]:.3f}", **MODEL_STYLE["linear"])
        guide = y[len(y) // 2] * (x / x[len(x) // 2]) ** exponents[name]
        ax.plot(x, guide, color="0.5", lw=1, label=f"$\\propto$ {label.split()[0]}$^{{{exponents[name]:.3f}}}$")
        if name in mlp:
            ax.plot(*mlp[name], color="C3", label="MLP (own x units)", **MODEL_STYLE["nonlinear"])
        ax.set(xscale="log", yscale="log", xlabel=label, ylabel="test loss L", title=f"scaling in {name}")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.legend(fontsize=8)


EXPERIMENT = Experiment(
    name="emergence",
    description="Emergence in time, data and parameters and scaling laws: skill-basis model vs ReLU MLP on multitask "
                "sparse parity (Fig. 4)",
    config_type=EmergenceConfig,
    quick={"seeds": 3, "width": 250, "learning_rate": 0.04, "batch_size": 256, "time_steps": 10000,
           "gap_inits": (0.003, 0.03), "gap_steps": 5000, "data_sizes": (1000, 2000, 4000, 8000, 16000),
           "data_seeds": 3, "data_steps": 8000, "param_widths": (2, 4, 6, 8, 12, 16, 20, 28, 40),
           "param_steps": 4000, "eval_size": 1000, "scaling_skills": 10000,
           "fit_skills": (8, 50), "scaling_data_seeds": 2},
    presets={"test": {"seeds": 3, "width": 64, "learning_rate": 0.05, "batch_size": 128, "time_steps": 1500,
                      "gap_inits": (0.03,), "gap_steps": 1500, "data_sizes": (300, 1000, 3000), "data_seeds": 3,
                      "data_steps": 300, "param_widths": (1, 2, 4), "param_steps": 200, "eval_size": 200,
                      "scaling_skills": 1000, "fit_skills": (5, 30), "scaling_data_seeds": 2}},
    simulate=simulate,
    check=check,
    plot=plot,
    units=lambda config: 5,
)
