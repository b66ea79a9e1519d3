"""MNIST-1D generator: shape, balance, determinism, standardisation, and the published linear baseline."""

import numpy as np
import pytest

from layerwise import data
from layerwise.data import mnist1d
from layerwise.errors import LayerwiseError


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


def test_logistic_regression_matches_published_baseline():
    # Greydanus (2020): logistic regression reaches ~32 % test accuracy on the default 4000/1000 split; far
    # below an MLP (~68 %) but far above chance (10 %).
    from sklearn.linear_model import LogisticRegression

    x, y, x_test, y_test = data.make_mnist1d()
    score = LogisticRegression(max_iter=500).fit(x, y).score(x_test, y_test)
    assert 0.25 < score < 0.42


@pytest.mark.parametrize("kwargs", [{"num_samples": 5}, {"seed": -1}, {"train_fraction": 1.0}])
def test_bad_arguments_are_one_line_errors(kwargs):
    with pytest.raises(LayerwiseError):
        data.make_mnist1d(**kwargs)
