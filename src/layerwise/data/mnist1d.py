r"""MNIST-1D (Greydanus 2020): a procedurally generated 1-D analogue of MNIST, built in memory (no download).

Each of the 10 classes has a hand-drawn template of 12 points; a sample is its template after a random chain of
transformations (Greydanus 2020, §2 and the ``mnist1d`` package's ``transform``):

1. pad: append ``p ~ U{36..60}`` zeros (the template gets ``+1e-8`` so it stays distinguishable from padding);
2. dilate: linearly re-sample the padded signal to ``12 + 60 = 72`` points (stretching the template by a random
   factor);
3. scale: multiply by ``1 + 0.4 (u - 1/2)``, ``u ~ U(0, 1)``;
4. translate: roll right by ``k ~ U{0..47}`` points (cyclically);
5. noise: where the signal is exactly 0 (the padding), put correlated noise (``N(0, 0.25^2)`` smoothed by a
   Gaussian filter of width 2 points); then add i.i.d. ``N(0, 0.02^2)`` noise everywhere;
6. shear: subtract ``0.75 (u - 1/2) * linspace(-1/2, 1/2, 72)``;
7. sub-sample linearly to 40 points.

Then the samples are shuffled, standardised with the data set's global mean and standard deviation, and split 80/20
into train and test sets (4,000/1,000 for the default 5,000 samples). The random draws use NumPy's legacy
``RandomState(seed)`` in the reference implementation's order (per sample: pad, scale, translate, correlated noise,
i.i.d. noise, shear; then the shuffle), so with ``seed = 42`` this is meant to reproduce the published data set.

Differences from the reference: no torch/``random`` seeding (not needed), no ``shuffle_seq`` option, ``np.interp``
instead of ``scipy.interpolate.interp1d`` (the same linear interpolation up to rounding), and the published pickle
is never downloaded. Published test accuracies for calibration: logistic regression ~32 %, MLP ~68 %, CNN ~94 %.

References:
    Greydanus (2020), "Scaling down deep learning", arXiv:2011.14439; https://github.com/greydanus/mnist1d.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from layerwise.errors import LayerwiseError, check_positive_int

# The ten 12-point templates of Greydanus (2020), digits 0..9 (``get_templates`` of the mnist1d package).
_TEMPLATES = np.array([
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
])
PADDING = (36, 60)
SCALE_COEFFICIENT = 0.4
MAX_TRANSLATION = 48
CORRELATED_NOISE_SCALE = 0.25
IID_NOISE_SCALE = 0.02
SHEAR_SCALE = 0.75
SEQUENCE_LENGTH = 40


def mnist1d_templates() -> np.ndarray:
    """The 10 templates, each standardised, shifted to start (and end) at 0 and divided by 6: shape (10, 12)."""
    x = _TEMPLATES - _TEMPLATES.mean(axis=1, keepdims=True)
    x = x / x.std(axis=1, keepdims=True)
    return (x - x[:, :1]) / 6.0


def _resample(signal: np.ndarray, length: int) -> np.ndarray:
    """Linear re-sampling of ``signal`` onto ``length`` points spanning the same interval."""
    return np.interp(np.linspace(0.0, 1.0, length), np.linspace(0.0, 1.0, len(signal)), signal)


def _transform(template: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    low, high = PADDING
    pad = low + int(rng.rand() * (high - low + 1))
    x = np.concatenate([template + 1e-8, np.zeros(pad)])
    x = _resample(x, len(template) + high)
    x = x * (1 + SCALE_COEFFICIENT * (rng.rand() - 0.5))
    shift = rng.choice(MAX_TRANSLATION)
    x = np.concatenate([x[len(x) - shift:], x[: len(x) - shift]])
    correlated = gaussian_filter1d(CORRELATED_NOISE_SCALE * rng.randn(len(x)), 2, mode="reflect")
    x = np.where(x != 0, x, correlated)
    x = x + IID_NOISE_SCALE * rng.randn(len(x))
    x = x - SHEAR_SCALE * (rng.rand() - 0.5) * np.linspace(-0.5, 0.5, len(x))
    return _resample(x, SEQUENCE_LENGTH)


def make_mnist1d(num_samples: int = 5000, seed: int = 42, train_fraction: float = 0.8):
    r"""Generate MNIST-1D: ``num_samples // 10`` samples of each digit, each a length-40 signal.

    Args:
        num_samples: total samples (a multiple of 10 keeps classes balanced; the remainder is dropped).
        seed: seed of the ``RandomState`` that draws every transformation (42 = the published data set).
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
    if not 0 < train_fraction < 1:
        raise LayerwiseError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    templates = mnist1d_templates()
    per_class = num_samples // len(templates)
    rng = np.random.RandomState(seed)
    xs = np.stack([_transform(templates[label], rng) for label in range(len(templates)) for _ in range(per_class)])
    labels = np.repeat(np.arange(len(templates)), per_class)
    order = rng.permutation(len(labels))
    xs, labels = xs[order], labels[order]
    xs = (xs - xs.mean()) / xs.std()
    split = int(len(labels) * train_fraction)
    return xs[:split], labels[:split], xs[split:], labels[split:]
