"""The emergence checks' comparison rule (`crossing_errors`): no vacuous passes, every skill predicted or measured to
cross is compared, windows from the theory's spacing; judged over seeds by `check_over_seeds`."""

import numpy as np
import pytest

from layerwise.experiments.emergence import EXPERIMENT
from layerwise.experiments.emergence.checks import allowed_skills
from layerwise.metrics import crossing_errors, spacing_windows
from layerwise.report.checks import check_over_seeds

P = np.array([0.59267364, 0.19550939, 0.10219311, 0.06449405, 0.04512982])  # Zipf, alpha = 0.6, 5 skills
SHAPE = 1 / P  # t_k = C / p_k


def test_windows_are_half_the_log_gap_to_the_nearest_neighbour():
    windows = spacing_windows(SHAPE)
    gaps = np.diff(np.log(SHAPE))
    np.testing.assert_allclose(windows, 0.5 * np.array([gaps[0], *np.minimum(gaps[:-1], gaps[1:]), gaps[-1]]))
    # for k >= 3 the window is narrower than the old factor 1.5 (ln 1.5 = 0.405)
    assert np.all(windows[2:] < np.log(1.5))


def test_exact_theory_has_zero_error_and_passes():
    crossings = np.stack([500.0 * SHAPE, 700.0 * SHAPE, 650.0 * SHAPE])  # one constant per seed
    errors, constants, ratios = crossing_errors(crossings, SHAPE, limit=1e6, minimum=4)
    np.testing.assert_allclose(errors, 0.0, atol=1e-12)
    np.testing.assert_allclose(constants, [500.0, 700.0, 650.0])
    np.testing.assert_allclose(ratios, 1.0)
    assert check_over_seeds("t", "claim", errors, upper=1.0).status == "passed"


def test_a_crossing_outside_its_window_fails():
    crossings = 500.0 * SHAPE.copy()
    crossings[3] *= np.exp(1.5 * spacing_windows(SHAPE)[3])  # skill 4 nearer skill 5's prediction
    errors, _, _ = crossing_errors(np.stack([crossings] * 3), SHAPE, limit=1e6, minimum=4)
    assert np.all(errors > 1)
    assert check_over_seeds("t", "claim", errors, upper=1.0).status == "failed"


def test_nothing_to_compare_fails_never_passes():
    nothing = np.full((3, 5), np.nan)  # no skill crosses
    errors, _, _ = crossing_errors(nothing, SHAPE, limit=1e6, minimum=4)
    assert np.all(np.isnan(errors))
    assert check_over_seeds("t", "claim", errors, upper=1.0).status == "failed"


def test_a_skill_predicted_inside_that_never_crosses_fails_the_seed():
    crossings = np.stack([500.0 * SHAPE] * 3)
    crossings[1, 4] = np.nan  # seed 1: skill 5 predicted at 500/p_5 ~ 11,000 << limit, never crosses
    errors, _, _ = crossing_errors(crossings, SHAPE, limit=1e6, minimum=4)
    assert np.isnan(errors[1]) and np.all(np.isfinite(errors[[0, 2]]))
    assert check_over_seeds("t", "claim", errors, upper=1.0).status == "failed"


def test_a_skill_that_crosses_though_predicted_outside_fails():
    crossings = 500.0 * SHAPE.copy()
    limit = 500.0 * SHAPE[3] * 1.01  # skill 5 predicted far beyond the run's end ...
    crossings[4] = limit * 0.99  # ... but it crosses just before the end
    errors, _, _ = crossing_errors(crossings[None], SHAPE, limit=limit, minimum=4)
    assert np.isnan(errors[0])


@pytest.mark.parametrize("crossed, expect_nan", [(3, True), (4, False)])
def test_fewer_skills_than_the_minimum_fail(crossed, expect_nan):
    """With the run ending between skills, only the skills inside count; fewer than `minimum` fail."""
    crossings = 500.0 * SHAPE.copy()
    crossings[crossed:] = np.nan
    windows = spacing_windows(SHAPE)
    limit = 500.0 * SHAPE[crossed - 1] * np.exp(windows[crossed - 1])  # next skill surely outside
    errors, _, _ = crossing_errors(crossings[None], SHAPE, limit=limit, minimum=4)
    assert np.isnan(errors[0]) == expect_nan


def test_a_skill_near_the_end_may_cross_or_not():
    """A skill whose window straddles the run's end is compared if it crosses and ignored if not."""
    crossings = 500.0 * SHAPE.copy()
    limit = 500.0 * SHAPE[4]  # skill 5 predicted exactly at the end
    crossings[4] = np.nan
    assert np.isfinite(crossing_errors(crossings[None], SHAPE, limit=limit, minimum=4)[0][0])
    crossings[4] = limit * 0.95
    assert np.isfinite(crossing_errors(crossings[None], SHAPE, limit=limit, minimum=4)[0][0])


@pytest.mark.parametrize("preset, allowed", [("full", 5), ("quick", 5), ("test", 1)])
def test_the_presets_leave_room_for_every_skill_of_every_panel(preset, allowed):
    """By the authors' constants (N_free = 22, D_c = 800, N_c = 4) the quick and full runs reach all 5 skills' windows in
    time, data and width (so >= 4 skills per panel are demanded there); the tiny test preset reaches one."""
    config = EXPERIMENT.make_config(preset=preset)
    assert allowed_skills(config) == {"time": allowed, "data": allowed, "parameters": allowed}


def test_a_run_too_short_for_the_skills_allows_fewer():
    config = EXPERIMENT.make_config(quick=True, time_steps=2000, data_sizes=(1000, 2000, 4000), param_widths=(2, 4, 8))
    room = allowed_skills(config)
    assert room == {"time": 1, "data": 1, "parameters": 2}  # width 8 holds skill 2 (N = 6 x 1.29)
