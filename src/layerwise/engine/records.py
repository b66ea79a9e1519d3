"""Record plans (which steps to record) and the engine's shared bookkeeping: per-run values, the runs axis,
observables' dims, and the history Dataset."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from layerwise.errors import LayerwiseError, check_positive_int


def linear_record_steps(steps: int, every: int) -> np.ndarray:
    """Steps ``0, every, 2 every, ..., steps`` (``steps`` always included)."""
    check_positive_int("steps", steps)
    check_positive_int("record_every", every)
    return np.unique(np.append(np.arange(0, steps + 1, every), steps))


def even_record_steps(steps: int, num: int) -> np.ndarray:
    """About ``num`` evenly spaced steps from 0 to ``steps`` (rounded; duplicates removed)."""
    check_positive_int("steps", steps)
    check_positive_int("num", num, minimum=2)
    return np.unique(np.round(np.linspace(0, steps, num)).astype(int))


def log_record_steps(steps: int, num: int) -> np.ndarray:
    """About ``num`` log-spaced steps from 0 to ``steps`` (0, 1, then geometric; duplicates removed)."""
    check_positive_int("steps", steps)
    check_positive_int("num", num, minimum=2)
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, steps, num - 1)).astype(int), [steps]]))


def check_record_steps(record_steps, steps: int) -> np.ndarray:
    """``record_steps`` as increasing integers in ``[0, steps]``, or a `LayerwiseError`."""
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


def runs_of(params) -> int:
    """The size of the leading runs axis shared by every leaf of ``params``."""
    sizes = {np.shape(leaf)[0] for leaf in jax.tree_util.tree_leaves(params) if np.ndim(leaf) > 0}
    if len(sizes) != 1:
        raise LayerwiseError(f"params must have one leading runs axis shared by every leaf; got sizes {sorted(sizes)}")
    return sizes.pop()


def per_run(name: str, value, runs: int) -> np.ndarray:
    """A scalar or (R,) value as an (R,) float array, or a `LayerwiseError` naming ``name``."""
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise LayerwiseError(f"{name} must be a number or one number per run ({runs}); got {value!r}") from None
    if value.ndim == 0:
        return np.full(runs, value)
    if value.shape != (runs,):
        raise LayerwiseError(f"{name} must be a scalar or have one value per run ({runs}); got shape {value.shape}")
    return value


def observable_specs(observables: Mapping[str, Any] | None) -> dict[str, tuple[Callable, tuple[str, ...] | None]]:
    """``name -> (callable, dims or None)`` from an `Observable`, a callable or a ``(callable, dims)`` pair."""
    specs = {}
    for name, spec in (observables or {}).items():
        if name == "loss":
            raise LayerwiseError("observable name 'loss' is reserved (the loss is always recorded)")
        if callable(spec):
            specs[name] = (spec, getattr(spec, "dims", None))
            continue
        try:
            fn, dims = spec
        except (TypeError, ValueError):
            raise LayerwiseError(f"observable {name!r} must be an Observable, a callable or (callable, dims)") from None
        if not callable(fn):
            raise LayerwiseError(f"observable {name!r} must be an Observable, a callable or (callable, dims)")
        specs[name] = (fn, tuple(dims))
    return specs


def history(records, index_name, index, coords, status, stopped_at, observable_dims, attrs) -> xr.Dataset:
    """The engine's Dataset: dims ``(run, index_name, *observable dims)``, per-run ``status`` and ``stopped_at``."""
    data_vars = {}
    for name, values in records.items():
        values = np.asarray(values)
        dims = observable_dims.get(name) or tuple(f"{name}_{i}" for i in range(values.ndim - 2))
        if len(dims) != values.ndim - 2:
            raise LayerwiseError(f"observable {name!r} has {values.ndim - 2} extra dims but {len(dims)} dim names")
        data_vars[name] = (("run", index_name, *dims), values)
    data_vars["status"] = (("run",), np.asarray(status))
    data_vars["stopped_at"] = (("run",), np.asarray(stopped_at))
    clash = set(coords) & set(data_vars)
    if clash:
        raise LayerwiseError(f"coords and observables share the names {sorted(clash)}; rename one of them")
    run_coords = {key: ("run", np.asarray(value)) for key, value in coords.items()}
    dataset = xr.Dataset(data_vars, coords={"run": np.arange(len(status)), index_name: index, **run_coords},
                         attrs=attrs)
    dataset["status"].attrs["flag_values"] = "0 finished, 1 diverged, 2 max_steps"
    return dataset


def shard_runs(tree, runs: int):
    """Split the runs axis over all local devices (host CPUs given ``--xla_force_host_platform_device_count``, or
    GPUs) when it divides evenly; XLA then runs each device's share in parallel (about 2x on 2 cores)."""
    devices = jax.local_devices()
    if len(devices) == 1 or runs % len(devices):
        return tree
    mesh = jax.sharding.Mesh(np.array(devices), ("runs",))
    return jax.device_put(tree, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs")))


def all_finite(tree):
    """Scalar bool: every entry of every leaf is finite."""
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(tree)]))


def check_task_finite(task) -> None:
    """`LayerwiseError` naming the field when a concrete task holds NaN or inf (bad data, not divergence)."""
    for name in ("x", "y", "input_covariance", "cross_covariance", "output_second_moment"):
        value = getattr(task, name)
        if value is None or isinstance(value, jax.core.Tracer):
            continue
        array = np.asarray(value)
        if np.issubdtype(array.dtype, np.inexact) and not np.all(np.isfinite(array)):
            bad = np.argwhere(~np.isfinite(array))[0]
            raise LayerwiseError(f"task.{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)}); "
                                 "clean the data before training")


def model_coords(model, runs: int) -> dict[str, np.ndarray]:
    """Per-run hyperparameters of a batched model (array fields with a leading runs axis) as run coordinates."""
    import dataclasses

    coords = {}
    for field in dataclasses.fields(model):
        value = getattr(model, field.name)
        if isinstance(value, jax.Array) and value.shape == (runs,):
            coords[field.name] = np.asarray(value)
    return coords
