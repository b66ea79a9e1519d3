r"""MNIST-1D (Greydanus 2020): a procedurally generated 1-D analogue of MNIST, built in memory (no download).

The samples come from the reference ``mnist1d`` package's own generator (``mnist1d.data.make_dataset``), so the
data are the reference implementation's, draw for draw. Each of the 10 classes has a hand-drawn template of 12
points; a sample is its template after a random chain of transformations (Greydanus 2020, §2): pad with
``U{36..60}`` zeros, dilate to 72 points, scale by ``1 + 0.4 (u - 1/2)``, translate cyclically by ``U{0..47}``
points, fill the padding with smoothed noise (``N(0, 0.25^2)`` through a Gaussian filter of width 2) and add
i.i.d. ``N(0, 0.02^2)`` noise, shear, and sub-sample to 40 points. The samples are then shuffled, standardised
with the data set's global mean and standard deviation, and split into train and test sets (4,000/1,000 for the
default 5,000 samples). With ``seed = 42`` and the defaults this is the configuration of the published data set.

The package seeds Python's ``random`` and NumPy's global ``numpy.random`` state; `make_mnist1d` saves both states
before calling it and restores them afterwards, so the caller's global random streams are left as they were (this
save/restore is not thread-safe: do not draw from the global streams in another thread meanwhile). Only the
generator is called, never ``mnist1d.get_dataset``, so nothing is downloaded or written to disk. Published test
accuracies for calibration: logistic regression ~32 %, MLP ~68 %, CNN ~94 %.

References:
    Greydanus (2020), "Scaling down deep learning", arXiv:2011.14439; https://github.com/greydanus/mnist1d.
"""

from __future__ import annotations

import random

import numpy as np

from layerwise.errors import LayerwiseError, check_positive_int

_MAX_SEED = 2**32 - 1  # numpy.random.seed's range


def mnist1d_templates() -> np.ndarray:
    """The 10 templates, each standardised, shifted to start (and end) at 0 and divided by 6: shape (10, 12)."""
    from mnist1d.data import get_templates

    return np.asarray(get_templates()["x"])


def make_mnist1d(num_samples: int = 5000, seed: int = 42, train_fraction: float = 0.8):
    r"""Generate MNIST-1D: ``num_samples // 10`` samples of each digit, each a length-40 signal.

    The global ``random`` and ``numpy.random`` states are the same after the call as before it.

    Args:
        num_samples: total samples (a multiple of 10 keeps classes balanced; the remainder is dropped).
        seed: seed of the reference generator, in ``0..2**32 - 1`` (42 = the published data set).
        train_fraction: fraction of the shuffled samples used for training.
    Returns:
        ``(x_train, y_train, x_test, y_test)``: float64 ``(n, 40)`` signals (zero mean, unit std over the whole
        set) and int labels in 0..9.

    Example:
        >>> x, y, x_test, y_test = make_mnist1d(100, seed=0)
        >>> x.shape, x_test.shape
        ((80, 40), (20, 40))
    """
    check_positive_int("num_samples", num_samples, minimum=20)
    check_positive_int("seed", seed, minimum=0)
    if seed > _MAX_SEED:
        raise LayerwiseError(f"seed must be <= {_MAX_SEED}, got {seed!r}")
    if not 0 < train_fraction < 1:
        raise LayerwiseError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    from mnist1d.data import get_dataset_args, make_dataset
    from mnist1d.utils import ObjectView

    args = get_dataset_args(as_dict=True)
    args.update(num_samples=num_samples, seed=seed, train_split=train_fraction, shuffle_seq=False)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        dataset = make_dataset(ObjectView(args))
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    return (np.asarray(dataset["x"], dtype=np.float64), np.asarray(dataset["y"]),
            np.asarray(dataset["x_test"], dtype=np.float64), np.asarray(dataset["y_test"]))
