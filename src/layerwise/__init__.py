"""layerwise: solve the layerwise linear model first.

Exact theory, one vectorised JAX training engine, and side-by-side experiments for the neural dynamical phenomena
that the dynamical feedback principle explains (Nam et al. 2025, arXiv 2502.21009).

Importing layerwise changes no global setting: call `layerwise.enable_x64()` for float64 (the closed forms' stated
accuracy needs it; the CLI and the experiments switch it on themselves).
"""

from layerwise import data, init, metrics, models, observables
from layerwise.engine import Status, TrainResult, gradient_flow, make_optimizer, train
from layerwise.errors import DivergenceError, LayerwiseError, SolverError
from layerwise.precision import enable_x64
from layerwise.solving import solve  # the function; the package is layerwise.solving

__all__ = [
    "DivergenceError",
    "LayerwiseError",
    "SolverError",
    "Status",
    "TrainResult",
    "data",
    "enable_x64",
    "gradient_flow",
    "init",
    "load_result",
    "make_optimizer",
    "metrics",
    "models",
    "observables",
    "solve",
    "sweep",
    "train",
]
__version__ = "0.4.0"


def __getattr__(name: str):
    """`sweep` and `load_result` (from `layerwise.sweeping`) are imported on first use: ``import layerwise`` imports
    no sweep code and no Ray."""
    if name in ("sweep", "load_result"):
        import importlib

        return getattr(importlib.import_module("layerwise.sweeping"), name)
    raise AttributeError(f"module 'layerwise' has no attribute {name!r}")
