r"""The ReLU MLP panels of ``emergence``, each with the authors' calibrated theory (Nam et al. 2025 Fig. 4, §4):

1. time: ``R_k/S`` vs SGD step ``T``; theory = the authors' calibrated extended model ``1/(1 + c e^{-m_k T})``,
   ``c = 3.6 S/init^2 - 1``, ``m_k = 4 eta p_k S / N_free``, ``N_free`` fitted per seed to every skill that
   crosses (authors: 22); the skill-basis model runs SGD at ``eta' = 2 eta / N_free`` from ``R_0 = S/(1 + c)`` on
   each MLP seed's samples.
2. stage gap: ``t_2 - t_1`` vs ``ln(1/init)``, ``2 (1/m_2 - 1/m_1)`` predicted for the MLP (slope
   ``(1/p_2 - 1/p_1)/S`` for the skill-basis exact flow from ``R_0 = init^2``).
3. data: ``R_k/S`` after ``data_steps`` on ``D`` fixed samples (every D in one call); theory
   ``1 - sqrt(max(0, 1 - D p_k / D_c))``, ``D_c`` fitted per seed to every skill that crosses (authors: 800).
4. parameters: ``R_k/S`` vs width ``N`` (Adam); theory ``clip((N - (k-1) N_c)/N_c, 0, 1)``, ``N_c`` fitted
   likewise (authors: 4). Widths are padded to the largest with all-zero units (exactly zero gradient), so all
   train in one call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from layerwise import _random as random_lib
from layerwise import theory
from layerwise.data import Task
from layerwise.data.task import stack_runs
from layerwise.engine import linear_record_steps, train
from layerwise.metrics import crossing_time, log_crossing
from layerwise.metrics.crossings import calibrate_constant
from layerwise.models import MLP, mlp_init

if TYPE_CHECKING:
    from layerwise.experiments.emergence import EmergenceConfig

AUTHORS_C_FACTOR = 3.6
"""``c = 3.6 S / init^2 - 1``: the authors' empirical fit of the MLP's initial skill strength."""
AUTHORS_N_FREE = 22.0
"""The authors' fitted N_free (``m_k = 4 eta p_k S / N_free``), used only if skill 1 never emerges."""
AUTHORS_D_C = 800.0
"""The authors' fitted D_c of the data panel (``R_k/S = 1 - sqrt(max(0, 1 - D p_k / D_c))``)."""
AUTHORS_N_C = 4.0
"""The authors' fitted N_c, hidden units per skill, of the parameter panel (``R_k/S = clip((N - (k-1) N_c)/N_c, 0,
1)``)."""


