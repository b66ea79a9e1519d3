"""Experiments: each module registers one `Experiment`; the CLI and report discover them in ``REGISTRY``."""

# Registration order is the report's order: the principle, its exactness, then the phenomena.
from layerwise.experiments import feedback  # noqa: F401  (registers itself)
from layerwise.experiments import theory_check  # noqa: F401
from layerwise.experiments import emergence  # noqa: F401
from layerwise.experiments import lazy_rich  # noqa: F401
from layerwise.experiments import neural_collapse  # noqa: F401
from layerwise.experiments import grokking  # noqa: F401
from layerwise.experiments.base import (
    REGISTRY,
    Experiment,
    Outcome,
    get_experiment,
    load_plugins,
    no_progress,
    register,
)

__all__ = ["REGISTRY", "Experiment", "Outcome", "get_experiment", "load_plugins", "no_progress", "register"]
