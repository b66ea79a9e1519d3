"""The grokking delay on synthetic accuracy curves: known epochs, NaN for missing levels, vectorisation, invariances."""

import numpy as np
import pytest

from layerwise.metrics import first_epoch_reaching, grokking_delay, grokking_epochs

EPOCHS = np.array([0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000])


def _curves(train_at, test_at, final_test=0.98):
    """Train accuracy jumps to 1 at epoch ``train_at``; test to ``final_test`` at ``test_at`` (0.1 before)."""
    train = np.where(EPOCHS >= train_at, 1.0, 0.5)
    test = np.where(EPOCHS >= test_at, final_test, 0.1)
    return train, test


def test_delay_of_step_curves_is_the_gap_between_jumps():
    train, test = _curves(train_at=10, test_at=500)
    assert grokking_delay(EPOCHS, train, test) == 490.0
    assert grokking_epochs(EPOCHS, train, test) == (10.0, 500.0)


def test_thresholds_are_first_recorded_epochs_at_or_above_level():
    # Train: 0.985 at epoch 20 (below 99 %), 0.99 exactly at 50 (reaches it). Test: final 0.9, so level 0.81;
    # 0.80 at 100 does not count, 0.81 at 200 does.
    train = np.array([0.1, 0.2, 0.4, 0.6, 0.9, 0.985, 0.99, 1.0, 1.0, 1.0, 1.0, 1.0])
    test = np.array([0.1, 0.1, 0.1, 0.2, 0.3, 0.4, 0.5, 0.80, 0.81, 0.85, 0.9, 0.9])
    assert grokking_epochs(EPOCHS, train, test) == (50.0, 200.0)
    assert grokking_delay(EPOCHS, train, test) == 150.0
    # Looser thresholds move both epochs earlier, as defined.
    assert grokking_epochs(EPOCHS, train, test, train_level=0.9, test_fraction=0.5) == (10.0, 50.0)


def test_test_level_is_relative_to_the_final_accuracy():
    """Scaling the whole test curve by c > 0 leaves e_test unchanged (the level is a fraction of the final value)."""
    rng = np.random.default_rng(0)
    test = np.sort(rng.uniform(0.05, 0.95, EPOCHS.size))
    train, _ = _curves(5, 0)
    for scale in (0.3, 0.7, 1.0):
        assert grokking_epochs(EPOCHS, train, scale * test)[1] == grokking_epochs(EPOCHS, train, test)[1]


def test_no_grokking_gives_a_non_positive_delay():
    train, test = _curves(train_at=100, test_at=5)
    assert grokking_delay(EPOCHS, train, test) == -95.0


def test_never_memorised_is_nan_not_a_number():
    train = np.full(EPOCHS.size, 0.9)
    _, test = _curves(0, 20)
    assert np.isnan(grokking_delay(EPOCHS, train, test))
    assert np.isnan(first_epoch_reaching(EPOCHS, [0.1, np.nan] + [0.5] * 10, 0.9))


def test_nan_records_never_count_as_reaching():
    values = np.array([0.1, np.nan, np.nan] + [0.95] * 9)
    assert first_epoch_reaching(EPOCHS, values, 0.9) == 5.0


@pytest.mark.parametrize("shape", [(4,), (2, 3)])
def test_vectorised_over_leading_axes_equals_per_curve(shape):
    rng = np.random.default_rng(1)
    train = np.sort(rng.uniform(0.5, 1.0, (*shape, EPOCHS.size)), axis=-1)
    test = np.sort(rng.uniform(0.0, 1.0, (*shape, EPOCHS.size)), axis=-1)
    delays = grokking_delay(EPOCHS, train, test)
    assert delays.shape == shape
    for index in np.ndindex(shape):
        np.testing.assert_array_equal(delays[index], grokking_delay(EPOCHS, train[index], test[index]))


def test_first_epoch_accepts_a_level_per_curve():
    values = np.tile(np.linspace(0.0, 1.0, EPOCHS.size), (3, 1))
    levels = np.array([0.0, 0.5, 1.0])
    expected = [EPOCHS[0], EPOCHS[np.argmax(values[0] >= 0.5)], EPOCHS[-1]]
    np.testing.assert_array_equal(first_epoch_reaching(EPOCHS, values, levels), expected)
