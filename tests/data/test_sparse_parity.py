"""Multitask sparse parity: frequencies, parity labels, skill functions, fixed data sets, reproducibility, samplers of
equal problems sharing compiled code."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise.data import Task
from layerwise.data.sparse_parity import FreshSampler, MultitaskSparseParity, sparse_parity_problem
from layerwise.engine import train
from layerwise.errors import LayerwiseError
from layerwise.models import MLP
from layerwise.profiling import CompileCounter

DATA_KEY = jax.random.PRNGKey(11)


@pytest.fixture(scope="module")
def problem():
    return sparse_parity_problem(jax.random.PRNGKey(0))  # the authors' defaults: n_s = 5, n_b = 32, m = 3, alpha = 0.6, S = 5


def _parity_oracle(problem, x):
    """Plain-numpy labels: S * (2 * (sum of the active skill's bits mod 2) - 1)."""
    x = np.asarray(x)
    skill = np.argmax(x[:, : problem.n_skills], axis=1)
    bits = x[:, problem.n_skills:]
    parity = np.array([bits[i, list(problem.skill_bits[k])].sum() % 2 for i, k in enumerate(skill)])
    return problem.target_scale * (2 * parity - 1)


def test_defaults_and_disjoint_skill_bits(problem):
    assert (problem.n_skills, problem.n_bits, problem.bits_per_skill, problem.alpha, problem.target_scale) == (
        5, 32, 3, 0.6, 5.0)
    used = [i for bits in problem.skill_bits for i in bits]
    assert len(used) == len(set(used)) == 15 and all(0 <= i < 32 for i in used)
    assert problem.in_dim == 37


def test_skill_frequencies_follow_zipf(problem):
    p = problem.frequencies
    k = np.arange(1, 6)
    np.testing.assert_allclose(p, k**-1.6 / np.sum(k**-1.6), rtol=1e-14)
    n = 200_000
    x, _ = problem.sample(jax.random.PRNGKey(1), n)
    observed = np.asarray(x[:, :5]).mean(0)
    standard_error = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(observed - p) < 5 * standard_error)  # 5 sigma: deterministic seed, never flaky
    assert np.all(np.asarray(x[:, :5]).sum(1) == 1)  # one-hot control
    assert abs(float(np.asarray(x[:, 5:]).mean()) - 0.5) < 5 * np.sqrt(0.25 / (n * 32))


def test_labels_are_parities_of_the_skill_bits(problem):
    x, y = problem.sample(jax.random.PRNGKey(2), 500)
    np.testing.assert_array_equal(np.asarray(y[:, 0]), _parity_oracle(problem, x))
    # Flipping one of the active skill's bits flips the label; flipping any other task bit leaves it unchanged.
    x = np.asarray(x)
    skill = np.argmax(x[:, :5], axis=1)
    for i in range(20):
        inside = problem.skill_bits[skill[i]][0]
        outside = next(j for j in range(32) if j not in problem.skill_bits[skill[i]])
        for bit, sign in ((inside, -1), (outside, 1)):
            flipped = x[i:i + 1].copy()
            flipped[0, 5 + bit] = 1 - flipped[0, 5 + bit]
            assert float(problem.labels(jnp.asarray(flipped))[0, 0]) == sign * float(y[i, 0])


def test_skill_functions_orthogonal_with_norm_p(problem):
    """E[g_k g_l] = delta_kl p_k, and y = S sum_k g_k."""
    key = jax.random.PRNGKey(3)
    x, y = problem.sample(key, 100_000)
    g = np.asarray(problem.skill_features(x))
    np.testing.assert_array_equal(problem.target_scale * g.sum(1), np.asarray(y[:, 0]))
    gram = g.T @ g / g.shape[0]
    np.testing.assert_allclose(np.diag(gram), problem.frequencies, atol=5e-3)
    assert np.max(np.abs(gram - np.diag(np.diag(gram)))) == 0.0  # disjoint supports: exactly zero
    # sample_features is the same draw in the skill basis.
    g2, y2 = problem.sample_features(key, 100_000)
    np.testing.assert_array_equal(np.asarray(g2), g)
    np.testing.assert_array_equal(np.asarray(y2), np.asarray(y))


def test_reproducible_from_seeds():
    a, b, c = sparse_parity_problem(jax.random.PRNGKey(7)), sparse_parity_problem(jax.random.PRNGKey(7)), sparse_parity_problem(jax.random.PRNGKey(8))
    assert a == b and hash(a) == hash(b) and a.skill_bits != c.skill_bits
    x1, _ = a.sample(jax.random.PRNGKey(0), 64)
    x2, _ = b.sample(jax.random.PRNGKey(0), 64)
    x3, _ = a.sample(jax.random.PRNGKey(1), 64)
    np.testing.assert_array_equal(np.asarray(x1), np.asarray(x2))
    assert not np.array_equal(np.asarray(x1), np.asarray(x3))


def test_fixed_dataset_sampler_draws_from_the_dataset(problem):
    x, y = problem.dataset(DATA_KEY, 40)
    sampler = problem.dataset_sampler(DATA_KEY, 40)
    assert sampler == problem.dataset_sampler(DATA_KEY, 40) and hash(sampler) == hash(problem.dataset_sampler(DATA_KEY, 40))
    xb, yb = jax.jit(sampler, static_argnums=1)(jax.random.PRNGKey(0), 200)
    rows = {tuple(r) for r in np.asarray(x)}
    assert all(tuple(r) in rows for r in np.asarray(xb))
    assert len({tuple(r) for r in np.asarray(xb)}) > 30  # uniform over 40 samples: 200 draws hit most of them
    np.testing.assert_array_equal(np.asarray(yb[:, 0]), _parity_oracle(problem, xb))
    # Nested: a smaller data set with the same key is a prefix; skills agree with dataset_skills.
    np.testing.assert_array_equal(np.asarray(problem.dataset(DATA_KEY, 10)[0]), np.asarray(x[:10]))
    np.testing.assert_array_equal(np.asarray(problem.dataset_skills(DATA_KEY, 40)), np.argmax(np.asarray(x[:, :5]), 1))
    gb, _ = problem.dataset_sampler(DATA_KEY, 40, features=True)(jax.random.PRNGKey(0), 200)
    np.testing.assert_array_equal(np.asarray(gb), np.asarray(problem.skill_features(xb)))


def test_fixed_data_set_sample_i_is_drawn_from_fold_in_of_its_key(problem):
    x, _ = problem.dataset(DATA_KEY, 3)
    expected = problem.inputs_from_keys(jnp.stack([jax.random.fold_in(DATA_KEY, i) for i in range(3)]))
    np.testing.assert_array_equal(np.asarray(x), np.asarray(expected))


def test_evaluation_sets_hold_one_skill_each(problem):
    x, y = problem.evaluation_sets(jax.random.PRNGKey(4), 300)
    assert x.shape == (5, 300, 37) and y.shape == (5, 300, 1)
    for k in range(5):
        assert np.all(np.argmax(np.asarray(x[k, :, :5]), 1) == k)
        labels = np.asarray(y[k, :, 0])
        assert set(np.unique(labels)) == {-5.0, 5.0}


def test_online_task_trains_with_the_engine_sampler(problem):
    task = problem.online_task(jax.random.PRNGKey(0), 50, features=True)
    assert isinstance(task, Task) and task.x.shape == (50, 5) and task.sampler == problem.sample_features


def test_float32_dtype_and_bad_arguments():
    problem = sparse_parity_problem(jax.random.PRNGKey(0), dtype="float32")
    x, y = problem.sample(jax.random.PRNGKey(0), 8)
    assert x.dtype == jnp.float32 and y.dtype == jnp.float32
    with pytest.raises(LayerwiseError, match="n_bits"):
        sparse_parity_problem(jax.random.PRNGKey(0), n_skills=12, n_bits=32, bits_per_skill=3)
    with pytest.raises(LayerwiseError, match="dtype"):
        sparse_parity_problem(jax.random.PRNGKey(0), dtype="int8")
    assert isinstance(problem, MultitaskSparseParity)


def test_one_skill_tasks_hold_each_skills_population_moments():
    """Run k's task: E[g^2] = p_k, E[g y] = S p_k, E[y^2] = S^2 p_k (their losses sum to the full skill-basis loss;
    tests/experiments/test_emergence.py trains them against the full model)."""
    from layerwise.data import one_skill_tasks

    p = np.array([0.5, 0.3, 0.2])
    task = one_skill_tasks(p, 2.0)
    np.testing.assert_allclose(np.asarray(task.input_covariance)[:, 0, 0], p)
    np.testing.assert_allclose(np.asarray(task.cross_covariance)[:, 0, 0], 2.0 * p)
    np.testing.assert_allclose(np.asarray(task.output_second_moment), 4.0 * p)


def test_skill_losses_observable_is_the_per_skill_half_squared_error(problem):
    """`observables.SkillLosses` on a perfect skill-basis model (a_k b_k = S) is 0; on the zero model it is S^2/2."""
    from layerwise import observables
    from layerwise.models import DiagonalLinearNetwork

    x, y = problem.evaluation_sets(jax.random.PRNGKey(3), 50)
    g = jax.vmap(problem.skill_features)(x)
    model = DiagonalLinearNetwork(dim=problem.n_skills, depth=2)
    perfect = jnp.full((2, problem.n_skills), np.sqrt(problem.target_scale))
    np.testing.assert_allclose(observables.SkillLosses(g, y)(model, perfect), 0.0, atol=1e-12)
    np.testing.assert_allclose(observables.SkillLosses(g, y[..., 0])(model, 0 * perfect),
                               0.5 * problem.target_scale**2, rtol=1e-12)


def test_fixed_dataset_sampler_with_a_traced_size_draws_the_nested_smaller_set(problem):
    data_key = jax.random.PRNGKey(11)
    big, small = problem.dataset_sampler(data_key, 40), problem.dataset_sampler(data_key, 10)
    key = jax.random.PRNGKey(2)
    xs, ys = jax.jit(big, static_argnums=1)(key, 64, jnp.asarray(10))  # one program for every size up to 40
    x_ref, y_ref = small(key, 64)
    np.testing.assert_array_equal(np.asarray(xs), np.asarray(x_ref))  # the same draw as the size-10 sampler
    np.testing.assert_array_equal(np.asarray(ys), np.asarray(y_ref))


def test_fixed_dataset_sampler_given_the_stored_inputs_gathers_the_same_batch(problem):
    """With ``inputs`` (the set's inputs, as the emergence data panel passes per run) the batch is gathered from them:
    bit for bit the batch the sampler re-draws, for a traced size too; a wrong shape is one clear error."""
    data_key, key = jax.random.PRNGKey(11), jax.random.PRNGKey(2)
    sampler = problem.dataset_sampler(data_key, 40)
    inputs = problem.dataset(data_key, 40)[0]
    for size in (None, jnp.asarray(10)):
        drawn = sampler(key, 64, size)
        gathered = jax.jit(sampler, static_argnums=1)(key, 64, jnp.asarray(40) if size is None else size, inputs)
        for a, b in zip(drawn, gathered):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(LayerwiseError, match="inputs must be the data set's inputs, shape \\(40, 37\\); got \\(10, 37\\)"):
        sampler(key, 64, None, inputs[:10])


def test_equal_problems_give_equal_samplers_that_share_the_compiled_program():
    # Two problems built apart from the same key: equal values, distinct objects (a bound method's equality and hash
    # follow its object's identity, so samplers that were bound methods differed and every call recompiled).
    a, b = (sparse_parity_problem(jax.random.PRNGKey(3), n_skills=2, n_bits=4, bits_per_skill=2) for _ in range(2))
    assert a == b and a is not b
    for sampler_of in (lambda p: p.sample, lambda p: p.sample_features, lambda p: p.dataset_sampler(DATA_KEY, 16)):
        assert sampler_of(a) == sampler_of(b) and hash(sampler_of(a)) == hash(sampler_of(b))
    assert isinstance(a.sample, FreshSampler) and a.sample != a.sample_features
    model = MLP(widths=(a.in_dim, 3, 1), activation="relu")
    params = jax.vmap(model.init)(jax.random.split(jax.random.PRNGKey(0), 2))  # two runs

    def run(problem):
        task = Task.from_samples(*problem.sample(jax.random.PRNGKey(1), 8), sampler=problem.sample)
        return train(model, params, task, steps=3, learning_rate=0.1, batch_size=4, key=jax.random.PRNGKey(2),
                     loss="mean_squared_error")

    first = run(a)
    with CompileCounter() as compiled:
        second = run(b)
    assert compiled.programs == 0  # none compiled, none loaded from the persistent cache
    np.testing.assert_array_equal(np.asarray(second.history.loss), np.asarray(first.history.loss))
