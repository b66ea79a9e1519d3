"""Loading and preprocessing for `layerwise.solve`: loaders, targets, chunked statistics, whitening, bad input."""

import numpy as np
import pytest

from layerwise.errors import LayerwiseError
from layerwise.solving import data


def test_chunked_statistics_equal_the_one_pass_moments():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((53, 4)) + 3.0, rng.standard_normal((53, 2)) - 1.0
    chunked = data.chunked_statistics(x, y, chunk_rows=7)  # 8 chunks, the last one partial
    xc, yc = x - x.mean(0), y - y.mean(0)
    np.testing.assert_allclose(chunked.input_covariance, xc.T @ xc / 53, atol=1e-13)
    np.testing.assert_allclose(chunked.cross_covariance, yc.T @ xc / 53, atol=1e-13)
    assert chunked.output_second_moment == pytest.approx(np.sum(yc**2) / 53, rel=1e-13)


def test_whitening_drops_constant_and_duplicated_directions():
    rng = np.random.default_rng(2)
    base = rng.standard_normal((100, 3))
    x = np.column_stack([base, np.full(100, 5.0), base[:, 0]])  # one constant, one duplicated column
    prepared = data.prepare(x, rng.standard_normal(100), test_fraction=0.0)
    assert prepared.dropped_directions == 2 and prepared.in_dim == 3
    np.testing.assert_allclose(prepared.x_train.T @ prepared.x_train / 100, np.eye(3), atol=1e-10)


def test_prepare_uses_training_statistics_for_the_test_set():
    rng = np.random.default_rng(3)
    x, labels = rng.standard_normal((50, 3)), rng.integers(0, 3, 50)
    prepared = data.prepare(x, labels, test_fraction=0.2, seed=4, chunk_rows=5)
    assert (prepared.n_train, prepared.n_test) == (40, 10) and prepared.kind == "classification"
    np.testing.assert_allclose(prepared.x_train.mean(0), 0, atol=1e-12)
    assert prepared.y_train.shape == (40, 3) and prepared.labels_test.shape == (10,)


@pytest.mark.parametrize("y, task, kind, outputs", [
    (np.array(["cat", "dog", "cat", "emu"]), "auto", "classification", 3),
    (np.array([0, 2, 1, 2]), "auto", "classification", 3),
    (np.array([0.5, 2.0, 1.0, 2.0]), "auto", "regression", 1),
    (np.array([0, 2, 1, 2]), "regression", "regression", 1),
    (np.array([0.0, 1.0, 1.0, 0.0]), "classification", "classification", 2),
    (np.arange(8.0).reshape(4, 2), "auto", "regression", 2),
])
def test_targets_labels_or_values(y, task, kind, outputs):
    targets = data.interpret_target(y, task)
    assert targets.kind == kind and targets.y.shape == (4, outputs)


def test_many_integers_are_values():
    assert data.interpret_target(np.arange(101), "auto").kind == "regression"


def test_npz_and_csv_loaders(tmp_path):
    rng = np.random.default_rng(5)
    np.savez(tmp_path / "d.npz", x=rng.standard_normal((6, 2)), y=rng.standard_normal((6, 2)))
    raw = data.load_data(tmp_path / "d.npz")
    assert raw.x.shape == (6, 2) and raw.y.shape == (6, 2)
    (tmp_path / "t.csv").write_text("a,label,b\n1,cat,2\n3,dog,4\n5,cat,6.5\n")
    raw = data.load_data(tmp_path / "t.csv", target="label")
    np.testing.assert_array_equal(raw.x, [[1, 2], [3, 4], [5, 6.5]])
    assert list(raw.y) == ["cat", "dog", "cat"] and raw.feature_names == ("a", "b")


def test_builtin_digits():
    raw = data.load_data("digits")
    assert raw.x.shape == (1797, 64) and raw.y.shape == (1797,)


def test_builtin_mnist1d_is_the_reference_generators_data_set():
    raw = data.load_data("mnist1d")
    assert raw.x.shape == (5000, 40) and raw.y.shape == (5000,) and raw.name == "mnist1d"
    assert sorted(np.unique(raw.y)) == list(range(10))
    assert abs(float(np.mean(raw.x))) < 0.05 and 0.9 < float(np.std(raw.x)) < 1.1  # standardised, as published


def test_builtin_mnist_reads_idx_files(tmp_path, monkeypatch):
    from layerwise.data.images import write_idx

    rng = np.random.default_rng(0)
    for stem, n in (("train", 12), ("t10k", 4)):
        write_idx(tmp_path / f"{stem}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{stem}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    monkeypatch.setenv("LAYERWISE_MNIST", str(tmp_path))
    raw = data.load_data("mnist")
    assert raw.x.shape[1] == 784 and raw.x.shape[0] in (12, 16) and set(np.unique(raw.y)) <= set(range(10))


def test_mnist_without_files_says_where_to_put_them(monkeypatch):
    monkeypatch.delenv("LAYERWISE_MNIST", raising=False)
    with pytest.raises(LayerwiseError, match="LAYERWISE_MNIST"):
        data.load_data("mnist")


@pytest.mark.parametrize("x, y, words", [
    (np.ones((3, 2)), np.ones(4), "y must be"),
    (np.ones(3), np.ones(3), "2-D"),
    (np.ones((1, 2)), np.ones(1), "at least two samples"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2), "NaN or inf"),
    (np.ones((2, 2)), np.array([1.0, np.inf]), "NaN or inf"),
    (np.array([["a", "b"], ["c", "d"]]), np.ones(2), "numeric"),
])
def test_bad_arrays_are_one_line_errors(x, y, words):
    with pytest.raises(LayerwiseError, match=words):
        data.check_arrays(x, y)


def test_bad_files(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\nx,3\n")
    with pytest.raises(LayerwiseError, match="feature column 'a' is not numeric"):
        data.load_data(tmp_path / "t.csv", target="b")
    with pytest.raises(LayerwiseError, match="no target column 'label'"):
        data.load_data(tmp_path / "t.csv", target="label")
    np.savez(tmp_path / "d.npz", x=np.ones((3, 2)))
    with pytest.raises(LayerwiseError, match="lacks the array"):
        data.load_data(tmp_path / "d.npz")
    with pytest.raises(LayerwiseError, match="neither a built-in"):
        data.load_data(tmp_path / "missing.npz")
