"""Skill strength R_k (paper.md §5.5): perfect, random and skill-basis predictors; vectorisation; observable."""

import jax
import jax.numpy as jnp
import numpy as np

from layerwise.data.sparse_parity import sparse_parity_problem
from layerwise.metrics import measured_skill_strength as skill_strength, skill_strength_observable
from layerwise.models import DiagonalLinearNetwork


def _targets(n=4000, S=5.0, seed=0):
    return S * (2.0 * np.random.default_rng(seed).integers(0, 2, n) - 1.0)


def test_perfect_predictor_gives_target_std():
    """f = y: R = <y_c, y_c>/(sqrt(n) ||y_c||) = ||y_c||/sqrt(n) = std(y) (= S for balanced ±S labels)."""
    y = _targets()
    np.testing.assert_allclose(float(skill_strength(y, y)), np.std(y), rtol=1e-12)
    balanced = np.tile([5.0, -5.0], 10)
    np.testing.assert_allclose(float(skill_strength(balanced, balanced)), 5.0, rtol=1e-12)


def test_random_predictor_has_no_skill():
    """f independent of y with std 5: R ~ N(0, 5^2/n); |R| < 5 sigma = 5*5/sqrt(n)."""
    n = 4000
    y = _targets(n)
    f = 5.0 * np.random.default_rng(1).standard_normal(n)
    assert abs(float(skill_strength(f, y))) < 5 * 5.0 / np.sqrt(n)


def test_invariances_and_linearity():
    y = _targets(1000)
    f = 0.3 * y + np.random.default_rng(2).standard_normal(1000)
    base = float(skill_strength(f, y))
    np.testing.assert_allclose(float(skill_strength(f + 17.0, y)), base, rtol=1e-12)  # output offset
    np.testing.assert_allclose(float(skill_strength(2.5 * f, y)), 2.5 * base, rtol=1e-12)  # linear in f
    np.testing.assert_allclose(float(skill_strength(f, 3.0 * y - 1.0)), base, rtol=1e-12)  # target normalised
    # the skill-basis model's output on skill-k samples is (a_k b_k / S) y: R = a_k b_k std(y) / S
    np.testing.assert_allclose(float(skill_strength(0.7 / 5.0 * y, y)), 0.7 * np.std(y) / 5.0, rtol=1e-12)


def test_vectorised_over_leading_axes():
    rng = np.random.default_rng(3)
    y = np.stack([_targets(200, seed=s) for s in range(6)]).reshape(2, 3, 200)
    f = y * rng.uniform(0, 1, (2, 3, 1)) + rng.standard_normal((2, 3, 200))
    batched = np.asarray(skill_strength(f, y))
    assert batched.shape == (2, 3)
    looped = np.array([[float(skill_strength(f[i, j], y[i, j])) for j in range(3)] for i in range(2)])
    np.testing.assert_allclose(batched, looped, rtol=1e-12)
    assert np.isnan(float(skill_strength(np.ones(5), np.ones(5))))  # constant targets: undefined, not silent


def test_observable_on_the_skill_basis_model():
    """DiagonalLinearNetwork on g(x) with a_k b_k = u_k: the observable gives R_k = u_k std(y_k)/S per skill."""
    problem = sparse_parity_problem(jax.random.PRNGKey(0))
    x_eval, y_eval = problem.evaluation_sets(jax.random.PRNGKey(0), 500)
    g_eval = jax.vmap(problem.skill_features)(x_eval)
    u = jnp.array([5.0, 2.0, 1.0, 0.5, 0.0])
    params = jnp.stack([jnp.sqrt(u), jnp.sqrt(u)])
    values = skill_strength_observable(g_eval, y_eval)(DiagonalLinearNetwork(dim=5), params, None)
    expected = np.asarray(u) * np.std(np.asarray(y_eval[..., 0]), axis=1) / 5.0
    np.testing.assert_allclose(np.asarray(values), expected, rtol=1e-12, atol=1e-12)
