"""Diagonal linear networks: implicit bias (Woodworth, Azulay) and saddle-to-saddle (Pesme & Flammarion)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from layerwise.data import Task
from layerwise.errors import LayerwiseError
from layerwise.models import DiagonalLinearNetwork
from layerwise.theory import azulay_solution, saddle_to_saddle, woodworth_solution

X_ONE = np.array([[1.0, 0.5, 0.25]])  # theory.md §6a/b: one sample
Y_ONE = np.array([1.0])
# theory.md §6c: L = 1/2 (beta - beta*)^T H (beta - beta*), realised as 1/(2n) ||X beta - y||^2 with X^T X / n = H
HESSIAN = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 1.0]])
BETA_STAR = np.array([1.0, -0.6, 0.8])
X_CORR = np.sqrt(3.0) * np.linalg.cholesky(HESSIAN).T
Y_CORR = X_CORR @ BETA_STAR


def population_task(x, y):
    """The moments of (x, y): the engine then trains on exactly 1/(2n) ||x beta - y||^2."""
    n = x.shape[0]
    return Task.from_statistics(jnp.asarray(x.T @ x / n), jnp.asarray((y @ x / n)[None, :]), float(y @ y / n))


def random_problem(seed, n=3, d=8):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=n)


# ------------------------------------------------------------------------------------------------ implicit bias
@pytest.mark.parametrize(
    "alpha, expected",
    [
        (0.01, [0.994766, 0.009973, 0.000989]),
        (0.3, [0.848869, 0.248791, 0.106944]),
        (1.0, [0.765198, 0.376011, 0.187188]),
        (10.0, [0.761905, 0.380952, 0.190476]),
    ],
)
def test_woodworth_oracle(alpha, expected):
    np.testing.assert_allclose(woodworth_solution(X_ONE, Y_ONE, alpha), expected, rtol=0, atol=5e-7)


def test_azulay_oracle():
    u0, v0 = np.array([0.5, 0.1, 0.3]), np.array([0.1, 0.2, -0.05])
    np.testing.assert_allclose(azulay_solution(X_ONE, Y_ONE, u0**2 - v0**2, u0 * v0), [0.960718, 0.072891, 0.011344],
                               rtol=0, atol=5e-7)


def test_woodworth_minimises_its_potential():
    # w_inf = argmin_{Xw = y} Q_alpha(w), Q_alpha = alpha^2 sum q(w/alpha^2), q(z) = 2 - sqrt(4 + z^2) + z arsinh(z/2)
    x, y = random_problem(0)
    alpha = 0.4
    w = np.asarray(woodworth_solution(x, y, alpha))
    np.testing.assert_allclose(x @ w, y, atol=1e-12)

    def potential(v):
        z = v / alpha**2
        return alpha**2 * np.sum(2.0 - np.sqrt(4.0 + z**2) + z * np.arcsinh(z / 2.0))

    reference = minimize(potential, np.linalg.pinv(x) @ y, constraints={"type": "eq", "fun": lambda v: x @ v - y},
                         method="SLSQP", options={"ftol": 1e-14, "maxiter": 1000})
    assert potential(w) <= reference.fun + 1e-10
    np.testing.assert_allclose(w, reference.x, atol=1e-5)


def test_woodworth_limits_are_l2_and_l1():
    # alpha -> inf: the min-l2 interpolator (kernel regime); alpha -> 0: the min-l1 interpolator (rich regime),
    # approached like 1/ln(1/alpha)
    x, y = random_problem(1)
    l2 = np.linalg.pinv(x) @ y
    gaps = [np.linalg.norm(np.asarray(woodworth_solution(x, y, a)) - l2) for a in (10.0, 100.0)]
    assert gaps[1] < 1e-3 * np.linalg.norm(l2) and gaps[1] < gaps[0] / 50  # O(alpha^-2)
    l1 = linprog(np.ones(2 * x.shape[1]), A_eq=np.hstack([x, -x]), b_eq=y, bounds=(0, None)).fun
    excess = [np.abs(np.asarray(woodworth_solution(x, y, a))).sum() - l1 for a in (1e-2, 1e-4, 1e-8)]
    assert np.all(np.diff(excess) < 0) and excess[-1] < 0.2 * excess[0]


def test_woodworth_matches_gradient_flow(engine):
    """The engine's flow on w = u * v from u = 2 alpha, v = 0 (Woodworth's u_± = alpha) ends at woodworth_solution."""
    alphas = np.array([2.0, 0.5, 0.2, 0.1])
    task = engine.stack_tasks([population_task(X_ONE, Y_ONE)] * engine.runs)
    params = jnp.asarray(np.stack([np.stack([np.full(3, 2.0 * a), np.zeros(3)]) for a in alphas]))
    times = np.linspace(0.0, 80.0, engine.times)  # the loss is ~1e-30 by then
    history = engine.flow(DiagonalLinearNetwork(dim=3, depth=2), params, task, times, engine.end_to_end,
                          task_batched=True)
    final = history["W"].values[:, -1, 0, :]
    for run, alpha in enumerate(alphas):
        np.testing.assert_allclose(final[run], woodworth_solution(X_ONE, Y_ONE, alpha), rtol=1e-8)


# -------------------------------------------------------------------------------------------- saddle to saddle
def test_orthogonal_design_jumps_at_inverse_targets():
    # L = 1/2 ||beta - beta*||^2: coordinate i activates at t~ = 1 / |beta*_i| and jumps straight to beta*_i
    beta_star = np.array([2.0, 1.0, 0.5])
    path = saddle_to_saddle(np.sqrt(3.0) * np.eye(3), np.sqrt(3.0) * beta_star)
    np.testing.assert_allclose(path.jump_times, [0.5, 1.0, 2.0], rtol=1e-14)
    np.testing.assert_allclose(path.plateaus, [[2.0, 0, 0], [2.0, 1.0, 0], [2.0, 1.0, 0.5]], atol=1e-14)
    np.testing.assert_allclose(path.at([0.1, 0.7, 5.0]), [[0, 0, 0], [2.0, 0, 0], beta_star], atol=1e-14)


def test_correlated_design_oracle():
    # theory.md §6c: jumps at 1.6129 (= 1/0.62), 1.9231, 12.963; plateaus (0,0,0.62), (0.52,0,0.62), (1,-0.6,0.8)
    path = saddle_to_saddle(X_CORR, Y_CORR)
    np.testing.assert_allclose(path.jump_times, [1 / 0.62, 1.9231, 12.963], rtol=5e-5)
    np.testing.assert_allclose(path.plateaus, [[0, 0, 0.62], [0.52, 0, 0.62], BETA_STAR], atol=1e-12)


def test_final_plateau_is_the_min_l1_interpolator():
    x, y = random_problem(2, n=4, d=10)
    path = saddle_to_saddle(x, y)
    l1 = linprog(np.ones(20), A_eq=np.hstack([x, -x]), b_eq=y, bounds=(0, None)).fun
    np.testing.assert_allclose(x @ path.plateaus[-1], y, atol=1e-10)
    assert np.abs(path.plateaus[-1]).sum() == pytest.approx(l1, rel=1e-9)
    assert np.all(np.diff(path.jump_times) > 0)


def test_small_initialisation_flow_approaches_the_limit(engine):
    """Gradient flow from u = sqrt(2) alpha, v = 0 sampled mid-plateau at t = t~ ln(1/alpha): the deviation from the
    saddle-to-saddle limit is O(1 / ln(1/alpha)) (<= 1.2 / ln(1/alpha) measured) and shrinks as alpha -> 0.

    alpha stops at 1e-8: in float64, u and v of a coordinate that must later change sign differ by ~alpha^1.6 |u|
    on the way, which drops below the resolution of u for alpha <~ 1e-10 (the flow then misses the last jump).
    """
    alphas = np.array([1e-2, 1e-4, 1e-6, 1e-8])
    path = saddle_to_saddle(X_CORR, Y_CORR)
    middles = np.array([0.5 * (path.jump_times[0] + path.jump_times[1]),
                        0.5 * (path.jump_times[1] + path.jump_times[2]), 1.5 * path.jump_times[2]])
    raw = np.sort(np.outer(np.log(1.0 / alphas), middles).ravel())
    times = np.concatenate([[0.0], raw, raw[-1] + np.arange(1, engine.times - raw.size)])
    task = engine.stack_tasks([population_task(X_CORR, Y_CORR)] * engine.runs)
    params = jnp.asarray(np.stack([np.stack([np.full(3, np.sqrt(2.0) * a), np.zeros(3)]) for a in alphas]))
    history = engine.flow(DiagonalLinearNetwork(dim=3, depth=2), params, task, times, engine.end_to_end,
                          task_batched=True)
    errors = []
    for run, alpha in enumerate(alphas):
        index = np.searchsorted(times, np.log(1.0 / alpha) * middles)
        simulated = history["W"].values[run, index, 0, :]
        errors.append(np.max(np.abs(simulated - path.at(middles))))
    errors = np.asarray(errors)
    assert np.all(errors <= 1.2 / np.log(1.0 / alphas)), errors
    assert np.all(np.diff(errors) < 0), errors


# -------------------------------------------------------------------------------------------------- boundary checks
@pytest.mark.parametrize("arguments, match", [
    ((X_ONE[0], Y_ONE, 0.3), r"woodworth_solution: X must have shape \(n, d\), got shape \(3,\)"),
    ((X_ONE, np.ones(2), 0.3), r"woodworth_solution: y must have shape \(n,\) = \(1,\) from X \(n, d\), got "
                               r"shape \(2,\)"),
    ((X_ONE, Y_ONE, 0.0), "woodworth_solution: alpha must be finite and > 0, got 0.0"),
    ((X_ONE, Y_ONE, np.ones(3)), r"woodworth_solution: alpha must have shape \(\) \(a scalar\)"),
    ((X_ONE, np.array([np.nan]), 0.3), r"woodworth_solution: y must be finite \(no NaN or inf\), got nan"),
])
def test_woodworth_refuses_bad_inputs(arguments, match):
    with pytest.raises(LayerwiseError, match=match):
        woodworth_solution(*arguments)


def test_azulay_refuses_bad_inputs(raises_at_run_time):
    with pytest.raises(LayerwiseError, match=r"azulay_solution: mode_imbalance must be finite and non-zero "
                                             r"\(delta = u0\^2 - v0\^2\), got 0.0 at index \(1,\)"):
        azulay_solution(X_ONE, Y_ONE, np.array([0.2, 0.0, 0.1]), np.zeros(3))
    with pytest.raises(LayerwiseError, match=r"azulay_solution: init_scale must have shape \(d,\) = \(3,\) from X"):
        azulay_solution(X_ONE, Y_ONE, np.ones(3), np.zeros(2))
    with raises_at_run_time("azulay_solution: mode_imbalance must be finite and non-zero"):
        jax.block_until_ready(jax.vmap(lambda c: azulay_solution(X_ONE, Y_ONE, c, jnp.zeros(3)))(
            jnp.array([[1.0, 1.0, 1.0], [1.0, jnp.nan, 1.0]])))


def test_an_infeasible_interpolation_is_reported():
    # X w = y has no solution: the dual diverges; the result is refused instead of returned
    x, y = np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 2.0])
    with pytest.raises(LayerwiseError, match="woodworth_solution: the dual solve did not reach an interpolator"):
        woodworth_solution(x, y, 0.5)


def test_float32_is_refused():
    with pytest.raises(LayerwiseError, match=r"woodworth_solution needs float64 .*: X has dtype float32"):
        woodworth_solution(X_ONE.astype(np.float32), Y_ONE, 0.3)
    with jax.enable_x64(False):
        with pytest.raises(LayerwiseError, match="azulay_solution needs float64 .*jax_enable_x64 is off"):
            azulay_solution(X_ONE, Y_ONE, np.ones(3), np.zeros(3))
        # saddle_to_saddle always runs in numpy float64
        path = saddle_to_saddle(np.sqrt(3.0) * np.eye(3), np.sqrt(3.0) * np.array([2.0, 1.0, 0.5]))
    np.testing.assert_allclose(path.jump_times, [0.5, 1.0, 2.0], rtol=1e-14)


@pytest.mark.parametrize("arguments, match", [
    (dict(X=np.ones(3), y=np.ones(3)), r"X must have shape \(n, d\), got shape \(3,\)"),
    (dict(X=np.ones((2, 3)), y=np.ones(3)), "y must have n = 2 entries"),
    (dict(X=np.full((2, 3), np.inf), y=np.ones(2)), r"X must be finite \(no NaN or inf\)"),
    (dict(X=np.eye(2), y=np.ones(2), tol=0.0), "tol must be finite and > 0"),
    (dict(X=np.eye(2), y=np.ones(2), max_jumps=0), "max_jumps must be an integer >= 1"),
])
def test_saddle_to_saddle_refuses_bad_inputs(arguments, match):
    with pytest.raises(LayerwiseError, match="saddle_to_saddle: " + match):
        saddle_to_saddle(**arguments)


def test_woodworth_fails_loudly_under_vmap(raises_at_run_time):
    with raises_at_run_time("woodworth_solution: alpha must be finite and > 0"):
        jax.block_until_ready(jax.vmap(lambda a: woodworth_solution(X_ONE, Y_ONE, a))(jnp.array([0.3, -0.3])))
