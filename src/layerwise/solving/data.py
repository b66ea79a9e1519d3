r"""A user's data set for `layerwise.solve`: loading, checking, targets, the split, chunked statistics, whitening.

Everything here is numpy (float64) and runs before any training, so bad input is refused with a one-line
`LayerwiseError` before anything is computed or written.

Preprocessing, with ``X`` (n, d) the training inputs and ``Y`` (n, m) the training targets (samples are rows):

* centring (default): ``x -> x - mu_x``, ``y -> y - mu_y`` with the *training* means (the test set uses them too);
* PCA whitening (default): ``Sigma_xx = X^T X / n = E diag(lambda) E^T``; directions with
  ``lambda <= 1e-10 * lambda_max`` are dropped (their count is reported) and ``x_w = x E_k diag(lambda_k^{-1/2})``
  (``P = E_k diag(lambda_k^{-1/2})``, (d, d_w)), so ``X_w^T X_w / n = I_{d_w}``;
* the statistics the linear model needs, ``Sigma_xx`` (d, d), ``Sigma_yx = Y^T X / n`` (m, d) and
  ``tr Sigma_yy = ||Y||_F^2 / n``, are accumulated over row chunks of ``chunk_rows`` rows (two passes: means,
  then centred moments); in the whitened basis ``Sigma_{y x_w} = Sigma_yx P`` and ``Sigma_{x_w x_w} = I``.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np

from layerwise.errors import LayerwiseError, check_choice

BUILTIN = ("digits", "mnist1d", "mnist")
"""Built-in data sets: scikit-learn's digits, MNIST-1D (5,000 samples), MNIST (local IDX files in
``$LAYERWISE_MNIST``)."""
TASKS = ("auto", "classification", "regression")
DROP_RTOL = 1e-10
"""Whitening drops input directions with eigenvalue ``<= DROP_RTOL * largest``."""
MAX_CLASSES = 100
"""An integer-valued target with at most this many distinct values is read as class labels (``task="auto"``)."""
DEFAULT_CHUNK_ROWS = 65_536


@dataclasses.dataclass(frozen=True)
class RawData:
    """Loaded samples before preprocessing: ``x`` (n, d) float64, ``y`` (n,) or (n, m) as read (may be text),
    ``name`` (where it came from), ``feature_names`` (d,) when known."""

    x: np.ndarray
    y: np.ndarray
    name: str
    feature_names: tuple[str, ...] | None = None


def _numeric(name: str, values, what: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise LayerwiseError(f"{name}: {what} must be numeric") from None
    return array


def check_arrays(x, y, name: str = "data") -> tuple[np.ndarray, np.ndarray]:
    r"""Check and convert ``x`` (n, d) numeric and ``y`` (n,) labels/values or (n, m) numeric.

    Refused (`LayerwiseError`, one line naming ``name``): a non-numeric or non-2-D ``x``, a ``y`` of another
    length or more than 2 dims, fewer than two samples, NaN/inf in ``x`` or in a numeric ``y``, no features.
    Returns ``(x float64 (n, d), y)`` with ``y`` as given (text labels kept; (n, 1) squeezed to (n,)).
    """
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise LayerwiseError(f"{name}: the inputs x must be numeric (got dtype {x.dtype}); only the target may be "
                             "text")
    x = x.astype(np.float64)
    if x.ndim != 2:
        raise LayerwiseError(f"{name}: x must be a 2-D array (n samples, d features), got shape {x.shape}")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise LayerwiseError(f"{name}: y must be (n,) labels or (n, m) targets with n = {x.shape[0]} (from x), got "
                             f"shape {y.shape}")
    if x.shape[0] < 2:
        raise LayerwiseError(f"{name}: needs at least two samples, got {x.shape[0]}")
    if x.shape[1] < 1:
        raise LayerwiseError(f"{name}: x has no features (shape {x.shape})")
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise LayerwiseError(f"{name}: x holds NaN or inf ({int(bad.sum())} entries; first at sample {row}, "
                             f"feature {col})")
    if y.dtype.kind in "biufc":
        if y.dtype.kind == "c":
            raise LayerwiseError(f"{name}: y must be real, got dtype {y.dtype}")
        bad = ~np.isfinite(y.astype(np.float64))
        if bad.any():
            raise LayerwiseError(f"{name}: y holds NaN or inf ({int(bad.sum())} entries; first at sample "
                                 f"{np.argwhere(bad)[0][0]})")
    elif y.ndim == 2:
        raise LayerwiseError(f"{name}: a 2-D y must be numeric (got dtype {y.dtype}); text labels are one column")
    return x, y


def _load_npz(path: Path) -> RawData:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("x", "y") if key not in archive.files]
            if missing:
                raise LayerwiseError(f"{str(path)!r} lacks the array(s) {', '.join(missing)} (an .npz needs x (n, d) "
                                     f"and y (n, m) or (n,) labels; it holds {', '.join(archive.files) or 'nothing'})")
            x, y = archive["x"], archive["y"]
    except LayerwiseError:
        raise
    except (OSError, ValueError) as error:
        raise LayerwiseError(f"{str(path)!r} cannot be read as .npz ({error})") from None
    x, y = check_arrays(x, y, str(path))
    return RawData(x, y, path.name)


def _load_csv(path: Path, target: str | None) -> RawData:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except UnicodeDecodeError as error:
        raise LayerwiseError(f"{str(path)!r} is not UTF-8 text (byte {error.start})") from None
    except (OSError, csv.Error) as error:
        raise LayerwiseError(f"{str(path)!r} cannot be read as CSV ({error})") from None
    if not rows:
        raise LayerwiseError(f"{str(path)!r} is empty (a CSV needs a header row and samples)")
    header = [cell.strip() for cell in rows[0]]
    body = rows[1:]
    if target is None:
        target = header[-1]
    if target not in header:
        raise LayerwiseError(f"{str(path)!r} has no target column {target!r} (columns: {', '.join(header)})")
    if len(header) < 2:
        raise LayerwiseError(f"{str(path)!r} needs at least one feature column besides the target {target!r}")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise LayerwiseError(f"{str(path)!r} line {number} has {len(row)} fields, the header {len(header)}")
    column = header.index(target)
    features = [i for i in range(len(header)) if i != column]
    x = np.empty((len(body), len(features)))
    for j, i in enumerate(features):
        for r, row in enumerate(body):
            try:
                x[r, j] = float(row[i])
            except ValueError:
                raise LayerwiseError(f"{str(path)!r}: feature column {header[i]!r} is not numeric (line {r + 2}: "
                                     f"{row[i].strip()!r}); feature columns must be numbers, only the target may be "
                                     "text") from None
    cells = [row[column].strip() for row in body]
    try:
        y = np.array([float(cell) for cell in cells])
    except ValueError:
        y = np.array(cells)
    x, y = check_arrays(x, y, str(path))
    return RawData(x, y, path.name, tuple(header[i] for i in features))


def load_data(source, *, target: str | None = None) -> RawData:
    r"""Load a data set by name or file.

    Args:
        source: ``"digits"`` (scikit-learn, 1797 x 64, pixels / 16), ``"mnist1d"`` (5,000 x 40, seed 42),
            ``"mnist"`` (70,000 x 784 from the IDX files in ``$LAYERWISE_MNIST``), a ``.npz`` with arrays ``x``
            (n, d) and ``y`` (n, m) or (n,) labels, or a ``.csv`` with a header row whose ``target`` column is the
            target (default: the last column; it may be text) and whose other columns are numeric features.
        target: the CSV's target column.
    Returns:
        `RawData`. Every problem (missing file or column, NaN, wrong shapes, text features) is a one-line
        `LayerwiseError`.
    """
    from layerwise import data as lw_data

    text = str(source)
    if text == "digits":
        x, labels = lw_data.load_digits()
        return RawData(x, labels, "digits")
    if text == "mnist1d":
        x, labels, x_test, labels_test = lw_data.make_mnist1d(5000)
        return RawData(np.concatenate([x, x_test]), np.concatenate([labels, labels_test]), "mnist1d")
    if text == "mnist":
        directory = lw_data.mnist_directory()
        if directory is None:
            variable = lw_data.images.MNIST_ENVIRONMENT_VARIABLE
            raise LayerwiseError(f"data set 'mnist' reads local IDX files: set ${variable} to their folder (nothing is "
                                 "downloaded)")
        x, labels, x_test, labels_test = lw_data.load_mnist(directory)
        return RawData(np.concatenate([x, x_test]), np.concatenate([labels, labels_test]), "mnist")
    path = Path(text)
    if not path.exists():
        raise LayerwiseError(f"data {text!r} is neither a built-in data set ({', '.join(BUILTIN)}) nor an existing "
                             "file")
    if path.is_dir():
        raise LayerwiseError(f"data {text!r} is a folder; give an .npz or .csv file or one of {', '.join(BUILTIN)}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        if target is not None:
            raise LayerwiseError("--target names a CSV column; an .npz holds its target as the array y")
        return _load_npz(path)
    if suffix == ".csv":
        return _load_csv(path, target)
    raise LayerwiseError(f"data {text!r}: unknown file type {suffix or '(none)'}; use .npz (arrays x, y) or .csv")


@dataclasses.dataclass(frozen=True)
class Targets:
    """Targets as numbers: ``y`` (n, m) float64; for classification also ``labels`` (n,) int in ``0..C-1`` and
    ``classes`` (the original class values, as strings)."""

    y: np.ndarray
    kind: str
    labels: np.ndarray | None = None
    classes: tuple[str, ...] | None = None


def interpret_target(y, task: str = "auto") -> Targets:
    r"""Targets from raw ``y``: class labels become one-hot rows, values stay values.

    With ``task="auto"`` a 1-D ``y`` is read as class labels when it is non-numeric, or integer-valued with at
    most `MAX_CLASSES` distinct values; otherwise (and for any 2-D ``y``) as regression targets. ``"classification"``
    and ``"regression"`` override the guess (regression needs numbers; classification a 1-D ``y``).

    Returns:
        `Targets` with ``y`` (n, C) one-hot (classes sorted) or (n, m) values.
    """
    check_choice("task", task, TASKS)
    y = np.asarray(y)
    numeric = y.dtype.kind in "biuf"
    if task == "auto":
        if y.ndim == 2 or (numeric and not _few_integers(y)):
            task = "regression"
        else:
            task = "classification"
    if task == "regression":
        if not numeric:
            raise LayerwiseError("--task regression needs a numeric target; this one holds text")
        values = y.astype(np.float64)
        return Targets(values[:, None] if values.ndim == 1 else values, "regression")
    if y.ndim != 1:
        raise LayerwiseError(f"--task classification needs one label per sample, y of shape (n,); got {y.shape}")
    classes, labels = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise LayerwiseError(f"classification needs at least two classes; the target has one ({classes[0]!r})")
    names = tuple(_label_name(c) for c in classes)
    return Targets(np.eye(classes.size)[labels], "classification", labels.astype(int), names)


def _few_integers(y: np.ndarray) -> bool:
    values = y.astype(np.float64)
    return bool(np.all(values == np.round(values))) and np.unique(values).size <= MAX_CLASSES


def _label_name(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split: ``round(test_fraction * n)`` test indices and the rest for training (both sorted);
    ``test_fraction`` in [0, 1) and at least two training samples."""
    if not (isinstance(test_fraction, (int, float)) and 0 <= test_fraction < 1):
        raise LayerwiseError(f"test_fraction must be a number in [0, 1), got {test_fraction!r}")
    n_test = int(round(test_fraction * n))
    if n - n_test < 2:
        raise LayerwiseError(f"test_fraction {test_fraction} leaves {n - n_test} training samples; at least two needed")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


