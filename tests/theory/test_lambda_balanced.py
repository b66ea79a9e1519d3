"""λ-balanced two-layer linear nets: theory.md §3-4 oracles, invariants, long times, and the engine's flow."""

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
from layerwise.theory import balance, kernel_distance, lambda_balanced_solution, ntk_two_layer

SIGMA = jnp.diag(jnp.array([2.0, 1.0]))
ORACLE_TIMES = jnp.array([0.0, 1.0, 2.0, 3.0, 4.0, 200.0])  # one grid for all 2x2 oracles (compiled once)
IN_DIM, HIDDEN, OUT_DIM = 3, 2, 3  # one shape for every test of the tracked hidden basis (compiled once)
GRID = 41


def rotation(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def sweep_init(lam):
    """theory.md §3-4 (b): W1 = R_0.4 diag(a) R_0.3^T, W2 = R_0.1 diag(b) R_0.4^T, lambda-balanced, not aligned."""
    if lam >= 0:
        a = np.full(2, 0.1)
        b = np.sqrt(a**2 + lam)
    else:
        b = np.full(2, 0.1)
        a = np.sqrt(b**2 - lam)
    return rotation(0.4) @ np.diag(a) @ rotation(0.3).T, rotation(0.1) @ np.diag(b) @ rotation(0.4).T


def _orthogonal(rng, dim):
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix, signs of R's diagonal fixed), drawn on the host."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diagonal(r))


def _normal(seed, shape):
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape))


def random_balanced_init(seed, in_dim, hidden, out_dim, lam, scale):
    """A λ-balanced init in general position: W2^T W2 - W1 W1^T = lam I, no alignment with anything.

    Drawn with NumPy on the host: the inputs of the closed form need no compiled programs of their own (each eager
    jnp op on a new shape would compile one)."""
    rng = np.random.default_rng(seed)
    if lam >= 0:  # needs hidden <= out_dim
        w1 = scale * rng.standard_normal((hidden, in_dim))
        evals, evecs = np.linalg.eigh(w1 @ w1.T + lam * np.eye(hidden))
        w2 = _orthogonal(rng, out_dim)[:, :hidden] @ (evecs * np.sqrt(evals)) @ evecs.T
    else:  # needs hidden <= in_dim
        w2 = scale * rng.standard_normal((out_dim, hidden))
        evals, evecs = np.linalg.eigh(w2.T @ w2 - lam * np.eye(hidden))
        w1 = (evecs * np.sqrt(evals)) @ evecs.T @ _orthogonal(rng, in_dim)[:hidden]
    return jnp.asarray(w1), jnp.asarray(w2)


# ------------------------------------------------------------------------------------------------ theory.md oracles
def test_non_aligned_zero_balanced_oracle():
    # theory.md §3-4 (a): W2 = R_0.7 W1^T, Sigma = diag(2, 1); W2 W1(t) to 6 decimals
    w1 = 0.1 * jnp.array([[1.0, 0.5], [0.0, 1.0]])
    w2 = rotation(0.7) @ w1.T
    w1t, w2t = lambda_balanced_solution(ORACLE_TIMES, w1, w2, SIGMA, hidden_basis="symmetric")  # gauge-invariant
    w1t, w2t = w1t[1:5], w2t[1:5]
    expected = [
        [[0.290035, 0.035233], [0.049100, 0.091347]],
        [[1.799888, 0.060277], [0.064276, 0.410157]],
        [[1.995781, 0.006916], [0.007171, 0.835890]],
        [[1.999922, 0.000403], [0.000416, 0.974113]],
    ]
    np.testing.assert_allclose(w2t @ w1t, expected, rtol=0, atol=5e-7)
    np.testing.assert_allclose(w1t[1].T @ w1t[1], [[1.800001, 0.061019], [0.061019, 0.410048]], rtol=0, atol=5e-7)


@pytest.mark.parametrize("lam, distance", [(0.0, 0.026671), (1.0, 0.021313), (-1.0, 0.021313), (9.0, 0.000272),
                                           (-9.0, 0.000272)])
