"""Fits comparing curves with theory: log-log slopes, grid calibration, ratios within a factor, the compute frontier,
and crossings on a log axis."""

import numpy as np

from layerwise import metrics
from layerwise.metrics import compute_frontier, grid_fit, log_crossing, loglog_slope, within_factor


def test_loglog_slope_recovers_a_power_law():
    x = np.geomspace(1.0, 1e4, 30)
    assert abs(loglog_slope(x, 3.0 * x**-0.375) + 0.375) < 1e-12


def test_grid_fit_picks_the_closest_grid_value_ignoring_nan():
    grid = np.linspace(0.5, 2.0, 151)
    curve = 1.3 * np.arange(5.0)
    curve[2] = np.nan
    assert grid_fit(grid, curve, lambda v: v * np.arange(5.0)) == grid[80]  # 1.3


def test_within_factor_needs_every_ratio_finite_and_inside():
    ratio, ok = within_factor([1.0, 3.0], [2.0, 2.0], 1.5)
    np.testing.assert_allclose(ratio, [0.5, 1.5])
    assert not ok  # 0.5 < 1/1.5
    assert within_factor([1.4, 2.9], [1.0, 2.0], 1.5)[1]
    assert not within_factor([np.nan], [1.0], 1.5)[1]
    assert within_factor([], [], 1.5)[1]  # nothing to judge: vacuously true (callers require a count)


def test_compute_frontier_minimises_over_allocations():
    # L(N, T) = 1/N + 1/T on N = 1..100, T = 1..100: at C = N T = 100 the optimum is N = T = 10, L = 0.2.
    times = np.arange(0.0, 101.0)
    sizes = np.arange(1, 101)[:, None]
    loss = 1 / sizes + 1 / np.where(times > 0, times, np.inf)[None, :]
    assert abs(compute_frontier(loss, times, 100.0) - 0.2) < 1e-12
    # N is clipped to the table: with C = 1e6 the largest N (100) at the latest T.
    assert abs(compute_frontier(loss, times, 1e6) - (1 / 100 + 1 / 100)) < 1e-12


def test_log_crossing_interpolates_in_log_x():
    x = np.array([1.0, 10.0, 100.0])
    curves = np.array([[0.0, 0.25, 0.75], [0.0, 0.1, 0.2]])
    crossing = log_crossing(x, curves, 0.5)
    assert abs(crossing[0] - 10**1.5) < 1e-9 and np.isnan(crossing[1])


def test_exponential_rate_uses_only_the_window():
    t = np.linspace(0.0, 20.0, 201)
    values = np.where(t < 10, np.exp(-0.3 * t), np.exp(-3.0) * np.exp(-1.5 * (t - 10)))  # two regimes
    assert abs(metrics.exponential_rate(t, values, np.exp(-2.9), 1.0) - 0.3) < 1e-12
    assert abs(metrics.exponential_rate(t, values, 0.0, np.exp(-3.1)) - 1.5) < 1e-12
    assert np.isnan(metrics.exponential_rate(t, values, 0.5, 0.51))  # fewer than 5 points
