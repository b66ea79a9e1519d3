r"""The seeds convention: one way to draw a run's randomness from a seed, and one interval over seeds.

Every experiment with randomness has config fields ``seed`` (the first seed) and ``seeds`` (how many). Seed ``s``
always draws from ``jax.random.PRNGKey(s)``, so a result for seed 3 is the same whether it ran alone or as the
fourth of ``seed = 0, seeds = 8``. Over ``N`` seeds a value is reported as its mean with the 95 % Student-t interval

.. math::  \bar v \pm t_{0.975,\,N-1}\, s / \sqrt N,

with ``s`` the sample standard deviation (no interval for ``N = 1``).
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
import scipy.stats
import xarray as xr
from jax import Array

from layerwise.errors import check_positive_int


def seed_keys(seed: int, seeds: int = 1) -> Array:
    """The PRNG keys of seeds ``seed, seed + 1, ..., seed + seeds - 1``, shape ``(seeds, 2)``.

    Example:
        >>> seed_keys(3, 2).shape
        (2, 2)
    """
    check_positive_int("seed", seed, minimum=0)
    check_positive_int("seeds", seeds)
    return jax.vmap(jax.random.PRNGKey)(np.arange(seed, seed + seeds))


def numpy_generator(key: Array) -> np.random.Generator:
    """A NumPy ``Generator`` drawn from a JAX key, for draws made on the host with NumPy (a data split).

    The key's 32-bit words, read as one unsigned integer (most significant first), seed ``default_rng``. A
    threefry ``PRNGKey(s)`` holds ``s`` as its two words, so ``numpy_generator(PRNGKey(s))`` is
    ``np.random.default_rng(s)``: a function that took an integer seed ``s`` and now takes a key draws the same.

    Example:
        >>> bool(numpy_generator(jax.random.PRNGKey(7)).integers(1000) == np.random.default_rng(7).integers(1000))
        True
    """
    if jax.dtypes.issubdtype(getattr(key, "dtype", None), jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    value = 0
    for word in np.asarray(key, dtype=np.uint32).ravel():
        value = (value << 32) | int(word)
    return np.random.default_rng(value)


def seed_values(seed: int, seeds: int = 1) -> np.ndarray:
    """The seed numbers ``seed, ..., seed + seeds - 1`` (the ``seed`` coordinate of a Dataset)."""
    check_positive_int("seed", seed, minimum=0)
    check_positive_int("seeds", seeds)
    return np.arange(seed, seed + seeds)


def interval(values, dim: str = "seed", *, level: float = 0.95):
    r"""Mean over seeds and the half-width of its ``level`` Student-t interval, ``t_{(1+level)/2, N-1} s/sqrt(N)``.

    Args:
        values: an ``xarray.DataArray`` with dimension ``dim``, or an array whose first axis is the seeds.
        dim: the seeds dimension of a DataArray.
        level: the interval's coverage.
    Returns:
        ``(mean, half_width)`` of the same type as ``values`` without the seeds axis; ``half_width`` is NaN for one
        seed (no interval) and ignores NaN seeds (a diverged run counts as missing).
    """
    if isinstance(values, xr.DataArray):
        mean, half = interval(np.moveaxis(values.values, values.get_axis_num(dim), 0), level=level)
        template = values.isel({dim: 0}, drop=True)
        return template.copy(data=mean), template.copy(data=half)
    array = np.asarray(values, dtype=float)
    count = np.sum(np.isfinite(array), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN or single-seed columns: NaN is the answer
        mean = np.nanmean(array, axis=0) if array.shape[0] else np.full(array.shape[1:], np.nan)
        sd = np.nanstd(array, axis=0, ddof=1) if array.shape[0] > 1 else np.full(array.shape[1:], np.nan)
        t = scipy.stats.t.ppf((1 + level) / 2, np.maximum(count - 1, 1))
        half = np.where(count > 1, t * sd / np.sqrt(count), np.nan)
    return mean, half
