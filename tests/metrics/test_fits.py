"""Fits of measured curves: power-law slopes and exponential rates recover known parameters."""

import numpy as np

from layerwise import metrics


def test_log_log_slope_recovers_the_exponent():
    x = np.geomspace(1e-3, 1e-1, 5)
    assert abs(metrics.log_log_slope(x, 7.0 * x**2) - 2.0) < 1e-12
    assert abs(metrics.log_log_slope(x, 3.0 / x) + 1.0) < 1e-12


def test_exponential_rate_uses_only_the_window():
    t = np.linspace(0.0, 20.0, 201)
    values = np.where(t < 10, np.exp(-0.3 * t), np.exp(-3.0) * np.exp(-1.5 * (t - 10)))  # two regimes
    assert abs(metrics.exponential_rate(t, values, np.exp(-2.9), 1.0) - 0.3) < 1e-12
    assert abs(metrics.exponential_rate(t, values, 0.0, np.exp(-3.1)) - 1.5) < 1e-12
    assert np.isnan(metrics.exponential_rate(t, values, 0.5, 0.51))  # fewer than 5 points
