r"""Grokking: how long generalisation lags behind memorisation.

On accuracy curves recorded on an epoch grid (log-spaced, as the authors' Fig. 11 is plotted),

.. math::
    e_{\rm train} = \min\{e : {\rm acc}_{\rm train}(e) \ge \text{train\_level}\},\qquad
    e_{\rm test} = \min\{e : {\rm acc}_{\rm test}(e) \ge
        \text{test\_fraction}\cdot{\rm acc}_{\rm test}(e_{\rm final})\},

    \text{delay} = e_{\rm test} - e_{\rm train}.

The minimum runs over *recorded* epochs (no interpolation), so an epoch is always one that was measured and the
resolution is the grid's. A curve that never reaches its level gives NaN (never a silent number); a negative delay
means the test accuracy got there first (no grokking). Everything is vectorised over leading (runs) axes.
"""

from __future__ import annotations

import numpy as np


def first_epoch_reaching(epochs, values, level) -> np.ndarray:
    r"""The first recorded epoch at which each curve reaches ``level``: ``min{e_k : values[..., k] >= level}``.

    Args:
        epochs: (T,) increasing recorded epochs (or (..., T), one grid per curve).
        values: (..., T) curves, e.g. accuracies of R runs.
        level: scalar or broadcastable to ``values.shape[:-1]``.
    Returns:
        (...,) float array of epochs; NaN where a curve never reaches ``level`` (NaN values never count).

    Example:
        >>> first_epoch_reaching([0, 1, 10, 100], [[0.1, 0.5, 0.99, 1.0]], 0.9)
        array([10.])
    """
    values = np.asarray(values, dtype=float)
    epochs = np.broadcast_to(np.asarray(epochs, dtype=float), values.shape)
    level = np.asarray(level, dtype=float)[..., None]
    reached = values >= level  # NaN >= level is False
    first = np.argmax(reached, axis=-1)
    found = np.take_along_axis(epochs, first[..., None], axis=-1)[..., 0]
    return np.where(np.any(reached, axis=-1), found, np.nan)


def grokking_epochs(epochs, train_accuracy, test_accuracy, train_level=0.99, test_fraction=0.9):
    r"""Memorisation and generalisation epochs: ``(e_train, e_test)`` as defined in the module docstring.

    Args:
        epochs: (T,) increasing recorded epochs.
        train_accuracy, test_accuracy: (..., T) accuracies of each run on the training and held-out sets.
        train_level: the training accuracy that counts as "memorised" (0.99 = the authors' 99 %).
        test_fraction: the fraction of the *final* test accuracy that counts as "generalised".
    Returns:
        Two (...,) float arrays ``(e_train, e_test)``; NaN where a level is never reached.
    """
    test_accuracy = np.asarray(test_accuracy, dtype=float)
    e_train = first_epoch_reaching(epochs, train_accuracy, train_level)
    e_test = first_epoch_reaching(epochs, test_accuracy, test_fraction * test_accuracy[..., -1])
    return e_train, e_test


def grokking_delay(epochs, train_accuracy, test_accuracy, train_level=0.99, test_fraction=0.9) -> np.ndarray:
    r"""The grokking delay ``e_test - e_train`` (epochs) of each run.

    ``e_train`` = first recorded epoch with train accuracy >= ``train_level``; ``e_test`` = first recorded epoch with
    test accuracy >= ``test_fraction`` x the final test accuracy. Large positive = grokking; <= 0 = test accuracy rose
    together with (or before) the training accuracy; NaN = the training accuracy never reached ``train_level``.

    Args:
        epochs: (T,) increasing recorded epochs.
        train_accuracy, test_accuracy: (..., T) accuracy curves (runs on the leading axes).
        train_level, test_fraction: the two thresholds (issue 7: 0.99 and 0.9).
    Returns:
        (...,) float array of delays in epochs.

    Example:
        >>> float(grokking_delay([0, 1, 10, 100, 1000], [0.1, 0.995, 1.0, 1.0, 1.0], [0.1, 0.2, 0.3, 0.95, 0.97]))
        99.0
    """
    e_train, e_test = grokking_epochs(epochs, train_accuracy, test_accuracy, train_level, test_fraction)
    return e_test - e_train
