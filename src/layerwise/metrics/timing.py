"""When does a learning curve cross a level? (learning times, emergence times, grokking epochs)."""

from __future__ import annotations

import numpy as np


def crossing_time(times, values, level) -> np.ndarray:
    r"""First time each curve reaches ``level``, linearly interpolated between recorded points.

    Args:
        times: (T,) increasing, or (..., T) per curve.
        values: (..., T) curves (e.g. ``u(t)/s``).
        level: scalar or broadcastable to ``values.shape[:-1]``.
    Returns:
        (...,) crossing times; NaN where a curve never reaches ``level`` (so a missing crossing is never silent).
    """
    values = np.asarray(values, dtype=float)
    times = np.broadcast_to(np.asarray(times, dtype=float), values.shape)
    level = np.broadcast_to(np.asarray(level, dtype=float), values.shape[:-1])
    flat_v, flat_t, flat_l = values.reshape(-1, values.shape[-1]), times.reshape(-1, values.shape[-1]), level.ravel()
    out = np.full(flat_v.shape[0], np.nan)
    for i, (v, t, target) in enumerate(zip(flat_v, flat_t, flat_l)):
        above = np.flatnonzero(v >= target)
        if above.size == 0:
            continue
        j = above[0]
        if j == 0:
            out[i] = t[0]
            continue
        fraction = (target - v[j - 1]) / (v[j] - v[j - 1])
        out[i] = t[j - 1] + fraction * (t[j] - t[j - 1])
    return out.reshape(values.shape[:-1])


def exponential_times(horizon: float, count: int, span: float = 1e3) -> np.ndarray:
    r"""``count`` save times from 0 to ``horizon``, exponentially spaced: ``t_k = T (e^{c x_k} - 1) / (e^c - 1)``
    with ``x_k = k / (count - 1)`` and ``c = ln(span)`` (the last step is about ``span`` times the
    first): dense early, where dynamics from a small init are fast, and the same count for every
    horizon (flows saved on such grids share one compilation).

    Example:
        >>> t = exponential_times(10.0, 5)
        >>> float(t[0]), float(t[-1]), bool(np.all(np.diff(np.diff(t)) > 0))
        (0.0, 10.0, True)
    """
    x = np.linspace(0.0, 1.0, count)
    rate = np.log(span)
    return float(horizon) * np.expm1(rate * x) / np.expm1(rate)


def log_crossing(x, values, level) -> np.ndarray:
    """`crossing_time` on a log axis: the first ``x`` where each curve (..., X) reaches ``level``, interpolated
    linearly in ``log x`` (for data sizes and widths on geometric grids); NaN where never."""
    return np.exp(crossing_time(np.log(np.asarray(x, float)), values, level))


def transition_width(times, values, low: float = 0.1, high: float = 0.9, middle: float = 0.5) -> np.ndarray:
    r"""How sharp a rising transition is: ``(t_high - t_low) / t_middle``, each ``t_f`` the `crossing_time` of level
    ``f`` (curves normalised so they rise towards 1, e.g. ``u(t)/s``). Scale-free in time, so curves with
    different plateaus compare: a deeper balanced network's sigmoid has a smaller width (Saxe et al. 2014).

    Args:
        times: (T,) increasing, or (..., T) per curve.
        values: (..., T) curves.
        low, high, middle: the levels.
    Returns:
        (...,) widths; NaN where a curve never reaches ``high``.

    Example:
        >>> t = np.linspace(0.0, 20.0, 20001)
        >>> round(float(transition_width(t, 1 / (1 + np.exp(10.0 - t)))), 3)  # logistic: 2 ln 9 / 10
        0.439
    """
    return (crossing_time(times, values, high) - crossing_time(times, values, low)) / crossing_time(times, values,
                                                                                                  middle)
