r"""The training engine: the only training loop in layerwise.

``train`` runs R runs of an optax optimiser at once: ``lax.scan`` over recording intervals (a ``fori_loop`` of
optimiser steps inside each), ``vmap`` over runs. ``gradient_flow`` integrates ``tau d(theta)/dt = -grad L`` with diffrax
for the same models and tasks. Both record observables into an xarray Dataset with dims ``(run, step)`` or
``(run, time)`` and return a `TrainResult`.

Linear models (those with ``end_to_end``) trained full-batch on the half squared error take the *sufficient
statistics* path: ``L(W) = 1/2 tr(W Sxx W^T) - tr(W Syx^T) + 1/2 tr Syy``, so a step costs the same for any number of
samples (see `layerwise.data.Task`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Mapping

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from layerwise.data.task import Task
from layerwise.errors import DivergenceError, LayerwiseError, check_choice, check_positive, check_positive_int

Observable = Callable[[Any, Any, Task], jax.Array]
OPTIMIZERS = ("gd", "sgd", "momentum", "adam", "adamw")
LOSSES = ("half_squared_error", "mean_squared_error")
DIVERGENCE_POLICIES = ("raise", "mark")


# ----------------------------------------------------------------------------------------------------------- losses
def half_squared_error(prediction, target):
    r"""Per-sample ``1/2 ||f(x) - y||^2`` (summed over outputs): the loss of the theory (theory.md conventions)."""
    return 0.5 * jnp.sum((prediction - target) ** 2, axis=-1)


def mean_squared_error(prediction, target):
    r"""Per-sample ``mean_outputs (f(x) - y)^2``: PyTorch's ``MSELoss(reduction='mean')`` once averaged over samples."""
    return jnp.mean((prediction - target) ** 2, axis=-1)


_LOSS_FUNCTIONS = {"half_squared_error": half_squared_error, "mean_squared_error": mean_squared_error}


def statistics_loss(end_to_end, task: Task):
    r"""``1/2 tr(W Sxx W^T) - tr(W Syx^T) + 1/2 tr Syy``: the half squared error of the linear map ``W`` (m, d)."""
    return (
        0.5 * jnp.sum((end_to_end @ task.input_covariance) * end_to_end)
        - jnp.sum(end_to_end * task.cross_covariance)
        + 0.5 * task.output_second_moment
    )


def _uses_statistics(model, loss: str, full_batch: bool, task: Task, use_statistics) -> bool:
    possible = hasattr(model, "end_to_end") and loss == "half_squared_error" and full_batch and task.sampler is None
    if use_statistics == "auto":
        return possible
    if use_statistics and not possible:
        raise LayerwiseError(
            "use_statistics=True needs a linear model (with end_to_end), loss='half_squared_error' and full batch"
        )
    if not use_statistics and task.x is None:
        raise LayerwiseError("use_statistics=False needs a task with samples (x, y); this task has moments only")
    return bool(use_statistics)


def task_loss(model, params, task: Task, loss: str = "half_squared_error", *, use_statistics="auto"):
    """The loss of one run's params on the whole task (sufficient statistics where possible)."""
    if _uses_statistics(model, loss, True, task, use_statistics):
        return statistics_loss(model.end_to_end(params), task)
    return jnp.mean(_LOSS_FUNCTIONS[loss](model.apply(params, task.x), task.y))


