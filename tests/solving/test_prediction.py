"""The prediction: recovered modes, the closed-form choice per init, passage times."""

import numpy as np
import pytest

from layerwise import theory
from layerwise.errors import LayerwiseError
from layerwise.metrics import crossing_time
from layerwise.solving import data, prediction

from .conftest import SINGULAR_VALUES


def test_singular_values_of_a_teacher_are_recovered_to_1e_8(teacher):
    x, y = teacher
    prepared = data.prepare(x, y, test_fraction=0.0, chunk_rows=64)  # 4 chunks of the 240 rows
    modes = prediction.data_modes(prepared.cross_covariance)
    assert modes.count == 3 and modes.omitted == 0
    assert np.max(np.abs(modes.s - SINGULAR_VALUES)) <= 1e-8


def test_near_degenerate_modes_are_grouped():
    groups = prediction.data_modes(np.diag([3.0, 2.9, 1.0, 0.5, 0.47])).groups
    assert groups.tolist() == [0, 0, 1, 2, 2]


@pytest.mark.parametrize("init, imbalances, depth, whitened, expected", [
    ("aligned", {}, 3, True, "saxe"),
    ("aligned", {"mode_imbalance": 0.5}, 2, True, "imbalanced"),
    ("lambda-balanced", {"imbalance": -0.5}, 2, True, "lambda_balanced"),
    ("random", {}, 2, True, "saxe_approximate"),
    ("aligned", {}, 2, False, "saxe_approximate"),
])
def test_closed_form_choice(init, imbalances, depth, whitened, expected):
    assert prediction.choose_prediction(init, depth, whitened, **imbalances) == expected


@pytest.mark.parametrize("init, imbalances, depth, whitened, words", [
    ("aligned", {"mode_imbalance": 0.5}, 3, True, "depth 2"),
    ("aligned", {"mode_imbalance": 0.5}, 2, False, "whitened"),
    ("aligned", {"imbalance": 0.5}, 2, True, r"--imbalance \(λ\) applies to --init lambda-balanced.*--mode-imbalance"),
    ("lambda-balanced", {"imbalance": 0.5}, 3, True, "depth 2"),
    ("lambda-balanced", {"imbalance": 0.5}, 2, False, "whitened"),
    ("lambda-balanced", {"mode_imbalance": 0.5}, 2, True, r"--mode-imbalance \(C\) applies to --init aligned"),
    ("random", {"imbalance": 0.5}, 2, True, "imbalance"),
    ("random", {"mode_imbalance": 0.5}, 2, True, "mode-imbalance"),
    ("orthogonal", {}, 2, True, "init must be one of"),
])
def test_combinations_no_law_covers_are_refused(init, imbalances, depth, whitened, words):
    with pytest.raises(LayerwiseError, match=words):
        prediction.choose_prediction(init, depth, whitened, **imbalances)


def test_imbalance_with_an_aligned_init_keeps_its_old_meaning_c_and_warns():
    from layerwise._deprecation import RenamedArgumentWarning, RenamedFieldWarning

    with pytest.warns(RenamedArgumentWarning, match="imbalance with init='aligned' is read as mode_imbalance"):
        assert prediction.resolve_imbalances("aligned", 0.3, 0.0) == (0.0, 0.3)  # C = 0.3, not λ = 0.3
    with pytest.warns(RenamedFieldWarning, match="--imbalance with --init aligned is read as --mode-imbalance"):
        assert prediction.resolve_imbalances("aligned", 0.3, 0.0, command_line=True) == (0.0, 0.3)
    assert prediction.resolve_imbalances("lambda-balanced", 0.3, 0.0) == (0.3, 0.0)  # λ: no warning
    assert prediction.resolve_imbalances("aligned", 0.0, 0.3) == (0.0, 0.3)
    with pytest.raises(LayerwiseError, match="give --mode-imbalance \\(C\\) only"):
        prediction.resolve_imbalances("aligned", 0.3, 0.3, command_line=True)


