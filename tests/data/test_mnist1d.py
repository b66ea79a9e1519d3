"""MNIST-1D via the reference generator: recorded statistics of the default data set, shape, balance, determinism,
standardisation, the caller's global RNG state, and the published linear baseline."""

import random

import numpy as np
import pytest

from layerwise import data
from layerwise.data import mnist1d
from layerwise.errors import LayerwiseError

# Statistics of the default data set (5,000 samples, seed 42, 80/20 split), computed once with the reference
# package (mnist1d 0.0.2.post1, ``mnist1d.data.make_dataset(get_dataset_args())``) and recorded here. The
# generation is deterministic, so only floating-point rounding (numpy/scipy versions, platform) may move the
# values; they are compared to 1e-8.
TRAIN_COUNTS = [398, 396, 411, 394, 394, 402, 401, 404, 402, 398]
TEST_COUNTS = [102, 104, 89, 106, 106, 98, 99, 96, 98, 102]
TRAIN_MEAN, TRAIN_STD = -0.00032367167421934744, 0.9976479749365885
TEST_MEAN, TEST_STD = 0.001294686696877298, 1.0093522562280428
FIRST_TRAIN_LABELS = [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9]
FIRST_TEST_LABELS = [2, 6, 3, 9, 4, 3, 1, 9, 5, 2, 0, 7]
FIRST_TRAIN_VALUES = [-0.33200566736939013, -0.4719103656557236, -0.778697076293495, -1.0097408265367045]  # x[0, :4]
LAST_TEST_VALUES = [0.4472328851428726, 0.6598756470890784, 0.8777343497528006, 1.1931518368352758]  # x_test[-1, -4:]
TRAIN_ABS_SUM = 118338.29510719894
TOLERANCE = 1e-8


@pytest.fixture(scope="module")
def default_set():
    return data.make_mnist1d()


def test_default_set_matches_recorded_statistics(default_set):
    x, y, x_test, y_test = default_set
    assert x.shape == (4000, 40) and x_test.shape == (1000, 40) and x.dtype == np.float64
    np.testing.assert_array_equal(np.bincount(y, minlength=10), TRAIN_COUNTS)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), TEST_COUNTS)
    np.testing.assert_array_equal(y[:12], FIRST_TRAIN_LABELS)
    np.testing.assert_array_equal(y_test[:12], FIRST_TEST_LABELS)
    np.testing.assert_allclose([x.mean(), x.std(), x_test.mean(), x_test.std()],
                               [TRAIN_MEAN, TRAIN_STD, TEST_MEAN, TEST_STD], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(x[0, :4], FIRST_TRAIN_VALUES, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(x_test[-1, -4:], LAST_TEST_VALUES, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(np.abs(x).sum(), TRAIN_ABS_SUM, rtol=TOLERANCE)


def test_global_random_state_is_unchanged():
    random.seed(1234)
    np.random.seed(5678)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    data.make_mnist1d(100, seed=0)
    assert random.getstate() == python_state
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and after[2:] == numpy_state[2:]
    np.testing.assert_array_equal(after[1], numpy_state[1])
    # and the streams continue exactly as if the call had not happened
    expected_python, expected_numpy = random.random(), np.random.rand(3)
    random.setstate(python_state)
    np.random.set_state(numpy_state)
    data.make_mnist1d(100, seed=0)
    assert random.random() == expected_python
    np.testing.assert_array_equal(np.random.rand(3), expected_numpy)


def test_global_random_state_is_restored_when_the_generator_fails(monkeypatch):
    import mnist1d.data

    def failing(args):
        np.random.seed(0)
        random.seed(0)
        raise RuntimeError("boom")

    monkeypatch.setattr(mnist1d.data, "make_dataset", failing)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with pytest.raises(RuntimeError, match="boom"):
        data.make_mnist1d(100)
    assert random.getstate() == python_state
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state[1])


def test_templates_start_and_end_at_zero():
    templates = mnist1d.mnist1d_templates()
    assert templates.shape == (10, 12)
    np.testing.assert_allclose(templates[:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(templates[:, -1], 0.0, atol=1e-12)
    # every template is distinct (no two digits the same)
    distances = np.linalg.norm(templates[:, None] - templates[None], axis=-1)
    assert np.min(distances[~np.eye(10, dtype=bool)]) > 0.05


def test_shapes_balance_standardisation_and_seed():
    x, y, x_test, y_test = data.make_mnist1d(400, seed=3)
    assert x.shape == (320, 40) and x_test.shape == (80, 40) and y.dtype.kind == "i"
    labels = np.concatenate([y, y_test])
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 40))
    everything = np.concatenate([x, x_test])
    np.testing.assert_allclose([everything.mean(), everything.std()], [0.0, 1.0], atol=1e-12)
    again = data.make_mnist1d(400, seed=3)
    np.testing.assert_array_equal(again[0], x)
    other = data.make_mnist1d(400, seed=4)
    assert not np.allclose(other[0], x)


def test_train_fraction_sets_the_split():
    x, y, x_test, y_test = data.make_mnist1d(205, seed=7, train_fraction=0.5)  # the remainder 5 is dropped
    assert len(x) == len(y) == 100 and len(x_test) == len(y_test) == 100


def test_logistic_regression_matches_published_baseline(default_set):
    # Greydanus (2020): logistic regression reaches ~32 % test accuracy on the default 4000/1000 split; far
    # below an MLP (~68 %) but far above chance (10 %).
    from sklearn.linear_model import LogisticRegression

    x, y, x_test, y_test = default_set
    score = LogisticRegression(max_iter=500).fit(x, y).score(x_test, y_test)
    assert 0.25 < score < 0.42


@pytest.mark.parametrize("kwargs", [{"num_samples": 5}, {"seed": -1}, {"seed": 2**32}, {"train_fraction": 1.0}])
def test_bad_arguments_are_one_line_errors(kwargs):
    with pytest.raises(LayerwiseError):
        data.make_mnist1d(**kwargs)
