"""The five panels of ``feedback``, each simulated with the engine beside its closed form. Every function returns the
panel's ``(data variables, coords)`` for `layerwise.experiments.feedback.simulate` to join into one Dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from layerwise import data, init, observables, theory
from layerwise.data.task import stack_runs
from layerwise.engine import even_record_steps, gradient_flow, log_record_steps, train
from layerwise.models import DiagonalLinearNetwork
from layerwise.seeds import seed_keys

if TYPE_CHECKING:
    from layerwise.experiments.feedback import FeedbackConfig

WEIGHTS = {"weights": (lambda m, p, t: m.end_to_end(p)[0], ("mode",))}


# One program per model structure and shape (the model's arrays are its inputs): a second run of the experiment
# compiles nothing, where a fresh ``jax.jit`` of a closure in each call would compile again.
_balanced_inits = eqx.filter_jit(lambda model, scales: jax.vmap(lambda u: init.balanced_diagonal_init(model, u))(
    scales))


def _grid(duration: float, learning_rate: float, points: int, log: bool = False) -> np.ndarray:
    """Record steps over ``duration`` of gradient-flow time (evenly or log spaced)."""
    return (log_record_steps if log else even_record_steps)(max(1, round(duration / learning_rate)), points)


def initial_weights(config: FeedbackConfig) -> np.ndarray:
    """Every initial end-to-end weight u0 of the stage panels, largest first (``init_scale`` and
    ``stage_gap_init_scales``)."""
    return np.unique(np.concatenate([[config.init_scale], config.stage_gap_init_scales]))[::-1]


def saturation_and_stages(config: FeedbackConfig) -> tuple[dict, dict]:
    """Panels 1-2: balanced depth-2 nets (every u0) and the linear model by GD on each seed's sample set (one
    batched task per run), the exact flow at ``init_scale``, and their closed forms."""
    s, var, inits = np.asarray(config.target_strengths), np.asarray(config.input_variances), initial_weights(config)
    tasks = [data.diagonal_task(s, var, n_samples=config.n_samples, key=k) for k in seed_keys(config.seed, config.seeds)]
    # Stacked on the host (numpy): eager jnp would compile a stack, repeat and slice program per leaf shape.
    task = jax.tree_util.tree_map(lambda leaf: np.repeat(leaf, len(inits), axis=0), stack_runs(tasks))
    one_per_seed = jax.tree_util.tree_map(lambda leaf: leaf[:: len(inits)], task)
    record = _grid(config.duration, config.learning_rate, 801)
    deep = DiagonalLinearNetwork(dim=len(s), depth=2)
    params = _balanced_inits(deep, np.tile(inits, config.seeds))
    rich = train(deep, params, task, steps=int(record[-1]), learning_rate=config.learning_rate, record_steps=record,
                 observables=WEIGHTS, task_batched=True).history
    shallow = DiagonalLinearNetwork(dim=len(s), depth=1)
    plain = train(shallow, jnp.zeros((config.seeds, 1, len(s))), one_per_seed, steps=int(record[-1]),
                  learning_rate=config.learning_rate, record_steps=record, observables=WEIGHTS, task_batched=True)
    flow_times = np.linspace(0.0, config.duration, 61)
    default = np.asarray(params)[np.tile(inits, config.seeds) == config.init_scale]
    flow = gradient_flow(deep, default, one_per_seed, flow_times, rtol=1e-12, atol=1e-14, observables=WEIGHTS,
                         task_batched=True).history
    t = rich.time.values[0]
    by_seed = rich.weights.values.reshape(config.seeds, len(inits), *rich.weights.shape[1:])
    variables = {
        "linear_weights": (("seed", "init_scale", "time", "mode"), by_seed),
        "theory_weights": (("init_scale", "time", "mode"),
                           np.asarray(theory.saxe_mode(t[None, :, None] * var, s, inits[:, None, None]))),
        "linear_regression_weights": (("seed", "time", "mode"), plain.history.weights.values),
        "theory_regression_weights": (("time", "mode"), np.asarray(theory.linear_mode(t[:, None], s, 0.0, var))),
        "flow_weights": (("seed", "flow_time", "mode"), flow.weights.values),
        "theory_flow_weights": (("flow_time", "mode"),
                                np.asarray(theory.saxe_mode(flow_times[:, None] * var, s, config.init_scale))),
    }
    coords = {"init_scale": inits, "time": t, "mode": np.arange(len(s)), "target_strength": ("mode", s),
              "input_variance": ("mode", var), "flow_time": flow_times}
    return variables, coords


def depth(config: FeedbackConfig) -> tuple[dict, dict]:
    """Panel 3: one mode (S = 1, E[x^2] = 1) in balanced diagonal nets of each depth, by GD and in closed form.

    Each net has a second, identical mode (dropped: the modes of a diagonal net on uncorrelated inputs evolve
    independently, bitwise, as the products with the identity are exact), and the depth-2 net as many runs as
    panel 5's, so that the depth-2 and deepest nets share panel 5's compiled training programs, and the closed form
    its compiled deepest mode."""
    record = _grid(config.depth_duration, config.learning_rate, 801)
    t = config.learning_rate * record
    task, one = data.diagonal_task([1.0, 1.0]), np.ones(2)
    curves, exact = [], []
    for layers in config.depths:
        model = DiagonalLinearNetwork(dim=2, depth=layers)
        params = init.balanced_diagonal_init(model, config.depth_init_scale)[None]
        runs = len(initial_weights(config)) if layers == 2 else 1
        curves.append(train(model, jnp.asarray(np.broadcast_to(params, (runs, *params.shape[1:]))), task,
                            steps=int(record[-1]), learning_rate=config.learning_rate, record_steps=record,
                            observables=WEIGHTS).history.weights.values[0, :, 0])
        exact.append(np.asarray(theory.saxe_mode(t[:, None], one, config.depth_init_scale, depth=layers,
                                                 tau=one))[:, 0])
    variables = {"linear_depth_weights": (("depth", "depth_time"), np.stack(curves)),
                 "theory_depth_weights": (("depth", "depth_time"), np.stack(exact))}
    return variables, {"depth": list(config.depths), "depth_time": t}


def imbalance(config: FeedbackConfig) -> tuple[dict, dict]:
    """Panel 4: one mode (S = 1) from b0 with a0^2 - b0^2 = C, by GD at two learning rates (the drift of C is O(lr))
    and by the exact flow (C conserved), beside the imbalanced-mode closed form."""
    c, b0 = np.asarray(config.mode_imbalances), config.imbalance_b0
    a0 = np.sqrt(c + b0**2)
    model = DiagonalLinearNetwork(dim=1, depth=2)
    params = jnp.asarray(np.stack([a0, np.full_like(a0, b0)], axis=1)[:, :, None])
    recorded = {**WEIGHTS, "imbalance": observables.ImbalanceLaterMinusEarlier()}  # b^2 - a^2 = -C
    rates = [config.imbalance_learning_rate, 2 * config.imbalance_learning_rate]
    lazy = [train(model, params, data.diagonal_task([1.0]), steps=int(grid[-1]), learning_rate=lr, record_steps=grid,
                  observables=recorded).history
            for lr in rates for grid in [_grid(config.imbalance_duration, lr, 401, log=True)]]
    flow = gradient_flow(model, params, data.diagonal_task([1.0]),
                         np.geomspace(1e-4, config.imbalance_duration, 60) - 1e-4, rtol=1e-12, atol=1e-14,
                         observables=recorded).history
    ti, tf, u0 = lazy[0].time.values[0], flow.time.values, (a0 * b0)[:, None]
    drift = [np.abs(h.imbalance.values[:, -1, 0, 0] - h.imbalance.values[:, 0, 0, 0]) for h in lazy]
    variables = {
        "linear_imbalance_weights": (("mode_imbalance", "imbalance_time"), lazy[0].weights.values[:, :, 0]),
        "theory_imbalance_weights": (("mode_imbalance", "imbalance_time"),
                                     np.asarray(theory.imbalanced_mode(ti[None, :], 1.0, u0, c[:, None]))),
        "linear_imbalance_drift": (("imbalance_learning_rate", "mode_imbalance"), np.stack(drift)),
        "flow_imbalance_weights": (("mode_imbalance", "flow_imbalance_time"), flow.weights.values[:, :, 0]),
        "theory_flow_imbalance_weights": (("mode_imbalance", "flow_imbalance_time"),
                                          np.asarray(theory.imbalanced_mode(tf[None, :], 1.0, u0, c[:, None]))),
        "flow_mode_imbalance": (("mode_imbalance", "flow_imbalance_time"), -flow.imbalance.values[..., 0, 0]),  # C
    }
    return variables, {"mode_imbalance": c, "imbalance_time": ti, "flow_imbalance_time": tf,
                       "imbalance_learning_rate": rates}


def input_variance(config: FeedbackConfig) -> tuple[dict, dict]:
    """Panel 5, E[x^2] != 1 (population task): balanced depth-2 nets at every init, the linear model, the deepest
    balanced net and lazy depth-2 nets (imbalance C on every mode), each by GD."""
    s, var = np.asarray(config.variance_target_strengths), np.asarray(config.variance_inputs)
    task, deepest, inits = data.diagonal_task(s, var), max(config.depths), initial_weights(config)
    record = _grid(config.duration, config.learning_rate, 801)

    def run(model, params, record, learning_rate=config.learning_rate):
        return train(model, params, task, steps=int(record[-1]), learning_rate=learning_rate, record_steps=record,
                     observables=WEIGHTS).history.weights.values

    two, deep = (DiagonalLinearNetwork(dim=len(s), depth=d) for d in (2, deepest))
    balanced = run(two, _balanced_inits(two, inits), record)
    linear = run(DiagonalLinearNetwork(dim=len(s), depth=1), jnp.zeros((1, 1, len(s))), record)[0]
    deep_weights = run(deep, init.balanced_diagonal_init(deep, config.depth_init_scale)[None], record)[0]
    # Lazy: C on every mode, GD at panel 4's lr / max E[x^2] (the fastest rate is C max E[x^2]).
    c, b0 = config.variance_mode_imbalance, config.imbalance_b0
    a0 = np.sqrt(c + b0**2)
    lazy_lr = config.imbalance_learning_rate / max(var)
    lazy_record = _grid(10.0 / (c * var.min()), lazy_lr, 401, log=True)
    # The lazy net is repeated to as many runs as `balanced` (same model, task, observables): a checkpointed call
    # then reuses that call's compiled chunk program instead of compiling one for a single run (run 0 is kept).
    lazy_params = np.stack([np.full(len(s), a0), np.full(len(s), b0)])
    lazy = run(two, jnp.asarray(np.broadcast_to(lazy_params, (len(inits), *lazy_params.shape))), lazy_record,
               lazy_lr)[0]
    t, t_lazy = config.learning_rate * record, lazy_lr * lazy_record
    variables = {
        "linear_variance_weights": (("init_scale", "time", "variance_mode"), balanced),
        "theory_variance_weights": (("init_scale", "time", "variance_mode"),
                                    np.asarray(theory.saxe_mode(t[None, :, None] * var, s, inits[:, None, None]))),
        "linear_variance_regression_weights": (("time", "variance_mode"), linear),
        "linear_variance_deep_weights": (("time", "variance_mode"), deep_weights),
        "theory_variance_deep_weights": (("time", "variance_mode"), np.asarray(
            theory.saxe_mode(t[:, None], s, config.depth_init_scale, depth=deepest, tau=1 / var))),
        "linear_variance_lazy_weights": (("variance_lazy_time", "variance_mode"), lazy),
    }
    coords = {"variance_target_strength": ("variance_mode", s), "variance_input": ("variance_mode", var),
              "variance_lazy_time": t_lazy, "variance_depth": deepest}
    return variables, coords
