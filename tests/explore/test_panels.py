"""The explorer panels' pure compute functions (no browser, no server): they draw `layerwise.theory` itself, switch
to the exact ODE where no closed form exists, and refuse bad settings with one clear `LayerwiseError`."""

import numpy as np
import pytest

from layerwise import theory
from layerwise.errors import LayerwiseError
from layerwise.explore import emergence_panel, feedback, grokking_panel, lambda_panel
from layerwise.explore.common import parse_floats


def test_feedback_curves_are_the_closed_forms():
    settings = feedback.FeedbackSettings(mode_imbalance=1.5)
    network, linear, half = feedback.theory_curves(settings, points=31)
    t, s = network.xs[0], np.asarray(settings.targets)
    expected = np.asarray(theory.imbalanced_mode(t[:, None], s, settings.init_scale, 1.5)) / s
    np.testing.assert_array_equal(np.stack(network.ys, 1), expected)
    np.testing.assert_array_equal(np.stack(linear.ys, 1), np.asarray(theory.linear_mode(t[:, None], s)) / s)
    balanced = feedback.FeedbackSettings(depth=3)
    network, _, half = feedback.theory_curves(balanced, points=31)
    np.testing.assert_array_equal(network.ys[0], np.asarray(theory.saxe_mode(network.xs[0], 4.0, 1e-4, depth=3)) / 4)
    np.testing.assert_allclose(half, theory.learning_time(s, 1e-4, 0.5, depth=3), rtol=1e-14)


@pytest.mark.slow  # compiles a diffrax solve
def test_feedback_ode_fallback_where_no_closed_form():
    """Depth 3 with C != 0: the exact flow, said in the note; its init has the requested u0 and C, and a tiny C
    reproduces the balanced closed form."""
    settings = feedback.FeedbackSettings(depth=3, mode_imbalance=1e-12, init_scale=1e-2, duration=4.0)
    assert settings.uses_ode and "no closed form" in feedback.method(settings)
    model, params = feedback.initial_params(settings)
    np.testing.assert_allclose(np.prod(params, axis=0), 1e-2, rtol=1e-13)
    np.testing.assert_allclose(params[0] ** 2 - params[1] ** 2, 1e-12, atol=1e-15)
    times = np.linspace(0.0, 4.0, 9)
    ode = feedback.mode_strengths(settings, times)
    balanced = feedback.mode_strengths(feedback.FeedbackSettings(depth=3, init_scale=1e-2, duration=4.0), times)
    np.testing.assert_allclose(ode, balanced, rtol=1e-7)


@pytest.mark.parametrize("kwargs, words", [
    (dict(init_scale=0.0), "u0 > 0"),
    (dict(init_scale=-1.0, depth=3, mode_imbalance=0.5), "u0 > 0"),
    (dict(targets=(1.0, 2.0), variances=(1.0,)), "same number"),
    (dict(depth=9), "depth"),
])
def test_feedback_refuses_bad_settings(kwargs, words):
    with pytest.raises(LayerwiseError, match=words):
        feedback.FeedbackSettings(**kwargs)


def test_text_boxes_refuse_non_numbers():
    with pytest.raises(LayerwiseError, match="target strengths must be comma-separated numbers"):
        parse_floats("target strengths", "4, two")


def test_lambda_panel_refuses_unrealisable_lambda_and_starts_at_zero_distance():
    with pytest.raises(LayerwiseError, match="cannot be realised by widths"):
        lambda_panel.LambdaSettings(imbalance=1.0, widths=(3, 4, 3))
    modes, distance = lambda_panel.theory_curves(lambda_panel.LambdaSettings(duration=30.0), points=5)
    assert distance.ys[0][0] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose([y[-1] for y in modes.ys], 1.0, atol=1e-6)  # both modes learned


@pytest.mark.slow  # compiles the vmapped grid
def test_lambda_phase_diagram_marks_infeasible_lambdas():
    grid = lambda_panel.phase_diagram((3.0, 1.0), (3, 4, 3), 6.0)
    assert grid.shape == (lambda_panel.PHASE_LOG_RATIOS.size, lambda_panel.PHASE_LAMBDAS.size)
    zero = lambda_panel.PHASE_LAMBDAS == 0
    assert np.all(np.isnan(grid[:, ~zero])) and np.all((grid[:, zero] >= 0) & (grid[:, zero] <= 1))


def test_grokking_growth_reaches_gamma_and_limits():
    settings = grokking_panel.GrokkingSettings(log_sigma0=-1.0, duration=200.0)
    curves, over_ratio, numbers = grokking_panel.theory_curves(settings, points=11)
    assert curves.ys[0][0] == pytest.approx(1.0) and curves.ys[0][-1] == pytest.approx(numbers["gamma"], rel=1e-12)
    assert numbers["gamma"] == float(theory.grokking_gamma(0.1, 0.0, 1.0))
    assert over_ratio.ys[0][-1] == pytest.approx(1.0 + 1e-2, abs=1e-4)  # gamma_+ -> 1 + S/Sigma0 (lazy)
    a, b = grokking_panel.mirrored_init(settings)
    sigma0, s0 = theory.grokking_statistics(a, b)
    assert float(sigma0) == pytest.approx(0.1, rel=1e-14) and abs(float(s0)) < 1e-15


def test_emergence_curves_and_exponents():
    settings = emergence_panel.EmergenceSettings(alpha=0.5, n_skills=5)
    skills, losses, exponents = emergence_panel.theory_curves(settings, points=21)
    p = np.asarray(theory.skill_frequencies(5, 0.5))
    np.testing.assert_array_equal(np.stack(skills.ys, 1), np.asarray(theory.skill_strength(skills.xs[0], p, 1.0, 1e-6)))
    assert exponents == theory.scaling_exponents(0.5)
    with pytest.raises(LayerwiseError, match="R0"):
        emergence_panel.EmergenceSettings(log_init=0.5)
