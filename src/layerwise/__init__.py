"""layerwise: solve the layerwise linear model first.

Exact theory, one vectorised JAX training engine, and side-by-side experiments for the neural dynamical phenomena
that the dynamical feedback principle explains (Nam et al. 2025, arXiv 2502.21009).

float64 is enabled on import (``jax_enable_x64``) so that theory-vs-simulation checks can run at double precision;
arrays keep the dtype they are created with, so float32 sweeps stay float32.
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from layerwise import data, init, metrics, models  # noqa: E402
from layerwise.errors import DivergenceError, LayerwiseError  # noqa: E402
from layerwise.train import TrainResult, gradient_flow, make_optimizer, train  # noqa: E402

__all__ = [
    "DivergenceError",
    "LayerwiseError",
    "TrainResult",
    "data",
    "gradient_flow",
    "init",
    "make_optimizer",
    "metrics",
    "models",
    "train",
]
__version__ = "0.1.0"
