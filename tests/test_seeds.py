"""The seeds convention: keys per seed, and the Student-t interval against scipy's own."""

import warnings

import jax
import numpy as np
import pytest
import scipy.stats
import xarray as xr

from layerwise.errors import LayerwiseError
from layerwise.seeds import interval, seed_keys, seed_values


def test_a_seed_draws_the_same_key_alone_or_in_a_batch():
    np.testing.assert_array_equal(seed_keys(3, 1)[0], jax.random.PRNGKey(3))
    np.testing.assert_array_equal(seed_keys(0, 5)[3], seed_keys(3)[0])
    np.testing.assert_array_equal(seed_values(2, 3), [2, 3, 4])
    with pytest.raises(LayerwiseError, match="seeds"):
        seed_keys(0, 0)


def test_interval_equals_scipys_t_interval():
    rng = np.random.default_rng(0)
    values = rng.normal(1.0, 0.3, size=(7, 3))
    mean, half = interval(values)
    for j in range(3):
        low, high = scipy.stats.t.interval(0.95, 6, loc=values[:, j].mean(), scale=scipy.stats.sem(values[:, j]))
        np.testing.assert_allclose([mean[j] - half[j], mean[j] + half[j]], [low, high], rtol=1e-12)


def test_interval_of_a_dataarray_one_seed_and_missing_seeds():
    data = xr.DataArray(np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 4.0]]), dims=("seed", "mode"))
    mean, half = interval(data)
    assert mean.dims == ("mode",)
    np.testing.assert_allclose(mean, [3.0, 3.0])
    # mode 1 has two finite seeds: t(0.975, 1) * sd / sqrt(2)
    np.testing.assert_allclose(half[1], scipy.stats.t.ppf(0.975, 1) * np.std([2.0, 4.0], ddof=1) / np.sqrt(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single_mean, single_half = interval(np.array([[2.0]]))
    assert single_mean[0] == 2.0 and np.isnan(single_half[0])


def test_a_column_with_one_finite_seed_has_no_interval_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, half = interval(np.array([[1.0, np.nan], [np.nan, np.nan], [np.nan, 2.0]]))
    np.testing.assert_array_equal(mean, [1.0, 2.0])
    assert np.all(np.isnan(half))
