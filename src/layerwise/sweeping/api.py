"""The Python entry points: `sweep` (an experiment or a function over a grid) and `load_result`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import xarray as xr

from layerwise.errors import LayerwiseError
from layerwise.sweeping.cells import function_target, make_cells, registered_target
from layerwise.sweeping.driver import MERGED, SweepRun, run_sweep
from layerwise.sweeping.spec import SweepSpec
from layerwise.sweeping.store import sweep_folder

DEFAULT_OUT = Path("layerwise-results")


def run_spec(spec: SweepSpec, out=DEFAULT_OUT, *, progress: bool = True, target=None,
             max_retries: int | None = None) -> SweepRun:
    """Validate every cell of ``spec`` (before anything runs), then run the sweep into ``OUT/<name>-sweep``."""
    target = target or registered_target(spec.experiment)
    cells = make_cells(target, spec.grid, values=spec.values, preset=spec.preset, seeds=spec.seeds)
    grid = {cell_field: values for cell_field, values in zip(cells[0].point, spec.grid.values())}
    from layerwise.report.results import output_problem

    problem = output_problem(out)
    if problem is not None:
        raise LayerwiseError(f"--out {str(out)!r} {problem}")
    return run_sweep(target, cells, grid, sweep_folder(out, target.experiment.name), backend=spec.backend,
                     address=spec.address, preset=spec.preset, progress=progress, max_retries=max_retries)


def sweep(experiment: str | Callable[[dict], xr.Dataset], grid: dict[str, list], *, seeds: int | None = None,
          backend: str = "local", address: str | None = None, preset: str | None = None,
          set: dict[str, Any] | None = None, config: dict[str, Any] | None = None,  # noqa: A002 — the CLI's --set
          check: Callable | None = None, name: str | None = None, out=DEFAULT_OUT, progress: bool = True
          ) -> xr.Dataset:
    """Run ``experiment`` over the Cartesian product of ``grid`` and return the merged Dataset (``sweep.nc``).

    Args:
        experiment: a registered experiment's name, or a function ``config (dict) -> xarray.Dataset``.
        grid: config field -> list of values (the sweep dimensions, in this order).
        seeds: sets the config's ``seeds`` field; each cell runs its seeds vectorised (``seed`` dimension).
        backend: ``"local"`` (this process) or ``"ray"`` (a Ray task per cell; ``address`` joins a cluster).
        preset, set: as ``layerwise run``'s ``--preset`` and ``--set`` (below the grid in precedence).
        config, check, name: for a function: its fixed config fields, an optional check function of its Dataset,
            and the sweep's name (default the function's name).
        out: results go to ``OUT/<name>-sweep/`` (one ``cell-<config hash>/`` folder per cell); finished cells of
            an earlier call are reused.

    Example:
        >>> import layerwise as lw, xarray as xr
        >>> def square(config):
        ...     return xr.Dataset({"y": config["x"] ** 2})
        >>> lw.sweep(square, grid={"x": [1.0, 2.0]}, out=tmp, progress=False)["y"].values  # doctest: +SKIP
        array([1., 4.])
    """
    spec = SweepSpec(experiment if isinstance(experiment, str) else (name or experiment.__name__), dict(grid),
                     preset=preset, seeds=seeds, backend=backend, address=address, values=dict(set or {}))
    target = None
    if not isinstance(experiment, str):
        if not callable(experiment):
            raise LayerwiseError(f"sweep: expected an experiment name or a function, got {type(experiment).__name__}")
        target = function_target(experiment, {**(config or {}), **spec.values}, spec.grid, seeds, name, check)
    return run_spec(spec, out, progress=progress, target=target).dataset


def _with_new_names(dataset: xr.Dataset, file: Path) -> xr.Dataset:
    """A registered experiment's saved Dataset with its older names read as the new ones
    (`layerwise.experiments.Experiment.read_dataset`); any other Dataset as it is."""
    from layerwise.experiments import REGISTRY

    experiment = REGISTRY.get(str(dataset.attrs.get("experiment", "")))
    return dataset if experiment is None else experiment.read_dataset(dataset, source=str(file))


def load_result(path) -> xr.Dataset:
    """The Dataset of any result folder: a sweep's ``sweep.nc`` or an experiment's ``data.nc``, loaded (a
    registered experiment's older Dataset names read as the new ones).

    Example:
        >>> ds = lw.load_result("layerwise-results/feedback")  # doctest: +SKIP
    """
    from layerwise.report.results import DATA

    folder = Path(path)
    for name in (MERGED, DATA):
        file = folder / name
        if file.is_file():
            try:
                with xr.open_dataset(file, engine="h5netcdf") as opened:
                    dataset = opened.load()
            except (OSError, ValueError) as error:
                raise LayerwiseError(f"{str(file)!r} cannot be read as netCDF: {error}") from None
            return _with_new_names(dataset, file)
    raise LayerwiseError(f"no results in {str(folder)!r} (expected {MERGED} or {DATA} there)")
