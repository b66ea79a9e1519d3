r"""``layerwise solve``: the layerwise linear model of *your* data, solved first, beside your network.

`solve` (``layerwise.solve``, this package's entry point) preprocesses a data set (centre, PCA-whiten: `layerwise.solving.data`), finds its
modes and the closed form that predicts how a linear net learns them (`layerwise.solving.prediction`), trains that
linear net and each compared network with the one engine (`layerwise.solving.simulation`), judges the prediction
(`layerwise.solving.verdicts`) and returns a `SolveReport` (`layerwise.solving.report`; ``report.save(DIR)`` writes
``data.nc``, ``summary.json``, ``solve.png`` and ``index.html``).

``layerwise.solve`` is the function (``import layerwise as lw; lw.solve(...)``); this package is
``layerwise.solving``, named apart from the function so that neither shadows the other.

Example:
    >>> import layerwise as lw
    >>> from layerwise.models import MLP
    >>> report = lw.solve("digits", depth=2, compare={"mlp": MLP((64, 128, 128, 10))})   # doctest: +SKIP
    >>> report.modes.predicted_half_time.values                                         # doctest: +SKIP
"""

from layerwise.solving.data import PreparedData, RawData, load_data, prepare
from layerwise.solving.prediction import INITS, PREDICTIONS, Modes, data_modes
from layerwise.solving.report import SolveReport
from layerwise.solving.solver import MAX_STEPS, solve

__all__ = ["INITS", "MAX_STEPS", "PREDICTIONS", "Modes", "PreparedData", "RawData", "SolveReport", "data_modes",
           "load_data", "prepare", "solve"]
