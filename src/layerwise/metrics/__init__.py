"""Observables and metrics. Functions of one run; the engine vmaps them over runs."""

from layerwise.metrics.conserved import imbalance_drift, imbalance_later_minus_earlier, layer_imbalance
from layerwise.metrics.timing import crossing_time, exponential_times, log_crossing, transition_width
from layerwise.metrics.crossings import calibrate_constant, crossing_errors, spacing_windows
from layerwise.metrics.fits import compute_frontier, exponential_rate, grid_fit, logistic_fit, loglog_slope, within_factor  # noqa: E501
from layerwise.metrics.skills import measured_skill_strength, skill_strength, skill_strength_observable
from layerwise.metrics.grokking import first_epoch_reaching, grokking_delay, grokking_epochs
from layerwise.metrics.kernels import empirical_ntk, kernel_distance, kernel_target_alignment, ntk_observable, ntk_two_layer, relative_weight_change  # noqa: E501
from layerwise.metrics.neural_collapse import ClassifierGram, CollapseMetrics, FeatureSpectrum, WithinClassScatter, penultimate  # noqa: E501
from layerwise.metrics.neural_collapse import NC_METRICS, class_means, equiangularity, equinorm, etf_distance, mse_decomposition, nc1, nc1_trace_ratio, nc_vector, ncc_mismatch, neural_collapse_metrics, orthogonal_frame_distance, self_duality  # noqa: E501
from layerwise.metrics.linear import (
    end_to_end,
    mode_strength_observable,
    mode_strengths,
    singular_values,
    task_modes,
)

__all__ = [
    "measured_skill_strength", "skill_strength_observable",
    "first_epoch_reaching", "grokking_delay", "grokking_epochs",
    "empirical_ntk", "kernel_distance", "kernel_target_alignment", "ntk_observable", "ntk_two_layer", "relative_weight_change",  # noqa: E501
    "NC_METRICS", "class_means", "equiangularity", "equinorm", "etf_distance", "mse_decomposition", "nc1", "nc1_trace_ratio", "nc_vector", "ncc_mismatch", "neural_collapse_metrics", "orthogonal_frame_distance", "self_duality",  # noqa: E501
    "ClassifierGram", "CollapseMetrics", "FeatureSpectrum", "WithinClassScatter", "penultimate",
    "crossing_time", "exponential_times", "log_crossing", "transition_width",
    "calibrate_constant", "crossing_errors", "spacing_windows",
    "compute_frontier", "exponential_rate", "grid_fit", "logistic_fit", "loglog_slope", "within_factor",
    "end_to_end",
    "imbalance_drift",
    "imbalance_later_minus_earlier",
    "mode_strength_observable",
    "mode_strengths",
    "singular_values",
    "task_modes",
]
