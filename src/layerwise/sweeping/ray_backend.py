"""The ``ray`` backend: each cell is a Ray task, on a local Ray instance or an existing cluster (``address``).

Tasks whose worker dies (killed, node lost) are retried by Ray up to `MAX_RETRIES` times; a cell that raises, or
keeps dying, is marked failed with its error and the others finish. Results travel back to the driver, which writes
them (workers need no shared disk). The driver's numerics settings (XLA flags, platform; see
`layerwise.sweeping.compute.environment`) go to every worker, which refuses to compute under others, so a Ray sweep
gives bitwise the same ``sweep.nc`` as a local one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

from layerwise.errors import LayerwiseError
from layerwise.sweeping.cells import Cell, Target
from layerwise.sweeping.compute import compute_cell, environment
from layerwise.sweeping.local import Finished, error_line

MAX_RETRIES = 3
"""How often Ray re-runs a cell whose worker died before it fails the cell."""


def _import_ray():
    try:
        import ray
    except ImportError:
        raise LayerwiseError("backend 'ray' needs Ray: pip install \"layerwise[ray]\"") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None):
    """Join the Ray instance this process already has, the cluster at ``address``, or start a local one sized to
    this machine (``num_cpus``, default all cores). Returns the ``ray`` module."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    settings = environment(devices=False)
    package_root = str(Path(__file__).resolve().parents[2])  # workers of a local instance import this source
    if address is None:
        settings["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    try:
        ray.init(address=address, num_cpus=None if address else (num_cpus or os.cpu_count()),
                 runtime_env={"env_vars": settings}, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise LayerwiseError(f"--address {address!r}: cannot join a Ray cluster there ({error_line(error)})") from None
    return ray


def run_ray(target: Target, cells: list[Cell], *, on_start: Callable[[Cell], None], address: str | None = None,
            max_retries: int = MAX_RETRIES) -> Iterator[Finished]:
    """Submit every cell as a Ray task and yield each as it finishes (in finishing order)."""
    ray = connect(address)
    remote = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(compute_cell)
    expected = environment()
    if not isinstance(target.task, str):  # a researcher's function: sent by value (its module may not import there)
        _pickle_by_value(ray, target.task)
    task = ray.put(target.task)
    pending = {remote.remote(task, cell.values, expected): cell for cell in cells}
    slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
    for cell in cells[:slots]:
        on_start(cell)
    started = min(slots, len(cells))
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        cell = pending.pop(done[0])
        if started < len(cells):  # the next queued task takes the freed slot
            on_start(cells[started])
            started += 1
        try:
            yield cell, ray.get(done[0]), None
        except ray.exceptions.RayTaskError as error:  # the cell raised: its own error, not Ray's wrapper
            yield cell, None, error_line(getattr(error, "cause", None) or error)
        except ray.exceptions.RayError as error:  # the worker kept dying (retries spent) or the node was lost
            yield cell, None, error_line(error)


def _pickle_by_value(ray, task) -> None:
    import sys

    for function in (task.function, task.check):
        module = sys.modules.get(getattr(function, "__module__", None) or "")
        if module is not None and module.__name__ != "__main__" and not module.__name__.startswith("layerwise"):
            ray.cloudpickle.register_pickle_by_value(module)
