"""Time grids and crossing times (layerwise.metrics.timing)."""

import numpy as np

from layerwise.metrics import exponential_times


def test_exponential_times_run_from_zero_to_the_horizon_denser_early():
    times = exponential_times(7.0, 41, span=1e3)
    steps = np.diff(times)
    assert times.shape == (41,) and times[0] == 0.0 and times[-1] == 7.0
    assert np.all(steps > 0) and np.all(np.diff(steps) > 0)
    # e^{c x} with c = ln(span): consecutive steps grow by span^{1/(n-1)}, the last is ~span times the first.
    np.testing.assert_allclose(steps[1:] / steps[:-1], 1e3 ** (1 / 40), rtol=1e-9)
    np.testing.assert_allclose(steps[0], 7.0 * (1e3 ** (1 / 40) - 1) / (1e3 - 1), rtol=1e-12)