def test_kernel_distance_sweep_oracle(lam, distance):
    # theory.md §3-4 (b): S(0, inf) of the NTK on whitened inputs (X = I); lazy (large |lambda|) kernels barely move
    w1, w2 = sweep_init(lam)
    w1t, w2t = lambda_balanced_solution(ORACLE_TIMES, w1, w2, SIGMA, hidden_basis="symmetric")
    w1t, w2t = w1t[jnp.array([0, 3, 5])], w2t[jnp.array([0, 3, 5])]  # t = 0, 3, 200
    kernels = ntk_two_layer(w1t, w2t, jnp.eye(2))
    assert float(kernel_distance(kernels[0], kernels[-1])) == pytest.approx(distance, abs=5e-7)
    function = {0.0: [[1.997533, 3.5e-5], [-3.5e-5, 0.801343]], 1.0: [[1.999954, 6e-6], [-6e-6, 0.997013]]}
    expected = function.get(abs(lam), SIGMA)
    np.testing.assert_allclose(w2t[1] @ w1t[1], expected, rtol=0, atol=5e-7 if abs(lam) < 9 else 1e-6)
    if lam == 9.0:  # converged representations: W1^T W1 = diag(0.4244, 0.1098), W2 W2^T = diag(9.4244, 9.1098)
        np.testing.assert_allclose(w1t[-1].T @ w1t[-1], jnp.diag(jnp.array([0.4244, 0.1098])), atol=5e-5)
        np.testing.assert_allclose(w2t[-1] @ w2t[-1].T, jnp.diag(jnp.array([9.4244, 9.1098])), atol=5e-5)


# ---------------------------------------------------------------------------------------------- invariants, limits
def test_balance_is_conserved_and_long_times_converge():
    # the flow conserves W2^T W2 - W1 W1^T = lam I; the semigroup stepping stays exact up to t = 1000
    w1, w2 = random_balanced_init(0, IN_DIM, HIDDEN, OUT_DIM, 0.7, 0.3)
    sigma = _normal(1, (OUT_DIM, IN_DIM))
    times = jnp.concatenate([jnp.linspace(0.0, 20.0, GRID - 2), jnp.array([100.0, 1000.0])])
    w1t, w2t = lambda_balanced_solution(times, w1, w2, sigma)
    np.testing.assert_allclose(balance(w1t, w2t), jnp.broadcast_to(0.7 * jnp.eye(HIDDEN), (GRID, HIDDEN, HIDDEN)),
                               atol=1e-12)
    # a rank-2 network converges to the best rank-2 approximation of Sigma_yx (Eckart-Young)
    u, s, vt = jnp.linalg.svd(sigma, full_matrices=False)
    np.testing.assert_allclose(w2t[-1] @ w1t[-1], (u[:, :HIDDEN] * s[:HIDDEN]) @ vt[:HIDDEN], atol=1e-12)
    assert np.all(np.isfinite(np.asarray(w1t))) and np.all(np.isfinite(np.asarray(w2t)))


def test_symmetric_basis_differs_only_by_a_hidden_rotation():
    # same function, representations and NTK; the weights differ by an orthogonal R: W1 -> R^T W1, W2 -> W2 R
    w1, w2 = random_balanced_init(2, IN_DIM, HIDDEN, OUT_DIM, 0.0, 0.5)
    sigma = _normal(3, (OUT_DIM, IN_DIM))
    times = jnp.linspace(0.0, 6.0, GRID)
    flow = lambda_balanced_solution(times, w1, w2, sigma)
    symmetric = lambda_balanced_solution(times, w1, w2, sigma, hidden_basis="symmetric")
    np.testing.assert_allclose(flow[1] @ flow[0], symmetric[1] @ symmetric[0], atol=1e-12)
    np.testing.assert_allclose(jnp.swapaxes(flow[0], 1, 2) @ flow[0], jnp.swapaxes(symmetric[0], 1, 2) @ symmetric[0],
                               atol=1e-12)
    hidden_rotation = jnp.linalg.lstsq(symmetric[1][-1], flow[1][-1])[0]  # W2_flow = W2_symmetric R
    np.testing.assert_allclose(hidden_rotation.T @ hidden_rotation, jnp.eye(HIDDEN), atol=1e-10)
    np.testing.assert_allclose(hidden_rotation.T @ symmetric[0][-1], flow[0][-1], atol=1e-10)
    # the rotation is real: for this non-aligned init the symmetric basis is not the flow's
    assert float(jnp.max(jnp.abs(flow[0][-1] - symmetric[0][-1]))) > 1e-3


