r"""Measured crossings against a one-constant prediction ``C s_k``: the constant fitted in log, each item's window
from the prediction's own spacing, and the worst miss in units of those windows (e.g. the step, data size or width
at which skill ``k`` emerges against ``C/p_k``, Nam et al. 2025 Fig. 4)."""

from __future__ import annotations

import numpy as np


def calibrate_constant(crossings, shape) -> np.ndarray:
    r"""The one constant ``C`` of a prediction ``C * shape_k``, fitted in log to the items that cross (per row):
    ``C = exp(mean_k ln(crossing_k / shape_k))``; NaN for a row where nothing crosses.

    Args:
        crossings: (..., K) measured crossings, NaN where an item never crossed.
        shape: (K,) the prediction up to its constant.
    Returns:
        (...,) the fitted constants.

    Example:
        >>> calibrate_constant([[2.0, 8.0, np.nan]], [1.0, 4.0, 9.0]).tolist()
        [2.0]
    """
    ratios = np.log(np.asarray(crossings, float) / np.asarray(shape, float))
    finite = np.isfinite(ratios)
    with np.errstate(invalid="ignore"):
        return np.exp(np.where(finite.any(-1), np.nansum(np.where(finite, ratios, 0), -1) / finite.sum(-1), np.nan))


def spacing_windows(shape) -> np.ndarray:
    r"""Each item's window: half the log-gap between its predicted crossing and its nearest neighbour's,
    ``w_k = 1/2 min(|ln(s_k / s_{k-1})|, |ln(s_{k+1} / s_k)|)`` for a prediction ``∝ s_k``. A crossing within
    ``e^{±w_k}`` of its prediction is nearer to it than to any other item's.

    Example:
        >>> np.round(np.exp(spacing_windows([1.0, 4.0, 8.0])), 3).tolist()
        [2.0, 1.414, 1.414]
    """
    gaps = np.abs(np.diff(np.log(np.asarray(shape, float))))
    return 0.5 * np.minimum(np.concatenate([[np.inf], gaps]), np.concatenate([gaps, [np.inf]]))


def crossing_errors(crossings, shape, limit: float, minimum: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Per row (seed), how far measured crossings lie from a one-constant prediction ``C s_k``, in units of the
    windows.

    Per row of ``crossings`` (seed, item; NaN = never crossed within the run): ``C`` = `calibrate_constant`; item
    ``k`` is predicted inside the run if ``C s_k e^{w_k} <= limit`` and outside if ``C s_k e^{-w_k} > limit``
    (`spacing_windows`; in between it may do either). The error is ``max_k |ln(crossing_k / (C s_k))| / w_k`` over
    the items that cross; NaN (a failure) when an item predicted inside does not cross, one predicted outside
    crosses, or fewer than ``minimum`` items are included (those that cross or are predicted inside).

    Returns:
        ``(errors (seed,), constants (seed,), ratios (seed, item))``, ratios ``crossing / (C s_k)``.

    Example:
        >>> errors, constants, ratios = crossing_errors([[2.0, 8.0, 18.0]], [1.0, 4.0, 9.0], limit=100.0, minimum=3)
        >>> float(errors[0]), float(constants[0])
        (0.0, 2.0)
    """
    crossings, shape = np.atleast_2d(np.asarray(crossings, float)), np.asarray(shape, float)
    windows, constants = spacing_windows(shape), calibrate_constant(crossings, shape)
    predicted = constants[:, None] * shape[None, :]
    crossed = np.isfinite(crossings)
    inside, outside = predicted * np.exp(windows) <= limit, predicted * np.exp(-windows) > limit
    ratios = crossings / predicted
    with np.errstate(invalid="ignore"):
        worst = np.nanmax(np.where(crossed, np.abs(np.log(ratios)) / windows, np.nan), axis=-1, initial=0.0)
    bad = ((inside & ~crossed) | (outside & crossed)).any(-1) | ((crossed | inside).sum(-1) < minimum)
    bad |= ~np.isfinite(constants)
    return np.where(bad, np.nan, worst), constants, ratios
