r"""`train`: the only training loop in layerwise.

R runs at once: ``lax.scan`` over recording intervals (a ``fori_loop`` of optimiser steps inside each), ``vmap``
over runs, one compiled program per structure (model structure, optimiser, loss, observable kinds, shapes), so
new hyperparameter values, new params, new observable arrays or a new batched model reuse it.

Linear models trained full-batch on the half squared error take the *sufficient statistics* path:
``L(W) = 1/2 tr(W Sxx W^T) - tr(W Syx^T) + 1/2 tr Syy``, so a step costs the same for any number of samples (see
`layerwise.data.Task`).
"""

from __future__ import annotations

from typing import Any, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from layerwise import _random as random_lib
from layerwise.data.task import Task
from layerwise.engine import checkpoint as checkpoint_lib
from layerwise.engine import fast_path as fast_lib
from layerwise.engine import optimizers as opt_lib
from layerwise.engine.guard import close_segment, guarded_step
from layerwise.engine.losses import Loss, mean_loss, resolve_loss
from layerwise.engine.records import (
    all_finite, check_record_steps, check_task_finite, history, linear_record_steps, model_coords,
    observable_specs, per_run, runs_of, shard_runs,
)
from layerwise.engine.status import Status, TrainResult, journal
from layerwise.errors import DivergenceError, LayerwiseError, check_choice, check_positive_int
from layerwise.models import LinearModel, Model

DIVERGENCE_POLICIES = ("raise", "mark")


def statistics_loss(end_to_end, task: Task):
    r"""``1/2 tr(W Sxx W^T) - tr(W Syx^T) + 1/2 tr Syy``: the half squared error of the linear map ``W`` (m, d)."""
    return (
        0.5 * jnp.sum((end_to_end @ task.input_covariance) * end_to_end)
        - jnp.sum(end_to_end * task.cross_covariance)
        + 0.5 * task.output_second_moment
    )


def statistics_gradient(model: LinearModel, params, task: Task):
    r"""The gradient of `statistics_loss` with respect to every layer, without differentiating the loss graph.

    For the end-to-end map ``W = end_to_end(params)``, ``dL/dW = G = W S - Syx`` with ``S = (Sxx + Sxx^T) / 2``
    (the symmetric part: ``1/2 tr(W Sxx W^T)`` sees no other), so the layer gradients are one pullback of ``G``
    through ``end_to_end``; for a deep linear network ``dL/dW_l = (W_L...W_{l+1})^T G (W_{l-1}...W_1)^T``
    (the learning equations of Saxe, McClelland & Ganguli 2014, with a general input covariance). That is one
    product with ``S`` per step where reverse-mode differentiation of ``statistics_loss`` spends two (``W Sxx``
    forward, ``W Sxx^T`` backward) plus the elementwise terms of the loss it does not need.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from layerwise.data import Task
        >>> from layerwise.models import DeepLinearNetwork
        >>> model = DeepLinearNetwork(widths=(3, 4, 2))
        >>> params = model.init(jax.random.PRNGKey(0))
        >>> task = Task.from_samples(jnp.eye(3), jnp.ones((3, 2)))
        >>> autodiff = jax.grad(lambda p: statistics_loss(model.end_to_end(p), task))(params)
        >>> bool(jnp.allclose(statistics_gradient(model, params, task)[0], autodiff[0]))
        True
    """
    end_to_end, pullback = jax.vjp(model.end_to_end, params)
    covariance = task.input_covariance
    symmetric = 0.5 * (covariance + jnp.swapaxes(covariance, -1, -2))
    (gradient,) = pullback(end_to_end @ symmetric - task.cross_covariance)
    return gradient


def uses_statistics(model, loss, full_batch: bool, task: Task, use_statistics) -> bool:
    """Whether the engine trains from sufficient statistics (checked against what the request allows)."""
    possible = (isinstance(model, LinearModel) and isinstance(loss, str) and loss == "half_squared_error"
                and full_batch and task.sampler is None)
    if use_statistics == "auto":
        if task.x is None and not possible:
            raise LayerwiseError("this task has moments only; it needs a linear model, the half squared error and "
                                 "full batches (a nonlinear model or another loss needs samples x, y)")
        return possible
    if use_statistics and not possible:
        raise LayerwiseError(
            "use_statistics=True needs a linear model (a LinearModel), loss='half_squared_error' and full batch"
        )
    if not use_statistics and task.x is None:
        raise LayerwiseError("use_statistics=False needs a task with samples (x, y); this task has moments only")
    return bool(use_statistics)


