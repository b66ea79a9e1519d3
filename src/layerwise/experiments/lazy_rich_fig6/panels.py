"""The two grids of ``lazy-rich-fig6``: every seed x (λ, s) cell trained by GD in one `train` call, and the NTK
kernel distance read off the recorded weights (and, for Fig. 6a, off the exact λ-balanced flow)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from layerwise import _random, data, init, metrics, theory
from layerwise.engine import log_record_steps, train
from layerwise.models import DeepLinearNetwork

if TYPE_CHECKING:
    from layerwise.experiments.lazy_rich_fig6 import LazyRichFig6Config

WEIGHTS = {  # A two-layer linear net's NTK is a closed form in its weights (`ntk_two_layer`): 2 small matrices/step.
    "first_layer": (lambda model, p, task: p[0], ("hidden", "input")),
    "second_layer": (lambda model, p, task: p[1], ("output", "hidden")),
}


# Each vmapped computation as one compiled program (eagerly, each of its ops would compile its own), made once at
# module level: a second run of the experiment reuses it, where a fresh ``jax.jit`` of a closure would compile again.
_balanced_solutions = eqx.filter_jit(lambda times, params, tasks: jax.vmap(lambda p, t: theory.lambda_balanced_solution(
    times, p[0], p[1], t.cross_covariance, hidden_basis="symmetric"))(params, tasks))
_imbalances = eqx.filter_jit(lambda model, params: jax.vmap(
    lambda p: metrics.imbalance_later_minus_earlier(model, p))(params))


# One compiled program for every seed (eagerly, each op of the vmapped init would compile its own), made once at
# module level from a module-level ``make_params``: a second run of the experiment reuses it (a closure, new in each
# call, would compile again). The cells' values come as tuples of floats, static: constants in the program, as
# they were in the closure (traced, XLA rounds the init differently, at 1e-16).
_params_and_tasks = eqx.filter_jit(lambda make_params, param_args, inverse_s, task, key_init: (
    make_params(jax.random.split(key_init, len(inverse_s)), *param_args),
    jax.vmap(task.scale_targets)(jnp.asarray(inverse_s))))


def _floats(values) -> tuple[float, ...]:
    return tuple(float(value) for value in values)


def _train_cells(config: LazyRichFig6Config, model, keys, cells, draw, make_params, param_args, record):
    """Every seed x (λ, s) cell in one `train` call: per seed ``draw(key) -> (task, init_key)``, then
    ``make_params(init_keys, *param_args)`` (a key per cell) and targets ``Y/s``. Returns inputs per seed, params,
    tasks, result."""
    # The draw stays eager: under jit, XLA's fusion changes the whitening's rounding.
    xs, params, tasks = [], [], []
    for key in keys:
        task, key_init = draw(key)
        xs.append(task.x)
        parts_of_seed = _params_and_tasks(make_params, param_args, _floats(1.0 / cells[1]), task, key_init)
        for parts, part in zip((params, tasks), parts_of_seed):
            parts.append(part)
    # Joined on the host (numpy): eager jnp would compile a concatenation per leaf shape.
    params, tasks = (jax.tree_util.tree_map(lambda *leaf: np.concatenate([np.asarray(v) for v in leaf]), *parts)
                     for parts in (params, tasks))
    result = train(model, params, tasks, steps=config.steps, learning_rate=config.learning_rate, task_batched=True,
                   record_steps=record, observables=WEIGHTS)
    return xs, params, tasks, result


def _balanced_params(init_keys, model, lam, s):
    """A fresh random λ-balanced init (U, V, R) per cell, as the authors' get_lambda_balanced."""
    return jax.vmap(lambda k, l, sc: init.lambda_balanced_init(k, model, jnp.sqrt(sc), imbalance=l))(
        init_keys, jnp.asarray(lam), jnp.asarray(s))


def _mirrored_params(init_keys, model, init_scale, lam):
    """A mirrored zero-output init per cell."""
    return jax.vmap(lambda k, l: init.mirrored_init(k, model, init_scale, l))(init_keys, jnp.asarray(lam))


def _distances(first, second, xs, *, final_only=False) -> np.ndarray:
    """S(K_0, K_t) along the record of every run (or at its end), NTK from the weights ``first``, ``second`` (run,
    time, ...) on each seed's inputs ``xs`` (the runs are seed-major); shape (seed, cell, time) or (seed, cell)."""
    n = len(first) // len(xs)
    distances = []
    for i, x in enumerate(xs):
        runs = slice(i * n, (i + 1) * n)
        kernels = metrics.ntk_two_layer(jnp.asarray(first[runs]), jnp.asarray(second[runs]), x)
        pair = (kernels[:, 0], kernels[:, -1]) if final_only else (kernels[:, :1], kernels)
        distances.append(np.asarray(metrics.kernel_distance(*pair)))
    return np.stack(distances)


def fig6a(config: LazyRichFig6Config, keys) -> dict:
    """GD of every seed x λ x s cell in one `train` call; the exact λ-balanced flow from the same inits."""
    lam, s = np.linspace(*config.imbalance_a), np.linspace(*config.init_target_ratio_a)
    cells = [a.ravel() for a in np.meshgrid(lam, s, indexing="ij")]
    model = DeepLinearNetwork((2, 2, 2))

    def draw(key):
        key_task, key_init = jax.random.split(key)
        return data.whitened_regression(key_task, config.n_samples, 2, 2), key_init

    record = log_record_steps(config.steps, config.curve_points)
    cell_args = (model, *map(_floats, cells))
    xs, params, tasks, result = _train_cells(config, model, keys, cells, draw, _balanced_params, cell_args, record)
    times, history = config.learning_rate * record, result.history
    w1, w2 = _balanced_solutions(times, params, tasks)
    lam_runs = np.tile(cells[0], len(xs))
    imbalance = np.asarray(_imbalances(model, result.params))[:, 0]
    drift = np.max(np.abs(imbalance - lam_runs[:, None, None] * np.eye(2)), axis=(1, 2)) / np.maximum(
        np.abs(lam_runs), 1.0)
    shape = (len(xs), lam.size, s.size)
    return dict(lam=lam, s=s, steps=record, times=times, loss=history.loss.values[:, -1].reshape(shape),
                gd=_distances(history.first_layer.values, history.second_layer.values, xs).reshape(*shape, -1),
                flow=_distances(w1, w2, xs).reshape(*shape, -1), drift=drift.reshape(shape))


def fig6b(config: LazyRichFig6Config, keys) -> np.ndarray:
    """Mirrored zero-output init, raw Gaussian inputs: S(K_0, K_end) of every seed x λ x s cell, one `train` call."""
    lam, s = np.linspace(*config.scale_difference_b), np.linspace(*config.target_divisor_b)
    cells = [a.ravel() for a in np.meshgrid(lam, s, indexing="ij")]
    model = DeepLinearNetwork((20, 20, 2))

    def draw(key):  # `layerwise._random`: jax.random's draws bit for bit, one compiled program per size bucket
        key_x, key_y, key_init = _random.split(key, 3)
        x = _random.normal(key_x, (config.n_samples, 20))
        return data.Task.from_samples(x, _random.normal(key_y, (config.n_samples, 2))), key_init

    xs, _, _, result = _train_cells(config, model, keys, cells, draw, _mirrored_params,
                                    (model, config.init_scale_b, _floats(cells[0])), np.array([0, config.steps]))
    history = result.history
    return _distances(history.first_layer.values, history.second_layer.values, xs, final_only=True).reshape(
        len(xs), lam.size, s.size)
