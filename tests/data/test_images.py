"""IDX reading on generated files, MNIST loading from a directory, digits and one-hot tasks."""

import numpy as np
import pytest

from layerwise import data
from layerwise.errors import LayerwiseError


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_idx_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(2 * 3 * 4) % 200).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / f"tiny-idx3-ubyte{suffix}"
    data.write_idx(path, array)
    np.testing.assert_array_equal(data.read_idx(path), array)


def test_idx_header_is_lecun_format(tmp_path):
    path = tmp_path / "labels"
    data.write_idx(path, np.array([7, 2, 1], np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])


def test_bad_idx_is_one_line_error(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x01\x02\x03")
    with pytest.raises(LayerwiseError, match="not an IDX file"):
        data.read_idx(path)
    data.write_idx(path, np.zeros((2, 2), np.uint8))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(LayerwiseError, match="promises"):
        data.read_idx(path)


def test_load_mnist_from_generated_directory(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 9], np.uint8)
    data.write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    data.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    data.write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:2])
    data.write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:2])
    x_train, y_train, x_test, y_test = data.load_mnist(tmp_path)
    assert x_train.shape == (5, 784) and x_test.shape == (2, 784)
    np.testing.assert_allclose(x_train[1], images[1].ravel() / 255.0)
    np.testing.assert_array_equal(y_train, labels)
    with pytest.raises(LayerwiseError, match="not found"):
        data.load_mnist(tmp_path / "missing")


def test_mnist_directory_from_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(data.images.MNIST_ENVIRONMENT_VARIABLE, raising=False)
    assert data.mnist_directory() is None
    monkeypatch.setenv(data.images.MNIST_ENVIRONMENT_VARIABLE, str(tmp_path))
    assert data.mnist_directory() == tmp_path
    assert data.mnist_directory("/elsewhere").name == "elsewhere"


def test_digits_split_and_task():
    x, labels = data.load_digits()
    assert x.shape == (1797, 64) and x.min() >= 0 and x.max() <= 1
    x_train, y_train, x_test, y_test = data.train_test_split(x, labels, 500, seed=1)
    assert len(x_train) == 500 and len(x_test) == 1297
    again = data.train_test_split(x, labels, 500, seed=1)
    np.testing.assert_array_equal(again[1], y_train)
    task = data.classification_task(x_train, y_train, 10, target_scale=3.0)
    np.testing.assert_allclose(task.y.sum(axis=1), 3.0)
    assert float(data.accuracy(task.y, y_train)) == 1.0


def test_image_split_uses_mnist_idx_files_when_given(tmp_path, monkeypatch):
    """A generated IDX directory is used (seeded n_train subset, full test set); without one, digits."""
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), rng.integers(0, 10, 30).astype(np.uint8)
    for stem, array in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels),
                        ("t10k-images-idx3-ubyte", images[:7]), ("t10k-labels-idx1-ubyte", labels[:7])):
        data.write_idx(tmp_path / stem, array)
    x_train, y_train, x_test, y_test, source = data.image_split(12, 0, str(tmp_path))
    assert x_train.shape == (12, 784) and x_test.shape == (7, 784) and "MNIST" in source
    match = [np.flatnonzero((images.reshape(30, -1) / 255.0 == row).all(axis=1))[0] for row in x_train]
    np.testing.assert_array_equal(y_train, labels[match])  # labels travel with their images
    monkeypatch.delenv(data.images.MNIST_ENVIRONMENT_VARIABLE, raising=False)
    x_train, _, x_test, _, source = data.image_split(12, 0)
    assert x_train.shape == (12, 64) and x_test.shape == (1797 - 12, 64) and "digits" in source
    np.testing.assert_array_equal(data.image_split(12, 3)[0], data.train_test_split(*data.load_digits(), 12, 3)[0])


def test_standardise_uses_the_training_statistics():
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(2.0, 3.0, (50, 4)), rng.normal(size=(10, 4))
    train, test = data.standardise(x_train, x_test, 0.1)
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(test, (x_test - x_train.mean(axis=0)) / (x_train.std(axis=0) + 0.1))
