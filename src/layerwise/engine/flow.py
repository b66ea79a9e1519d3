r"""`gradient_flow`: exact gradient flow of the same models and tasks as `train`, integrated with diffrax.

``d(theta)/dt = -grad L(theta) - wd theta`` (time constant 1, so GD's time is ``t = lr * step``), adaptive Dopri8
(8th order) for R runs at once. It is the reference the closed forms of `layerwise.theory` are checked against: GD
with a small learning rate is a poor stand-in, its error is O(lr).
"""

from __future__ import annotations

from typing import Any, Mapping

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from layerwise.data.task import Task
from layerwise.engine.losses import resolve_loss
from layerwise.engine.records import history, observable_specs, per_run, runs_of
from layerwise.engine.status import Status, TrainResult, journal
from layerwise.engine.train import (
    DIVERGENCE_POLICIES, _check_inputs, observe, raise_on_divergence, run_coordinates, task_loss, uses_statistics,
)
from layerwise.errors import LayerwiseError, SolverError, check_choice, check_positive, check_positive_int


@eqx.filter_jit
def _flow_compiled(params, task, times, weight_decay, rtol, atol, model, *, loss, observables, statistics,
                   task_batched, model_batched, max_steps):
    def one_run(params, task, weight_decay, model):
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
        values = jax.vmap(lambda p: observe(model, p, task, observables, loss, statistics))(solution.ys)
        finite = jnp.isfinite(values["loss"])
        first_bad = jnp.where(jnp.all(finite), -1, jnp.argmin(finite))
        index = jnp.arange(times.shape[0])
        values = jax.tree_util.tree_map(
            lambda v: jnp.where(((first_bad >= 0) & (index >= first_bad)).reshape((-1,) + (1,) * (v.ndim - 1)),
                                jnp.nan, v), values)
        last = jnp.where(first_bad > 0, first_bad - 1, times.shape[0] - 1)
        final = jax.tree_util.tree_map(lambda y: y[jnp.maximum(last, 0)], solution.ys)
        out_of_steps = solution.result == diffrax.RESULTS.max_steps_reached
        return final, first_bad, out_of_steps, solution.stats["num_steps"], values

    in_axes = (0, 0 if task_batched else None, 0, 0 if model_batched else None)
    return eqx.filter_vmap(one_run, in_axes=in_axes)(params, task, weight_decay, model)


def gradient_flow(
    model,
    params,
    task: Task,
    times,
    *,
    observables: Mapping[str, Any] | None = None,
    weight_decay=0.0,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    max_steps: int = 200_000,
    loss="half_squared_error",
    task_batched: bool = False,
    model_batched: bool = False,
    coords: Mapping[str, Any] | None = None,
    on_divergence: str = "raise",
    use_statistics="auto",
) -> TrainResult:
    r"""Exact gradient flow ``d(theta)/dt = -grad L(theta) - wd theta`` for R runs at once; records observables
    at ``times``. The same call signature and result as `train`, with ``times`` in place of the step plan.

    Runs are vmapped: group runs of similar stiffness, since every lane takes as many steps as the slowest.

    Args:
        model, params, task, observables, loss, task_batched, model_batched, coords, use_statistics: as in `train`.
        times: increasing save times (1-D), the first being the start time.
        weight_decay: scalar or (R,), adds ``-wd theta`` to the flow.
        rtol, atol: the PID controller's tolerances (float64 params reach ~1e-10 relative accuracy by default).
        max_steps: solver step budget per run.
        on_divergence: ``"raise"``: a run that diverged raises `DivergenceError`, one that ran out of solver steps
            `SolverError`; ``"mark"``: their ``status`` says DIVERGED or MAX_STEPS, records after ``stopped_at`` are
            NaN, and the other runs are kept.
    Returns:
        `TrainResult` whose ``history`` has dims ``(run, time, ...)`` and ``solver_steps`` per run.
    """
    check_choice("on_divergence", on_divergence, DIVERGENCE_POLICIES)
    check_positive("rtol", rtol)
    check_positive("atol", atol)
    check_positive_int("max_steps", max_steps)
    loss_name, _ = resolve_loss(loss)
    try:
        times = np.asarray(times, dtype=float)
    except (TypeError, ValueError):
        times = np.zeros(0)
    if times.ndim != 1 or times.size < 2 or np.any(np.diff(times) <= 0) or not np.all(np.isfinite(times)):
        raise LayerwiseError("times must be a 1-D finite increasing array with at least 2 entries")
    runs = runs_of(params)
    _check_inputs(model, params, task, loss, runs, task_batched, model_batched)
    wd = per_run("weight_decay", weight_decay, runs)
    if np.any(~np.isfinite(wd) | (wd < 0)):
        raise LayerwiseError("weight_decay must be finite and >= 0")
    statistics = uses_statistics(model, loss, True, task, use_statistics)
    specs = observable_specs(observables)
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    final, first_bad, out_of_steps, num_steps, records = _flow_compiled(
        params, task, jnp.asarray(times, dtype), jnp.asarray(wd, dtype), rtol, atol, model,
        loss=loss, observables=tuple((n, fn) for n, (fn, _) in specs.items()),
        statistics=statistics, task_batched=task_batched, model_batched=model_batched, max_steps=max_steps,
    )
    first_bad, out_of_steps = np.asarray(first_bad), np.asarray(out_of_steps)
    status = np.where(out_of_steps, Status.MAX_STEPS,
                      np.where(first_bad >= 0, Status.DIVERGED, Status.FINISHED)).astype(np.int8)
    stopped_at = np.where(first_bad >= 0, first_bad, len(times) - 1)
    run_coords = run_coordinates({"weight_decay": wd} if np.any(wd > 0) else {}, model, model_batched, coords, runs)
    if on_divergence == "raise" and np.any(status == Status.MAX_STEPS):
        run = int(np.flatnonzero(status == Status.MAX_STEPS)[0])
        reached = times[max(int(stopped_at[run]) - 1, 0)]
        raise SolverError(
            f"gradient flow of run {run} ran out of solver steps (max_steps={max_steps}) after t={reached:g} of "
            f"t={times[-1]:g}; raise max_steps, loosen rtol/atol, or pass on_divergence='mark'", run, float(reached))
    raise_on_divergence(np.where(status == Status.DIVERGED, first_bad, -1), run_coords, on_divergence,
                        "time index", advice="the flow itself blows up here; check the task and init, or pass "
                        "on_divergence='mark' to keep the other runs")
    result_history = history(
        {name: np.asarray(values) for name, values in records.items()}, "time", times, run_coords, status,
        stopped_at, {n: d for n, (_, d) in specs.items()},
        {"solver": "Dopri8", "rtol": rtol, "atol": atol, "loss": loss_name, "sufficient_statistics": int(statistics)},
    )
    result_history["solver_steps"] = ("run", np.asarray(num_steps))
    result = TrainResult(result_history, final, status, stopped_at)
    journal(result, "gradient_flow")
    return result