@dataclasses.dataclass(frozen=True)
class Statistics:
    r"""Moments of the training set, accumulated in chunks: ``n``; means ``mean_x`` (d,), ``mean_y`` (m,) (zeros
    without centring); ``input_covariance`` ``Sigma_xx`` (d, d); ``cross_covariance`` ``Sigma_yx`` (m, d);
    ``output_second_moment`` ``tr Sigma_yy`` (all after centring when centred)."""

    n: int
    mean_x: np.ndarray
    mean_y: np.ndarray
    input_covariance: np.ndarray
    cross_covariance: np.ndarray
    output_second_moment: float


def chunked_statistics(x, y, *, center: bool = True, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Statistics:
    r"""``Sigma_xx = sum_c X_c^T X_c / n``, ``Sigma_yx = sum_c Y_c^T X_c / n``, ``tr Sigma_yy = sum_c ||Y_c||^2 / n``
    over row chunks ``X_c`` of at most ``chunk_rows`` rows (after subtracting the means, themselves summed over
    chunks, when ``center``). ``x`` (n, d) and ``y`` (n, m) may be any row-sliceable arrays (e.g. memory maps);
    only one chunk is converted to float64 at a time."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise LayerwiseError(f"chunk_rows must be an integer >= 1, got {chunk_rows!r}")
    n, d = x.shape
    m = y.shape[1]
    chunks = [slice(start, min(start + chunk_rows, n)) for start in range(0, n, chunk_rows)]
    mean_x, mean_y = np.zeros(d), np.zeros(m)
    if center:
        for rows in chunks:
            mean_x += np.asarray(x[rows], np.float64).sum(axis=0)
            mean_y += np.asarray(y[rows], np.float64).sum(axis=0)
        mean_x /= n
        mean_y /= n
    sxx, syx, syy = np.zeros((d, d)), np.zeros((m, d)), 0.0
    for rows in chunks:
        xc = np.asarray(x[rows], np.float64) - mean_x
        yc = np.asarray(y[rows], np.float64) - mean_y
        sxx += xc.T @ xc
        syx += yc.T @ xc
        syy += float(np.sum(yc * yc))
    return Statistics(n, mean_x, mean_y, sxx / n, syx / n, syy / n)


def whitening(input_covariance: np.ndarray, rtol: float = DROP_RTOL) -> tuple[np.ndarray, np.ndarray, int]:
    r"""PCA whitening of ``Sigma_xx = E diag(lambda) E^T``: ``P = E_k diag(lambda_k^{-1/2})`` (d, d_w) over the
    eigen-directions with ``lambda > rtol * lambda_max`` (largest first), so ``P^T Sigma_xx P = I``.

    Returns:
        ``(P (d, d_w), kept eigenvalues (d_w,), number of dropped directions)``.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(input_covariance)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    largest = eigenvalues[0]
    if not largest > 0:
        raise LayerwiseError("the inputs are constant (zero covariance after centring); nothing to learn from")
    keep = eigenvalues > rtol * largest
    # fix the eigenvectors' signs (largest-magnitude entry positive) so the basis is reproducible
    vectors = eigenvectors[:, keep]
    signs = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])])
    vectors = vectors * np.where(signs == 0, 1.0, signs)
    return vectors / np.sqrt(eigenvalues[keep]), eigenvalues[keep], int((~keep).sum())