# ------------------------------------------------------------------------------------------------------- optimisers
def make_optimizer(
    name: str = "gd", learning_rate=1e-2, weight_decay=0.0, momentum=0.9, b1=0.9, b2=0.999, eps=1e-8
) -> optax.GradientTransformation:
    r"""An optax optimiser by name.

    * ``"gd"``/``"sgd"``: ``theta <- theta - lr (grad + wd theta)`` (full batch or mini-batch is the engine's choice).
    * ``"momentum"``: heavy-ball SGD with ``momentum``, coupled weight decay.
    * ``"adam"``: Adam with *coupled* L2 weight decay added to the gradient, as ``torch.optim.Adam(weight_decay=wd)``
      (the authors' Fig. 11 setting).
    * ``"adamw"``: Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    Hyperparameters may be JAX tracers (the engine vmaps over them).
    """
    check_choice("optimizer", name, OPTIMIZERS)
    for field, value in (("learning_rate", learning_rate), ("weight_decay", weight_decay)):
        if not isinstance(value, jax.core.Tracer) and np.ndim(value) == 0:
            check_positive(field, value, allow_zero=field == "weight_decay")
    coupled_decay = optax.add_decayed_weights(weight_decay)
    if name in ("gd", "sgd"):
        return optax.chain(coupled_decay, optax.sgd(learning_rate))
    if name == "momentum":
        return optax.chain(coupled_decay, optax.sgd(learning_rate, momentum=momentum))
    if name == "adam":
        return optax.chain(coupled_decay, optax.adam(learning_rate, b1=b1, b2=b2, eps=eps))
    return optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay)


# ----------------------------------------------------------------------------------------------------- record plans
def linear_record_steps(steps: int, every: int) -> np.ndarray:
    """Steps ``0, every, 2 every, ..., steps`` (``steps`` always included)."""
    check_positive_int("steps", steps)
    check_positive_int("record_every", every)
    return np.unique(np.append(np.arange(0, steps + 1, every), steps))


def log_record_steps(steps: int, num: int) -> np.ndarray:
    """About ``num`` log-spaced steps from 0 to ``steps`` (0, 1, then geometric; duplicates removed)."""
    check_positive_int("steps", steps)
    check_positive_int("num", num, minimum=2)
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, steps, num - 1)).astype(int), [steps]]))


def _check_record_steps(record_steps, steps: int) -> np.ndarray:
    record_steps = np.asarray(record_steps)
    if (
        record_steps.ndim != 1
        or record_steps.size == 0
        or not np.issubdtype(record_steps.dtype, np.integer)
        or np.any(np.diff(record_steps) <= 0)
        or record_steps[0] < 0
        or record_steps[-1] > steps
    ):
        raise LayerwiseError(f"record_steps must be increasing integers in [0, steps={steps}]")
    return record_steps


# ------------------------------------------------------------------------------------------------------- the result
@dataclasses.dataclass
class TrainResult:
    """What the engine returns.

    Attributes:
        history: Dataset with dims ``(run, step)`` (or ``(run, time)``) holding ``loss`` and every observable; the run
            coordinates carry each swept hyperparameter. Values after a run diverged are NaN, and
            ``history["diverged_step"]`` (-1 = never) says where.
        params: final params, leading axis = runs.
        diverged_step: (R,) step (or time index) at which each run first became non-finite, -1 if never.
    """

    history: xr.Dataset
    params: Any
    diverged_step: np.ndarray

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_step >= 0


def _observable_spec(name, spec):
    if callable(spec):
        return spec, None
    try:
        fn, dims = spec
    except (TypeError, ValueError):
        raise LayerwiseError(f"observable {name!r} must be a callable or (callable, dims)") from None
    return fn, tuple(dims)


def _batch_size(params) -> int:
    sizes = {leaf.shape[0] for leaf in jax.tree_util.tree_leaves(params) if jnp.ndim(leaf) > 0}
    if len(sizes) != 1:
        raise LayerwiseError(f"params must have one leading runs axis shared by every leaf; got sizes {sorted(sizes)}")
    return sizes.pop()


def _per_run(name: str, value, runs: int) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    if value.ndim == 0:
        return np.full(runs, value)
    if value.shape != (runs,):
        raise LayerwiseError(f"{name} must be a scalar or have one value per run ({runs}); got shape {value.shape}")
    return value


