r"""Theory versus simulation on the same grid: the one comparison every experiment, test and the report use.

``compare(theory, simulation, rtol=..., atol=...)`` returns a `Comparison`: the largest absolute and relative
errors, the time at which the error is largest (relative to the tolerance), and whether every point satisfies

.. math::  \mathrm{err} \le \mathrm{atol} + \mathrm{rtol}\cdot|\mathrm{theory}|

(``numpy.isclose`` semantics, with ``theory`` as the reference). For matrix- or vector-valued observables, pass
``norm_dims``: the errors are then Frobenius norms over those dims, ``||sim - theory|| <= atol + rtol ||theory||``
at every (run, time), which does not punish tiny entries of a large matrix for absolute errors at its scale.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from layerwise.report.checks import Check


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The result of `compare`.

    Attributes:
        name: what was compared (used as the `Check` name).
        max_abs_error: largest error (absolute; a norm over ``norm_dims`` if given). NaN if either side has NaN.
        max_rel_error: largest ``error / |theory|`` (inf where the theory is 0 but the error is not).
        time_of_max_error: time coordinate of the point whose error is largest relative to the tolerance
            ``atol + rtol |theory|`` (the point that decides ``passed``).
        where: all coordinates of that point (e.g. ``{"run": 3, "time": 1.5}``).
        rtol, atol: the tolerance.
        passed: every point within tolerance and no NaN.
        error_curve: the largest absolute error at each time, over all other dims (dims ``(time,)``).
    """

    name: str
    max_abs_error: float
    max_rel_error: float
    time_of_max_error: float
    where: dict[str, Any]
    rtol: float
    atol: float
    passed: bool
    error_curve: xr.DataArray = dataclasses.field(repr=False)

    def to_check(self, claim: str | None = None) -> Check:
        """This comparison as a report `Check`: the value is the error the tolerance is stated in, the largest
        absolute error for a pure ``atol`` (``rtol = 0``), else the largest relative error."""
        if self.rtol == 0:
            bound, value = f"err <= {self.atol:g}", self.max_abs_error
        elif self.atol == 0:
            bound, value = f"err <= {self.rtol:g} |theory|", self.max_rel_error
        else:
            bound, value = f"err <= {self.atol:g} + {self.rtol:g} |theory|", self.max_rel_error
        claim = claim or f"{self.name}: simulation matches theory at every time ({bound})"
        return Check(self.name, claim, value, bound, self.passed)

    def __str__(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        return (
            f"{self.name}: {status} max abs err {self.max_abs_error:.3g}, max rel err {self.max_rel_error:.3g} "
            f"(worst at time {self.time_of_max_error:g}; rtol {self.rtol:g}, atol {self.atol:g})"
        )


def compare(
    theory,
    simulation,
    *,
    rtol: float,
    atol: float = 0.0,
    norm_dims: Sequence[str] = (),
    time_dim: str = "time",
    times=None,
    name: str = "theory_vs_simulation",
) -> Comparison:
    """Compare a theory trajectory with a simulated history on the same time grid.

    Args:
        theory: the prediction: an ``xarray.DataArray``, or an array with the shape of ``simulation`` (it then takes
            the simulation's dims and coords; shapes must match exactly).
        simulation: the measurement, typically ``result.history["name"]`` with dims ``(run, time, ...)``; a plain
            array is accepted when ``theory`` is a DataArray, or when ``times`` is given (the time axis is then the
            first axis and the others are named ``dim_1, dim_2, ...``).
        rtol, atol: the stated tolerance: pass iff ``err <= atol + rtol * |theory|`` everywhere.
        norm_dims: dims over which errors are Frobenius norms (e.g. ``("W1_0", "W1_1")``); default elementwise.
        time_dim: the name of the time dim.
        times: time coordinates, only for plain arrays on both sides.
        name: a label for the result and its `Check`.
    Returns:
        A `Comparison`.

    Raises:
        ValueError: if the grids (dims, shapes or coordinates) differ, or the time dim is missing.

    Example:
        >>> import numpy as np
        >>> c = compare(np.ones(3), np.ones(3) + 1e-12, rtol=1e-9, times=[0.0, 1.0, 2.0])
        >>> c.passed, c.max_abs_error < 1e-11
        (True, True)
    """
    theory, simulation = _as_aligned(theory, simulation, time_dim, times)
    missing = [dim for dim in norm_dims if dim not in simulation.dims]
    if missing:
        raise ValueError(f"norm_dims {missing} are not dims of the simulation {simulation.dims}")
    difference = simulation - theory
    if norm_dims:
        error = np.sqrt((difference**2).sum(list(norm_dims), skipna=False))
        reference = np.sqrt((theory**2).sum(list(norm_dims), skipna=False))
    else:
        error, reference = abs(difference), abs(theory)
    error_values = np.asarray(error, dtype=float)
    reference_values = np.asarray(reference, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(error_values == 0, 0.0, error_values / reference_values)
        bound = atol + rtol * reference_values
        scaled = np.where(error_values == 0, 0.0, error_values / bound)
    has_nan = bool(np.isnan(error_values).any())
    worst = np.unravel_index(int(np.nanargmax(scaled)) if not np.all(np.isnan(scaled)) else 0, scaled.shape)
    where = {dim: _item(error[dim].values[index]) if dim in error.coords else int(index)
             for dim, index in zip(error.dims, worst)}
    other = [dim for dim in error.dims if dim != time_dim]
    return Comparison(
        name=name,
        max_abs_error=float("nan") if has_nan else float(error_values.max(initial=0.0)),
        max_rel_error=float("nan") if has_nan else float(relative.max(initial=0.0)),
        time_of_max_error=float(where[time_dim]),
        where=where,
        rtol=float(rtol),
        atol=float(atol),
        passed=(not has_nan) and bool(np.all(error_values <= bound)),
        error_curve=error.max(other, skipna=False) if other else error,
    )


def max_relative_errors(theory, simulation, times, *, norm: bool = False) -> np.ndarray:
    """Each run's largest relative error (`compare`'s ``max_rel_error``) for arrays ``(runs, T, ...)`` on the save
    times ``times``: elementwise, or of the Frobenius norm over all axes after time when ``norm`` (NaN for a run
    with NaN).

    Example:
        >>> theory = np.ones((2, 3, 2))
        >>> errors = max_relative_errors(theory, theory * (1 + np.array([0.0, 1e-9])[:, None, None]), [0.0, 1.0, 2.0])
        >>> float(errors[0]), bool(abs(errors[1] - 1e-9) < 1e-15)
        (0.0, True)
    """
    errors = []
    for theory_run, simulation_run in zip(np.asarray(theory), np.asarray(simulation)):
        dims = tuple(f"dim_{k}" for k in range(1, simulation_run.ndim)) if norm else ()
        errors.append(compare(theory_run, simulation_run, rtol=1.0, times=times, norm_dims=dims).max_rel_error)
    return np.asarray(errors)


def _as_aligned(theory, simulation, time_dim: str, times) -> tuple[xr.DataArray, xr.DataArray]:
    if not isinstance(simulation, xr.DataArray):
        if isinstance(theory, xr.DataArray):
            simulation = theory.copy(data=np.broadcast_to(np.asarray(simulation), theory.shape))
        elif times is not None:
            values = np.asarray(simulation)
            dims = (time_dim,) + tuple(f"dim_{i}" for i in range(1, values.ndim))
            simulation = xr.DataArray(values, dims=dims, coords={time_dim: np.asarray(times, dtype=float)})
        else:
            raise ValueError("simulation must be an xarray.DataArray unless theory is one or times is given")
    if time_dim not in simulation.dims:
        raise ValueError(f"the simulation has no {time_dim!r} dim (dims: {simulation.dims})")
    if not isinstance(theory, xr.DataArray):
        values = np.asarray(theory)
        if values.shape != simulation.shape:
            raise ValueError(f"theory shape {values.shape} differs from simulation shape {simulation.shape}")
        theory = simulation.copy(data=values)
    try:
        theory, simulation = xr.align(theory, simulation, join="exact")
    except ValueError as error:
        raise ValueError(f"theory and simulation are not on the same grid: {error}") from None
    if set(theory.dims) != set(simulation.dims):
        raise ValueError(f"theory dims {theory.dims} differ from simulation dims {simulation.dims}")
    return theory.transpose(*simulation.dims).astype(float), simulation.astype(float)


def _item(value):
    return value.item() if hasattr(value, "item") else value
