"""Balanced deep linear modes (Saxe et al. 2014): oracles, limits, an independent ODE oracle, and the engine."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from layerwise.compare import compare
from layerwise.data import Task, diagonal_task, random_orthogonal
from layerwise.errors import LayerwiseError
from layerwise.models import DeepLinearNetwork, DiagonalLinearNetwork
from layerwise.theory import learning_time, saxe_mode


# ------------------------------------------------------------------------------------------------ theory.md oracles
def test_depth_two_oracle_values():
    # theory.md §1: s = 3, u0 = 1e-3, tau = 1; u = s e^{2st} / (e^{2st} - 1 + s/u0)
    times = jnp.array([0.5, 1.0, 2.0, 3.0])
    expected = np.array([0.0199585636, 0.3557124789, 2.9457206986, 2.9998629821])
    np.testing.assert_allclose(saxe_mode(times, 3.0, 1e-3), expected, rtol=0, atol=5e-11)  # 10 decimals


def test_depth_two_learning_times_oracle():
    # t_half = ln(2999) / 6 and t(u0 -> 0.99 s) = 2.1001923381 (theory.md §1)
    np.testing.assert_allclose(learning_time(3.0, 1e-3), np.log(2999.0) / 6.0, rtol=1e-14)
    np.testing.assert_allclose(learning_time(3.0, 1e-3, 0.99), 2.1001923381, rtol=1e-10)


@pytest.mark.parametrize("depth, expected", [(2, 1.90010058), (3, 4.66132754), (4, 7.80754695)])
def test_depth_learning_time_oracle(depth, expected):
    # time to reach s/2 from u0 = 1e-3 with s = 2 (theory.md §1, "depth D")
    np.testing.assert_allclose(learning_time(2.0, 1e-3, 0.5, depth=depth), expected, rtol=2e-9)


@pytest.mark.parametrize("depth", [3, 4])
def test_deep_plateau_is_a_power_of_the_initial_scale(depth):
    # t ~ tau / ((L - 2) s u0^{(L-2)/L}) as u0 -> 0: a power of 1/u0, not a logarithm
    s, u0 = 2.0, 1e-12
    leading = 1.0 / ((depth - 2) * s * u0 ** ((depth - 2) / depth))
    assert abs(learning_time(s, u0, 0.5, depth=depth) / leading - 1.0) < 1e-3


# ---------------------------------------------------------------------------------------------------------- limits
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("u0", [1e-9, 0.3, 2.5, 40.0])
def test_starts_at_u0_and_converges_to_s(depth, u0):
    s = 1.7
    assert float(saxe_mode(0.0, s, u0, depth=depth)) == pytest.approx(u0, rel=1e-15)
    late = learning_time(s, u0, 1 + 1e-12 if u0 > s else 1 - 1e-12, depth=depth)
    assert float(saxe_mode(2.0 * late, s, u0, depth=depth)) == pytest.approx(s, rel=1e-15)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_learning_time_inverts_the_mode(depth):
    # u(t(f)) = f s, for f on the plateau, at half-way and near convergence, from below and from above
    s, tau = 0.8, 2.5
    for u0, fractions in ((1e-6, [1e-5, 0.5, 0.999999]), (3.0, [2.0, 1.5, 1.000001])):
        t = learning_time(s, u0, jnp.array(fractions), depth=depth, tau=tau)
        np.testing.assert_allclose(saxe_mode(t, s, u0, depth=depth, tau=tau) / s, fractions, rtol=1e-11)


def test_small_target_and_tau():
    # s -> 0 (depth 2): tau u' = -2 u^2, u = u0 / (1 + 2 u0 t / tau); tau rescales time exactly
    assert float(saxe_mode(3.0, 0.0, 0.5, tau=2.0)) == pytest.approx(0.5 / (1 + 1.5), rel=1e-15)
    assert float(saxe_mode(3.0, 1e-300, 0.5, tau=2.0)) == pytest.approx(0.5 / (1 + 1.5), rel=1e-15)
    for depth in (2, 3):
        np.testing.assert_allclose(saxe_mode(6.0, 1.3, 0.01, depth, tau=2.0), saxe_mode(3.0, 1.3, 0.01, depth))


@pytest.mark.parametrize("depth", [3, 6])  # odd and even L (the root omega = -1 of a^L = 1)
def test_matches_an_independent_ode_solution(depth):
    # tau u' = L u^{2-2/L} (s - u), integrated by scipy in log u (full relative accuracy from u0 = 1e-10 upwards)
    s = 1.5
    for u0 in (1e-10, 0.2, 4.0):
        end = float(learning_time(s, u0, 1 - 1e-6 if u0 < s else 1 + 1e-6, depth=depth))
        times = np.linspace(0.0, end, 60)

        def field(t, log_u):
            u = np.exp(log_u)
            return depth * u ** (1 - 2 / depth) * (s - u)

        reference = np.exp(
            solve_ivp(field, (0, end), np.log([u0]), t_eval=times, method="DOP853", rtol=1e-13, atol=1e-14).y[0]
        )
        np.testing.assert_allclose(saxe_mode(times, s, u0, depth=depth), reference, rtol=1e-9)


def test_deep_mode_is_the_same_in_every_batch_size():
    # Regression: with 24 Newton iterations some compiled batch sizes (2, 3, 5) stopped 7e-7 short of the root that
    # batch sizes 1, 4, 8 and scalars reached (the bisection fallback had too few halvings). Reference: scipy ODE.
    t, s, u0 = 0.031834011574345414, 2.6107299344986243, 5.526835831563622
    reference = solve_ivp(lambda _, u: 3 * u ** (4 / 3) * (s - u), (0, t), [u0], method="DOP853", rtol=1e-13,
                          atol=1e-14).y[0, -1]
    for n in (1, 2, 3, 5, 8):
        values = saxe_mode(np.full(n, t), np.full(n, s), np.full(n, u0), depth=3)
        np.testing.assert_allclose(values, reference, rtol=1e-11)


# ---------------------------------------------------------------------------------------- against the engine's flow
@pytest.mark.parametrize("depth", [2, 3, pytest.param(4, marks=pytest.mark.slow)])
@settings(max_examples=4, deadline=None, derandomize=True)
@given(data=st.data())
def test_mode_matches_gradient_flow(engine, depth, data):
    """Every coordinate of a balanced diagonal net follows saxe_mode to 1e-8 relative error over the trajectory."""
    runs, dim = engine.runs, 3
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    s = rng.uniform(0.3, 3.0, size=(runs, dim))
    # initial strengths from far below s (long plateau) to above s (decay onto s)
    log_ratio = data.draw(st.floats(-6.0, -1.0), label="log10 u0/s")
    ratio = 10.0 ** rng.uniform(log_ratio, -0.3, size=(runs, dim))
    ratio[:, -1] = rng.uniform(1.2, 3.0, size=runs)
    u0 = ratio * s
    horizon = float(np.max(learning_time(s, u0, np.where(u0 < s, 0.999, 1.001), depth=depth)))
    times = np.linspace(0.0, 1.2 * horizon, engine.times)
    model = DiagonalLinearNetwork(dim=dim, depth=depth)
    params = jnp.asarray(np.broadcast_to((u0 ** (1.0 / depth))[:, None, :], (runs, depth, dim)))
    task = engine.stack_tasks([diagonal_task(s_run) for s_run in s])  # one target per run
    history = engine.flow(model, params, task, times, engine.end_to_end, task_batched=True)
    theory = saxe_mode(times[None, :, None], s[:, None, :], u0[:, None, :], depth=depth)
    result = compare(theory[..., None, :], history["W"], rtol=1e-8)
    assert result.passed, str(result)


def test_aligned_deep_linear_network_modes(engine):
    """theory.md §1: W1 = R diag(a) V^T, W2 = U diag(a) R^T; each u_alpha = u_alpha^T W2 W1 v_alpha follows the
    scalar law (d, h, m) = (3, 2, 3): the two modes the hidden layer can hold, with s = (3, 1)."""
    s = jnp.array([3.0, 1.0])
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    u, v, r = random_orthogonal(keys[0], 3), random_orthogonal(keys[1], 3), random_orthogonal(keys[2], 2)
    target = (u[:, :2] * s) @ v[:, :2].T + 0.5 * jnp.outer(u[:, 2], v[:, 2])  # Sigma_yx = U diag(3, 1, 0.5) V^T
    task = Task.from_statistics(jnp.eye(3), target, jnp.sum(target**2))
    u0 = 1e-3 * jnp.array([1.0, 0.5, 2.0, 0.1])  # one initial strength per run, the same for both modes
    a0 = jnp.sqrt(u0)[:, None, None]
    params = (a0 * (r @ v[:, :2].T)[None], a0 * (u[:, :2] @ r.T)[None])
    times = np.linspace(0.0, 10.0, engine.times)
    history = engine.flow(DeepLinearNetwork((3, 2, 3)), params, task, times, engine.layers)
    product = jnp.einsum("rtmh,rthd->rtmd", history["W2"].values, history["W1"].values)
    modes = jnp.einsum("ma,rtmd,da->rta", u[:, :2], product, v[:, :2])
    theory = saxe_mode(times[None, :, None], s[None, None, :], u0[:, None, None])
    np.testing.assert_allclose(modes, theory, rtol=1e-8)
    # oracle: u(1) = (0.35571248, 0.05317316, 0.00734215) for s = (3, 2, 1), u0 = 1e-3
    np.testing.assert_allclose(saxe_mode(1.0, jnp.array([3.0, 2.0, 1.0]), 1e-3), [0.35571248, 0.05317316, 0.00734215],
                               rtol=0, atol=5e-9)


@pytest.mark.slow
def test_aligned_three_layer_network_modes(engine):
    """Depth 3 (W3 W2 W1, hidden widths 2): balanced aligned layers R_l diag(a) R_{l-1}^T give u = a^3 per mode,
    and each mode follows saxe_mode(depth=3)."""
    s = jnp.array([2.0, 0.7])
    keys = jax.random.split(jax.random.PRNGKey(5), 4)
    u, v = random_orthogonal(keys[0], 3), random_orthogonal(keys[1], 3)
    r1, r2 = random_orthogonal(keys[2], 2), random_orthogonal(keys[3], 2)
    task = Task.from_statistics(jnp.eye(3), (u[:, :2] * s) @ v[:, :2].T, jnp.sum(s**2))
    u0 = jnp.array([1e-2, 3e-3, 0.05, 0.2])
    a0 = (u0 ** (1.0 / 3.0))[:, None, None]
    params = (a0 * (r1 @ v[:, :2].T)[None], a0 * (r2 @ r1.T)[None], a0 * (u[:, :2] @ r2.T)[None])
    times = np.linspace(0.0, 1.2 * float(learning_time(0.7, 3e-3, 0.999, depth=3)), engine.times)
    history = engine.flow(DeepLinearNetwork((3, 2, 2, 3)), params, task, times, engine.end_to_end)
    modes = jnp.einsum("ma,rtmd,da->rta", u[:, :2], jnp.asarray(history["W"].values), v[:, :2])
    np.testing.assert_allclose(modes, saxe_mode(times[None, :, None], s, u0[:, None, None], depth=3), rtol=1e-8)


# -------------------------------------------------------------------------------------------------- boundary checks
@pytest.mark.parametrize("changes, match", [
    (dict(init_scale=-0.1), r"saxe_mode: init_scale must be finite and >= 0 \(balanced depth 2: u0 = a0\^2\), got -0.1"),
    (dict(init_scale=0.0, depth=3), "saxe_mode: init_scale must be finite and > 0 for depth 3"),
    (dict(init_scale=-0.5, depth=4), "saxe_mode: init_scale must be finite and > 0 for depth 4"),
    (dict(target_strength=-1.0, depth=3), "saxe_mode: target_strength must be finite and > 0 for depth 3"),
    (dict(target_strength=np.nan), r"saxe_mode: target_strength must be finite \(no NaN or inf\), got nan"),
    (dict(init_scale=np.array([0.1, np.inf])), r"saxe_mode: init_scale must be finite \(no NaN or inf\), got inf at index \(1,\)"),
    (dict(t=-1.0), "saxe_mode: t must be finite and >= 0"),
    (dict(tau=0.0), "saxe_mode: tau must be finite and > 0"),
    (dict(t=np.ones(3), init_scale=np.full(2, 0.1)), r"saxe_mode: the shapes of t \(3,\), target_strength \(\), init_scale \(2,\), tau \(\)"),
    (dict(depth=0), "saxe_mode: depth must be a Python int >= 1"),
    (dict(init_scale="0.1"), "saxe_mode: init_scale must be a numeric array"),
])
def test_saxe_mode_refuses_bad_inputs(changes, match):
    arguments = dict(t=1.0, target_strength=2.0, init_scale=0.1, depth=2, tau=1.0) | changes
    with pytest.raises(LayerwiseError, match=match):
        saxe_mode(**arguments)


def test_saxe_mode_allows_what_the_formulas_allow():
    assert float(saxe_mode(1.0, 2.0, 0.0)) == 0.0  # depth 2: u0 = 0 is the saddle
    assert float(saxe_mode(1.0, -1.0, 0.5)) < 0.5  # depth 2, s < 0: decays towards the saddle
    assert np.isfinite(float(saxe_mode(1.0, 2.0, -0.5, depth=1)))  # depth 1: linear regression, any sign


@pytest.mark.parametrize("changes, match", [
    (dict(target_strength=0.0), "learning_time: target_strength must be finite and > 0 for depth 2"),
    (dict(init_scale=-1e-3, depth=3), "learning_time: init_scale must be finite and > 0 for depth 3"),
    (dict(target_strength=0.0, depth=1), "learning_time: target_strength must be finite and non-zero"),
    (dict(fraction=np.nan), r"learning_time: fraction must be finite \(no NaN or inf\)"),
    (dict(tau=-1.0), "learning_time: tau must be finite and > 0"),
])
def test_learning_time_refuses_bad_inputs(changes, match):
    arguments = dict(target_strength=2.0, init_scale=1e-3, fraction=0.5, depth=2, tau=1.0) | changes
    with pytest.raises(LayerwiseError, match=match):
        learning_time(**arguments)


def test_checks_fail_loudly_under_jit_and_vmap(raises_at_run_time):
    strengths = jnp.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(jax.vmap(lambda u: saxe_mode(1.0, 2.0, u))(jnp.abs(strengths)),
                               saxe_mode(1.0, 2.0, jnp.abs(strengths)), rtol=1e-15)
    with raises_at_run_time(r"saxe_mode: init_scale must be finite and >= 0"):
        jax.block_until_ready(jax.vmap(lambda u: saxe_mode(1.0, 2.0, u))(strengths))
    with raises_at_run_time("saxe_mode: target_strength must be finite and > 0 for depth 3"):
        jax.block_until_ready(jax.jit(lambda s: saxe_mode(1.0, s, 0.1, depth=3))(jnp.array(-1.0)))
    with raises_at_run_time("learning_time: init_scale must be finite and > 0 for depth 2"):
        jax.block_until_ready(jax.jit(lambda u: learning_time(2.0, u))(jnp.array(0.0)))


def test_newton_that_does_not_converge_says_so(monkeypatch, raises_at_run_time):
    from layerwise.theory import saxe

    monkeypatch.setattr(saxe, "_NEWTON_ITERATIONS", 1)
    saxe._saxe_mode.clear_cache()
    try:
        with pytest.raises(LayerwiseError, match="saxe_mode: the Newton inversion of the depth-3 learning time did "
                                                 "not converge in 1 iterations"):
            saxe_mode(jnp.linspace(0.0, 5.0, 7), 1.5, 0.2, depth=3)
        with raises_at_run_time("the Newton inversion of the depth-3 learning time did not converge"):
            jax.block_until_ready(jax.jit(lambda t: saxe_mode(t, 1.5, 0.2, depth=3))(jnp.linspace(0.0, 5.0, 7)))
    finally:
        saxe._saxe_mode.clear_cache()


def test_float32_depth_two_follows_the_dtype_and_deep_modes_refuse():
    times = np.linspace(0.0, 3.0, 7, dtype=np.float32)
    reference = saxe_mode(times.astype(np.float64), 3.0, 1e-3)
    with jax.enable_x64(False):
        low = saxe_mode(times, 3.0, 1e-3)
        late = learning_time(np.float32(3.0), np.float32(1e-3))
        with pytest.raises(LayerwiseError, match=r"saxe_mode needs float64 \(depth >= 3.*\) but jax_enable_x64 is "
                                                 r"off: call layerwise.enable_x64\(\)"):
            saxe_mode(1.0, 2.0, 0.1, depth=3)
        with pytest.raises(LayerwiseError, match="learning_time needs float64"):
            learning_time(2.0, 1e-3, depth=4)
    assert low.dtype == jnp.float32
    np.testing.assert_allclose(low, reference, rtol=2e-5)
    np.testing.assert_allclose(late, np.log(2999.0) / 6.0, rtol=1e-5)
    with pytest.raises(LayerwiseError, match="saxe_mode needs float64 .*: init_scale has dtype float32"):
        saxe_mode(1.0, 2.0, np.float32(0.1), depth=3)  # x64 on, float32 input