def _history(records, index_name, index, coords, diverged_step, observable_dims, attrs) -> xr.Dataset:
    data_vars = {}
    for name, values in records.items():
        values = np.asarray(values)
        dims = observable_dims.get(name) or tuple(f"{name}_{i}" for i in range(values.ndim - 2))
        if len(dims) != values.ndim - 2:
            raise LayerwiseError(f"observable {name!r} has {values.ndim - 2} extra dims but {len(dims)} dim names")
        data_vars[name] = (("run", index_name, *dims), values)
    data_vars["diverged_step"] = (("run",), diverged_step)
    clash = set(coords) & set(data_vars)
    if clash:
        raise LayerwiseError(f"coords and observables share the names {sorted(clash)}; rename one of them")
    run_coords = {key: ("run", np.asarray(value)) for key, value in coords.items()}
    return xr.Dataset(data_vars, coords={"run": np.arange(len(diverged_step)), index_name: index, **run_coords}, attrs=attrs)


def _divergence_report(diverged_step, coords, policy, index_name):
    bad = np.flatnonzero(diverged_step >= 0)
    if bad.size and policy == "raise":
        run = int(bad[0])
        hyper = {key: float(np.asarray(value)[run]) for key, value in coords.items()}
        raise DivergenceError(
            f"run {run} diverged (NaN/inf) at {index_name} {int(diverged_step[run])} with {hyper}"
            f"{f' ({bad.size} runs diverged in all)' if bad.size > 1 else ''}; lower the learning rate or pass "
            "on_divergence='mark' to keep the other runs",
            run,
            int(diverged_step[run]),
            hyper,
        )


def _shard_runs(tree, runs: int):
    """Split the runs axis over all local devices (host CPUs given ``--xla_force_host_platform_device_count``, or
    GPUs) when it divides evenly; XLA then runs each device's share in parallel (engine.md: 2x on 2 cores)."""
    devices = jax.local_devices()
    if len(devices) == 1 or runs % len(devices):
        return tree
    mesh = jax.sharding.Mesh(np.array(devices), ("runs",))
    return jax.device_put(tree, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs")))


def _all_finite(tree):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(tree)]))


def _observe(model, params, task, observables, loss, use_statistics):
    values = {"loss": task_loss(model, params, task, loss, use_statistics=use_statistics)}
    for name, fn in observables:
        values[name] = jnp.asarray(fn(model, params, task))
    return values


