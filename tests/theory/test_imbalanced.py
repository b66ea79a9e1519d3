"""Imbalanced two-layer scalar mode: oracle, balanced and lazy limits, symmetries, and the engine's flow."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from layerwise.compare import compare
from layerwise.data import diagonal_task
from layerwise.errors import LayerwiseError
from layerwise.models import DiagonalLinearNetwork
from layerwise.theory import imbalanced_mode, saxe_mode


def test_oracle_values():
    # theory.md §1 "unbalanced 1-D": s = 2, a0 = 0.5, b0 = 0.01 (10 decimals)
    a0, b0 = 0.5, 0.01
    times = jnp.array([0.5, 1.0, 2.0, 4.0])
    expected = [0.3975307307, 1.3086087563, 1.9810221627, 1.9999936724]
    np.testing.assert_allclose(imbalanced_mode(times, 2.0, a0 * b0, a0**2 - b0**2), expected, rtol=0, atol=5e-11)


@pytest.mark.parametrize("imbalance, expected", [(0.0, 4.61), (1.0, 0.588), (10.0, 0.066), (100.0, 0.0059)])
def test_time_to_half_shrinks_with_imbalance(imbalance, expected):
    # paper.md §6 check 2: S = 1, b0 = 0.01, a0^2 - b0^2 = C; time to reach u = 0.5 (3 significant digits)
    b0 = 0.01
    a0 = np.sqrt(imbalance + b0**2)
    half = brentq(lambda t: float(imbalanced_mode(t, 1.0, a0 * b0, imbalance)) - 0.5, 0.0, 10.0, xtol=1e-14)
    assert half == pytest.approx(expected, rel=5e-3)


def test_balanced_limit_is_the_saxe_sigmoid():
    # C = 0: tau u' = 2 v u (s - u), i.e. saxe_mode with tau / v
    times = jnp.linspace(0.0, 12.0, 49)[:, None]
    s, u0 = jnp.array([0.5, 3.0, 1.0]), jnp.array([1e-6, 0.2, 2.5])
    np.testing.assert_allclose(
        imbalanced_mode(times, s, u0, 0.0, input_variance=0.7, tau=1.3), saxe_mode(times, s, u0, tau=1.3 / 0.7), rtol=1e-13
    )


def test_lazy_limit_is_linear_regression():
    # |C| >> |u|: u' = v sqrt(C^2 + 4u^2)(s - u) ~ v|C|(s - u), exponential with rate v|C| (relative O(u^2/C^2))
    s, u0, c, v = 1.0, 0.1, 1e6, 0.5
    times = jnp.linspace(0.0, 10.0 / (v * c), 21)
    exponential = s + (u0 - s) * jnp.exp(-v * c * times)
    np.testing.assert_allclose(imbalanced_mode(times, s, u0, c, input_variance=v), exponential, rtol=1e-11)
    np.testing.assert_allclose(imbalanced_mode(times, s, u0, -c, input_variance=v), exponential, rtol=1e-11)


def test_symmetries_and_zero_target():
    times = jnp.linspace(0.0, 5.0, 11)
    # (a, b) -> (b, a) flips C; (a, b) -> (a, -b) flips u and s
    np.testing.assert_array_equal(imbalanced_mode(times, 1.5, 0.2, 0.7), imbalanced_mode(times, 1.5, 0.2, -0.7))
    np.testing.assert_allclose(imbalanced_mode(times, -1.5, -0.2, 0.7), -imbalanced_mode(times, 1.5, 0.2, 0.7))
    # s = C = 0: u' = -2|u| u
    np.testing.assert_allclose(imbalanced_mode(times, 0.0, 0.3, 0.0), 0.3 / (1 + 0.6 * times), rtol=1e-15)
    assert float(imbalanced_mode(1e6, 1.5, 1e-8, 1e-3)) == pytest.approx(1.5, rel=1e-15)


def test_negative_start_close_to_the_saddle():
    # a0 = 1.29e-4, b0 = -1.20e-4: u0 < 0 and C = 2.3e-9 << |u0|. The mode first shrinks towards the saddle (a ~ -b),
    # then crosses zero and converges to s. Reference: scipy on (a, b) at tight tolerance.
    from scipy.integrate import solve_ivp

    a0, b0, s, v = 1.2891877990802645e-4, -1.1975214388977285e-4, 1.756097193704442, 1.170629677699225
    times = np.linspace(0.0, 25.0, 51)

    def field(t, ab):
        return [v * ab[1] * (s - ab[0] * ab[1]), v * ab[0] * (s - ab[0] * ab[1])]

    a, b = solve_ivp(field, (0, 25.0), [a0, b0], t_eval=times, method="DOP853", rtol=1e-13, atol=1e-20).y
    theory = imbalanced_mode(times, s, a0 * b0, a0**2 - b0**2, v)
    np.testing.assert_allclose(theory, a * b, rtol=1e-9, atol=1e-14)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), log_scale=st.floats(-4.0, 0.5))
def test_mode_matches_gradient_flow(engine, seed, log_scale):
    """Each coordinate of a two-layer diagonal net (any a0, b0, input variance) follows imbalanced_mode."""
    rng = np.random.default_rng(seed)
    runs, dim = engine.runs, 3
    s = rng.uniform(0.3, 3.0, size=(runs, dim))
    variance = rng.uniform(0.2, 2.0, size=(runs, dim))
    a0 = 10.0 ** rng.uniform(log_scale - 1.0, log_scale + 1.0, size=(runs, dim))
    b0 = 10.0 ** rng.uniform(log_scale - 1.0, log_scale + 1.0, size=(runs, dim))
    b0[:, 2] *= -1.0  # a negative start: u crosses zero on its way to s
    imbalance, u0 = a0**2 - b0**2, a0 * b0
    times = np.linspace(0.0, 3.0 * np.log(1e4 / np.min(np.abs(u0))) / np.min(s * variance), engine.times)
    task = engine.stack_tasks([diagonal_task(s_run, v_run) for s_run, v_run in zip(s, variance)])
    params = jnp.asarray(np.stack([a0, b0], axis=1))
    history = engine.flow(DiagonalLinearNetwork(dim=dim, depth=2), params, task, times, engine.end_to_end,
                          task_batched=True)
    theory = imbalanced_mode(times[None, :, None], s[:, None], u0[:, None], imbalance[:, None], variance[:, None])
    # relative 1e-8 everywhere; the absolute floor only matters where u passes through 0 (third coordinate)
    result = compare(theory[:, :, None, :], history["W"], rtol=1e-8, atol=1e-10)
    assert result.passed, str(result)


# -------------------------------------------------------------------------------------------------- boundary checks
@pytest.mark.parametrize("changes, match", [
    (dict(t=-0.5), "imbalanced_mode: t must be finite and >= 0, got -0.5"),
    (dict(input_variance=0.0), "imbalanced_mode: input_variance must be finite and > 0"),
    (dict(tau=-1.0), "imbalanced_mode: tau must be finite and > 0"),
    (dict(mode_imbalance=np.array([0.0, np.nan])),
     r"imbalanced_mode: mode_imbalance must be finite \(no NaN or inf\), got nan at index \(1,\)"),
    (dict(init_scale=np.inf), r"imbalanced_mode: init_scale must be finite"),
    (dict(t=np.ones(3), target_strength=np.ones(2)),
     r"imbalanced_mode: the shapes of t \(3,\), target_strength \(2,\)"),
])
def test_refuses_bad_inputs(changes, match):
    arguments = dict(t=1.0, target_strength=2.0, init_scale=0.01, mode_imbalance=0.5, input_variance=1.0,
                     tau=1.0) | changes
    with pytest.raises(LayerwiseError, match=match):
        imbalanced_mode(**arguments)


def test_checks_fail_loudly_under_vmap(raises_at_run_time):
    with raises_at_run_time("imbalanced_mode: input_variance must be finite and > 0"):
        jax.block_until_ready(jax.vmap(lambda v: imbalanced_mode(1.0, 2.0, 0.01, 0.5, v))(jnp.array([1.0, -1.0])))


def test_float32_is_refused():
    with pytest.raises(LayerwiseError, match=r"imbalanced_mode needs float64 .*: target_strength has dtype float32"):
        imbalanced_mode(1.0, np.float32(2.0), 0.01, 0.5)
    with jax.enable_x64(False):
        with pytest.raises(LayerwiseError, match=r"imbalanced_mode needs float64 .*jax_enable_x64 is off: call "
                                                 r"layerwise.enable_x64\(\)"):
            imbalanced_mode(1.0, 2.0, 0.01, 0.5)
