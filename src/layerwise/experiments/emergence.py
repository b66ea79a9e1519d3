r"""Experiment ``emergence``: emergence and scaling laws on multitask sparse parity (Nam et al. 2025 Fig. 4; Nam et
al. 2024).

Skills ``g_k`` of multitask sparse parity (`layerwise.data.sparse_parity`) are orthogonal with ``E[g_k^2] = p_k ∝
k^{-(alpha+1)}``. The *skill-basis model* ``f = sum_k a_k b_k g_k`` is a two-layer diagonal linear network on the
features ``g(x)`` (`DiagonalLinearNetwork` trained by the engine on ``sample_features``), whose skill strengths are
Saxe sigmoids ``R_k(t)/S = 1/(1 + (S/R_0 - 1) e^{-2 eta p_k S t})`` (`layerwise.theory.skill_strength`). A 2-layer
ReLU MLP (``n_s + n_b -> N -> 1``, weights and biases ``N(0, init^2)``, MSE, as the authors) is trained by the same
engine on the same samples. Panels:

1. **time**: ``R_k/S`` vs SGD step ``T`` on fresh samples. Theory = the authors' calibrated "extended model"
   ``R_k/S = 1/(1 + c e^{-m_k T})``, ``c = 3.6 S/init^2 - 1`` (their fit of ``R_k(0)``),
   ``m_k = 4 eta p_k S / N_free`` ("4": MSE, not MSE/2); the one parameter ``N_free`` is calibrated on skill 1's
   half-time (the authors fitted 22). The skill-basis model is trained with SGD at ``eta' = 2 eta / N_free`` from
   ``R_0 = S/(1 + c)`` on the *same* samples as each MLP seed.
2. **data**: ``R_k/S`` after training on ``D`` fixed samples. Theory = the ``D_c``-shot extended model
   ``R_k/S = 1 - sqrt(max(0, 1 - D p_k / D_c))`` with ``D_c`` calibrated on skill 1 (authors: 800). The skill-basis
   model is a one-shot learner: trained to convergence it holds skill ``k`` iff skill ``k`` occurs in the data,
   ``E[R_k/S] = 1 - (1 - p_k)^D``.
3. **parameters**: ``R_k/S`` vs hidden width ``N`` (Adam on fresh samples). Theory = ``R_k/S = clip((N - (k-1)N_c)
   / N_c, 0, 1)`` with ``N_c`` calibrated on skill 1 (authors: 4); widths are padded to the largest one with
   all-zero hidden units, which get exactly zero gradient (ReLU and zero output weight), so every width trains in
   one compiled call.
4. **stage gap**: ``t_2 - t_1`` vs ``ln(1/init)``, slope ``(1/p_2 - 1/p_1)/S`` in the skill-basis model (exact flow,
   ``R_0 = init^2``) and ``2 (1/m_2 - 1/m_1)`` predicted for the MLP (paper.md §7 claim 4).
5. **scaling laws** of the skill-basis model with ``scaling_skills`` skills: ``L(T)``, ``L(D)``, ``L(N)`` and the
   compute frontier ``L(C = N T)``, fitted exponents vs ``-alpha/(alpha+1)``, ``-alpha/(alpha+1)``, ``-alpha``,
   ``-alpha/(alpha+2)``. Because ``E[g_k g_l] = delta_kl p_k`` the loss ``1/2 sum_k p_k (S - a_k b_k)^2`` is a sum of
   independent one-skill terms, so the model's coordinates are trained as vmapped one-skill runs (the same GD,
   coordinate by coordinate); the ``T -> infinity`` limits (data, parameters) run each coordinate to convergence with
   its own step size, which changes the path but not the limit ``a_k b_k = S`` reached from a balanced init.

What is shrunk from the authors (paper.md §5.5), for CPU: batch 500 instead of 4,000 samples per step, 5 seeds
instead of 10, the data panel trains for ``data_steps`` mini-batch steps instead of 100,000 epochs and uses the
time panel's SGD settings (lr 0.02, init 0.01) instead of lr 0.05 / init 0.001 with lr halving; the parameter panel
uses ``param_steps`` Adam steps. ``--quick`` also narrows the MLP (width 250) and shortens every run.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from layerwise import metrics, theory
from layerwise.compare import compare
from layerwise.data.sparse_parity import MultitaskSparseParity, sparse_parity_problem
from layerwise.data.task import Task
from layerwise.errors import LayerwiseError, check_positive, check_positive_int
from layerwise.experiments.base import Experiment, Outcome, Progress
from layerwise.metrics.skills import skill_strength_observable
from layerwise.models import MLP, DiagonalLinearNetwork, mlp_init
from layerwise.report.checks import Check, check_below
from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.engine import gradient_flow, linear_record_steps, log_record_steps, train

AUTHORS_C_FACTOR = 3.6
"""``c = 3.6 S / init^2 - 1``: the authors' empirical fit of the MLP's initial skill strength (Skill_Eigenmode,
``plot_emergence_calibration_all.py``)."""
AUTHORS_N_FREE = 22.0
"""The authors' fitted N_free (``m_k = 4 eta p_k S / N_free``), used only if skill 1 never emerges."""
EMERGENCE_FACTOR = 1.5
_SKILL_BASIS_DRAWS = 32
"""MLP emergence times / data / widths must lie within this factor of the calibrated theory."""