# ----------------------------------------------------------------------------------------------------------- train
@functools.partial(
    jax.jit, static_argnames=("model", "optimizer", "loss", "observables", "batch_size", "statistics", "task_batched")
)
def _train_compiled(
    params, task, hyperparameters, keys, segments, *, model, optimizer, loss, observables, batch_size, statistics,
    task_batched,
):
    loss_fn = _LOSS_FUNCTIONS[loss]

    def one_run(params, task, hyper, key):
        opt = make_optimizer(optimizer, **hyper)

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
            if statistics:
                return statistics_loss(model.end_to_end(p), task)
            if task.sampler is not None:
                x, y = task.sampler(jax.random.fold_in(key, step), batch_size)
                return jnp.mean(loss_fn(model.apply(p, x), y))
            if batch_size is None:
                return jnp.mean(loss_fn(model.apply(p, task.x), task.y))
            position = step % per_epoch
            index = jax.lax.dynamic_slice(order, (position * batch_size,), (batch_size,))
            weight = (position * batch_size + jnp.arange(batch_size)) < n
            per_sample = loss_fn(model.apply(p, task.x[index]), task.y[index])
            return jnp.sum(weight * per_sample) / jnp.sum(weight)

        gradient = jax.grad(objective)

        def step_fn(step, carry):
            p, state, diverged, order = carry
            if shuffled:  # `step` is not batched over runs, so this stays a real branch under vmap
                order = jax.lax.cond(step % per_epoch == 0, lambda: epoch_order(step // per_epoch), lambda: order)
            updates, new_state = opt.update(gradient(p, step, order), state, p)
            new_p = optax.apply_updates(p, updates)
            ok = _all_finite(new_p) & (diverged < 0)
            # A diverged run keeps its last finite params (no NaN spreads) and remembers the step.
            keep = lambda new, old: jnp.where(ok, new, old)  # noqa: E731
            return (
                jax.tree_util.tree_map(keep, new_p, p),
                jax.tree_util.tree_map(keep, new_state, state),
                jnp.where((diverged < 0) & ~ok, step + 1, diverged),
                order,
            )

        def segment(carry, bounds):
            start, stop = bounds
            p, state, diverged, order = jax.lax.fori_loop(start, stop, step_fn, carry)
            values = _observe(model, p, task, observables, loss, statistics)
            diverged = jnp.where((diverged < 0) & ~jnp.isfinite(values["loss"]), stop, diverged)
            values = jax.tree_util.tree_map(lambda v: jnp.where(diverged >= 0, jnp.nan, v), values)
            return (p, state, diverged, order), values

        # The order of the epoch the first segment starts in (a step that opens an epoch redraws it anyway).
        carry = (params, opt.init(params), jnp.array(-1), epoch_order(segments[0, 0] // per_epoch))
        (params, _, diverged, _), records = jax.lax.scan(segment, carry, segments)
        return params, diverged, records

    task_axis = 0 if task_batched else None
    return jax.vmap(one_run, in_axes=(0, task_axis, 0, 0))(params, task, hyperparameters, keys)


def train(
    model,
    params,
    task: Task,
    *,
    steps: int,
    optimizer: str = "gd",
    learning_rate=1e-2,
    weight_decay=0.0,
    optimizer_options: Mapping[str, Any] | None = None,
    batch_size: int | None = None,
    record_steps=None,
    observables: Mapping[str, Observable | tuple[Observable, tuple[str, ...]]] | None = None,
    loss: str = "half_squared_error",
    key: jax.Array | None = None,
    task_batched: bool = False,
    coords: Mapping[str, Any] | None = None,
    on_divergence: str = "raise",
    use_statistics="auto",
) -> TrainResult:
    r"""Train R runs at once with an optax optimiser; record observables on a step grid.

    Args:
        model: a model (frozen dataclass with ``apply(params, x)``).
        params: params with a leading runs axis R on every leaf (``jax.vmap`` an init over keys to make them).
        task: the `Task`; with ``task_batched=True`` every leaf has a leading runs axis (one task per run).
        steps: number of optimiser steps.
        optimizer: one of ``gd, sgd, momentum, adam, adamw`` (see `make_optimizer`).
        learning_rate, weight_decay: scalars or (R,) arrays (one per run, swept in the same compiled call).
        optimizer_options: other `make_optimizer` arguments (``momentum``, ``b1``, ``b2``, ``eps``), scalar or (R,).
        batch_size: ``None`` = full batch; else shuffled mini-batches (or fresh samples from ``task.sampler``).
        record_steps: increasing steps in ``[0, steps]`` to record at; default about 200 evenly spaced.
            `linear_record_steps` and `log_record_steps` make common grids.
        observables: ``name -> fn(model, params, task)`` (single run) or ``name -> (fn, dim_names)``. ``loss`` is
            always recorded.
        loss: ``"half_squared_error"`` (theory convention) or ``"mean_squared_error"`` (PyTorch convention).
        key: PRNG key for mini-batch order / online samples (needed when ``batch_size`` is set).
        coords: extra per-run labels (name -> (R,) values) for the Dataset's ``run`` axis.
        on_divergence: ``"raise"`` a `DivergenceError` naming the run, step and hyperparameters, or ``"mark"``
            the run (NaN records after the step, ``diverged_step``) and keep the others.
        use_statistics: ``"auto"``, True or False: train linear models from sufficient statistics.
    Returns:
        `TrainResult` with ``history`` dims ``(run, step, ...)``; for ``gd``/``sgd`` the coordinate
        ``time = learning_rate * step`` (gradient-flow time, theory.md conventions).
    """
    check_positive_int("steps", steps)
    check_choice("loss", loss, LOSSES)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("on_divergence", on_divergence, DIVERGENCE_POLICIES)
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)
        if key is None:
            raise LayerwiseError("key is required with batch_size (it fixes the mini-batch order)")
        if task.sampler is None and task.x is None:
            raise LayerwiseError("batch_size needs a task with samples or a sampler; this task has moments only")
    elif task.x is None and not hasattr(model, "end_to_end"):
        raise LayerwiseError("this task has moments only; a nonlinear model needs samples (x, y)")
    runs = _batch_size(params)
    record_steps = _check_record_steps(
        linear_record_steps(steps, max(1, steps // 200)) if record_steps is None else record_steps, steps
    )
    hyper = {"learning_rate": _per_run("learning_rate", learning_rate, runs),
             "weight_decay": _per_run("weight_decay", weight_decay, runs)}
    for name, value in (optimizer_options or {}).items():
        hyper[name] = _per_run(name, value, runs)
    for name in ("learning_rate", "weight_decay"):
        bad = hyper[name] <= 0 if name == "learning_rate" else hyper[name] < 0
        if np.any(bad | ~np.isfinite(hyper[name])):
            bound = "> 0" if name == "learning_rate" else ">= 0"
            raise LayerwiseError(f"{name} must be finite and {bound}; got {hyper[name][bad | ~np.isfinite(hyper[name])][0]}")
    statistics = _uses_statistics(model, loss, batch_size is None, task, use_statistics)
    specs = {name: _observable_spec(name, spec) for name, spec in (observables or {}).items()}
    if "loss" in specs:
        raise LayerwiseError("observable name 'loss' is reserved (the loss is always recorded)")
    keys = jax.random.split(jax.random.PRNGKey(0) if key is None else key, runs)
    segments = np.stack([np.concatenate([[0], record_steps[:-1]]), record_steps], axis=1)
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    hyper_arrays = {k: jnp.asarray(v, dtype) for k, v in hyper.items()}
    params, hyper_arrays, keys = _shard_runs((params, hyper_arrays, keys), runs)
    if task_batched:
        task = _shard_runs(task, runs)
    final, diverged, records = _train_compiled(
        params, task, hyper_arrays, keys, jnp.asarray(segments),
        model=model, optimizer=optimizer, loss=loss, observables=tuple((n, fn) for n, (fn, _) in specs.items()),
        batch_size=batch_size, statistics=statistics, task_batched=task_batched,
    )
    diverged = np.asarray(diverged)
    run_coords = {name: value for name, value in hyper.items() if np.ptp(value) > 0 or name == "learning_rate"}
    run_coords.update({name: _per_run(name, value, runs) for name, value in (coords or {}).items()})
    _divergence_report(diverged, run_coords, on_divergence, "step")
    history = _history(
        records, "step", record_steps, run_coords, diverged, {n: d for n, (_, d) in specs.items()},
        {"optimizer": optimizer, "loss": loss, "steps": steps, "batch_size": batch_size or 0,
         "sufficient_statistics": int(statistics)},
    )
    if optimizer in ("gd", "sgd"):
        history = history.assign_coords(time=(("run", "step"), np.outer(hyper["learning_rate"], record_steps)))
    return TrainResult(history, final, diverged)


# --------------------------------------------------------------------------------------------------- gradient flow
@functools.partial(jax.jit, static_argnames=("model", "loss", "observables", "statistics", "task_batched", "max_steps"))
def _flow_compiled(params, task, times, weight_decay, rtol, atol, *, model, loss, observables, statistics,
                   task_batched, max_steps):
    def one_run(params, task, weight_decay):
        gradient = jax.grad(lambda p: task_loss(model, p, task, loss, use_statistics=statistics))

        def vector_field(t, p, args):
            return jax.tree_util.tree_map(lambda g, w: -g - weight_decay * w, gradient(p), p)

        solution = diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field),
            diffrax.Dopri8(),
            t0=times[0],
            t1=times[-1],
            dt0=None,
            y0=params,
            saveat=diffrax.SaveAt(ts=times),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            max_steps=max_steps,
            throw=False,
        )
        values = jax.vmap(lambda p: _observe(model, p, task, observables, loss, statistics))(solution.ys)
        finite = jnp.isfinite(values["loss"])
        first_bad = jnp.where(jnp.all(finite), -1, jnp.argmin(finite))
        final = jax.tree_util.tree_map(lambda y: y[-1], solution.ys)
        return final, first_bad, solution.result == diffrax.RESULTS.successful, solution.stats["num_steps"], values

    task_axis = 0 if task_batched else None
    return jax.vmap(one_run, in_axes=(0, task_axis, 0))(params, task, weight_decay)


def gradient_flow(
    model,
    params,
    task: Task,
    times,
    *,
    observables: Mapping[str, Observable | tuple[Observable, tuple[str, ...]]] | None = None,
    weight_decay=0.0,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int = 200_000,
    loss: str = "half_squared_error",
    task_batched: bool = False,
    coords: Mapping[str, Any] | None = None,
    on_divergence: str = "raise",
    use_statistics="auto",
) -> TrainResult:
    r"""Exact gradient flow ``d(theta)/dt = -grad L(theta) - wd theta`` (tau = 1), integrated with diffrax's adaptive
    Dopri8 (8th order) for R runs at once; records observables at ``times``.

    This is the reference the closed forms of `layerwise.theory` are checked against (engine.md: GD with a small
    learning rate is a poor stand-in; use the ODE). Runs are vmapped: group runs of similar stiffness, since every
    lane takes as many steps as the slowest.

    Args:
        model, params, task, observables, loss, task_batched, coords, on_divergence, use_statistics: as in `train`.
        times: increasing save times (1-D), the first being the start time.
        weight_decay: scalar or (R,), adds ``-wd theta`` to the flow.
        rtol, atol: the PID controller's tolerances (float64 params reach ~1e-10 relative accuracy by default).
        max_steps: solver step budget per run; exceeding it raises a `LayerwiseError`.
    Returns:
        `TrainResult` whose ``history`` has dims ``(run, time, ...)`` and ``attrs["solver_steps"]``.
    """
    check_choice("loss", loss, LOSSES)
    check_choice("on_divergence", on_divergence, DIVERGENCE_POLICIES)
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or times.size < 2 or np.any(np.diff(times) <= 0):
        raise LayerwiseError("times must be a 1-D increasing array with at least 2 entries")
    runs = _batch_size(params)
    wd = _per_run("weight_decay", weight_decay, runs)
    if np.any(wd < 0):
        raise LayerwiseError("weight_decay must be >= 0")
    statistics = _uses_statistics(model, loss, True, task, use_statistics)
    specs = {name: _observable_spec(name, spec) for name, spec in (observables or {}).items()}
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    final, first_bad, success, num_steps, records = _flow_compiled(
        params, task, jnp.asarray(times, dtype), jnp.asarray(wd, dtype), rtol, atol,
        model=model, loss=loss, observables=tuple((n, fn) for n, (fn, _) in specs.items()),
        statistics=statistics, task_batched=task_batched, max_steps=max_steps,
    )
    first_bad, success = np.asarray(first_bad), np.asarray(success)
    run_coords = {"weight_decay": wd} if np.any(wd > 0) else {}
    run_coords.update({name: _per_run(name, value, runs) for name, value in (coords or {}).items()})
    _divergence_report(first_bad, run_coords, on_divergence, "time index")
    if not np.all(success | (first_bad >= 0)):
        run = int(np.flatnonzero(~success)[0])
        raise LayerwiseError(
            f"gradient flow of run {run} did not reach t={times[-1]:g} within max_steps={max_steps} "
            f"(loosen rtol/atol or raise max_steps)"
        )
    records = {name: np.asarray(values) for name, values in records.items()}
    history = _history(
        records, "time", times, run_coords, first_bad, {n: d for n, (_, d) in specs.items()},
        {"solver": "Dopri8", "rtol": rtol, "atol": atol, "loss": loss, "sufficient_statistics": int(statistics)},
    )
    history["solver_steps"] = ("run", np.asarray(num_steps))
    return TrainResult(history, final, first_bad)
