"""Observables and metrics. Functions of one run; the engine vmaps them over runs."""

from layerwise.metrics.conserved import imbalance_drift, layer_imbalance
from layerwise.metrics.timing import crossing_time
from layerwise.metrics.linear import (
    end_to_end,
    mode_strength_observable,
    mode_strengths,
    singular_values,
    task_modes,
)

__all__ = [
    "crossing_time",
    "end_to_end",
    "imbalance_drift",
    "layer_imbalance",
    "mode_strength_observable",
    "mode_strengths",
    "singular_values",
    "task_modes",
]