def test_aligned_init_needs_no_hidden_rotation():
    # W1 = R diag(a) V^T, W2 = U diag(b) R^T with Sigma = U S V^T: A(t) commutes with A'(t), so M = A^{-1/2} exactly
    rng = np.random.default_rng(4)
    u, v, r = _orthogonal(rng, OUT_DIM), _orthogonal(rng, IN_DIM), _orthogonal(rng, HIDDEN)
    sigma = (u * np.array([3.0, 2.0, 0.5])) @ v.T
    a = np.array([0.3, 0.1])
    b = np.sqrt(a**2 + 0.4)
    w1, w2 = r @ np.diag(a) @ v[:, :HIDDEN].T, u[:, :HIDDEN] @ np.diag(b) @ r.T
    times = jnp.linspace(0.0, 5.0, GRID)
    flow = lambda_balanced_solution(times, w1, w2, sigma)
    symmetric = lambda_balanced_solution(times, w1, w2, sigma, hidden_basis="symmetric")
    np.testing.assert_allclose(flow[0], symmetric[0], atol=1e-11)


# ---------------------------------------------------------------------------------------- against the engine's flow

@settings(max_examples=4, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), lam=st.floats(-2.0, 2.0), scale=st.floats(0.03, 1.0),
       target_scale=st.floats(0.3, 3.0))
def test_weights_match_gradient_flow(engine, seed, lam, scale, target_scale):
    """W1(t) and W2(t) (not only W2 W1) of non-aligned λ-balanced inits match the flow to 1e-8 (Frobenius, relative)."""
    sigma = target_scale * _normal(seed, (OUT_DIM, IN_DIM))
    inits = [random_balanced_init([seed, run], IN_DIM, HIDDEN, OUT_DIM, lam, scale) for run in range(engine.runs)]
    params = tuple(jnp.stack(layer) for layer in zip(*inits))
    task = Task.from_statistics(jnp.eye(IN_DIM), sigma, jnp.sum(sigma**2))
    singular = jnp.linalg.svd(sigma, compute_uv=False)
    horizon = 2.0 * np.log(1e3 / scale**2) / float(singular[HIDDEN - 1])  # through every mode's transition
    times = np.linspace(0.0, horizon, engine.times)
    history = engine.flow(DeepLinearNetwork((IN_DIM, HIDDEN, OUT_DIM)), params, task, times, engine.layers)
    # one run at a time: the same compiled solver as the other tests (engine.times == GRID)
    w1t, w2t = (jnp.stack(layer) for layer in zip(*(lambda_balanced_solution(times, *init, sigma) for init in inits)))
    for name, theory in (("W1", w1t), ("W2", w2t)):
        dims = history[name].dims[2:]
        result = compare(theory, history[name], rtol=1e-8, norm_dims=dims, name=name)
        assert result.passed, str(result)


# -------------------------------------------------------------------------------------------------- boundary checks
def _small_init():
    """A 0-balanced non-square init: (h, d, m) = (2, 3, 4)."""
    return random_balanced_init(7, 3, 2, 4, 0.0, 0.3)


def test_refuses_a_transposed_cross_covariance():
    w1, w2 = _small_init()
    sigma = jnp.ones((4, 3))
    with pytest.raises(LayerwiseError, match=r"lambda_balanced_solution: Sigma_yx must have shape \(m, d\) = "
                                             r"\(4, 3\) .*got shape \(3, 4\) \(transposed\?"):
        lambda_balanced_solution(1.0, w1, w2, sigma.T, hidden_basis="symmetric")


def test_refuses_an_init_that_is_not_lambda_balanced():
    w1, w2 = _small_init()
    with pytest.raises(LayerwiseError, match=r"lambda_balanced_solution: \(W1_0, W2_0\) must be λ-balanced, "
                                             r"max\|W2_0\^T W2_0 - W1_0 W1_0\^T - lambda I\| / .* <= 1e-10, got 0.0"):
        lambda_balanced_solution(1.0, w1, 1.1 * w2, jnp.ones((4, 3)), hidden_basis="symmetric")
    # a rounding-level deviation is accepted (tolerance relative to the weights' scale)
    lambda_balanced_solution(1.0, w1, w2 * (1 + 1e-14), jnp.ones((4, 3)), hidden_basis="symmetric")