@dataclasses.dataclass(frozen=True)
class EmergenceConfig:
    """Settings of the ``emergence`` experiment (defaults: the full run, the authors' sizes where CPU allows)."""

    seed: int = 0
    """Draws the skills' bits, the MLP inits, the samples and the data sets."""
    n_skills: int = 5
    n_bits: int = 32
    bits_per_skill: int = 3
    alpha: float = 0.6
    """Zipf exponent: p_k ∝ k^-(alpha+1)."""
    target_scale: float = 5.0
    """S: labels are ±S."""
    seeds: int = 5
    """MLP runs (seeds) per setting of the time and parameter panels."""
    width: int = 1000
    """Hidden width of the MLP in the time and data panels."""
    init: float = 0.01
    """Std of the MLP's weights and biases (time and data panels)."""
    learning_rate: float = 0.02
    """SGD learning rate of the time and data panels."""
    batch_size: int = 500
    """Samples per SGD/Adam step."""
    time_steps: int = 25000
    gap_inits: tuple[float, ...] = (0.003, 0.03)
    """Further MLP init scales for the stage gap (with ``init``; same seeds, unit-normal directions and samples)."""
    gap_steps: int = 8000
    data_sizes: tuple[int, ...] = (1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 48000)
    """Training-set sizes D of the data panel."""
    data_seeds: int = 2
    """MLP runs per data set (each D has one fixed data set; seeds vary the init and the batch order)."""
    data_steps: int = 25000
    param_widths: tuple[int, ...] = tuple(range(1, 21)) + (24, 28, 32, 40)
    """Hidden widths N of the parameter panel (the authors' plot: 1..20)."""
    param_init: float = 0.05
    param_learning_rate: float = 0.01
    """Adam learning rate of the parameter panel (the authors' plot says 0.05; with our shorter runs 0.05 learned
    nothing within 3,000 steps, 0.01 learns)."""
    param_steps: int = 15000
    eval_size: int = 2000
    """Held-out samples per skill for R_k (authors: 20,000)."""
    scaling_skills: int = 30000
    """Skills of the skill-basis model in the scaling-law panels (p_k over k = 1..scaling_skills)."""
    fit_skills: tuple[int, int] = (8, 100)
    """Fit the exponents where skills k_lo..k_hi emerge (T in [t_klo, t_khi], D in [1/p_klo, 1/p_khi], N in [k_lo,
    k_hi]); k_hi << scaling_skills keeps the finite-n_s truncation small."""
    scaling_data_seeds: int = 4

    def __post_init__(self):
        check_positive_int("seed", self.seed, minimum=0)
        for name in ("n_skills", "n_bits", "bits_per_skill", "seeds", "width", "batch_size", "time_steps",
                     "gap_steps", "data_seeds", "data_steps", "param_steps", "eval_size",
                     "scaling_data_seeds"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("n_skills", self.n_skills, minimum=3)
        for name in ("alpha", "target_scale", "init", "learning_rate", "param_init", "param_learning_rate"):
            check_positive(name, getattr(self, name))
        if self.n_skills * self.bits_per_skill > self.n_bits:
            raise LayerwiseError("n_bits must be >= n_skills * bits_per_skill (disjoint skills)")
        for value in self.gap_inits:
            check_positive("gap_inits", value)
        if not self.gap_inits or self.init in self.gap_inits:
            raise LayerwiseError("gap_inits must be non-empty and differ from init")
        for value in self.data_sizes:
            check_positive_int("data_sizes", value)
        if len(self.data_sizes) < 3 or list(self.data_sizes) != sorted(set(self.data_sizes)):
            raise LayerwiseError("data_sizes must be >= 3 increasing integers")
        for value in self.param_widths:
            check_positive_int("param_widths", value)
        if len(self.param_widths) < 3 or list(self.param_widths) != sorted(set(self.param_widths)):
            raise LayerwiseError("param_widths must be >= 3 increasing integers")
        if len(self.fit_skills) != 2 or not 2 <= self.fit_skills[0] < self.fit_skills[1] <= self.scaling_skills // 10:
            raise LayerwiseError("fit_skills must be (k_lo, k_hi) with 2 <= k_lo < k_hi <= scaling_skills / 10")


# ------------------------------------------------------------------------------------------------- MLP observables
def _mlp_observables(problem: MultitaskSparseParity, x_eval, y_eval, features: bool = False):
    """``skill_strength`` R_k and ``skill_loss`` 1/2 E_k (f - y)^2 on the held-out per-skill sets, dims (skill,)."""
    if features:
        x_eval = jax.vmap(problem.skill_features)(x_eval)
    x_eval = jnp.asarray(x_eval)
    y_flat = jnp.asarray(y_eval)[..., 0]
    skills, n, d = x_eval.shape

    def skill_loss(model, params, task):
        outputs = model.apply(params, x_eval.reshape(skills * n, d)).reshape(skills, n)
        return 0.5 * jnp.mean((outputs - y_flat) ** 2, axis=1)

    return {"skill_strength": (skill_strength_observable(x_eval, y_eval), ("skill",)),
            "skill_loss": (skill_loss, ("skill",))}


def _mlp_params(key, model: MLP, scales, dtype=jnp.float32):
    """One run per ``scales`` entry: weights and biases ~ N(0, scale^2) (Nam et al. 2024's ``init``)."""
    scales = jnp.asarray(scales, dtype)
    unit = jax.vmap(lambda k: mlp_init(k, model, 1.0, 1.0, parameterisation="standard", dtype=dtype))(
        jax.random.split(key, scales.shape[0]))
    return jax.tree_util.tree_map(lambda leaf: leaf * scales.reshape((-1,) + (1,) * (leaf.ndim - 1)), unit)


def _mlp_train(config, problem, model, params, sampler, steps, key, observables, *, optimizer="sgd",
               learning_rate=None, records=60):
    x_mix, y_mix = problem.sample(jax.random.fold_in(key, 999), 64)
    task = Task.from_samples(x_mix, y_mix, sampler=sampler)
    return train(model, params, task, steps=steps, optimizer=optimizer,
                 learning_rate=config.learning_rate if learning_rate is None else learning_rate,
                 batch_size=config.batch_size, key=key,
                 record_steps=linear_record_steps(steps, max(1, steps // records)),
                 observables=observables, loss="mean_squared_error")


def _half_times(steps, strength):
    """First step where each skill's R_k/S reaches 1/2: strength (..., step, skill) -> (..., skill)."""
    return metrics.crossing_time(steps, np.moveaxis(np.asarray(strength), -1, -2), 0.5)


# ------------------------------------------------------------------------------------------ skill-basis helpers
def _one_skill_task(frequencies, S):
    """One-skill population tasks, one per run: E[g^2] = p, E[g y] = S p, E[y^2] = S^2 p (orthogonal skills)."""
    p = jnp.asarray(frequencies, dtype=jnp.float64)
    return Task(input_covariance=p[:, None, None], cross_covariance=S * p[:, None, None],
                output_second_moment=S * S * p)


def _converged_strengths(frequencies, S, u0, steps=150):
    r"""``a_k b_k`` after training each coordinate of the skill-basis model to convergence on the (empirical)
    skill frequencies ``frequencies`` (..., K); GD with per-coordinate step ``0.5/(2 S p_k)`` (1 where ``p_k = 0``:
    no gradient, the coordinate stays at ``u0``)."""
    frequencies = np.asarray(frequencies, dtype=float)
    flat = frequencies.reshape(-1)
    model = DiagonalLinearNetwork(dim=1, depth=2)
    params = jnp.full((flat.size, 2, 1), np.sqrt(u0))
    rate = np.where(flat > 0, 0.5 / (2 * S * np.where(flat > 0, flat, 1.0)), 1.0)
    result = train(model, params, _one_skill_task(flat, S), steps=steps, learning_rate=rate, task_batched=True,
                   record_steps=np.array([steps]))
    return np.asarray(jnp.prod(result.params, axis=1)[:, 0]).reshape(frequencies.shape)


def _fit_slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# ---------------------------------------------------------------------------------------------------- panels
def _time_runs(config, problem, x_eval, y_eval, key, init, steps):
    """``config.seeds`` MLPs from weights ``init * (unit normal)`` on fresh samples. Every call with the same ``key``
    uses the same unit-normal directions and the same sample stream per seed, so runs at different ``init`` differ
    only in the init scale (the stage-gap comparison)."""
    model = MLP(widths=(problem.in_dim, config.width, 1), activation="relu")
    params = _mlp_params(jax.random.fold_in(key, 0), model, np.full(config.seeds, init))
    sample_key = jax.random.fold_in(key, 1)
    history = _mlp_train(config, problem, model, params, problem.sample, steps, sample_key,
                         _mlp_observables(problem, x_eval, y_eval), records=100).history
    return history, sample_key


def _skill_basis_time(config, problem, x_eval, y_eval, sample_key, learning_rate, r0):
    """The skill-basis model on the same samples as each MLP seed (same key, same number of runs)."""
    model = DiagonalLinearNetwork(dim=problem.n_skills, depth=2)
    params = jnp.full((config.seeds, 2, problem.n_skills), np.sqrt(r0))
    g_mix, y_mix = problem.sample_features(jax.random.fold_in(sample_key, 999), 64)
    task = Task.from_samples(g_mix, y_mix, sampler=problem.sample_features)
    observables = {"skill_strength": _mlp_observables(problem, x_eval, y_eval, features=True)["skill_strength"]}
    return train(model, params, task, steps=config.time_steps, learning_rate=learning_rate,
                 batch_size=config.batch_size, key=sample_key, observables=observables,
                 record_steps=linear_record_steps(config.time_steps, max(1, config.time_steps // 100))).history


def _skill_basis_gap(config, p, inits):
    """Exact gradient flow of the skill-basis model (population, E[g g^T] = diag p) from a_k = b_k = init."""
    S = config.target_scale
    model = DiagonalLinearNetwork(dim=p.size, depth=2)
    task = Task.from_statistics(np.diag(p), S * p[None, :], S * S)
    params = jnp.stack([jnp.full((2, p.size), a) for a in inits])
    t_end = 1.5 * np.log(S / min(inits) ** 2) / (2 * S * p[1])
    times = np.linspace(0.0, t_end, 3001)
    history = gradient_flow(model, params, task, times, rtol=1e-10, atol=1e-12,
                            observables={"weights": (lambda m, q, t: m.end_to_end(q)[0], ("skill",))}).history
    return metrics.crossing_time(times, np.moveaxis(history.weights.values / S, -1, -2), 0.5)  # (init, skill)


def _data_panel(config, problem, x_eval, y_eval, key):
    model = MLP(widths=(problem.in_dim, config.width, 1), activation="relu")
    observables = _mlp_observables(problem, x_eval, y_eval)
    final, losses = [], []
    for i, size in enumerate(config.data_sizes):
        params = _mlp_params(jax.random.fold_in(key, 2 * i), model, np.full(config.data_seeds, config.init))
        sampler = problem.dataset_sampler(_dataset_seed(config), size)
        history = _mlp_train(config, problem, model, params, sampler, config.data_steps,
                             jax.random.fold_in(key, 2 * i + 1), observables, records=10).history
        final.append(history.skill_strength.isel(step=-1).values)
        losses.append(history.skill_loss.isel(step=-1).values)
    return np.stack(final, axis=1), np.stack(losses, axis=1)  # (seed, data_size, skill)


def _dataset_seed(config) -> int:
    return int(config.seed) * 1_000_003 + 17


def _param_panel(config, problem, x_eval, y_eval, key):
    widths = np.asarray(config.param_widths)
    largest = int(widths.max())
    model = MLP(widths=(problem.in_dim, largest, 1), activation="relu")
    run_widths = np.repeat(widths, config.seeds)
    params = _mlp_params(jax.random.fold_in(key, 0), model, np.full(run_widths.size, config.param_init))
    # Units j >= N of a width-N run are all zero (in- and out-weights, bias): they get exactly zero gradient (ReLU
    # output 0, output weight 0), so the padded net trains as a width-N net.
    alive = (np.arange(largest)[None, :] < run_widths[:, None]).astype(np.float32)
    (w1, b1), (w2, b2) = params
    params = ((w1 * alive[:, :, None], b1 * alive), (w2 * alive[:, None, :], b2))
    result = _mlp_train(config, problem, model, params, problem.sample, config.param_steps, jax.random.fold_in(key, 1),
                        _mlp_observables(problem, x_eval, y_eval), optimizer="adam",
                        learning_rate=config.param_learning_rate, records=10)
    (w1, b1), (w2, _) = result.params
    dead = 1.0 - alive
    leak = float(max(np.max(np.abs(np.asarray(w1) * dead[:, :, None])), np.max(np.abs(np.asarray(b1) * dead)),
                     np.max(np.abs(np.asarray(w2) * dead[:, None, :]))))
    history = result.history
    shape = (widths.size, config.seeds, problem.n_skills)
    strength = history.skill_strength.isel(step=-1).values.reshape(shape).transpose(1, 0, 2)
    loss = history.skill_loss.isel(step=-1).values.reshape(shape).transpose(1, 0, 2)
    return strength, loss, leak  # (seed, width, skill)


def _scaling(config):
    """Skill-basis scaling laws with ``scaling_skills`` skills: L(T), L(D), L(N), compute frontier."""
    S, alpha = config.target_scale, config.alpha
    p = np.asarray(theory.skill_frequencies(config.scaling_skills, alpha))
    r0 = config.init**2
    k_lo, k_hi = config.fit_skills
    emerge = np.log(S / r0 - 1) / (2 * S * p)  # t_k (gradient-flow time)
    # time: GD at a step stable for the fastest skill; only skills k >= k_lo (resolved to <2.5% per step) are fitted.
    lr = 0.5 / (2 * S * p[0])
    steps = int(np.ceil(2 * emerge[k_hi - 1] / lr))
    model = DiagonalLinearNetwork(dim=1, depth=2)
    result = train(model, jnp.full((p.size, 2, 1), np.sqrt(r0)), _one_skill_task(p, S), steps=steps,
                   learning_rate=lr, task_batched=True, record_steps=log_record_steps(steps, 90))
    per_skill = result.history.loss.values  # (skill, step): 1/2 p_k (S - a_k b_k)^2
    times = result.history.time.values[0]
    loss_time = per_skill.sum(0)
    loss_time_theory = np.asarray(theory.loss_vs_time(times, p, S, r0))
    window = (times >= emerge[k_lo - 1]) & (times <= emerge[k_hi - 1])
    # compute C = N T: L(N, T) = sum_{k <= N} l_k(T) + 1/2 S^2 sum_{k > N} p_k, minimised over N T = C.
    tail = 0.5 * S * S * np.concatenate([np.cumsum(p[::-1])[::-1][1:], [0.0]])
    loss_nt = np.cumsum(per_skill, axis=0) + tail[:, None]  # (N, step)
    compute = np.geomspace(k_lo * emerge[k_lo - 1], k_hi * emerge[k_hi - 1], 25)
    frontier = np.array([_frontier(loss_nt, times, c) for c in compute])
    # data: counts of each skill in D samples, each coordinate trained to convergence on its empirical frequency.
    rng = np.random.default_rng(config.seed)
    sizes = np.unique(np.round(np.geomspace(1 / p[k_lo - 1], 1 / p[k_hi - 1], 12)).astype(int))
    counts = np.stack([rng.multinomial(size, p, size=config.scaling_data_seeds) for size in sizes])
    strengths = _converged_strengths(counts / sizes[:, None, None], S, r0)
    loss_data = 0.5 * np.sum(p * (S - strengths) ** 2, axis=-1)  # (size, seed): population test loss
    # parameters: a model holding the N most frequent skills, trained to convergence.
    widths = np.unique(np.round(np.geomspace(k_lo, k_hi, 12)).astype(int))
    held = _converged_strengths(p, S, r0)
    part = np.concatenate([[0.0], np.cumsum(0.5 * p * (S - held) ** 2)])
    loss_params = part[widths] + tail[widths - 1]
    return {
        "p": p, "times": times, "window": window, "loss_time": loss_time, "loss_time_theory": loss_time_theory,
        "compute": compute, "frontier": frontier, "sizes": sizes, "loss_data": loss_data,
        "loss_data_theory": np.asarray(theory.loss_vs_data(sizes.astype(float), p, S)), "widths": widths,
        "loss_params": loss_params, "loss_params_theory": np.asarray(theory.loss_vs_parameters(widths, p, S)),
        "fits": {
            "time": _fit_slope(times[window], loss_time[window]),
            "data": _fit_slope(sizes, loss_data.mean(1)),
            "parameters": _fit_slope(widths, loss_params),
            "compute": _fit_slope(compute, frontier),
        },
        "theory_fits": {
            "time": _fit_slope(times[window], loss_time_theory[window]),
            "data": _fit_slope(sizes, np.asarray(theory.loss_vs_data(sizes.astype(float), p, S))),
            "parameters": _fit_slope(widths, np.asarray(theory.loss_vs_parameters(widths, p, S))),
        },
    }


def _frontier(loss_nt, times, compute):
    """min over recorded T of L(N = floor(C/T), T) (N clipped to the number of skills)."""
    positive = times > 0
    n = np.clip(np.floor(compute / times[positive]).astype(int), 0, loss_nt.shape[0])
    valid = n >= 1
    return float(np.min(loss_nt[n[valid] - 1, np.flatnonzero(positive)[valid]]))


# ----------------------------------------------------------------------------------------------- calibration
def _calibrate(grid, curve, model_fn):
    """The parameter value on ``grid`` minimising the squared error of ``model_fn(value)`` to ``curve``."""
    errors = [np.nansum((model_fn(value) - curve) ** 2) for value in grid]
    return float(grid[int(np.argmin(errors))])


def _data_theory(sizes, p, d_c):
    return 1.0 - np.sqrt(np.clip(1.0 - np.outer(sizes, p) / d_c, 0.0, None))


def _param_theory(widths, n_skills, n_c):
    return np.clip((np.asarray(widths, float)[:, None] - np.arange(n_skills)[None, :] * n_c) / n_c, 0.0, 1.0)


def _crossing(x, curves):
    """First x (log-interpolated) where each curve (skill, x) reaches 1/2; NaN if never."""
    return np.exp(metrics.crossing_time(np.log(np.asarray(x, float)), curves, 0.5))


def _within_factor(measured, predicted, factor):
    ratio = np.asarray(measured) / np.asarray(predicted)
    return ratio, bool(np.all(np.isfinite(ratio)) and np.all((ratio <= factor) & (ratio >= 1 / factor)))


# ------------------------------------------------------------------------------------------------------- run
def run(config: EmergenceConfig, progress: Progress) -> Outcome:
    S, eta = config.target_scale, config.learning_rate
    problem = sparse_parity_problem(config.seed, config.n_skills, config.n_bits, config.bits_per_skill,
                                    config.alpha, S, dtype="float32")
    p = problem.frequencies
    n_s = problem.n_skills
    key = jax.random.PRNGKey(config.seed)
    x_eval, y_eval = problem.evaluation_sets(jax.random.fold_in(key, 0), config.eval_size)
    checks: list[Check] = []

    # 1. time -------------------------------------------------------------------------------------------------
    time_key = jax.random.fold_in(key, 1)
    time_history, sample_key = _time_runs(config, problem, x_eval, y_eval, time_key, config.init, config.time_steps)
    steps = time_history.step.values
    mlp_time = time_history.skill_strength.values / S  # (seed, step, skill)
    half = _half_times(steps, mlp_time.mean(0))
    c = AUTHORS_C_FACTOR * S / config.init**2 - 1
    # Calibrate N_free on skill 1's half-time; if skill 1 never emerged, fall back to the authors' 22 (the checks
    # on the emergence times then fail: no skill-1 half-time).
    n_free = 4 * eta * p[0] * S * half[0] / np.log(c) if np.isfinite(half[0]) else AUTHORS_N_FREE
    r0 = S / (1 + c)
    eta_model = 2 * eta / n_free  # the extended model's learning rate: rate 2 eta' p_k S = 4 eta p_k S / N_free
    time_theory = np.asarray(theory.skill_strength(steps.astype(float), p, S, r0, eta_model)) / S
    sb_time = _skill_basis_time(config, problem, x_eval, y_eval, sample_key, eta_model, r0)
    sb_strength = sb_time.skill_strength.values / S
    progress("time emergence")
    predicted_half = half[0] * p[0] / p
    reached = np.isfinite(half)
    order = [int(i) for i in np.argsort(np.where(reached, half, np.inf))[: int(reached.sum())]]
    checks.append(Check(
        "mlp_stage_order", "the MLP's skills emerge (R_k/S = 1/2, seed mean) one after another in order of p_k, as "
        "the theory; at least 3 skills emerge within the run", order, list(range(int(reached.sum()))),
        bool(reached.sum() >= 3 and order == list(range(int(reached.sum()))))))
    expected_in_run = predicted_half <= steps[-1]
    ratio, ok = _within_factor(half[1:][expected_in_run[1:]], predicted_half[1:][expected_in_run[1:]],
                               EMERGENCE_FACTOR)
    checks.append(Check(
        "mlp_emergence_times_vs_theory", f"after calibrating N_free on skill 1's half-time (N_free = {n_free:.1f}; "
        f"authors 22), the MLP's half-times of skills k >= 2 are within a factor {EMERGENCE_FACTOR} of the theory's "
        "t_k = t_1 p_1/p_k (ratios measured/theory, skills expected within the run)",
        [round(float(r), 3) for r in ratio], f"in [{1 / EMERGENCE_FACTOR:.2f}, {EMERGENCE_FACTOR}]", ok))
    checks.append(compare(time_theory, sb_strength.mean(0), rtol=0.0, atol=0.05, times=steps.astype(float),
                          name="skill_basis_sgd_vs_theory").to_check(
        "the skill-basis model trained by SGD on the MLP's samples follows its sigmoid "
        "R_k/S = 1/(1 + c e^{-2 eta' p_k S T}) (max abs error of the seed mean, SGD noise)"))

    # 2. stage gap ---------------------------------------------------------------------------------------------
    gap_inits = np.concatenate([[config.init], config.gap_inits])
    gap_half = [half]
    for value in config.gap_inits:
        gap_history, _ = _time_runs(config, problem, x_eval, y_eval, time_key, value, config.gap_steps)
        gap_half.append(_half_times(gap_history.step.values, gap_history.skill_strength.values.mean(0) / S))
    gap_half = np.stack(gap_half)  # (init, skill)
    order_inits = np.argsort(gap_inits)[::-1]
    gap_inits, gap_half = gap_inits[order_inits], gap_half[order_inits]
    log_inv = np.log(1 / gap_inits)
    mlp_gap = gap_half[:, 1] - gap_half[:, 0]
    mlp_slope = float(np.polyfit(log_inv, mlp_gap, 1)[0]) if np.all(np.isfinite(mlp_gap)) else np.nan
    m = 4 * eta * p * S / n_free
    predicted_gap = np.log(AUTHORS_C_FACTOR * S / gap_inits**2 - 1) * (1 / m[1] - 1 / m[0])
    predicted_slope = float(np.polyfit(log_inv, predicted_gap, 1)[0])
    sb_half = _skill_basis_gap(config, p, gap_inits)
    sb_gap = sb_half[:, 1] - sb_half[:, 0]
    sb_slope = float(np.polyfit(log_inv, sb_gap, 1)[0])
    sb_slope_theory = (1 / p[1] - 1 / p[0]) / S
    progress("stage gap")
    checks.append(check_below(
        "skill_basis_stage_gap_slope", "skill-basis model (exact flow): the gap t_2 - t_1 grows like ln(1/init) with "
        "slope (1/p_2 - 1/p_1)/S (relative error of the fitted slope)", abs(sb_slope / sb_slope_theory - 1), 0.02))
    gap_ratio = mlp_slope / predicted_slope
    checks.append(Check(
        "mlp_stage_gap_grows_like_log_init", "MLP: the stage gap t_2 - t_1 increases as init shrinks, with a slope "
        "vs ln(1/init) within a factor 2 of the calibrated theory 2(1/m_2 - 1/m_1) (measured/theory)",
        round(float(gap_ratio), 3), "in [0.5, 2] and gaps increasing",
        bool(np.isfinite(gap_ratio) and 0.5 <= gap_ratio <= 2 and np.all(np.diff(mlp_gap) > 0))))

    # 3. data ----------------------------------------------------------------------------------------------------
    sizes = np.asarray(config.data_sizes)
    data_strength, data_loss = _data_panel(config, problem, x_eval, y_eval, jax.random.fold_in(key, 3))
    data_strength = data_strength / S
    data_mean = data_strength.mean(0)  # (size, skill)
    d_c = _calibrate(np.geomspace(sizes[0] * p[0] / 20, sizes[-1] * p[0], 600), data_mean[:, 0],
                     lambda v: _data_theory(sizes, p[:1], v)[:, 0])
    data_theory = _data_theory(sizes, p, d_c)
    sb_sizes = np.unique(np.concatenate([np.round(np.geomspace(1, sizes[-1], 30)).astype(int), sizes]))
    # Nested data sets (dataset(seed, D) is a prefix of the largest): draw 0 is the MLP's data.
    draws = [np.asarray(problem.dataset_skills(_dataset_seed(config) + j, int(sb_sizes[-1])))
             for j in range(_SKILL_BASIS_DRAWS)]
    prefix = np.stack([np.cumsum(np.eye(n_s)[skills], axis=0) for skills in draws])  # (draw, sample, skill)
    sb_counts = prefix[:, sb_sizes - 1].transpose(1, 0, 2)  # (size, draw, skill)
    sb_data = _converged_strengths(sb_counts / sb_sizes[:, None, None], S, config.init**2) / S
    progress("data emergence")
    data_half = _crossing(sizes, data_mean.T)
    data_predicted = 0.75 * d_c / p
    # The D_c-shot theory is a T -> infinity limit: judge the skills predicted inside the D grid whose online
    # emergence time t_k = t_1 p_1/p_k leaves margin within data_steps (later ones are time-limited, not data-limited).
    in_grid = (data_predicted <= sizes[-1]) & (1.25 * predicted_half <= config.data_steps)
    ratio, ok = _within_factor(data_half[1:][in_grid[1:]], data_predicted[1:][in_grid[1:]], EMERGENCE_FACTOR)
    checks.append(Check(
        "mlp_data_emergence_vs_theory", f"after calibrating D_c on skill 1 (D_c = {d_c:.0f}; authors 800), the D at "
        f"which the MLP's skill k >= 2 reaches R_k/S = 1/2 is within a factor {EMERGENCE_FACTOR} of the D_c-shot "
        "theory 0.75 D_c/p_k (ratios; skills predicted within the D grid and learnable within data_steps: 1.25 t_k <= "
        "data_steps)", [round(float(r), 3) for r in ratio],
        f"in [{1 / EMERGENCE_FACTOR:.2f}, {EMERGENCE_FACTOR}]", ok and bool(in_grid[1:].any())))
    sb_data_theory = 1 - (1 - p[None, :]) ** sb_sizes[:, None]
    checks.append(check_below(
        "skill_basis_one_shot", "skill-basis model trained to convergence on D samples learns skill k iff it occurs: "
        f"mean R_k/S = 1 - (1 - p_k)^D (mean abs error over D and skills, {_SKILL_BASIS_DRAWS} nested data sets)",
        float(np.mean(np.abs(sb_data.mean(1) - sb_data_theory))), 0.05))

    # 4. parameters ----------------------------------------------------------------------------------------------
    widths = np.asarray(config.param_widths)
    param_strength, param_loss, leak = _param_panel(config, problem, x_eval, y_eval, jax.random.fold_in(key, 4))
    param_strength = param_strength / S
    param_mean = param_strength.mean(0)
    n_c = _calibrate(np.linspace(0.25, widths[-1], 800), param_mean[:, 0],
                     lambda v: _param_theory(widths, 1, v)[:, 0])
    param_theory = _param_theory(widths, n_s, n_c)
    sb_param = (np.arange(n_s)[None, :] < widths[:, None]) * _converged_strengths(p, S, config.init**2)[None, :] / S
    progress("parameter emergence")
    param_half = _crossing(widths, param_mean.T)
    param_predicted = (np.arange(n_s) + 0.5) * n_c
    in_grid = param_predicted <= widths[-1]
    ratio, ok = _within_factor(param_half[1:][in_grid[1:]], param_predicted[1:][in_grid[1:]], EMERGENCE_FACTOR)
    checks.append(Check(
        "mlp_parameter_emergence_vs_theory", f"after calibrating N_c on skill 1 (N_c = {n_c:.2f}; authors 4), the "
        f"width at which the MLP's skill k >= 2 reaches R_k/S = 1/2 is within a factor {EMERGENCE_FACTOR} of "
        "(k - 1/2) N_c (ratios, skills predicted within the width grid)", [round(float(r), 3) for r in ratio],
        f"in [{1 / EMERGENCE_FACTOR:.2f}, {EMERGENCE_FACTOR}]", ok and bool(in_grid[1:].any())))
    checks.append(check_below(
        "padded_units_stay_zero", "hidden units padded with zeros get exactly zero gradient under Adam (max |weight| "
        "of padded units after training), so each run is a true width-N net", leak, 0.0))

    # 5. scaling laws --------------------------------------------------------------------------------------------
    scaling = _scaling(config)
    exponents = theory.scaling_exponents(config.alpha)
    progress("scaling laws")
    for name in ("time", "data", "parameters", "compute"):
        fitted = scaling["fits"][name]
        error = abs(fitted / exponents[name] - 1)
        checks.append(check_below(
            f"skill_basis_exponent_{name}", f"skill-basis model ({config.scaling_skills} skills): fitted exponent of "
            f"L vs {name} {fitted:.4f} vs theory {exponents[name]:.4f} (relative error; 10% required, 5% the goal)",
            error, 0.10))
    mlp_loss_time = np.sum(p * time_history.skill_loss.values.mean(0), axis=-1)  # (step,)
    start = np.searchsorted(steps, half[0])
    mlp_fits = {
        "time": _fit_slope(steps[start:], mlp_loss_time[start:]) if start < steps.size - 2 else np.nan,
        "data": _fit_slope(sizes, np.sum(p * data_loss.mean(0), axis=-1)),
        "parameters": _fit_slope(widths, np.sum(p * param_loss.mean(0), axis=-1)),
    }
    checks.append(Check(
        "mlp_exponents_reported", f"MLP ({n_s} skills only, so no clean power law): fitted exponents of L = sum_k p_k "
        "L_k vs T (after skill 1 emerges), D and N, next to the theory's (reported, passes when finite)",
        {k: round(float(v), 3) for k, v in mlp_fits.items()},
        {k: round(exponents[k], 3) for k in mlp_fits}, bool(np.all(np.isfinite(list(mlp_fits.values()))))))

    figure = _figure(config, p, steps, mlp_time, time_theory, sb_strength, sizes, data_strength, data_theory,
                     sb_sizes, sb_data, sb_data_theory, widths, param_strength, param_theory, sb_param, gap_inits,
                     gap_half, sb_half, predicted_gap, scaling, exponents, mlp_loss_time, data_loss, param_loss,
                     n_free, d_c, n_c)
    skill = np.arange(1, n_s + 1)
    dataset = xr.Dataset(
        {
            "time_strength_mlp": (("seed", "time_step", "skill"), mlp_time),
            "time_strength_skill_basis": (("seed", "time_step", "skill"), sb_strength),
            "time_strength_theory": (("time_step", "skill"), time_theory),
            "time_skill_loss_mlp": (("seed", "time_step", "skill"), time_history.skill_loss.values),
            "half_time_mlp": (("gap_init", "skill"), gap_half),
            "half_time_skill_basis": (("gap_init", "skill"), sb_half),
            "stage_gap_theory_mlp": (("gap_init",), predicted_gap),
            "data_strength_mlp": (("data_seed", "data_size", "skill"), data_strength),
            "data_strength_theory": (("data_size", "skill"), data_theory),
            "data_skill_loss_mlp": (("data_seed", "data_size", "skill"), data_loss),
            "data_strength_skill_basis": (("sb_data_size", "sb_data_draw", "skill"), sb_data),
            "data_strength_skill_basis_theory": (("sb_data_size", "skill"), sb_data_theory),
            "param_strength_mlp": (("seed", "width", "skill"), param_strength),
            "param_strength_theory": (("width", "skill"), param_theory),
            "param_strength_skill_basis": (("width", "skill"), sb_param),
            "param_skill_loss_mlp": (("seed", "width", "skill"), param_loss),
            "scaling_loss_time": (("scaling_time",), scaling["loss_time"]),
            "scaling_loss_time_theory": (("scaling_time",), scaling["loss_time_theory"]),
            "scaling_loss_data": (("scaling_data_size", "scaling_seed"), scaling["loss_data"]),
            "scaling_loss_data_theory": (("scaling_data_size",), scaling["loss_data_theory"]),
            "scaling_loss_params": (("scaling_width",), scaling["loss_params"]),
            "scaling_loss_params_theory": (("scaling_width",), scaling["loss_params_theory"]),
            "scaling_loss_compute": (("compute",), scaling["frontier"]),
        },
        coords={"skill": skill, "frequency": ("skill", p), "seed": np.arange(config.seeds), "time_step": steps,
                "gap_init": gap_inits, "data_seed": np.arange(config.data_seeds), "data_size": sizes,
                "sb_data_size": sb_sizes, "sb_data_draw": np.arange(sb_data.shape[1]), "width": widths,
                "scaling_time": scaling["times"], "scaling_data_size": scaling["sizes"],
                "scaling_seed": np.arange(config.scaling_data_seeds), "scaling_width": scaling["widths"],
                "compute": scaling["compute"]},
        attrs={"description": "Emergence in time, data and parameters and scaling laws: skill-basis model vs a ReLU "
                              "MLP on multitask sparse parity (Nam et al. 2025 Fig. 4; Nam et al. 2024)",
               "n_free": n_free, "d_c": d_c, "n_c": n_c, "c": c,
               "skill_bits": str(problem.skill_bits),
               **{f"exponent_{k}_skill_basis": v for k, v in scaling["fits"].items()},
               **{f"exponent_{k}_mlp": v for k, v in mlp_fits.items()}},
    )
    return Outcome(dataset, checks, {"emergence": figure})


# ---------------------------------------------------------------------------------------------------- figure
def _figure(config, p, steps, mlp_time, time_theory, sb_strength, sizes, data_strength, data_theory, sb_sizes,
            sb_data, sb_data_theory, widths, param_strength, param_theory, sb_param, gap_inits, gap_half, sb_half,
            predicted_gap, scaling, exponents, mlp_loss_time, data_loss, param_loss, n_free, d_c, n_c):
    n_s = p.size
    colors = mode_colors(n_s)
    th, lin, nl = MODEL_STYLE["theory"], MODEL_STYLE["linear"], MODEL_STYLE["nonlinear"]
    fig, axes = plt.subplots(2, 4, figsize=(20, 9), constrained_layout=True)

    ax = axes[0, 0]
    for k in range(n_s):
        ax.plot(steps[1:], time_theory[1:, k], color=colors[k], **th)
        ax.plot(steps[1:], sb_strength.mean(0)[1:, k], color=colors[k], **lin)
        mean, std = mlp_time.mean(0)[:, k], mlp_time.std(0)[:, k]
        ax.plot(steps[1:], mean[1:], color=colors[k], label=f"k={k + 1} (p={p[k]:.3f})", **nl)
        ax.fill_between(steps[1:], (mean - std)[1:], (mean + std)[1:], color=colors[k], alpha=0.12)
    ax.set(xscale="log", xlabel="SGD step T", ylabel="$R_k/S$", ylim=(-0.05, 1.1),
           title=f"time (calibrated $N_{{free}}$={n_free:.1f}, width {config.width})")
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[0, 1]
    for k in range(n_s):
        ax.plot(sizes, data_theory[:, k], color=colors[k], **th)
        ax.plot(sb_sizes, sb_data_theory[:, k], color=colors[k], lw=1, alpha=0.5)
        ax.plot(sb_sizes, sb_data.mean(1)[:, k], color=colors[k], **lin)
        mean = data_strength.mean(0)[:, k]
        ax.plot(sizes, mean, "o", color=colors[k], ms=3, **nl)
    ax.set(xscale="log", xlabel="training-set size D", ylabel="$R_k/S$", ylim=(-0.05, 1.1),
           title=f"data (calibrated $D_c$={d_c:.0f}; left: skill basis, one-shot)")

    ax = axes[0, 2]
    for k in range(n_s):
        ax.plot(widths, param_theory[:, k], color=colors[k], **th)
        ax.plot(widths, sb_param[:, k], color=colors[k], **lin)
        mean, std = param_strength.mean(0)[:, k], param_strength.std(0)[:, k]
        ax.plot(widths, mean, "o", color=colors[k], ms=3, **nl)
        ax.fill_between(widths, mean - std, mean + std, color=colors[k], alpha=0.12)
    ax.set(xlabel="hidden width N (skills held, skill basis)", ylabel="$R_k/S$", ylim=(-0.05, 1.1),
           title=f"parameters (calibrated $N_c$={n_c:.2f})")

    ax = axes[0, 3]
    log_inv = np.log(1 / gap_inits)
    ax.plot(log_inv, predicted_gap, color="C3", label="MLP theory (calibrated)", **th)
    ax.plot(log_inv, gap_half[:, 1] - gap_half[:, 0], "o", color="C3", label="MLP (steps)", **nl)
    twin = ax.twinx()
    sb_theory = (np.log(config.target_scale / gap_inits**2 - 1)) * (1 / p[1] - 1 / p[0]) / (2 * config.target_scale)
    twin.plot(log_inv, sb_theory, color="C0", **th)
    twin.plot(log_inv, sb_half[:, 1] - sb_half[:, 0], "s", color="C0", label="skill basis (flow time)", **lin)
    ax.set(xlabel="ln(1/init)", ylabel="MLP stage gap $t_2-t_1$ (steps)", title="stage gap grows like ln(1/init)")
    twin.set_ylabel("skill-basis stage gap (time)")
    ax.legend(fontsize=8, loc="upper left")
    twin.legend(fontsize=8, loc="lower right")

    s = scaling
    panels = [
        (axes[1, 0], s["times"][1:], s["loss_time"][1:], s["loss_time_theory"][1:], "time", "time T (skill basis)"),
        (axes[1, 1], s["sizes"], s["loss_data"].mean(1), s["loss_data_theory"], "data", "data D"),
        (axes[1, 2], s["widths"], s["loss_params"], s["loss_params_theory"], "parameters", "parameters N"),
        (axes[1, 3], s["compute"], s["frontier"], None, "compute", "compute C = N T (optimal allocation)"),
    ]
    mlp_curves = {"time": (steps[1:], mlp_loss_time[1:]), "data": (sizes, np.sum(p * data_loss.mean(0), -1)),
                  "parameters": (widths, np.sum(p * param_loss.mean(0), -1))}
    for ax, x, sim, th_curve, name, label in panels:
        if th_curve is not None:
            ax.plot(x, th_curve, color="k", label="theory", **th)
        ax.plot(x, sim, color="C0", label=f"skill basis: slope {s['fits'][name]:.3f}", **lin)
        anchor = sim[len(sim) // 2] * (x / x[len(x) // 2]) ** exponents[name]
        ax.plot(x, anchor, color="0.5", lw=1, label=f"$\\propto$ {label.split()[0]}$^{{{exponents[name]:.3f}}}$")
        if name in mlp_curves:
            mx, my = mlp_curves[name]
            ax.plot(mx, my, color="C3", label="MLP (own x units)", **nl)
        ax.set(xscale="log", yscale="log", xlabel=label, ylabel="test loss L", title=f"scaling in {name}")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.legend(fontsize=8)
    fig.suptitle("Emergence on multitask sparse parity: theory solid, skill-basis model dashed, ReLU MLP dotted "
                 f"(n_s={n_s}, n_b={config.n_bits}, m={config.bits_per_skill}, alpha={config.alpha}, "
                 f"S={config.target_scale:g})", fontsize=12)
    return fig


def _units(config: EmergenceConfig) -> int:
    return 5


EXPERIMENT = Experiment(
    name="emergence",
    description="Emergence in time, data and parameters and scaling laws: skill-basis model vs ReLU MLP on multitask "
                "sparse parity (Fig. 4)",
    config_type=EmergenceConfig,
    quick={"seeds": 2, "width": 250, "learning_rate": 0.04, "batch_size": 256, "time_steps": 10000,
           "gap_inits": (0.003, 0.03), "gap_steps": 5000, "data_sizes": (1000, 2000, 4000, 8000, 16000),
           "data_seeds": 1, "data_steps": 8000, "param_widths": (2, 4, 6, 8, 12, 16, 20, 28, 40),
           "param_steps": 4000, "eval_size": 1000, "scaling_skills": 10000,
           "fit_skills": (8, 50), "scaling_data_seeds": 2},
    run=run,
    units=_units,
)
