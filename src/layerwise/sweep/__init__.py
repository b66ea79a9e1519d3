"""Sweeps: grids over any config field, seeds with error bands, on this process or a Ray cluster.

``layerwise sweep NAME --grid KEY=V1,V2 ...`` and ``layerwise.sweep(...)`` (this package is callable: calling it is
`sweep`) run the Cartesian product of the grid (see `layerwise.sweep.spec`), one ordinary result folder per cell,
merged into one labelled ``sweep.nc`` (`layerwise.sweep.merge`) with a table ``sweep.json``
(`layerwise.sweep.table`). Ray is imported only by the ``ray`` backend.
"""

import sys as _sys
import types as _types

from layerwise.sweep.api import load_result, run_spec, sweep
from layerwise.sweep.spec import SweepSpec, parse_grid, read_spec

__all__ = ["SweepSpec", "load_result", "parse_grid", "read_spec", "run_spec", "sweep"]


class _CallablePackage(_types.ModuleType):
    """``layerwise.sweep`` is both this package and the function `sweep` (``lw.sweep(...)`` calls it)."""

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallablePackage
