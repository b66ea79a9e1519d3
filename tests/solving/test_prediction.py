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


@pytest.mark.parametrize("init, imbalance, depth, whitened, expected", [
    ("aligned", 0.0, 3, True, "saxe"),
    ("aligned", 0.5, 2, True, "imbalanced"),
    ("lambda-balanced", -0.5, 2, True, "lambda_balanced"),
    ("random", 0.0, 2, True, "saxe_approximate"),
    ("aligned", 0.0, 2, False, "saxe_approximate"),
])
def test_closed_form_choice(init, imbalance, depth, whitened, expected):
    assert prediction.choose_prediction(init, imbalance, depth, whitened) == expected


@pytest.mark.parametrize("init, imbalance, depth, whitened, words", [
    ("aligned", 0.5, 3, True, "depth 2"),
    ("lambda-balanced", 0.5, 3, True, "depth 2"),
    ("lambda-balanced", 0.5, 2, False, "whitened"),
    ("random", 0.5, 2, True, "imbalance"),
    ("orthogonal", 0.0, 2, True, "init must be one of"),
])
def test_combinations_no_law_covers_are_refused(init, imbalance, depth, whitened, words):
    with pytest.raises(LayerwiseError, match=words):
        prediction.choose_prediction(init, imbalance, depth, whitened)


def test_imbalanced_passage_times_invert_the_closed_form():
    modes = prediction.data_modes(np.diag(SINGULAR_VALUES))
    times = prediction.passage_times("imbalanced", modes, depth=2, init_scale=np.full((1, 3), 1e-3), imbalance=0.3)
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
    params = jax.vmap(lambda k: prediction.initial_params(k, model, "lambda-balanced", modes, 1e-2, 0.5))(
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
