"""Grokking toy (Nam et al. 2025 §7): gamma_+ limits, the common rescaling factor, and the engine's flow."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerwise.compare import compare
from layerwise.data import Task
from layerwise.errors import LayerwiseError
from layerwise.models import DeepLinearNetwork
from layerwise.theory import grokking_gamma, grokking_rescaling, grokking_slope, grokking_statistics


def test_gamma_limits():
    # S0 = 0: gamma_+ = S/Sigma0 + sqrt(1 + S^2/Sigma0^2) -> 1 + S/Sigma0 (lazy) and -> 2S/Sigma0 (rich)
    ratios = jnp.array([1e2, 1e4, 1e8])
    lazy = (np.asarray(grokking_gamma(ratios, 0.0, 1.0)) - 1.0) * np.asarray(ratios)  # = 1 + 1/(2 r) + ...
    assert np.all(np.abs(lazy - 1.0) <= 1.0 / np.asarray(ratios))
    assert float(grokking_gamma(1e12, 0.0, 1.0)) == pytest.approx(1.0, abs=1e-11)
    np.testing.assert_allclose(grokking_gamma(1.0 / ratios, 0.0, 1.0), 2.0 * ratios, rtol=1e-4)
    # monotone: the larger the weights compared with the target, the less the features move
    gammas = grokking_gamma(jnp.logspace(-3, 3, 13), 0.0, 1.0)
    assert np.all(np.diff(np.asarray(gammas)) < 0)


def test_gamma_has_no_cancellation_for_negative_targets():
    # S = -1e4, Sigma0 = 1e-3: the textbook S + sqrt(Sigma0^2 - S0^2 + S^2) cancels to ~1e-11; the closed form uses
    # (Sigma0 - S0) / (sqrt(...) - S). Reference in 50-digit decimal arithmetic.
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    sigma0, s0, s = Decimal("1e-3"), Decimal("2e-4"), Decimal("-1e4")
    expected = (s + (sigma0**2 - s0**2 + s**2).sqrt()) / (sigma0 + s0)
    assert float(grokking_gamma(1e-3, 2e-4, -1e4)) == pytest.approx(float(expected), rel=1e-14)


def test_rescaling_starts_at_one_and_ends_at_gamma():
    sigma0, s0, s, z = 0.3, 0.1, 2.0, 1.5
    assert float(grokking_rescaling(0.0, sigma0, s0, s, z)) == pytest.approx(1.0, rel=1e-15)
    assert float(grokking_rescaling(1e4, sigma0, s0, s, z)) ** 2 == pytest.approx(
        float(grokking_gamma(sigma0, s0, s)), rel=1e-14)
    assert float(grokking_slope(0.0, sigma0, s0, s, z)) == pytest.approx(s0, abs=1e-15)
    assert float(grokking_slope(1e4, sigma0, s0, s, z)) == pytest.approx(s, rel=1e-14)


@pytest.mark.parametrize("z", [2.0])
@settings(max_examples=4, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), log_scale=st.floats(-2.0, 1.0), target=st.floats(-3.0, 3.0))
def test_matches_gradient_flow(engine, z, seed, log_scale, target):
    """a_i + b_i grows by g(t) and a_i - b_i shrinks by 1/g(t) for every unit, with g from the closed form."""
    width = 5
    keys = jax.random.split(jax.random.PRNGKey(seed), 2)
    a = 10.0**log_scale * jax.random.normal(keys[0], (engine.runs, width))
    b = 10.0**log_scale * jax.random.normal(keys[1], (engine.runs, width))
    params = (a[:, :, None], b[:, None, :])  # W1 (p, 1) = a, W2 (1, p) = b
    task = Task.from_statistics(jnp.eye(1), jnp.array([[target]]), target**2)
    sigma0, s0 = grokking_statistics(a, b, z)
    times = np.linspace(0.0, 10.0 * z / max(abs(target), float(jnp.min(sigma0)), 0.05), engine.times)
    history = engine.flow(DeepLinearNetwork((1, width, 1), output_scale=1.0 / z), params, task, times, engine.layers)
    g = grokking_rescaling(times[None, :], sigma0[:, None], s0[:, None], target, z)
    a_t, b_t = history["W1"].isel(W1_1=0), history["W2"].isel(W2_0=0).rename(W2_1="W1_0")
    plus = compare(g[..., None] * (a + b)[:, None, :], a_t + b_t, rtol=1e-8, norm_dims=("W1_0",), name="a+b")
    minus = compare((a - b)[:, None, :] / g[..., None], a_t - b_t, rtol=1e-8, norm_dims=("W1_0",), name="a-b")
    # the slope is a difference of terms of size Sigma_0 (it cancels to ~0 when S ~ 0): absolute floor ~ Sigma_0
    floor = 1e-9 * (abs(target) + float(jnp.max(sigma0)))
    slope = compare(grokking_slope(times[None, :], sigma0[:, None], s0[:, None], target, z),
                    (a_t * b_t).sum("W1_0") / z, rtol=1e-8, atol=floor, name="slope")
    for result in (plus, minus, slope):
        assert result.passed, str(result)


# -------------------------------------------------------------------------------------------------- boundary checks
@pytest.mark.parametrize("changes, match", [
    (dict(Sigma0=0.0), "Sigma0 must be finite and > 0, got 0.0"),
    (dict(S0=0.8), r"S0 must be at most Sigma0 in absolute value .*got 0.8"),
    (dict(S0=-0.5), r"S0 must be > -Sigma0 \(S0 = -Sigma0 means a = -b"),
    (dict(S=np.nan), r"S must be finite \(no NaN or inf\)"),
    (dict(S=np.ones(2), Sigma0=np.full(3, 0.5)), r"the shapes of Sigma0 \(3,\), S0 \(\), S \(2,\)"),
])
def test_gamma_refuses_bad_inputs(changes, match):
    arguments = dict(Sigma0=0.5, S0=0.1, S=1.0) | changes
    with pytest.raises(LayerwiseError, match="grokking_gamma: " + match):
        grokking_gamma(**arguments)


@pytest.mark.parametrize("function", [grokking_rescaling, grokking_slope])
@pytest.mark.parametrize("changes, match", [
    (dict(t=-1.0), "t must be finite and >= 0"),
    (dict(Z=0.0), "Z must be finite and > 0"),
    (dict(Sigma0=-1.0), "Sigma0 must be finite and > 0"),
])
def test_trajectories_refuse_bad_inputs(function, changes, match):
    arguments = dict(t=1.0, Sigma0=0.5, S0=0.1, S=1.0, Z=1.0) | changes
    with pytest.raises(LayerwiseError, match=f"{function.__name__}: " + match):
        function(**arguments)


def test_statistics_refuse_bad_inputs():
    with pytest.raises(LayerwiseError, match=r"grokking_statistics: a and b must have the same last axis"):
        grokking_statistics(np.ones(3), np.ones(4))
    with pytest.raises(LayerwiseError, match=r"grokking_statistics: Z must be finite and > 0"):
        grokking_statistics(np.ones(3), np.ones(3), 0.0)
    with pytest.raises(LayerwiseError, match=r"grokking_statistics: b must be finite"):
        grokking_statistics(np.ones(3), np.array([1.0, np.inf, 0.0]))


def test_checks_fail_loudly_under_vmap(raises_at_run_time):
    with raises_at_run_time("grokking_gamma: S0 must be at most Sigma0 in absolute value"):
        jax.block_until_ready(jax.vmap(lambda s0: grokking_gamma(0.5, s0, 1.0))(jnp.array([0.1, 0.9])))
    with raises_at_run_time("grokking_rescaling: t must be finite and >= 0"):
        jax.block_until_ready(jax.jit(lambda t: grokking_rescaling(t, 0.5, 0.1, 1.0))(jnp.array([1.0, -1.0])))


def test_float32_follows_the_dtype():
    times = np.linspace(0.0, 20.0, 9)
    reference = grokking_rescaling(times, 0.632, 0.1, 1.0)
    with jax.enable_x64(False):
        low = grokking_rescaling(times.astype(np.float32), 0.632, 0.1, 1.0)
        gamma = grokking_gamma(np.float32(0.632), 0.0, 1.0)
    assert low.dtype == jnp.float32 and gamma.dtype == jnp.float32
    np.testing.assert_allclose(low, reference, rtol=1e-6)
    np.testing.assert_allclose(gamma, grokking_gamma(0.632, 0.0, 1.0), rtol=1e-6)


def test_slope_and_statistics_fail_loudly_under_jit(raises_at_run_time):
    with raises_at_run_time("grokking_slope: Z must be finite and > 0"):
        jax.block_until_ready(jax.jit(lambda z: grokking_slope(1.0, 0.5, 0.1, 1.0, z))(jnp.array(0.0)))
    with raises_at_run_time("grokking_statistics: a must be finite"):
        jax.block_until_ready(jax.jit(lambda a: grokking_statistics(a, jnp.ones(3)))(jnp.array([1.0, jnp.nan, 0.0])))