def task_loss(model, params, task: Task, loss: str | Loss = "half_squared_error", *, use_statistics="auto"):
    """The loss of one run's params on the whole task (sufficient statistics where possible)."""
    name, loss_fn = resolve_loss(loss)
    if uses_statistics(model, loss, True, task, use_statistics):
        return statistics_loss(model.end_to_end(params), task)
    return mean_loss(loss_fn, model.apply(params, task.x), task.y)


def observe(model, params, task, observables, loss, statistics):
    """The loss and every observable of one run's params."""
    values = {"loss": task_loss(model, params, task, loss, use_statistics=statistics)}
    for name, fn in observables:
        values[name] = jnp.asarray(fn(model, params, task))
    return values


@eqx.filter_jit
def _train_compiled(params, task, hyper, keys, segments, model, carry=None, fresh=None, *, optimizer, loss,
                    observables, batch_size, statistics, task_batched, model_batched, init_only=False):
    # ``carry`` (params, optimiser state, diverged step, epoch order per run) continues a run from an earlier call
    # over its first segments; None starts afresh; ``fresh`` (a traced bool) replaces ``carry`` by the first carry
    # when true, so `layerwise.engine.checkpoint` runs a long call's first chunk and the others with ONE compiled
    # program (the first from a placeholder carry); ``init_only`` returns the first carry (traced, for shapes).
    _, loss_fn = resolve_loss(loss)

    def one_run(params, task, hyper, key, model, carry):
        # Shuffled epochs of ceil(n / B) batches; the last batch is partial (masked), as a PyTorch DataLoader.
        # The epoch's permutation lives in the loop carry and is drawn once per epoch (a sort of n per step would
        # cost more than the step itself for small batches).
        shuffled = batch_size is not None and task.sampler is None and not statistics
        n = task.x.shape[0] if shuffled else 0
        per_epoch = -(-n // batch_size) if shuffled else 1

        def epoch_order(epoch):
            if not shuffled:
                return jnp.zeros((0,), dtype=int)
            permutation = jax.random.permutation(jax.random.fold_in(key, epoch), n)
            return jnp.concatenate([permutation, jnp.zeros(per_epoch * batch_size - n, dtype=int)])

        def objective(p, step, order):
            if task.sampler is not None:
                x, y = task.sampler(jax.random.fold_in(key, step), batch_size, *task.sampler_args)
                return mean_loss(loss_fn, model.apply(p, x), y)
            if batch_size is None:
                return mean_loss(loss_fn, model.apply(p, task.x), task.y)
            position = step % per_epoch
            index = jax.lax.dynamic_slice(order, (position * batch_size,), (batch_size,))
            weight = (position * batch_size + jnp.arange(batch_size)) < n
            return mean_loss(loss_fn, model.apply(p, task.x[index]), task.y[index], weight)

        if statistics:  # the closed-form gradient: fewer products than differentiating statistics_loss
            gradient = lambda p, step, order: statistics_gradient(model, p, task)  # noqa: E731
        else:
            gradient = jax.grad(objective)

        def step_fn(step, carry):
            p, state, diverged, order = carry
            if shuffled:  # `step` is not batched over runs, so this stays a real branch under vmap
                order = jax.lax.cond(step % per_epoch == 0, lambda: epoch_order(step // per_epoch), lambda: order)
            # A diverged run keeps its last finite params (no NaN spreads) and remembers the step.
            return guarded_step(optimizer, gradient(p, step, order), (p, state, diverged, order), step, all_finite)

        def segment(carry, bounds):
            start, stop = bounds
            p, state, diverged, order = jax.lax.fori_loop(start, stop, step_fn, carry)
            values, diverged = close_segment(observe(model, p, task, observables, loss, statistics), diverged, stop)
            return (p, state, diverged, order), values

        def first_carry():
            state = opt_lib.set_hyperparams(optimizer.init(params), hyper)
            # The order of the epoch the first segment starts in (a step that opens an epoch redraws it anyway).
            return params, state, jnp.array(-1), epoch_order(segments[0, 0] // per_epoch)

        carry = start_or_continue(first_carry, carry, fresh)
        return carry if init_only else jax.lax.scan(segment, carry, segments)

    in_axes = (0, 0 if task_batched else None, 0, 0, 0 if model_batched else None, 0)
    return eqx.filter_vmap(one_run, in_axes=in_axes)(params, task, hyper, keys, model, carry)


def start_or_continue(first_carry, carry, fresh):
    """The carry a compiled training program starts from: ``first_carry()`` when ``carry`` is None or the traced
    bool ``fresh`` is true (``carry`` is then a placeholder of the same shapes), else ``carry``. A `lax.cond` on an
    unbatched flag stays a branch under vmap, and it selects values without arithmetic: bitwise either carry."""
    if carry is None:
        return first_carry()
    if fresh is None:
        return carry
    def first_of_carry_types():
        return jax.tree_util.tree_map(lambda new, old: new.astype(old.dtype), first_carry(), carry)

    return jax.lax.cond(fresh, first_of_carry_types, lambda: carry)


def _check_inputs(model, params, task, loss, runs, task_batched, model_batched) -> None:
    if not isinstance(model, Model):
        raise LayerwiseError(f"model must be a layerwise Model (see layerwise.models), got {type(model).__name__}")
    model.check_params(params, runs=runs)
    if not isinstance(task, Task):
        raise LayerwiseError(f"task must be a layerwise.data.Task, got {type(task).__name__}")
    check_task_finite(task)
    if model_batched:
        for leaf in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array)):
            if np.shape(leaf)[:1] != (runs,):
                raise LayerwiseError(f"model_batched=True needs every array field of the model to have a leading "
                                     f"runs axis of {runs}; got shape {np.shape(leaf)}")
    offset = 1 if task_batched else 0
    if task.x is not None and task.x.ndim == 2 + offset and task.x.shape[-1] != model.in_dim:
        raise LayerwiseError(f"task.x has {task.x.shape[-1]} input features but the model takes {model.in_dim}")
    squared = isinstance(loss, str) and loss.endswith("squared_error")
    if squared and task.cross_covariance.shape[-2] != model.out_dim:
        raise LayerwiseError(f"task targets have {task.cross_covariance.shape[-2]} outputs but the model has "
                             f"{model.out_dim}")


def _check_batching(batch_size, key, task) -> None:
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
        if key is None:
            raise LayerwiseError("key is required with batch_size (it fixes the mini-batch order)")
        if task.sampler is None and task.x is None:
            raise LayerwiseError("batch_size needs a task with samples or a sampler; this task has moments only")


def _hyperparameters(optimizer, learning_rate, weight_decay, optimizer_options, runs, params, dtype):
    """Per-run injected hyperparameters (name -> (R,) array) and the optimiser transformation to run."""
    options = dict(optimizer_options or {})
    if isinstance(optimizer, str):
        check_choice("optimizer", optimizer, opt_lib.OPTIMIZERS)
        opt_lib.check_options(optimizer, options)
        values = {"learning_rate": 1e-2 if learning_rate is None else learning_rate,
                  "weight_decay": 0.0 if weight_decay is None else weight_decay,
                  **{key: options.get(key, opt_lib.DEFAULTS[key]) for key in opt_lib.OPTIONS[optimizer]}}
        transformation = opt_lib.named_optimizer(optimizer)
    elif isinstance(optimizer, optax.GradientTransformation):
        values = {k: v for k, v in (("learning_rate", learning_rate), ("weight_decay", weight_decay)) if v is not None}
        values.update(options)
        transformation = optimizer
        opt_lib.require_injected(list(values), transformation, jax.tree_util.tree_map(lambda p: p[0], params))
    else:
        raise LayerwiseError(f"optimizer must be one of {', '.join(opt_lib.OPTIMIZERS)} or an "
                             f"optax.GradientTransformation; got {optimizer!r}")
    arrays = {name: per_run(name, value, runs) for name, value in values.items()}
    for name, value in arrays.items():
        bad = ~np.isfinite(value) | ((value <= 0) if name in ("learning_rate", "eps") else (value < 0))
        if np.any(bad):
            bound = "> 0" if name in ("learning_rate", "eps") else ">= 0"
            raise LayerwiseError(f"{name} must be finite and {bound}; got {value[bad][0]}")
    return transformation, arrays


def train(
    model: Model,
    params,
    task: Task,
    optimizer: str | optax.GradientTransformation = "gd",
    *,
    steps: int,
    learning_rate=None,
    weight_decay=None,
    optimizer_options: Mapping[str, Any] | None = None,
    batch_size: int | None = None,
    record_steps=None,
    observables: Mapping[str, Any] | None = None,
    loss: str | Loss = "half_squared_error",
    key: jax.Array | None = None,
    task_batched: bool = False,
    model_batched: bool = False,
    coords: Mapping[str, Any] | None = None,
    on_divergence: str = "raise",
    use_statistics="auto",
    checkpoint=None,
    fast_path="auto",
) -> TrainResult:
    r"""Train R runs at once with an optax optimiser; record observables on a step grid.

    Args:
        model: a `layerwise.models.Model`. With ``model_batched=True`` every array field (e.g. ``output_scale``)
            has a leading runs axis: one value per run, in the same compiled call.
        params: params with a leading runs axis R on every leaf (``jax.vmap`` an init over keys to make them).
        task: the `Task`; with ``task_batched=True`` every leaf has a leading runs axis (one task per run).
        optimizer: a name (``gd, sgd, momentum, adam, adamw``, see `make_optimizer`) or any
            ``optax.GradientTransformation`` (schedules, ``optax.chain``, custom transforms).
        steps: number of optimiser steps.
        learning_rate, weight_decay: scalars or (R,) arrays, one per run (defaults 1e-2 and 0 for a named
            optimiser). With an optax transformation they (and ``optimizer_options``) set the hyperparameters of an
            ``optax.inject_hyperparams`` optimiser per run.
        optimizer_options: other hyperparameters (``momentum`` for momentum; ``b1``, ``b2``, ``eps`` for Adam),
            scalar or (R,); a key the optimiser does not use is an error.
        batch_size: ``None`` = full batch; else shuffled mini-batches (or fresh samples from ``task.sampler``,
            given the run's ``task.sampler_args``).
        record_steps: increasing steps in ``[0, steps]`` to record at; default about 200 evenly spaced.
            `linear_record_steps` and `log_record_steps` make common grids.
        observables: ``name -> Observable`` (`layerwise.observables`; compiled once per kind), a plain
            ``fn(model, params, task)`` or ``(fn, dim_names)``. ``loss`` is always recorded.
        loss: ``"half_squared_error"`` (theory convention), ``"mean_squared_error"`` (PyTorch convention),
            ``"softmax_cross_entropy"`` or any ``loss(prediction, target) -> (n,)`` per-sample callable.
        key: PRNG key for mini-batch order / online samples (needed when ``batch_size`` is set).
        coords: extra per-run labels (name -> (R,) values) for the Dataset's ``run`` axis.
        on_divergence: ``"raise"`` a `DivergenceError` naming the run, step and hyperparameters, or ``"mark"``
            the run (status DIVERGED, NaN records after the step) and keep the others.
        use_statistics: ``"auto"``, True or False: train linear models from sufficient statistics.
        checkpoint: a `Checkpointer` (saves the run's state every few segments and resumes from it, bitwise equal
            to an uninterrupted run), ``None`` (the innermost open ``with Checkpointer(...)``, if any) or ``False``.
        fast_path: ``"auto"`` (tiny deep linear and diagonal nets trained from sufficient statistics with a named
            optimiser take `layerwise.engine.fast_path` in calls of at least a few million runs x steps: the same
            numbers, several times faster warm), True (require it: a `LayerwiseError` when it does not apply) or
            False (the generic path).
    Returns:
        `TrainResult` with ``history`` dims ``(run, step, ...)`` and per-run ``status``; for ``gd``/``sgd`` the
        coordinate ``time = learning_rate * step`` (gradient-flow time).

    Example (see the README): ``train(model, params, task, optax.adam(1e-3), steps=1000,
    observables={"W": observables.EndToEnd()})``.
    """
    check_positive_int("steps", steps)
    loss_name, _ = resolve_loss(loss)
    check_choice("on_divergence", on_divergence, DIVERGENCE_POLICIES)
    runs = runs_of(params)
    _check_inputs(model, params, task, loss, runs, task_batched, model_batched)
    _check_batching(batch_size, key, task)
    record_steps = check_record_steps(
        linear_record_steps(steps, max(1, steps // 200)) if record_steps is None else record_steps, steps
    )
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    transformation, hyper = _hyperparameters(optimizer, learning_rate, weight_decay, optimizer_options, runs,
                                             params, dtype)
    statistics = uses_statistics(model, loss, batch_size is None, task, use_statistics)
    fast = fast_lib.use_fast_path(fast_path, model, optimizer, statistics, runs * steps)
    program = fast_lib.train_fast_compiled if fast else _train_compiled
    specs = observable_specs(observables)
    # One compiled split per size bucket, not one per run count (bitwise jax.random.split: layerwise._random).
    keys = random_lib.split(jax.random.PRNGKey(0) if key is None else key, runs)
    segments = np.stack([np.concatenate([[0], record_steps[:-1]]), record_steps], axis=1)
    params, hyper_arrays, keys = shard_runs((params, {k: jnp.asarray(v, dtype) for k, v in hyper.items()}, keys), runs)
    inputs = (params, shard_runs(task, runs) if task_batched else task, hyper_arrays, keys)
    static = dict(optimizer=transformation, loss=loss, observables=tuple((n, fn) for n, (fn, _) in specs.items()),
                  batch_size=batch_size, statistics=statistics, task_batched=task_batched, model_batched=model_batched)
    checkpointer = checkpoint_lib.active_checkpointer(checkpoint)
    if checkpointer is None:
        (final, _, diverged, _), records = program(*inputs, jnp.asarray(segments), model, **static)
    else:  # in chunks of segments, saving the carry now and then: bitwise the same as one call
        (final, _, diverged, _), records = checkpointer.run(program, inputs, segments, model, static, runs)
    final = fast_lib.runs_first(final) if fast else final
    diverged = np.asarray(diverged)
    status = np.where(diverged >= 0, Status.DIVERGED, Status.FINISHED).astype(np.int8)
    stopped_at = np.where(diverged >= 0, diverged, steps)
    run_coords = run_coordinates({name: value for name, value in hyper.items()
                                  if np.ptp(value) > 0 or name == "learning_rate"}, model, model_batched, coords, runs)
    raise_on_divergence(diverged, run_coords, on_divergence, "step", advice="lower the learning rate or pass "
                        "on_divergence='mark' to keep the other runs")
    result_history = history(
        records, "step", record_steps, run_coords, status, stopped_at, {n: d for n, (_, d) in specs.items()},
        {"optimizer": optimizer if isinstance(optimizer, str) else "optax", "loss": loss_name, "steps": steps,
         "batch_size": batch_size or 0, "sufficient_statistics": int(statistics),
         "fast_path": int(fast)},
    )
    if optimizer in ("gd", "sgd"):
        result_history = result_history.assign_coords(
            time=(("run", "step"), np.outer(hyper["learning_rate"], record_steps)))
    result = TrainResult(result_history, final, status, stopped_at)
    journal(result, "train")
    return result


def run_coordinates(swept: dict, model, model_batched: bool, coords, runs: int) -> dict[str, np.ndarray]:
    """The history's per-run coordinates: swept hyperparameters, a batched model's fields, the caller's coords."""
    run_coords = dict(swept)
    if model_batched:
        run_coords.update(model_coords(model, runs))
    run_coords.update({name: per_run(name, value, runs) for name, value in (coords or {}).items()})
    return run_coords


def raise_on_divergence(diverged_at, coords, policy, index_name, *, advice) -> None:
    """With ``policy="raise"``, a `DivergenceError` naming the first diverged run, where, and its hyperparameters."""
    bad = np.flatnonzero(diverged_at >= 0)
    if bad.size and policy == "raise":
        run = int(bad[0])
        hyper = {key: float(np.asarray(value)[run]) for key, value in coords.items()}
        raise DivergenceError(
            f"run {run} diverged (NaN/inf) at {index_name} {int(diverged_at[run])} with {hyper}"
            f"{f' ({bad.size} runs diverged in all)' if bad.size > 1 else ''}; {advice}",
            run,
            int(diverged_at[run]),
            hyper,
        )