def mlp_runs(keys, problem, width, scales, sampler, steps, skills, *, optimizer="sgd", learning_rate, batch_size,
             records, alive=None, sampler_args=None):
    """MLPs with weights and biases ``scale * N(0, 1)`` (one run per scale; units where ``alive`` is 0 zeroed)
    trained on ``sampler`` with MSE; ``keys`` = (init key, sample-stream key). ``sampler_args`` (a tuple of per-run
    arrays) makes one task per run, the sampler reading that run's values (e.g. its data-set size)."""
    init_key, sample_key = keys
    model = MLP(widths=(problem.in_dim, width, 1), activation="relu")
    params = scaled_inits(init_key, model, scales, alive)
    task = Task.from_samples(*problem.sample(jax.random.fold_in(sample_key, 999), 64), sampler=sampler)
    if sampler_args is not None:  # one task per run: the same samples, each run's own sampler arguments
        task = Task(*(np.broadcast_to(np.asarray(v), scales.shape + v.shape) for v in (task.input_covariance,
                      task.cross_covariance, task.output_second_moment, task.x, task.y)),  # numpy: nothing compiles
                    sampler, tuple(np.asarray(arg) for arg in sampler_args))
    return train(model, params, task, steps=steps, optimizer=optimizer, learning_rate=learning_rate,
                 batch_size=batch_size, key=sample_key, observables=skills, loss="mean_squared_error",
                 record_steps=linear_record_steps(steps, max(1, steps // records)),
                 task_batched=sampler_args is not None)


def scaled_inits(init_key, model: MLP, scales, alive=None):
    """One run per scale: weights and biases ``scale * N(0, 1)`` (`mlp_init`, standard parameterisation; run ``r``
    from ``split(init_key, runs)[r]``), units where ``alive`` (runs, width) is 0 zeroed. Run by run and scaled in
    numpy: the draws reuse the few compiled programs of `layerwise._random` whatever the number of runs."""
    keys = np.asarray(random_lib.split(init_key, len(scales)))
    unit = [mlp_init(key, model, 1.0, 1.0, parameterisation="standard", dtype=jnp.float32) for key in keys]
    scales = np.asarray(scales, np.float32)
    (w1, b1), (w2, b2) = jax.tree_util.tree_map(lambda v: v * scales.reshape((-1,) + (1,) * (v.ndim - 1)),
                                                stack_runs(unit))
    if alive is not None:  # zero units get exactly zero gradient (ReLU output 0, output weight 0): a narrower net
        alive = np.asarray(alive, np.float32)
        w1, b1, w2 = w1 * alive[:, :, None], b1 * alive, w2 * alive[:, None, :]
    return (w1, b1), (w2, b2)


def half_times(steps, strength):
    """First step where each skill's R_k/S reaches 1/2: strength (..., step, skill) -> (..., skill)."""
    return crossing_time(steps, np.moveaxis(np.asarray(strength), -1, -2), 0.5)


def seed_mean(values) -> float:
    """The mean over seeds ignoring NaN seeds (NaN when every seed is NaN)."""
    values = np.asarray(values, float)
    return float(np.mean(values[np.isfinite(values)])) if np.isfinite(values).any() else float("nan")


def time_keys(key) -> tuple:
    """(init key, sample-stream key) shared by every init of the time and stage-gap runs."""
    return jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)


def init_runs(config: EmergenceConfig, problem, skills, keys) -> dict[float, xr.Dataset]:
    """SGD histories at ``init_scale`` (``time_steps``) and at each of ``gap_init_scales`` (``gap_steps``): every
    init shares the seeds' unit-normal directions and samples."""
    sgd = dict(learning_rate=config.learning_rate, batch_size=config.batch_size, records=100)
    steps = {value: config.gap_steps for value in config.gap_init_scales} | {config.init_scale: config.time_steps}
    return {value: mlp_runs(keys, problem, config.width, np.full(config.seeds, value), problem.sample, steps[value],
                            skills, **sgd).history
            for value in [config.init_scale, *config.gap_init_scales]}


def time_panel(config: EmergenceConfig, p, history: xr.Dataset) -> tuple[dict, dict]:
    """The time panel's variables and its calibration ``c``, ``N_free`` (one constant ``t_k = C / p_k`` fitted in log
    to every skill that crosses, per seed; the authors' 22 if none does, and the checks then fail), ``R_0`` and the
    skill-basis learning rate ``eta' = 2 eta / N_free`` (rate ``2 eta' p_k S = 4 eta p_k S / N_free``)."""
    S, eta, steps = config.target_scale, config.learning_rate, history.step.values
    c = AUTHORS_C_FACTOR * S / config.init_scale**2 - 1
    constant = seed_mean(calibrate_constant(half_times(steps, history.skill_strength.values / S), 1 / p))
    n_free = 4 * eta * S * constant / np.log(c) if np.isfinite(constant) else AUTHORS_N_FREE
    r0, eta_model = S / (1 + c), 2 * eta / n_free
    variables = {
        "nonlinear_time_strength": (("seed", "time_step", "skill"), history.skill_strength.values / S),
        "nonlinear_time_skill_loss": (("seed", "time_step", "skill"), history.skill_loss.values),
        "theory_time_strength": (("time_step", "skill"), np.asarray(theory.skill_strength(
            steps.astype(float), p, S, r0, eta_model)) / S)}
    return variables, {"c": c, "n_free": n_free, "r0": r0, "eta_model": eta_model}


def gap_panel(config: EmergenceConfig, p, runs: dict[float, xr.Dataset], n_free: float) -> tuple[np.ndarray, dict]:
    """The inits (decreasing) and the MLP's half-times at each, with the calibrated prediction of the gap
    ``t_2 - t_1 = ln(c) (1/m_2 - 1/m_1)``, ``m_k = 4 eta p_k S / N_free``."""
    S = config.target_scale
    inits = np.sort(np.concatenate([[config.init_scale], config.gap_init_scales]))[::-1]
    half = np.stack([half_times(runs[v].step.values, runs[v].skill_strength.values / S) for v in inits])
    m = 4 * config.learning_rate * p * S / n_free
    predicted = np.log(AUTHORS_C_FACTOR * S / inits**2 - 1) * (1 / m[1] - 1 / m[0])
    return inits, {"nonlinear_gap_half_time": (("gap_init_scale", "seed", "skill"), half),
                   "theory_gap_mlp": (("gap_init_scale",), predicted)}


def dataset_seed(config: EmergenceConfig) -> int:
    """The seed of the fixed data sets' keys, ``PRNGKey(dataset_seed)`` (the MLP's data set of size D is the first
    D samples of it)."""
    return int(config.seed) * 1_000_003 + 17


def data_panel(config: EmergenceConfig, problem, skills, key) -> tuple[dict, float]:
    """MLPs trained on each fixed data set (dims (data_seed, data_size, skill)) and the calibrated ``D_c``
    (``D_k = 0.75 D_c / p_k``), with its theory ``R_k/S = 1 - sqrt(max(0, 1 - D p_k / D_c))``.

    Every (size, seed) is one run of a single `train` call: each run samples from the first ``D`` of the largest
    data set (the nested ``dataset(data_key, D)``), its ``D`` passed per run as the sampler's argument, so all sizes
    share one compiled program; seeds vary the init and the batch order. The largest set's inputs are drawn once and
    passed per run too: batches are gathered from them (the batches the sampler would re-draw, bit for bit)."""
    S, sizes, data_key = config.target_scale, np.asarray(config.data_sizes), jax.random.PRNGKey(dataset_seed(config))
    run_sizes = np.repeat(sizes, config.data_seeds).astype(np.int32)  # run = size index * data_seeds + seed
    # The largest set's inputs, given to every run: batches are gathered from them, not re-drawn (the same batches).
    inputs = np.broadcast_to(np.asarray(problem.dataset(data_key, int(sizes.max()))[0]),
                             (run_sizes.size, int(sizes.max()), problem.in_dim))
    final = mlp_runs((jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)), problem, config.width,
                     np.full(run_sizes.size, config.init_scale), problem.dataset_sampler(data_key, int(sizes.max())),
                     config.data_steps, skills, learning_rate=config.learning_rate, batch_size=config.batch_size,
                     records=10, sampler_args=(run_sizes, inputs)).history.isel(step=-1)
    data = {name: final[name].values.reshape(sizes.size, config.data_seeds, -1).transpose(1, 0, 2)
            for name in skills}  # (seed, size, skill)
    crossings = log_crossing(sizes, np.moveaxis(data["skill_strength"] / S, -1, -2), 0.5)  # (seed, skill)
    d_c = seed_mean(calibrate_constant(crossings, 1 / problem.frequencies)) / 0.75
    theory_strength = 1.0 - np.sqrt(np.clip(1.0 - np.outer(sizes, problem.frequencies) / d_c, 0.0, None))
    dims = ("data_seed", "data_size", "skill")
    return {"nonlinear_data_strength": (dims, data["skill_strength"] / S),
            "nonlinear_data_skill_loss": (dims, data["skill_loss"]),
            "theory_data_strength": (("data_size", "skill"), theory_strength)}, d_c


