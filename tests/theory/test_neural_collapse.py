"""MSE unconstrained-features model with weight decay: the closed-form global minimiser (theory.md §8.6)."""

import numpy as np
import pytest
from scipy.optimize import minimize

import jax
import jax.numpy as jnp

from layerwise.errors import LayerwiseError
from layerwise.theory import ufm_collapse_factor, ufm_mse_minimizer

C, N_PER_CLASS, DIM, DECAY = 4, 25, 8, 5e-3  # theory.md §8.6 oracle: rho = 0.9


def objective_and_gradient(x, labels, lambda_w, lambda_h, dim, bias):
    """1/(2N) ||H W^T + 1 b^T - Y||^2 + lambda_W/2 ||W||^2 + lambda_H/2 ||H||^2 and its gradient (flat params)."""
    n, c = labels.shape
    w = x[: c * dim].reshape(c, dim)
    h = x[c * dim : c * dim + n * dim].reshape(n, dim)
    b = x[c * dim + n * dim :] if bias else np.zeros(c)
    residual = h @ w.T + b - labels
    value = 0.5 / n * np.sum(residual**2) + 0.5 * lambda_w * np.sum(w**2) + 0.5 * lambda_h * np.sum(h**2)
    grads = [residual.T @ h / n + lambda_w * w, residual @ w / n + lambda_h * h] + ([residual.mean(0)] if bias else [])
    return value, np.concatenate([g.ravel() for g in grads])


def flatten(minimizer, bias):
    parts = [np.asarray(minimizer.W), np.asarray(minimizer.H)] + ([np.asarray(minimizer.b)] if bias else [])
    return np.concatenate([p.ravel() for p in parts])


def test_oracle_without_bias_is_an_orthogonal_frame():
    m = ufm_mse_minimizer(N_PER_CLASS, C, DIM, DECAY, DECAY)
    assert float(m.rho) == pytest.approx(0.9, rel=1e-15)
    np.testing.assert_allclose(m.W @ m.W.T, 4.5 * np.eye(C), atol=1e-13)  # sqrt(lH/lW) rho sqrt(n) I
    labels = np.repeat(np.eye(C), N_PER_CLASS, axis=0)
    np.testing.assert_allclose(m.H @ m.W.T, 0.9 * labels, atol=1e-14)