def test_each_init_measures_its_imbalance_with_the_glossary_sign():
    """λ-balanced ``imbalance=λ``: W2^T W2 - W1 W1^T = +λ I; aligned ``mode_imbalance=C``: a^2 - b^2 = C per
    mode, so the later-minus-earlier imbalance measured on the hidden span of the modes is -C."""
    import jax

    from layerwise.metrics import imbalance_later_minus_earlier
    from layerwise.models import DeepLinearNetwork

    modes = prediction.data_modes(np.diag(SINGULAR_VALUES))
    model, key = DeepLinearNetwork(widths=(3, 3, 3)), jax.random.PRNGKey(0)
    balanced = prediction.initial_params(key, model, "lambda-balanced", modes, 1e-2, imbalance=0.5)
    np.testing.assert_allclose(imbalance_later_minus_earlier(model, balanced)[0], 0.5 * np.eye(3), atol=1e-12)
    aligned = prediction.initial_params(key, model, "aligned", modes, 1e-2, mode_imbalance=0.5)
    W1 = np.asarray(aligned[0])
    hidden = W1 @ W1.T / np.trace(W1 @ W1.T) * 3  # the projector on the modes' hidden span (all 3 modes here)
    np.testing.assert_allclose(imbalance_later_minus_earlier(model, aligned)[0], -0.5 * hidden, atol=1e-12)
    with pytest.raises(TypeError):  # the imbalances are keyword-only: an old positional C is never read as λ
        prediction.initial_params(key, model, "aligned", modes, 1e-2, 0.5)


def test_imbalanced_passage_times_invert_the_closed_form():
    modes = prediction.data_modes(np.diag(SINGULAR_VALUES))
    times = prediction.passage_times("imbalanced", modes, depth=2, init_scale=np.full((1, 3), 1e-3),
                                     mode_imbalance=0.3)
    u = np.asarray(theory.imbalanced_mode(times["half_time"], SINGULAR_VALUES, 1e-3, 0.3))
    np.testing.assert_allclose(u[0], 0.5 * SINGULAR_VALUES, rtol=1e-9)


def test_saxe_passage_times_are_the_learning_time_and_zero_when_already_past():
    modes = prediction.data_modes(np.diag(SINGULAR_VALUES))
    u0 = np.array([[1e-3, 1e-3, 0.3]])  # the last mode starts above 10 % of s = 0.5
    times = prediction.passage_times("saxe", modes, depth=3, init_scale=u0)
    assert times["t10"][0, 2] == 0.0
    expected = theory.learning_time(SINGULAR_VALUES[:2], 1e-3, 0.5, depth=3)
    np.testing.assert_allclose(times["half_time"][0, :2], expected, rtol=1e-12)


def test_lambda_balanced_init_is_balanced_and_its_times_follow_its_curves():
    import jax

    from layerwise.models import DeepLinearNetwork

    modes = prediction.data_modes(np.diag(SINGULAR_VALUES))
    model = DeepLinearNetwork(widths=(3, 3, 3))
    params = jax.vmap(lambda k: prediction.initial_params(k, model, "lambda-balanced", modes, 1e-2, imbalance=0.5))(
        jax.random.split(jax.random.PRNGKey(0), 1))
    W1, W2 = params
    np.testing.assert_allclose(W2[0].T @ W2[0] - W1[0] @ W1[0].T, 0.5 * np.eye(3), atol=1e-12)
    times = prediction.passage_times("lambda_balanced", modes, depth=2, init_scale=None, params=params, horizon=20.0)
    grid = np.linspace(0, 20, 8001)
    curves = prediction.strengths("lambda_balanced", grid, modes, depth=2, init_scale=np.ones((1, 3)), params=params)
    fine = crossing_time(grid, np.moveaxis(curves / SINGULAR_VALUES, 1, -1), 0.5)
    np.testing.assert_allclose(times["half_time"], fine, rtol=1e-3)


def test_loss_plateaus_drop_by_half_each_learned_mode():
    modes = prediction.data_modes(np.diag(SINGULAR_VALUES))
    plateaus = prediction.loss_plateaus(modes, float(np.sum(SINGULAR_VALUES**2)) + 1.0)
    np.testing.assert_allclose(-np.diff(plateaus), 0.5 * SINGULAR_VALUES**2)
    assert plateaus[-1] == pytest.approx(0.5)