def parameter_panel(config: EmergenceConfig, problem, skills, key) -> tuple[dict, float]:
    """Adam-trained MLPs of every width (padded to the largest with all-zero units; dims (seed, width, skill)), the
    calibrated ``N_c`` (``N_k = (k - 1/2) N_c``) with its theory ``clip((N - (k-1) N_c)/N_c, 0, 1)``, and the
    largest |weight| the padded units reached (exactly 0 when padding is exact)."""
    widths, n_s = np.asarray(config.param_widths), problem.n_skills
    run_widths = np.repeat(widths, config.seeds)
    alive = (np.arange(widths.max())[None, :] < run_widths[:, None]).astype(np.float32)
    result = mlp_runs((jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)), problem, int(widths.max()),
                      np.full(run_widths.size, config.param_init_scale), problem.sample, config.param_steps, skills,
                      optimizer="adam", learning_rate=config.param_learning_rate, batch_size=config.batch_size,
                      records=10, alive=alive)
    (w1, b1), (w2, _) = result.params
    dead = 1.0 - alive
    leak = float(max(np.max(np.abs(np.asarray(w1) * dead[:, :, None])), np.max(np.abs(np.asarray(b1) * dead)),
                     np.max(np.abs(np.asarray(w2) * dead[:, None, :]))))
    final = result.history.isel(step=-1)
    per_width = {name: final[name].values.reshape(widths.size, config.seeds, n_s).transpose(1, 0, 2)
                 for name in skills}  # (seed, width, skill)
    strength = per_width["skill_strength"] / config.target_scale
    n_c = seed_mean(calibrate_constant(log_crossing(widths, np.moveaxis(strength, -1, -2), 0.5), np.arange(n_s) + 0.5))
    theory_strength = np.clip((widths.astype(float)[:, None] - np.arange(n_s)[None, :] * n_c) / n_c, 0.0, 1.0)
    return {"nonlinear_param_strength": (("seed", "width", "skill"), strength),
            "nonlinear_param_skill_loss": (("seed", "width", "skill"), per_width["skill_loss"]),
            "nonlinear_padded_leak": ((), leak),
            "theory_param_strength": (("width", "skill"), theory_strength)}, n_c


def mlp_losses(ds: xr.Dataset) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The MLP's test loss ``L = sum_k p_k L_k`` (seed mean) against T, D and N: ``name -> (x, L)``."""
    p = ds.frequency.values
    return {"time": (ds.time_step.values, np.sum(p * ds.nonlinear_time_skill_loss.values.mean(0), axis=-1)),
            "data": (ds.data_size.values, np.sum(p * ds.nonlinear_data_skill_loss.values.mean(0), axis=-1)),
            "parameters": (ds.width.values, np.sum(p * ds.nonlinear_param_skill_loss.values.mean(0), axis=-1))}
