r"""The image data of the Fig. 11 grokking experiment: real MNIST when its IDX files are given, else MNIST-1D.

Nam et al. (2025)'s Fig. 11 trains on 1,000 MNIST images. Offline, the substitute is MNIST-1D (Greydanus 2020),
generated in memory by its own generator from an explicit seed (`layerwise.data.make_mnist1d`; nothing is
downloaded): the harder of the substitutes that generate locally (an MLP reaches ~68 % test accuracy on it, against
~97 % on scikit-learn's 8x8 digits), so memorisation and generalisation stay apart.
"""

from __future__ import annotations

import numpy as np

from layerwise.data.images import load_mnist, mnist_directory
from layerwise.data.mnist1d import make_mnist1d
from layerwise.errors import check_positive_int

SOURCES = ("mnist", "mnist1d")
"""The values of ``attrs["data_source"]`` (the claims table's ``data``)."""


def grokking_image_split(n_train: int, seed: int, mnist_path=None, n_test: int = 4000):
    r"""``(x_train, labels_train, x_test, labels_test, source)`` with ``source`` in `SOURCES`.

    MNIST when ``mnist_path`` (or ``$LAYERWISE_MNIST``) names a directory of IDX files: ``n_train`` training images
    drawn by ``numpy.random.default_rng(seed)``, tested on all 10,000 test images (``n_test`` is not used). Otherwise
    MNIST-1D generated with generator seed ``seed``: ``n_train + n_test`` signals of length 40, the first ``n_train``
    of the shuffled set for training.

    Example:
        >>> x, y, x_test, y_test, source = grokking_image_split(100, 0, n_test=100)
        >>> x.shape, x_test.shape, source
        ((100, 40), (100, 40), 'mnist1d')
    """
    check_positive_int("n_train", n_train)
    check_positive_int("n_test", n_test)
    directory = mnist_directory(mnist_path)
    if directory is not None:
        x_all, labels_all, x_test, labels_test = load_mnist(directory)
        order = np.random.default_rng(seed).permutation(len(x_all))[:n_train]
        return x_all[order], labels_all[order], x_test, labels_test, "mnist"
    total = n_train + n_test
    x_train, labels_train, x_test, labels_test = make_mnist1d(total, seed=seed, train_fraction=n_train / total)
    return x_train, labels_train, x_test, labels_test, "mnist1d"
