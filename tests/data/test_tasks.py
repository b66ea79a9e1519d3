"""Tasks: exact whitening, sufficient statistics, population vs sample moments, teacher spectra."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import data
from layerwise.errors import LayerwiseError


def test_whitened_regression_is_exactly_white(key):
    task = data.whitened_regression(key, 50, 5, 3)
    np.testing.assert_allclose(task.x.T @ task.x / 50, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(task.input_covariance, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(task.cross_covariance, task.y.T @ task.x / 50, atol=1e-14)
    assert float(task.output_second_moment) == pytest.approx(float(jnp.sum(task.y**2) / 50))


def test_whitening_needs_more_samples_than_inputs(key):
    with pytest.raises(LayerwiseError, match="n_samples"):
        data.whitened_regression(key, 5, 5, 1)


def test_diagonal_task_samples_match_population(key):
    s, var = [3.0, 1.0, 0.5], [1.0, 2.0, 0.25]
    population = data.diagonal_task(s, var)
    sampled = data.diagonal_task(s, var, n_samples=200, key=key)
    for field in ("input_covariance", "cross_covariance", "output_second_moment"):
        np.testing.assert_allclose(getattr(sampled, field), getattr(population, field), atol=1e-12)


def test_teacher_task_modes_and_spectrum(key):
    s, var = np.array([3.0, 1.5]), np.array([2.0, 0.5, 1.0, 1.0])
    task, u, v = data.teacher_task(key, s, in_dim=4, out_dim=3, input_variances=var)
    # Sigma_yx = U diag(s * var_k) V^T along the teacher's modes.
    np.testing.assert_allclose(u.T @ task.cross_covariance @ v, np.diag(s * var[:2]), atol=1e-12)
    sampled, u2, v2 = data.teacher_task(key, s, in_dim=4, out_dim=3, input_variances=var, n_samples=100)
    np.testing.assert_allclose(sampled.cross_covariance, task.cross_covariance, atol=1e-12)
    np.testing.assert_allclose(sampled.output_second_moment, task.output_second_moment, rtol=1e-12)


def test_scale_targets_rescales_moments(key):
    task = data.whitened_regression(key, 30, 3, 2)
    scaled = task.scale_targets(0.5)
    rebuilt = data.Task.from_samples(task.x, 0.5 * task.y)
    np.testing.assert_allclose(scaled.cross_covariance, rebuilt.cross_covariance, atol=1e-14)
    np.testing.assert_allclose(scaled.output_second_moment, rebuilt.output_second_moment, rtol=1e-14)


def test_same_key_same_task():
    a = data.whitened_regression(jax.random.PRNGKey(3), 20, 2, 2)
    b = data.whitened_regression(jax.random.PRNGKey(3), 20, 2, 2)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)


def test_haar_orthogonal_is_orthogonal_and_reproducible():
    q = data.haar_orthogonal(jax.random.PRNGKey(3), 5)
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-13)
    np.testing.assert_array_equal(q, data.haar_orthogonal(jax.random.PRNGKey(3), 5))
    assert not np.allclose(q, data.haar_orthogonal(jax.random.PRNGKey(4), 5))


def test_stack_tasks_stacks_every_leaf():
    tasks = [data.diagonal_task([1.0, 2.0]), data.diagonal_task([3.0, 4.0], [0.5, 2.0])]
    stacked = data.stack_tasks(tasks)
    assert stacked.cross_covariance.shape == (2, *tasks[0].cross_covariance.shape)
    np.testing.assert_array_equal(stacked.input_covariance[1], tasks[1].input_covariance)


def test_whiten_refuses_constant_features_instead_of_returning_nan():
    import jax
    import jax.numpy as jnp
    import pytest

    from layerwise.data.regression import whiten
    from layerwise.errors import LayerwiseError

    x = jax.random.normal(jax.random.PRNGKey(0), (50, 4))
    x = x.at[:, 2].set(3.0)  # a constant pixel, as scikit-learn's digits has
    with pytest.raises(LayerwiseError, match="constant directions.*1 of 4"):
        whiten(x)
    with pytest.raises(Exception, match="constant directions"):
        jax.block_until_ready(jax.jit(whiten)(x))
    white = whiten(x.at[:, 2].set(jnp.arange(50.0)))
    np.testing.assert_allclose(white.T @ white / 50, np.eye(4), atol=1e-10)
