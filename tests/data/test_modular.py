"""Modular-addition data: the full (a + b) mod p table, a disjoint split drawn from a key, one-hot targets."""

import jax
import numpy as np
import pytest

from layerwise import data
from layerwise.errors import LayerwiseError


@pytest.mark.parametrize("modulus, fraction", [(7, 0.3), (31, 0.5), (97, 0.4)])
def test_split_covers_every_pair_once_with_correct_labels(modulus, fraction):
    x_train, y_train, x_test, y_test = data.modular_addition(modulus, fraction, jax.random.PRNGKey(3))
    assert len(x_train) == round(fraction * modulus**2)
    pairs = np.concatenate([x_train, x_test])
    codes = pairs[:, 0] * modulus + pairs[:, 1]
    np.testing.assert_array_equal(np.sort(codes), np.arange(modulus**2))  # a partition of all p^2 pairs
    np.testing.assert_array_equal(y_train, (x_train[:, 0] + x_train[:, 1]) % modulus)
    np.testing.assert_array_equal(y_test, (x_test[:, 0] + x_test[:, 1]) % modulus)


def test_split_is_drawn_from_the_key():
    first = data.modular_addition(11, 0.5, jax.random.PRNGKey(0))
    np.testing.assert_array_equal(first[0], data.modular_addition(11, 0.5, jax.random.PRNGKey(0))[0])
    assert not np.array_equal(first[0], data.modular_addition(11, 0.5, jax.random.PRNGKey(1))[0])
    # PRNGKey(s) permutes as the integer seed s of earlier releases (NumPy's default_rng(s)): stored results hold.
    order = np.random.default_rng(0).permutation(121)[:60]
    np.testing.assert_array_equal(first[0], np.stack([order // 11, order % 11], axis=1))


def test_task_targets_are_scaled_one_hot():
    x_train, y_train, _, _ = data.modular_addition(5, 0.6, jax.random.PRNGKey(0))
    task = data.modular_addition_task(x_train, y_train, 5, target_scale=3.0)
    assert task.x.shape == (15, 2) and task.y.shape == (15, 5)
    np.testing.assert_array_equal(np.argmax(task.y, axis=1), y_train)
    np.testing.assert_allclose(np.sum(task.y, axis=1), 3.0)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_bad_fraction_is_one_line_error(fraction):
    with pytest.raises(LayerwiseError, match="train_fraction"):
        data.modular_addition(7, fraction, jax.random.PRNGKey(0))


def test_bad_modulus_is_one_line_error():
    with pytest.raises(LayerwiseError, match="modulus"):
        data.modular_addition(1, 0.5, jax.random.PRNGKey(0))
