r"""``layerwise solve``: the layerwise linear model of *your* data, solved first, beside your network.

`solve` (also ``layerwise.solve``) preprocesses a data set (centre, PCA-whiten: `layerwise.solve.data`), finds its
modes and the closed form that predicts how a linear net learns them (`layerwise.solve.prediction`), trains that
linear net and each compared network with the one engine (`layerwise.solve.simulation`), judges the prediction
(`layerwise.solve.verdicts`) and returns a `SolveReport` (`layerwise.solve.report`; ``report.save(DIR)`` writes
``data.nc``, ``summary.json``, ``solve.png`` and ``index.html``).

``layerwise.solve`` is the function (``import layerwise as lw; lw.solve(...)``); import the modules by name,
``from layerwise.solve import data, prediction``.

Example:
    >>> import layerwise as lw
    >>> from layerwise.models import MLP
    >>> report = lw.solve("digits", depth=2, compare={"mlp": MLP((64, 128, 128, 10))})   # doctest: +SKIP
    >>> report.modes.predicted_half_time.values                                         # doctest: +SKIP
"""

from layerwise.solve.data import PreparedData, RawData, load_data, prepare
from layerwise.solve.prediction import INITS, PREDICTIONS, Modes, data_modes
from layerwise.solve.report import SolveReport
from layerwise.solve.solver import MAX_STEPS, solve

__all__ = ["INITS", "MAX_STEPS", "PREDICTIONS", "Modes", "PreparedData", "RawData", "SolveReport", "data_modes",
           "load_data", "prepare", "solve"]
