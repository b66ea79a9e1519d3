"""Least-squares fits of measured curves: power laws (log-log slopes) and exponential rates."""

from __future__ import annotations

import numpy as np


def log_log_slope(x, y) -> float:
    """The fitted slope of ``log y`` against ``log x`` (``y ~ x^slope``); ``x`` and ``y`` positive, (n,) with
    ``n >= 2``.

    Example:
        >>> round(log_log_slope([1.0, 2.0, 4.0], [3.0, 12.0, 48.0]), 12)
        2.0
    """
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


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
