"""Single-neuron network with conserved imbalance delta (Kunin et al. 2024): oracles, invariants and the engine."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from layerwise.compare import compare
from layerwise.data import Task
from layerwise.errors import LayerwiseError
from layerwise.models import DeepLinearNetwork
from layerwise.theory import kunin_single_neuron

BETA_STAR = jnp.array([0.0, 1.0])


def start(beta0, delta):
    """(w0, a0 > 0) with a0 w0 = beta0 and a0^2 - |w0|^2 = delta (theory.md §5 reconstruction)."""
    a0 = jnp.sqrt(0.5 * (delta + jnp.sqrt(delta**2 + 4.0 * jnp.sum(beta0**2))))
    return beta0 / a0, a0


@pytest.mark.parametrize(
    "delta, times, betas, nu1",
    [
        (1.0, [1.0, 2.0], [[-0.036305, 0.738548], [-0.008504, 0.965713]], 0.530329757),
        (-1.0, [4.0, 8.0], [[-0.277239, 0.145435], [-0.154411, 0.959806]], 1.129153409),
        (4.0, [1.0], [[-0.001613, 0.986553]], None),
    ],
)
def test_trajectory_oracles(delta, times, betas, nu1):
    # theory.md §5 (a): beta* = (0, 1), beta0 = (-0.1, 0)
    w0, a0 = start(jnp.array([-0.1, 0.0]), delta)
    w, a = kunin_single_neuron(jnp.array(times), w0, a0, BETA_STAR)
    np.testing.assert_allclose(a[:, None] * w, betas, rtol=0, atol=5e-7)
    if nu1 is not None:  # nu = (w/a)^T beta* obeys nu' = s^2 - nu^2 - delta nu
        w1, a1 = kunin_single_neuron(1.0, w0, a0, BETA_STAR)
        assert float(w1 @ BETA_STAR / a1) == pytest.approx(nu1, abs=5e-10)
    w_inf, a_inf = kunin_single_neuron(1e3, w0, a0, BETA_STAR)
    # nu(inf) = (-delta + sqrt(delta^2 + 4 s^2)) / 2
    assert float(w_inf @ BETA_STAR / a_inf) == pytest.approx((-delta + np.sqrt(delta**2 + 4.0)) / 2, rel=1e-12)


def test_imbalance_is_conserved_and_the_target_is_reached():
    w0, a0 = jnp.array([0.3, -0.2, 0.05]), 0.1
    beta_star = jnp.array([1.0, 2.0, -0.5])
    w, a = kunin_single_neuron(jnp.linspace(0.0, 50.0, 101), w0, a0, beta_star)
    delta = a0**2 - jnp.sum(w0**2)
    np.testing.assert_allclose(a**2 - jnp.sum(w**2, axis=-1), delta, atol=1e-13)
    np.testing.assert_allclose(a[-1] * w[-1], beta_star, rtol=1e-13)


def test_one_hidden_unit_is_the_lambda_balanced_solution():
    # h = 1 networks are always lambda-balanced (lambda = delta) and have no hidden rotation
    from layerwise.theory import lambda_balanced_solution

    w0, a0 = jnp.array([0.3, -0.2, 0.05]), 0.4
    beta_star = jnp.array([1.0, 2.0, -0.5])
    times = jnp.linspace(0.0, 6.0, 7)
    w, a = kunin_single_neuron(times, w0, a0, beta_star)
    w1, w2 = lambda_balanced_solution(times, w0[None, :], jnp.array([[a0]]), beta_star[None, :],
                                      hidden_basis="symmetric")  # the same as "gradient_flow" for h = 1
    np.testing.assert_allclose(w, w1[:, 0, :], atol=1e-13)
    np.testing.assert_allclose(a, w2[:, 0, 0], atol=1e-13)


@settings(max_examples=4, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), delta=st.floats(-3.0, 3.0), log_scale=st.floats(-3.0, 0.0))
def test_matches_gradient_flow(engine, seed, delta, log_scale):
    """w(t) and a(t) from random (w0, a0) with a given delta match the flow to 1e-8 (relative, over the trajectory)."""
    dim = 3
    keys = jax.random.split(jax.random.PRNGKey(seed), engine.runs + 1)
    beta_star = jax.random.normal(keys[0], (dim,))
    betas = [10.0**log_scale * jax.random.normal(k, (dim,)) for k in keys[1:]]
    starts = [start(beta0, delta) for beta0 in betas]
    params = (jnp.stack([w0[None, :] for w0, _ in starts]), jnp.stack([a0.reshape(1, 1) for _, a0 in starts]))
    task = Task.from_statistics(jnp.eye(dim), beta_star[None, :], jnp.sum(beta_star**2))
    rate = np.sqrt(float(jnp.sum(beta_star**2)) + delta**2 / 4)
    times = np.linspace(0.0, 2.0 * np.log(1e3 / 10.0**log_scale) / rate + 5.0, engine.times)
    history = engine.flow(DeepLinearNetwork((dim, 1, 1)), params, task, times, engine.layers)
    w, a = (jnp.stack(arrays) for arrays in zip(*(kunin_single_neuron(times, w0, a0, beta_star) for w0, a0 in starts)))
    # the state q = (w, a) as one vector per (run, time), compared in relative norm (a may cross zero)
    simulated = xr.concat(
        [history["W1"].isel(W1_0=0).rename(W1_1="state"), history["W2"].isel(W2_0=0).rename(W2_1="state")], "state"
    )
    theory = np.concatenate([w, a[..., None]], axis=-1)
    result = compare(theory, simulated, rtol=1e-8, norm_dims=("state",))
    assert result.passed, str(result)


# -------------------------------------------------------------------------------------------------- boundary checks
@pytest.mark.parametrize("changes, match", [
    (dict(w0=np.ones((2, 2))), r"w0 must have shape \(d,\), got shape \(2, 2\)"),
    (dict(a0=np.ones(2)), r"a0 must have shape \(\) \(a scalar\), got shape \(2,\)"),
    (dict(beta_star=np.ones(3)), r"beta_star must have shape \(d,\) = \(2,\) like w0, got shape \(3,\)"),
    (dict(t=-1.0), "t must be finite and >= 0"),
    (dict(tau=0.0), "tau must be finite and > 0"),
    (dict(w0=np.array([0.1, np.nan])), r"w0 must be finite \(no NaN or inf\), got nan at index \(1,\)"),
    (dict(t=np.ones(3), tau=np.ones(2)), r"the shapes of t \(3,\), tau \(2,\) do not broadcast"),
])
def test_refuses_bad_inputs(changes, match):
    arguments = dict(t=1.0, w0=np.array([0.1, -0.2]), a0=0.5, beta_star=np.array([1.0, 0.5]), tau=1.0) | changes
    with pytest.raises(LayerwiseError, match="kunin_single_neuron: " + match):
        kunin_single_neuron(**arguments)


def test_checks_fail_loudly_under_vmap(raises_at_run_time):
    with raises_at_run_time(r"kunin_single_neuron: a0 must be finite \(no NaN or inf\)"):
        jax.block_until_ready(jax.vmap(lambda a: kunin_single_neuron(1.0, jnp.array([0.1, -0.2]), a,
                                                                     jnp.array([1.0, 0.5])))(jnp.array([0.5, jnp.nan])))


def test_float32_is_refused():
    with pytest.raises(LayerwiseError, match=r"kunin_single_neuron needs float64 .*: w0 has dtype float32"):
        kunin_single_neuron(1.0, np.array([0.1, -0.2], np.float32), 0.5, np.array([1.0, 0.5]))
    with jax.enable_x64(False):
        with pytest.raises(LayerwiseError, match="kunin_single_neuron needs float64 .*jax_enable_x64 is off"):
            kunin_single_neuron(1.0, np.array([0.1, -0.2], np.float32), 0.5, np.array([1.0, 0.5], np.float32))
