"""Contract of every closed form: float64 in, float64 out; jit and vmap over a runs axis; explicit broadcasting
(``jax_numpy_rank_promotion="raise"``); and each docstring example runs and prints what it says."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import layerwise.theory as theory

TIMES = jnp.linspace(0.0, 3.0, 7)
# name -> (function of one run's parameters, parameters batched over 3 runs)
ELEMENTWISE = {
    "saxe_mode": (lambda s, u0: theory.saxe_mode(TIMES, s, u0),
                  (jnp.array([1.0, 2.0, 3.0]), jnp.array([1e-3, 0.1, 4.0]))),
    "saxe_mode_depth3": (lambda s, u0: theory.saxe_mode(TIMES, s, u0, depth=3),
                         (jnp.array([1.0, 2.0, 3.0]), jnp.array([1e-3, 0.1, 4.0]))),
    "learning_time": (lambda s, u0: theory.learning_time(s, u0, 0.5, depth=4),
                      (jnp.array([1.0, 2.0, 3.0]), jnp.array([1e-3, 0.1, 0.2]))),
    "imbalanced_mode": (lambda s, c: theory.imbalanced_mode(TIMES, s, 0.01, c),
                        (jnp.array([1.0, -2.0, 3.0]), jnp.array([0.0, 0.5, -4.0]))),
    "grokking_rescaling": (lambda sigma0, s: theory.grokking_rescaling(TIMES, sigma0, 0.1 * sigma0, s),
                           (jnp.array([0.1, 1.0, 10.0]), jnp.array([1.0, -2.0, 3.0]))),
    "grokking_gamma": (lambda sigma0, s: theory.grokking_gamma(sigma0, 0.0, s),
                       (jnp.array([0.1, 1.0, 10.0]), jnp.array([1.0, -2.0, 3.0]))),
    "skill_strength": (lambda s, r0: theory.skill_strength(TIMES, jnp.array([0.5, 0.3, 0.2]), s, r0),
                       (jnp.array([1.0, 2.0, 3.0]), jnp.array([1e-4, 1e-3, 1e-2]))),
    "kunin_single_neuron": (lambda a0, delta: theory.kunin_single_neuron(TIMES, jnp.array([0.1, -0.2]), a0,
                                                                         jnp.array([1.0, delta])),
                            (jnp.array([0.1, 0.5, 1.0]), jnp.array([0.5, 1.0, 2.0]))),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_jit_vmap_float64_and_strict_broadcasting(name):
    function, batched = ELEMENTWISE[name]
    with jax.numpy_rank_promotion("raise"):
        looped = [function(*(b[i] for b in batched)) for i in range(3)]
        vmapped = jax.jit(jax.vmap(function))(*batched)
    for run in range(3):
        for got, expected in zip(jax.tree_util.tree_leaves(vmapped), jax.tree_util.tree_leaves(looped[run])):
            assert got.dtype == jnp.float64
            np.testing.assert_allclose(got[run], expected, rtol=1e-12, atol=1e-300)


def test_lambda_balanced_solution_vmaps_over_runs():
    # inputs on the host and the vmapped call as one compiled program: eagerly, each operation of the batched
    # wrapper (argument checks, the λ estimate) would compile on its own
    w1 = 0.1 * np.random.default_rng(0).standard_normal((3, 2, 2))
    w2 = np.einsum("ij,rkj->rik", np.array([[0.0, -1.0], [1.0, 0.0]]), w1)  # W2 = R W1^T: 0-balanced
    sigma = np.diag([2.0, 1.0])
    times = np.linspace(0.0, 4.0, 6)
    with jax.numpy_rank_promotion("raise"):
        batched = jax.jit(jax.vmap(lambda a, b: theory.lambda_balanced_solution(
            times, a, b, sigma, hidden_basis="symmetric")))(w1, w2)
        single = theory.lambda_balanced_solution(times, w1[1], w2[1], sigma, hidden_basis="symmetric")
    np.testing.assert_allclose(batched[0][1], single[0], rtol=1e-12)
    assert batched[0].shape == (3, 6, 2, 2) and batched[0].dtype == jnp.float64


PUBLIC = sorted(name for name in theory.__all__ if ">>>" in (getattr(theory, name).__doc__ or ""))


@pytest.mark.parametrize("name", PUBLIC)
def test_docstring_example_runs(name):
    obj = getattr(theory, name)
    module = __import__(obj.__module__, fromlist=["_"])
    parser = doctest.DocTestParser()
    test = parser.get_doctest(obj.__doc__, dict(vars(module)), name, module.__file__, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"docstring example of {name} failed"
