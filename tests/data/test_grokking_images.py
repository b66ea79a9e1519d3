"""The Fig. 11 data: MNIST-1D from its own generator offline, MNIST from IDX files when given."""

import numpy as np

from layerwise.data import make_mnist1d
from layerwise.data.grokking_images import grokking_image_split


def test_offline_it_is_mnist1d_from_the_seed(monkeypatch):
    monkeypatch.delenv("LAYERWISE_MNIST", raising=False)
    x, y, x_test, y_test, source = grokking_image_split(60, 3, n_test=40)
    assert source == "mnist1d" and x.shape == (60, 40) and x_test.shape == (40, 40)
    reference = make_mnist1d(100, seed=3, train_fraction=0.6)
    np.testing.assert_array_equal(x, reference[0])
    np.testing.assert_array_equal(y_test, reference[3])
    assert not np.array_equal(grokking_image_split(60, 4, n_test=40)[0], x)  # another seed, another draw


def test_with_idx_files_it_is_mnist(tmp_path):
    from layerwise import data

    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), rng.integers(0, 10, 30).astype(np.uint8)
    for stem, array in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels),
                        ("t10k-images-idx3-ubyte", images[:7]), ("t10k-labels-idx1-ubyte", labels[:7])):
        data.write_idx(tmp_path / stem, array)
    x, _, x_test, _, source = grokking_image_split(12, 0, str(tmp_path))
    assert source == "mnist" and x.shape == (12, 784) and x_test.shape == (7, 784)