@pytest.mark.parametrize("changes, match", [
    (dict(W2_0=jnp.ones((4, 3))), r"W2_0 must have shape \(m, h\) with h = 2 .*got shape \(4, 3\)"),
    (dict(W1_0=jnp.ones(3)), r"W1_0 must have shape \(h, d\), got shape \(3,\)"),
    (dict(t=jnp.ones((2, 2))), r"t must have shape \(\) or \(T,\)"),
    (dict(t=jnp.array([0.0, 2.0, 1.0])), r"t must be non-decreasing, got 1.0 at index \(2,\)"),
    (dict(t=-1.0), "t must be finite and >= 0"),
    (dict(tau=0.0), "tau must be finite and > 0"),
    (dict(Sigma_yx=jnp.full((4, 3), jnp.nan)), r"Sigma_yx must be finite \(no NaN or inf\), got nan at index \(0, 0\)"),
    (dict(hidden_basis="rotated"), "hidden_basis must be one of gradient_flow, symmetric"),
])
def test_refuses_bad_inputs(changes, match):
    w1, w2 = _small_init()
    arguments = dict(t=1.0, W1_0=w1, W2_0=w2, Sigma_yx=jnp.ones((4, 3)), tau=1.0, hidden_basis="symmetric") | changes
    with pytest.raises(LayerwiseError, match="lambda_balanced_solution: " + match if "hidden" not in match else match):
        lambda_balanced_solution(**arguments)


def test_checks_fail_loudly_under_vmap(raises_at_run_time):
    w1, w2 = _small_init()
    w2s = jnp.stack([w2, 1.1 * w2])  # the second run is not balanced
    with raises_at_run_time(r"lambda_balanced_solution: \(W1_0, W2_0\) must be λ-balanced"):
        jax.block_until_ready(jax.vmap(lambda b: lambda_balanced_solution(
            jnp.linspace(0.0, 1.0, 3), w1, b, jnp.ones((4, 3)), hidden_basis="symmetric"))(w2s))


def test_a_failed_transport_solve_raises(monkeypatch):
    import layerwise.theory.lambda_balanced as module

    w1, w2 = random_balanced_init(8, 1, 1, 2, 0.5, 0.3)  # a shape no other test compiles
    monkeypatch.setattr(module, "_TRANSPORT_MAX_STEPS", 1)
    module._solve.clear_cache()
    try:
        with pytest.raises(LayerwiseError, match="lambda_balanced_solution: the diffrax solve of the hidden-basis "
                                                 "transport did not succeed"):
            lambda_balanced_solution(jnp.array([0.0, 1.0]), w1, w2, jnp.ones((2, 1)))
    finally:
        module._solve.clear_cache()


def test_float32_is_refused_and_balance_follows_the_dtype():
    w1, w2 = _small_init()
    with pytest.raises(LayerwiseError, match=r"lambda_balanced_solution needs float64 .*: W1_0 has dtype float32"):
        lambda_balanced_solution(1.0, w1.astype(jnp.float32), w2, jnp.ones((4, 3)), hidden_basis="symmetric")
    with jax.enable_x64(False):
        low = (w1.astype(jnp.float32), w2.astype(jnp.float32))
        with pytest.raises(LayerwiseError, match="lambda_balanced_solution needs float64 .* jax_enable_x64 is off"):
            lambda_balanced_solution(1.0, *low, jnp.ones((4, 3), jnp.float32), hidden_basis="symmetric")
        assert balance(*low).dtype == jnp.float32
    with pytest.raises(LayerwiseError, match=r"balance: W2 must have shape \(..., m, h\) with h = 2"):
        balance(w1, w2.T)


# ------------------------------------------------------------------- closed form at long times, against the flow
LONG_TIMES = np.concatenate([[0.0], np.geomspace(1e-2, 1e3, GRID - 1)])  # t up to 1e3 tau (tau = 1)


def _relative_frobenius(theory, reference):
    """Largest ||theory - reference||_F / ||reference||_F over runs and times; arrays (R, T, a, b)."""
    theory, reference = np.asarray(theory), np.asarray(reference)
    error = np.linalg.norm(theory - reference, axis=(-2, -1))
    return float(np.max(error / np.linalg.norm(reference, axis=(-2, -1))))


def _target(seed, in_dim, out_dim, rank):
    """A Sigma_yx (out_dim, in_dim) of the given rank, singular values 2.5 ... in random directions."""
    rng = np.random.default_rng(seed)
    s = np.linspace(2.5, 0.7, rank)
    return jnp.asarray((_orthogonal(rng, out_dim)[:, :rank] * s) @ _orthogonal(rng, in_dim)[:, :rank].T)