def test_oracle_with_bias_is_a_simplex_etf():
    m = ufm_mse_minimizer(N_PER_CLASS, C, DIM, DECAY, DECAY, bias=True)
    np.testing.assert_allclose(m.b, 0.25 * np.ones(C), rtol=1e-15)
    gram = np.asarray(m.W @ m.W.T)
    np.testing.assert_allclose(np.diag(gram), 3.375, rtol=1e-13)
    np.testing.assert_allclose(gram[~np.eye(C, dtype=bool)], -1.125, rtol=1e-13)
    outputs = np.asarray(m.H @ m.W.T + m.b)
    np.testing.assert_allclose(outputs[np.arange(C * N_PER_CLASS), np.arange(C * N_PER_CLASS) // N_PER_CLASS], 0.925,
                               rtol=1e-13)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("lambda_w, lambda_h", [(5e-3, 5e-3), (1e-3, 2e-2)])
def test_is_a_global_minimum(bias, lambda_w, lambda_h):
    # stationary, and no lower value than L-BFGS finds from a random start (the landscape is benign: Zhou et al. 2022)
    labels = np.repeat(np.eye(C), N_PER_CLASS, axis=0)
    m = ufm_mse_minimizer(N_PER_CLASS, C, DIM, lambda_w, lambda_h, bias=bias)
    value, gradient = objective_and_gradient(flatten(m, bias), labels, lambda_w, lambda_h, DIM, bias)
    assert np.max(np.abs(gradient)) < 1e-13
    rng = np.random.default_rng(0)
    size = C * DIM + C * N_PER_CLASS * DIM + (C if bias else 0)
    best = minimize(objective_and_gradient, 0.1 * rng.normal(size=size), args=(labels, lambda_w, lambda_h, DIM, bias),
                    jac=True, method="L-BFGS-B", options={"maxiter": 20000, "gtol": 1e-12, "ftol": 1e-16}).fun
    assert value <= best + 1e-12
    assert value == pytest.approx(best, rel=1e-9)


def test_features_collapse_and_are_self_dual():
    m = ufm_mse_minimizer(N_PER_CLASS, C, DIM, 1e-3, 2e-2)
    h = np.asarray(m.H).reshape(C, N_PER_CLASS, DIM)
    np.testing.assert_allclose(h, np.broadcast_to(h[:, :1], h.shape), atol=1e-15)  # NC1: no within-class spread
    means, w = h[:, 0], np.asarray(m.W)
    np.testing.assert_allclose(means / np.linalg.norm(means), w / np.linalg.norm(w), atol=1e-14)  # NC3


def test_strong_decay_collapses_to_zero():
    # C sqrt(n lW lH) >= 1: the nuclear-norm penalty wins, rho = 0 and W = H = 0
    lam = 1.0 / (C * np.sqrt(N_PER_CLASS))
    assert float(ufm_collapse_factor(N_PER_CLASS, C, lam, lam)) == 0.0
    m = ufm_mse_minimizer(N_PER_CLASS, C, DIM, 2 * lam, 2 * lam)
    assert float(np.abs(m.W).max()) == 0.0 and float(np.abs(m.H).max()) == 0.0
    with pytest.raises(ValueError, match="feature_dim"):
        ufm_mse_minimizer(N_PER_CLASS, C, C - 1, DECAY, DECAY)


# -------------------------------------------------------------------------------------------------- boundary checks
@pytest.mark.parametrize("changes, match", [
    (dict(n_classes=0), "ufm_mse_minimizer: n_classes must be an integer >= 1, got 0"),
    (dict(n_per_class=2.5), "ufm_mse_minimizer: n_per_class must be an integer >= 1, got 2.5"),
    (dict(feature_dim=3), "feature_dim must be >= 4 for 4 classes"),
    (dict(lambda_W=0.0), "ufm_mse_minimizer: lambda_W must be finite and > 0, got 0.0"),
    (dict(lambda_H=np.nan), "ufm_mse_minimizer: lambda_H must be finite and > 0, got nan"),
    (dict(lambda_H=np.ones(2)), r"ufm_mse_minimizer: lambda_H must have shape \(\) \(a scalar\)"),
    (dict(bias=1), "ufm_mse_minimizer: bias must be a bool, got 1"),
])
def test_minimizer_refuses_bad_inputs(changes, match):
    arguments = dict(n_per_class=N_PER_CLASS, n_classes=C, feature_dim=DIM, lambda_W=DECAY, lambda_H=DECAY) | changes
    with pytest.raises(LayerwiseError, match=match):
        ufm_mse_minimizer(**arguments)


def test_collapse_factor_refuses_bad_inputs(raises_at_run_time):
    with pytest.raises(LayerwiseError, match=r"ufm_collapse_factor: lambda_W must be finite and > 0, got -1.0 at "):
        ufm_collapse_factor(N_PER_CLASS, C, np.array([1e-3, -1.0]), DECAY)
    with raises_at_run_time("ufm_collapse_factor: lambda_H must be finite and > 0"):
        decays = jnp.array([DECAY, 0.0])
        jax.block_until_ready(jax.vmap(lambda h: ufm_collapse_factor(N_PER_CLASS, C, DECAY, h))(decays))
    assert float(ufm_collapse_factor(np.int64(N_PER_CLASS), np.int64(C), DECAY, DECAY)) == pytest.approx(0.9)


def test_float32_follows_the_dtype():
    with jax.enable_x64(False):
        m = ufm_mse_minimizer(N_PER_CLASS, C, DIM, DECAY, DECAY)
    assert m.W.dtype == jnp.float32
    np.testing.assert_allclose(m.W @ m.W.T, 4.5 * np.eye(C), atol=1e-5)
