"""Skill-basis model (Nam et al. 2024): theory.md §7 oracles, scaling exponents, and the engine's flow."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise.compare import compare
from layerwise.data import diagonal_task
from layerwise.errors import LayerwiseError
from layerwise.models import DiagonalLinearNetwork
from layerwise.theory import (
    asymptotic_loss,
    learning_time,
    loss_vs_data,
    loss_vs_parameters,
    loss_vs_time,
    scaling_exponents,
    skill_frequencies,
    skill_strength,
)

ALPHA, N_SKILLS = 0.5, 200_000  # theory.md §7 oracle setting (S = 1, R0 = 1e-6, eta = 1)


@pytest.fixture(scope="module")
def frequencies():
    return skill_frequencies(N_SKILLS, ALPHA)


def local_slopes(x, y):
    return np.diff(np.log(np.asarray(y))) / np.diff(np.log(np.asarray(x)))


def test_normaliser_and_half_times(frequencies):
    # Z = 2.6079032; t_half,k = ln(S/R0 - 1) / (2 eta p_k S) = 18.015, 50.953, 93.607, 144.118, 201.411 (∝ k^1.5)
    assert float(1.0 / frequencies[0]) == pytest.approx(2.6079032, abs=5e-8)
    half_times = learning_time(1.0, 1e-6, 0.5, tau=1.0 / frequencies[:5])
    np.testing.assert_allclose(half_times, [18.015, 50.953, 93.607, 144.118, 201.411], rtol=0, atol=5e-4)
    # the sigmoid crosses S/2 exactly there
    np.testing.assert_allclose(
        jnp.diagonal(skill_strength(half_times, frequencies[:5])), 0.5 * jnp.ones(5), rtol=1e-12)


def test_loss_oracles(frequencies):
    # L(N = 1000) = 1.12653e-2 (asymptotic 1.2126e-2); L(D = 1e4) = 2.10187e-2 (asymptotic 2.1877e-2)
    z = float(1.0 / frequencies[0])
    assert float(loss_vs_parameters(1000, frequencies)) == pytest.approx(1.12653e-2, abs=5e-8)
    assert float(asymptotic_loss(1000.0, "parameters", ALPHA, normalizer=z)) == pytest.approx(1.2126e-2, abs=5e-7)
    assert float(loss_vs_data(1e4, frequencies)) == pytest.approx(2.10187e-2, abs=5e-8)
    assert float(asymptotic_loss(1e4, "data", ALPHA, normalizer=z)) == pytest.approx(2.1877e-2, abs=5e-7)


def test_local_slopes_oracle_and_exponents(frequencies):
    # theory.md §7: L(T) slopes -0.338, -0.343; L(D) -0.343, -0.354; L(N) -0.52, -0.58 (theory -1/3, -1/3, -1/2)
    decades = jnp.array([1e3, 1e4, 1e5])
    np.testing.assert_allclose(local_slopes(decades, loss_vs_time(decades, frequencies)), [-0.338, -0.343],
                               atol=5e-4)
    np.testing.assert_allclose(local_slopes(decades, loss_vs_data(decades, frequencies)), [-0.343, -0.354],
                               atol=5e-4)
    sizes = jnp.array([1e2, 1e3, 1e4])
    np.testing.assert_allclose(local_slopes(sizes, loss_vs_parameters(sizes, frequencies)), [-0.52, -0.58],
                               atol=5e-3)
    exponents = scaling_exponents(ALPHA)
    assert exponents == pytest.approx({"time": -1 / 3, "data": -1 / 3, "parameters": -0.5, "compute": -0.2})


def test_asymptotic_laws_are_the_limits():
    # L(N) and L(D) approach their power laws: for L(N) the relative gap is 1/(2N) (Euler-Maclaurin) plus the
    # truncation of the skill list, (N / n_skills)^alpha
    alpha, n_skills = 1.0, 2_000_000
    p = skill_frequencies(n_skills, alpha)
    z = float(1.0 / p[0])
    sizes = jnp.array([1e2, 1e3, 1e4])
    ratio = np.asarray(loss_vs_parameters(sizes, p) / asymptotic_loss(sizes, "parameters", alpha, normalizer=z))
    bound = 1.0 / (2.0 * np.asarray(sizes)) + (np.asarray(sizes) / n_skills) ** alpha
    assert np.all(np.abs(ratio - 1.0) < 1.1 * bound)
    data = jnp.array([1e2, 1e3, 1e4])
    ratio = loss_vs_data(data, p) / asymptotic_loss(data, "data", alpha, normalizer=z)
    assert np.all(np.diff(np.abs(np.asarray(ratio) - 1.0)) < 0) and abs(float(ratio[-1]) - 1.0) < 0.02


def test_skills_match_gradient_flow(engine):
    """The two-layer diagonal net on diagonal_task(S * ones, p) (loss 1/2 sum_k p_k (S - a_k b_k)^2) follows
    skill_strength for every skill, to 1e-8 relative error over the whole emergence sequence."""
    dim = 3
    strengths = jnp.array([1.0, 2.0, 0.5, 5.0])  # S per run
    inits = jnp.array([1e-6, 1e-4, 1e-3, 1e-2])  # R0 per run
    p = skill_frequencies(dim, 0.6)
    times = np.linspace(0.0, 1.3 * float(learning_time(0.5, 1e-6, 0.999, tau=1.0 / p[-1])), engine.times)
    task = engine.stack_tasks([diagonal_task(s * jnp.ones(dim), p) for s in strengths])
    params = jnp.broadcast_to(jnp.sqrt(inits)[:, None, None], (engine.runs, 2, dim))
    history = engine.flow(DiagonalLinearNetwork(dim=dim, depth=2), params, task, times, engine.end_to_end,
                          task_batched=True)
    theory = jnp.stack([skill_strength(times, p, s, r0) for s, r0 in zip(strengths, inits)])
    result = compare(theory[:, :, None, :], history["W"], rtol=1e-8)
    assert result.passed, str(result)


# -------------------------------------------------------------------------------------------------- boundary checks
P = np.array([0.5, 0.3, 0.2])


@pytest.mark.parametrize("function", [skill_strength, loss_vs_time])
@pytest.mark.parametrize("changes, match", [
    (dict(p=np.array([0.5, -0.1])), r"p must be finite and > 0 \(skill frequencies\), got -0.1 at index \(1,\)"),
    (dict(p=np.array([1.5])), r"p must be <= 1 \(skill frequencies\), got 1.5"),
    (dict(p=np.ones((2, 2)) / 4), r"p must have shape \(K,\), got shape \(2, 2\)"),
    (dict(init_scale=0.0), "init_scale must be finite and > 0"),
    (dict(eta=-1.0), "eta must be finite and > 0"),
    (dict(target_strength=np.nan), r"target_strength must be finite \(no NaN or inf\)"),
    (dict(t=-1.0), "t must be finite and >= 0"),
])
def test_skill_curves_refuse_bad_inputs(function, changes, match):
    arguments = dict(t=np.linspace(0.0, 5.0, 4), p=P, target_strength=1.0, init_scale=1e-3, eta=1.0) | changes
    arguments = {("T" if function is loss_vs_time and k == "t" else k): v for k, v in arguments.items()}
    with pytest.raises(LayerwiseError, match=f"{function.__name__}: " + match):
        function(**arguments)


def test_loss_laws_refuse_bad_inputs():
    with pytest.raises(LayerwiseError, match="loss_vs_data: D must be finite and >= 0"):
        loss_vs_data(np.array([10.0, -1.0]), P)
    with pytest.raises(LayerwiseError, match=r"loss_vs_data: p must be <= 1"):
        loss_vs_data(10.0, np.array([2.0]))
    with pytest.raises(LayerwiseError, match=r"loss_vs_parameters: N must be non-negative integers, got 1.5"):
        loss_vs_parameters(np.array([1.0, 1.5]), P)
    with pytest.raises(LayerwiseError, match=r"loss_vs_parameters: p must be sorted in non-increasing order .*got 0.5 "
                                             r"at index \(1,\)"):
        loss_vs_parameters(2, np.array([0.2, 0.5, 0.3]))
    with pytest.raises(LayerwiseError, match="bottleneck must be one of time, data, parameters; got 'compute'"):
        asymptotic_loss(10.0, "compute", 0.5)
    with pytest.raises(LayerwiseError, match="asymptotic_loss: x must be finite and > 0"):
        asymptotic_loss(0.0, "data", 0.5)
    with pytest.raises(LayerwiseError, match="asymptotic_loss: alpha must be finite and > 0"):
        asymptotic_loss(10.0, "parameters", -0.5)
    with pytest.raises(LayerwiseError, match=r"asymptotic_loss: init_scale must be < target_strength \(the time law needs ln\(S/R0\) > 0\)"):
        asymptotic_loss(10.0, "time", 0.5, target_strength=1.0, init_scale=2.0)
    with pytest.raises(LayerwiseError, match="alpha must be a finite number > 0"):
        scaling_exponents(0.0)
    with pytest.raises(LayerwiseError, match="skill_frequencies: n_skills must be an integer >= 1, got 0"):
        skill_frequencies(0, 0.5)
    with pytest.raises(LayerwiseError, match=r"skill_frequencies: alpha must be finite"):
        skill_frequencies(10, np.nan)


def test_checks_fail_loudly_under_vmap(raises_at_run_time):
    with raises_at_run_time("skill_strength: init_scale must be finite and > 0"):
        jax.block_until_ready(jax.vmap(lambda r0: skill_strength(jnp.linspace(0.0, 3.0, 7), jnp.array(P), 1.0, r0))(
            jnp.array([1e-3, -1e-3])))
    with raises_at_run_time("loss_vs_data: D must be finite and >= 0"):
        jax.block_until_ready(jax.jit(lambda d: loss_vs_data(d, jnp.array(P)))(jnp.array([-1.0])))


def test_float32_follows_the_dtype():
    times = np.linspace(0.0, 30.0, 7)
    reference = skill_strength(times, P, 1.0, 1e-3)
    with jax.enable_x64(False):
        low = skill_strength(times.astype(np.float32), P.astype(np.float32), 1.0, 1e-3)
        data = loss_vs_data(np.array([1.0, 10.0], np.float32), P.astype(np.float32))
        frequencies = skill_frequencies(100, 0.5)
    assert low.dtype == data.dtype == frequencies.dtype == jnp.float32
    np.testing.assert_allclose(low, reference, rtol=2e-5)
    np.testing.assert_allclose(data, loss_vs_data(np.array([1.0, 10.0]), P), rtol=1e-5)


def test_loss_laws_fail_loudly_under_jit(raises_at_run_time):
    with raises_at_run_time("loss_vs_time: eta must be finite and > 0"):
        jax.block_until_ready(jax.jit(lambda eta: loss_vs_time(jnp.ones(2), jnp.array(P), 1.0, 1e-3, eta))(
            jnp.array(-1.0)))
    with raises_at_run_time("loss_vs_parameters: p must be sorted in non-increasing order"):
        jax.block_until_ready(jax.jit(lambda p: loss_vs_parameters(jnp.array([1, 2]), p))(jnp.array([0.2, 0.5, 0.3])))
    with raises_at_run_time("asymptotic_loss: x must be finite and > 0"):
        jax.block_until_ready(jax.jit(lambda x: asymptotic_loss(x, "data", 0.5))(jnp.array([10.0, -1.0])))
