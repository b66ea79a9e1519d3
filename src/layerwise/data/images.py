"""Image classification data: scikit-learn's bundled digits, and real MNIST from IDX files when present.

No download ever happens: MNIST is read from a directory given by the caller or by the ``LAYERWISE_MNIST``
environment variable; without it the experiments fall back to digits and say so.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from layerwise._deprecation import renamed_arguments
from layerwise.data.task import Task
from layerwise.errors import LayerwiseError

MNIST_ENVIRONMENT_VARIABLE = "LAYERWISE_MNIST"
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
              0x0E: np.dtype(">f8")}
_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format; ``.gz`` compressed or not) into a numpy array.

    Format: two zero bytes, a type byte (0x08 uint8 ... 0x0E float64), a byte with the number of dimensions, one
    big-endian uint32 per dimension, then the data in C order.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise LayerwiseError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    body = raw[4 + 4 * ndim :]
    if len(body) != expected:
        raise LayerwiseError(f"{path}: IDX header promises {expected} bytes of data, found {len(body)}")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (used to make small test files; ``.gz`` suffix compresses)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in _IDX_TYPES.items()}
    key = array.dtype.newbyteorder("=").str
    if key not in codes:
        raise LayerwiseError(f"IDX cannot store dtype {array.dtype}")
    code = codes[key]
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + array.astype(_IDX_TYPES[code]).tobytes()
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(payload)


def mnist_directory(path=None) -> Path | None:
    """The MNIST directory: ``path`` if given, else ``$LAYERWISE_MNIST``, else None (use digits instead)."""
    path = path or os.environ.get(MNIST_ENVIRONMENT_VARIABLE)
    return Path(path) if path else None


def load_mnist(directory) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Real MNIST from IDX files in ``directory`` (names as distributed, optionally ``.gz``).

    Returns:
        ``(x_train (60000, 784), y_train (60000,), x_test (10000, 784), y_test (10000,))``; pixels scaled to
        [0, 1] (as torchvision's ``ToTensor``), labels int.
    """
    directory = Path(directory)
    arrays = {}
    for key, stem in _MNIST_FILES.items():
        candidates = [directory / stem, directory / f"{stem}.gz", directory / stem.replace("-idx", ".idx")]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise LayerwiseError(f"MNIST file {stem}(.gz) not found in {directory}")
        arrays[key] = read_idx(found)
    flat = lambda images: images.reshape(images.shape[0], -1).astype(np.float64) / 255.0  # noqa: E731
    return (flat(arrays["train_images"]), arrays["train_labels"].astype(int),
            flat(arrays["test_images"]), arrays["test_labels"].astype(int))


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes): ``x`` (1797, 64) in [0, 1], labels (1797,)."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return bunch.data.astype(np.float64) / 16.0, bunch.target.astype(int)


def train_test_split(x, labels, n_train: int, seed: int, n_test: int | None = None):
    """A seeded random split: ``n_train`` training samples, the rest (or ``n_test`` of them) for testing."""
    if not 0 < n_train < len(x):
        raise LayerwiseError(f"n_train must be in 1..{len(x) - 1}, got {n_train}")
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[:n_train], order[n_train:] if n_test is None else order[n_train : n_train + n_test]
    return x[train], labels[train], x[test], labels[test]


@renamed_arguments(scale="target_scale")
def one_hot(labels, num_classes: int, target_scale: float = 1.0) -> np.ndarray:
    """``target_scale * one_hot(labels)``, shape (n, num_classes)."""
    return target_scale * np.eye(num_classes)[np.asarray(labels)]


def classification_task(x, labels, num_classes: int, target_scale: float = 1.0, dtype=jnp.float64) -> Task:
    """A `Task` with inputs ``x`` and targets ``target_scale * one_hot(labels)`` (MSE classification)."""
    # Converted on the host (the same rounding as on the device, without a compiled conversion per shape).
    dtype = jax.dtypes.canonicalize_dtype(dtype)
    return Task.from_samples(jnp.asarray(np.asarray(x, dtype)),
                             jnp.asarray(np.asarray(one_hot(labels, num_classes, target_scale), dtype)))