@pytest.mark.parametrize("lam, dims, rank", [
    (0.8, (3, 2, 4), 2),    # λ > 0, wider output than input
    (-0.8, (4, 2, 3), 2),   # λ < 0, wider input than output
    (0.0, (3, 2, 3), 1),    # λ = 0, rank-deficient Sigma_yx (rank 1 < h): zero eigenvalues of F, 1/t convergence
    (1.5, (2, 2, 4), 1),    # λ > 0, rank-deficient Sigma_yx, rectangular
])
def test_both_bases_match_the_flow_up_to_long_times(engine, lam, dims, rank):
    """Non-aligned λ-balanced inits of both signs of λ, λ = 0, rank-deficient Sigma_yx and rectangular widths,
    t in [0, 1e3 tau]: the closed form's W2 W1, W1^T W1, W2 W2^T ("symmetric") and W1, W2 ("gradient_flow") match
    the engine's flow (Dopri8, rtol 1e-12) to 1e-9 relative (Frobenius, per run and time)."""
    in_dim, hidden, out_dim = dims
    sigma = _target(11, in_dim, out_dim, rank)
    scales = (0.03, 0.1, 0.3, 1.0)[: engine.runs]
    inits = [random_balanced_init([11, run], in_dim, hidden, out_dim, lam, scale) for run, scale in enumerate(scales)]
    params = tuple(jnp.stack(layer) for layer in zip(*inits))
    task = Task.from_statistics(jnp.eye(in_dim), sigma, jnp.sum(sigma**2))
    history = engine.flow(DeepLinearNetwork(dims), params, task, LONG_TIMES, engine.layers)
    w1, w2 = history["W1"].values, history["W2"].values
    flow = [jnp.stack(layer) for layer in zip(*(lambda_balanced_solution(LONG_TIMES, *init, sigma)
                                                 for init in inits))]
    symmetric = [jnp.stack(layer) for layer in zip(*(lambda_balanced_solution(
        LONG_TIMES, *init, sigma, hidden_basis="symmetric") for init in inits))]
    assert _relative_frobenius(flow[0], w1) <= 1e-9 and _relative_frobenius(flow[1], w2) <= 1e-9
    s1, s2 = (np.asarray(a) for a in symmetric)
    assert _relative_frobenius(s2 @ s1, w2 @ w1) <= 1e-9
    assert _relative_frobenius(np.swapaxes(s1, -1, -2) @ s1, np.swapaxes(w1, -1, -2) @ w1) <= 1e-9
    assert _relative_frobenius(s2 @ np.swapaxes(s2, -1, -2), w2 @ np.swapaxes(w2, -1, -2)) <= 1e-9
    # the flow's balance is conserved exactly by the closed form, in both bases
    for basis in (flow, symmetric):
        np.testing.assert_allclose(balance(*basis), np.broadcast_to(lam * np.eye(hidden), balance(*basis).shape),
                                   atol=1e-12)


def test_very_long_times_converge_exactly():
    # t = 1e6 tau for the closed form (1e4 tau for the flow basis, whose ODE an explicit solver must step through):
    # finite, converged to the best rank-h approximation (Eckart-Young), and constant once converged
    w1, w2 = random_balanced_init(12, IN_DIM, HIDDEN, OUT_DIM, -0.5, 0.2)
    sigma = _normal(13, (OUT_DIM, IN_DIM))
    u, s, vt = jnp.linalg.svd(sigma, full_matrices=False)
    best = (u[:, :HIDDEN] * s[:HIDDEN]) @ vt[:HIDDEN]
    for basis, times in (("symmetric", jnp.array([0.0, 1e2, 1e3, 1e4, 1e5, 1e6])),
                         ("gradient_flow", jnp.array([0.0, 1e2, 1e3, 3e3, 1e4]))):
        w1t, w2t = lambda_balanced_solution(times, w1, w2, sigma, hidden_basis=basis)
        np.testing.assert_allclose(w2t[1:] @ w1t[1:], jnp.broadcast_to(best, (times.size - 1, OUT_DIM, IN_DIM)),
                                   atol=1e-12)
        np.testing.assert_allclose(w1t[2:], jnp.broadcast_to(w1t[1], w1t[2:].shape), atol=1e-11)


