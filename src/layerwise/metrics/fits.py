"""Fits that compare measured curves with theory: log-log slopes (scaling exponents), exponential rates, sigmoids, a
one-parameter calibration on a grid, measured/predicted ratios within a factor, and the compute-optimal frontier of a
loss table."""

from __future__ import annotations

from typing import Callable

import numpy as np


def loglog_slope(x, y) -> float:
    """The least-squares slope of ``log y`` against ``log x`` (a power law's exponent).

    Example:
        >>> round(loglog_slope([1.0, 2.0, 4.0], [1.0, 0.25, 0.0625]), 12)
        -2.0
    """
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


def grid_fit(grid, curve, model: Callable[[float], np.ndarray]) -> float:
    """The value on ``grid`` whose ``model(value)`` is closest to ``curve`` (least squares, NaNs ignored); the first
    one on a tie."""
    errors = [np.nansum((np.asarray(model(value)) - np.asarray(curve)) ** 2) for value in grid]
    return float(np.asarray(grid)[int(np.argmin(errors))])


def within_factor(measured, predicted, factor: float) -> tuple[np.ndarray, bool]:
    """``(measured / predicted, ok)``: ``ok`` when every ratio is finite and within ``[1/factor, factor]``."""
    ratio = np.asarray(measured, float) / np.asarray(predicted, float)
    return ratio, bool(np.all(np.isfinite(ratio)) and np.all((ratio <= factor) & (ratio >= 1 / factor)))


def compute_frontier(loss, times, compute: float) -> float:
    """``min_T L(N = floor(C / T), T)`` over the recorded ``times > 0``, for a loss table ``loss`` (N, T) whose row
    ``n`` is a model of size ``n + 1``; ``N`` is clipped to the table's sizes and allocations with ``N < 1`` skipped.
    The compute-optimal loss at compute ``C = N T``."""
    loss, times = np.asarray(loss), np.asarray(times, float)
    positive = times > 0
    n = np.clip(np.floor(compute / times[positive]).astype(int), 0, loss.shape[0])
    valid = n >= 1
    return float(np.min(loss[n[valid] - 1, np.flatnonzero(positive)[valid]]))


def exponential_rate(times, values, low: float, high: float, *, minimum_points: int = 5) -> float:
    """The decay rate ``r`` of ``values ~ exp(-r t)``, fitted (least squares on ``log values``) over the times where
    ``low < values < high``; NaN when fewer than ``minimum_points`` points lie in that window.

    Example:
        >>> t = np.linspace(0.0, 10.0, 11)
        >>> round(exponential_rate(t, 2.0 * np.exp(-0.5 * t), 0.0, 1.0), 12)
        0.5
    """
    times, values = np.asarray(times, float), np.asarray(values, float)
    window = (values > low) & (values < high)
    if window.sum() < minimum_points:
        return float("nan")
    return float(-np.polyfit(times[window], np.log(values[window]), 1)[0])


def logistic_fit(times, values, low: float = 0.1, high: float = 0.9) -> tuple[float, float]:
    """``(ln c, m)`` of the sigmoid ``v = 1/(1 + c e^{-m t})`` fitted to one curve where ``low < v < high``, by least
    squares on ``ln(1/v - 1) = ln c - m t``; ``(NaN, NaN)`` when fewer than 3 points lie in that window.

    Example:
        >>> t = np.linspace(0.0, 10.0, 21)
        >>> np.round(logistic_fit(t, 1 / (1 + np.exp(3.0 - 0.8 * t))), 9).tolist()
        [3.0, 0.8]
    """
    times, values = np.asarray(times), np.asarray(values)
    window = (values > low) & (values < high)
    if window.sum() < 3:
        return np.nan, np.nan
    slope, intercept = np.polyfit(times[window], np.log(1 / values[window] - 1), 1)
    return intercept, -slope