@dataclasses.dataclass(frozen=True)
class PreparedData:
    r"""The solvable model's view of the data.

    Attributes:
        x_train, y_train: preprocessed training samples, (n, d_w) and (n, m) (centred / whitened as asked).
        x_test, y_test: the held-out samples with the training preprocessing, (n_test, d_w), (n_test, m).
        labels_train, labels_test: class indices (classification) or None.
        classes: class names or None; kind: ``"classification"`` or ``"regression"``.
        target_offset: ``mu_y`` (m,), added back to outputs before an arg-max (accuracy).
        input_covariance: ``Sigma_xx`` (d_w, d_w) of ``x_train`` (identity when whitened).
        cross_covariance: ``Sigma_yx`` (m, d_w); output_second_moment: ``tr Sigma_yy``.
        whitened, centred: what was done; dropped_directions: input directions dropped by whitening.
        projection: the map from raw (centred) inputs to ``x_train``: ``P`` (d, d_w) (identity without whitening).
        mean_x: the subtracted input mean (d,); raw_dim: d; name: the data set's name.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels_train: np.ndarray | None
    labels_test: np.ndarray | None
    classes: tuple[str, ...] | None
    kind: str
    target_offset: np.ndarray
    input_covariance: np.ndarray
    cross_covariance: np.ndarray
    output_second_moment: float
    whitened: bool
    centred: bool
    dropped_directions: int
    projection: np.ndarray
    mean_x: np.ndarray
    raw_dim: int
    name: str

    @property
    def in_dim(self) -> int:
        return self.x_train.shape[1]

    @property
    def out_dim(self) -> int:
        return self.y_train.shape[1]

    @property
    def n_train(self) -> int:
        return self.x_train.shape[0]

    @property
    def n_test(self) -> int:
        return self.x_test.shape[0]


def prepare(x, y, *, task: str = "auto", center: bool = True, whiten: bool = True, test_fraction: float = 0.2,
            seed: int = 0, chunk_rows: int = DEFAULT_CHUNK_ROWS, name: str = "data") -> PreparedData:
    r"""Check, split, centre and whiten ``x`` (n, d), ``y`` (n,) or (n, m) (see the module docstring).

    The split is seeded (``seed``); every statistic comes from the training rows, accumulated in chunks of
    ``chunk_rows``. Returns `PreparedData`.
    """
    x, y = check_arrays(x, y, name)
    targets = interpret_target(y, task)
    train, test = split_indices(x.shape[0], test_fraction, seed)
    stats = chunked_statistics(x[train], targets.y[train], center=center, chunk_rows=chunk_rows)
    if whiten:
        projection, _, dropped = whitening(stats.input_covariance)
    else:
        projection, dropped = np.eye(x.shape[1]), 0
        if not np.trace(stats.input_covariance) > 0:
            raise LayerwiseError(f"{name}: the inputs are constant (zero second moment); nothing to learn from")
    transform = lambda rows: (rows - stats.mean_x) @ projection  # noqa: E731
    sxx = np.eye(projection.shape[1]) if whiten else stats.input_covariance
    labels = targets.labels
    return PreparedData(
        x_train=transform(x[train]), y_train=targets.y[train] - stats.mean_y,
        x_test=transform(x[test]), y_test=targets.y[test] - stats.mean_y,
        labels_train=None if labels is None else labels[train], labels_test=None if labels is None else labels[test],
        classes=targets.classes, kind=targets.kind, target_offset=stats.mean_y,
        input_covariance=sxx, cross_covariance=stats.cross_covariance @ projection,
        output_second_moment=stats.output_second_moment, whitened=whiten, centred=center,
        dropped_directions=dropped, projection=projection, mean_x=stats.mean_x, raw_dim=x.shape[1], name=name,
    )


def finite_or_none(value):
    """A float for JSON: None for NaN/inf (a time never crossed)."""
    value = float(value)
    return value if math.isfinite(value) else None