def test_symmetric_basis_depends_only_on_t():
    # each time is evaluated on its own: the weights at t = 3 do not depend on which other times are asked for
    w1, w2 = random_balanced_init(14, IN_DIM, HIDDEN, OUT_DIM, 0.3, 0.4)
    sigma = _normal(15, (OUT_DIM, IN_DIM))
    alone = lambda_balanced_solution(3.0, w1, w2, sigma, hidden_basis="symmetric")
    among = lambda_balanced_solution(jnp.linspace(0.0, 6.0, GRID), w1, w2, sigma, hidden_basis="symmetric")
    np.testing.assert_allclose(among[0][20], alone[0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(among[1][20], alone[1], rtol=0, atol=1e-14)


# ------------------------------------------------------ the two evaluations (factored over times, per-time ratios)
def _scipy_end_to_end(times, w1, w2, sigma):
    """W2 W1(t) from scipy's expm, independently of the library: P = e^{Fx} Q0 A^{-1} Q0^T e^{Fx},
    A = I + Q0^T G Q0, G = int_0^x e^{2Fs} ds (top-right block of expm([[2F, I], [0, 0]] x))."""
    import scipy.linalg

    w1, w2, sigma = (np.asarray(a) for a in (w1, w2, sigma))
    h, d = w1.shape
    lam = np.trace(w2.T @ w2 - w1 @ w1.T) / h
    m = sigma.shape[0]
    f = np.block([[-0.5 * lam * np.eye(d), sigma.T], [sigma, 0.5 * lam * np.eye(m)]])
    q0 = np.concatenate([w1.T, w2], axis=0)
    n = d + m
    out = []
    for x in np.asarray(times):
        grow = scipy.linalg.expm(f * x)
        augmented = scipy.linalg.expm(np.block([[2.0 * f, np.eye(n)], [np.zeros((n, n)), np.zeros((n, n))]]) * x)
        a = np.eye(h) + q0.T @ augmented[:n, n:] @ q0
        p = grow @ q0 @ np.linalg.solve(a, q0.T) @ grow
        out.append(p[d:, :d])
    return np.stack(out)


def test_factored_evaluation_matches_scipy_and_the_per_time_form():
    # the fast path (matrix products over all times, one h x h Cholesky and solve per time) against scipy's expm,
    # and equal to rounding to the per-time ratio form it replaces where both are valid
    import layerwise.theory.lambda_balanced as module

    w1, w2 = random_balanced_init(16, 4, 3, 5, 0.6, 0.2)
    sigma = _target(17, 4, 5, 3)
    # the unscaled reference loses ~cond(A) ~ e^{2 max(mu) t} digits: compared up to t = 2 only
    early = jnp.linspace(0.0, 2.0, 9)
    w1t, w2t = lambda_balanced_solution(early, w1, w2, sigma, hidden_basis="symmetric")
    assert _relative_frobenius(np.asarray(w2t @ w1t)[1:], _scipy_end_to_end(early, w1, w2, sigma)[1:]) <= 1e-11
    times = jnp.linspace(0.0, 8.0, 9)
    rng = np.random.default_rng(18)
    mu = np.sort(rng.uniform(-2.0, 2.0, 9))[::-1]
    trapezoid = np.tril(rng.standard_normal((9, 3)))
    hidden = _orthogonal(rng, 3)
    # each form as one compiled program (eagerly, each of their ~40 operations would compile on its own)
    factored = jax.jit(module._factored_coordinates)(times, mu, trapezoid, hidden)
    stable = jax.jit(module._stable_coordinates)(times, mu, trapezoid, hidden)
    np.testing.assert_allclose(factored, stable, rtol=0, atol=1e-13 * float(jnp.max(jnp.abs(stable))))


def test_a_batch_mixing_both_evaluations_equals_per_run_calls():
    # under vmap one evaluation serves the whole batch (the per-time form as soon as one run needs it): results
    # equal each run's own call, which here uses the factored form for the first run and the per-time one for the other
    w1a, w2a = random_balanced_init(21, 2, 2, 2, 0.0, 0.3)
    w1b, w2b = random_balanced_init(22, 2, 2, 2, 4.0, 0.3)
    sigma = jnp.diag(jnp.array([1.0, 0.5]))
    times = jnp.linspace(0.0, 100.0, 5)  # max|eig F| t: 100 (lambda = 0) and ~220 (lambda = 4)
    batched = jax.vmap(lambda a, b: lambda_balanced_solution(times, a, b, sigma, hidden_basis="symmetric"))(
        jnp.stack([w1a, w1b]), jnp.stack([w2a, w2b]))
    for run, init in enumerate(((w1a, w2a), (w1b, w2b))):
        single = lambda_balanced_solution(times, *init, sigma, hidden_basis="symmetric")
        for got, expected in zip(batched, single):
            np.testing.assert_allclose(got[run], expected, rtol=0, atol=1e-13)