def unconstrained_features_task(class_sizes) -> Task:
    r"""The unconstrained-features model (Mixon, Parshall & Pi 2020) as a regression task: whitened one-hot inputs
    ``x_i = sqrt(N) e_i`` (so ``Sigma_xx = I``) and one-hot targets, ``class_sizes[c]`` samples of class ``c``,
    sorted by class. A two-layer linear net ``W_2 W_1`` trained on it has free features ``h_i = W_1 x_i`` and the
    classifier ``W_2``; the labels are ``argmax(task.y)``."""
    labels = np.repeat(np.arange(len(class_sizes)), class_sizes)
    n = len(labels)
    dtype = jax.dtypes.canonicalize_dtype(float)  # built on the host: no compiled program per size
    return Task.from_samples(jnp.asarray(np.sqrt(dtype.type(n)) * np.eye(n, dtype=dtype)),
                             jnp.asarray(one_hot(labels, len(class_sizes))))


def standardise(x_train, x_test, offset: float = 0.0):
    """``(x - mean) / (std + offset)`` per feature for both sets, with the training set's mean and std (``offset``
    keeps constant pixels finite). Returns ``(x_train, x_test)``."""
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + offset
    return (x_train - mean) / std, (x_test - mean) / std


def digit_benchmarks(n_train: int, seed: int, *, n_test: int = 2000, mnist_path=None, mnist1d_samples: int = 5000,
                     mnist1d_seed: int = 42, offset: float = 0.1) -> list[tuple]:
    """Two small 10-class benchmarks, each as ``(name, x_train, y_train, x_test, y_test)``: scikit-learn's digits,
    then real MNIST when IDX files are found (`mnist_directory` of ``mnist_path``) or else MNIST-1D (Greydanus 2020;
    ``mnist1d_samples`` generated with ``mnist1d_seed``, train and test pooled). Each is a ``seed``-ed subset of
    ``n_train`` training and at most ``n_test`` test samples, inputs `standardise` d with the training statistics
    (``offset`` added to the std)."""
    from layerwise.data.mnist1d import make_mnist1d

    sets = [("digits", *train_test_split(*load_digits(), n_train, seed, n_test=n_test))]
    directory = mnist_directory(mnist_path)
    if directory is not None:
        x_train, y_train, x_test, y_test = load_mnist(directory)
        rng = np.random.default_rng(seed)
        train_index = rng.choice(len(x_train), n_train, replace=False)
        test_index = rng.choice(len(x_test), min(n_test, len(x_test)), replace=False)
        sets.append(("mnist", x_train[train_index], y_train[train_index], x_test[test_index], y_test[test_index]))
    else:
        x_train, y_train, x_test, y_test = make_mnist1d(mnist1d_samples, mnist1d_seed)
        x_all, y_all = np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])
        sets.append(("mnist1d", *train_test_split(x_all, y_all, n_train, seed, n_test=n_test)))
    standardised = []
    for name, x, y, x_test, y_test in sets:
        x, x_test = standardise(x, x_test, offset)
        standardised.append((name, x, y, x_test, y_test))
    return standardised


def accuracy(outputs, labels) -> jnp.ndarray:
    """Fraction of rows whose argmax equals the label."""
    return jnp.mean(jnp.argmax(outputs, axis=-1) == jnp.asarray(labels))


def image_split(n_train: int, seed: int, mnist_path=None):
    """A seeded classification split: ``(x_train, labels_train, x_test, labels_test, source)``.

    MNIST when ``mnist_path`` (or ``$LAYERWISE_MNIST``) names a directory of IDX files: ``n_train`` images drawn
    from its training set by ``numpy.random.default_rng(seed)``, tested on all 10,000 test images; else scikit-learn's
    8x8 digits, split by `train_test_split`. ``source`` says which (a short name before `` (``)."""
    directory = mnist_directory(mnist_path)
    if directory is not None:
        x_all, labels_all, x_test, labels_test = load_mnist(directory)
        order = np.random.default_rng(seed).permutation(len(x_all))[:n_train]
        return x_all[order], labels_all[order], x_test, labels_test, f"MNIST ({directory})"
    x_train, labels_train, x_test, labels_test = train_test_split(*load_digits(), n_train, seed)
    return x_train, labels_train, x_test, labels_test, "scikit-learn digits (8x8; no MNIST directory given)"
