"""Sweeps: grids over any config field, seeds with error bands, on this process or a Ray cluster.

``layerwise sweep NAME --grid KEY=V1,V2 ...`` and ``layerwise.sweep(...)`` (the function; this package is
``layerwise.sweeping``, as ``layerwise.solve`` lives in ``layerwise.solving``) run the Cartesian product of the grid (see `layerwise.sweeping.spec`), one ordinary result folder per cell,
merged into one labelled ``sweep.nc`` (`layerwise.sweeping.merge`) with a table ``sweep.json``
(`layerwise.sweeping.table`). Ray is imported only by the ``ray`` backend.
"""

from layerwise.sweeping.api import load_result, run_spec, sweep
from layerwise.sweeping.spec import SweepSpec, parse_grid, read_spec

__all__ = ["SweepSpec", "load_result", "parse_grid", "read_spec", "run_spec", "sweep"]

