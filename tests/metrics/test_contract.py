"""Contract suite over every public metric: each is compared with an independent plain-numpy computation (loops and
textbook formulas, written here without the library) on random inputs from fixed seeds, in float64 to 1e-10.
A new metric in `layerwise.metrics.__all__` fails `test_every_metric_has_a_reference` until it gets one here."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import data, metrics
from layerwise.models import MLP, DeepLinearNetwork, DiagonalLinearNetwork

RNG = np.random.default_rng(7)
N, D, C = 30, 5, 4
FEATURES = RNG.normal(size=(N, D))
LABELS = np.arange(N) % C
CLASSIFIER = RNG.normal(size=(C, D))
BIAS = RNG.normal(size=C)
DEEP = DeepLinearNetwork(widths=(4, 3, 3, 2))
DEEP_PARAMS = DEEP.init(jax.random.PRNGKey(0), 0.8)
DIAGONAL = DiagonalLinearNetwork(dim=3, depth=3)
DIAGONAL_PARAMS = DIAGONAL.init(jax.random.PRNGKey(1), 0.8)


def _means(h, y):
    return np.stack([h[y == c].mean(axis=0) for c in range(C)])


def _nc1(h, y):
    mu = _means(h, y)
    centred = mu - mu.mean(axis=0)
    within = sum(np.outer(h[i] - mu[y[i]], h[i] - mu[y[i]]) for i in range(N)) / N
    between = centred.T @ centred / C
    return np.trace(within @ np.linalg.pinv(between, rcond=1e-12)) / C


def _gram_distance(v, target):
    g = v @ v.T
    return np.linalg.norm(g / np.linalg.norm(g) - target)


def _equiangularity(v):
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    k = len(v)
    return sum(abs(u[a] @ u[b] + 1 / (k - 1)) for a in range(k) for b in range(k) if a != b) / (k * (k - 1))


def _ncc(h, w, b, mu):
    return np.mean([np.argmax(w @ x + b) != np.argmin([np.sum((x - m) ** 2) for m in mu]) for x in h])


def _crossing(t, v, level):
    for j in range(len(v)):
        if v[j] >= level:
            return t[0] if j == 0 else t[j - 1] + (level - v[j - 1]) / (v[j] - v[j - 1]) * (t[j] - t[j - 1])
    return np.nan


def _gram_columns(w):
    """``W^T W`` by loops over entries."""
    w = np.asarray(w)
    return np.array([[sum(w[k, i] * w[k, j] for k in range(w.shape[0])) for j in range(w.shape[1])]
                     for i in range(w.shape[1])])


def _gram_rows(w):
    """``W W^T`` by loops over entries."""
    return _gram_columns(np.asarray(w).T)


def _product(params):
    w = np.eye(params[0].shape[1])
    for layer in params:
        w = np.asarray(layer) @ w
    return w


def _ntk_two_layer(w1, w2, x):
    # K[(i,a),(j,b)] = d f_a(x_i)/d theta . d f_b(x_j)/d theta for f = W2 W1 x, by finite-free calculus:
    # d f_a / d W2[a', h] = delta_aa' (W1 x)_h ; d f_a / d W1[h, k] = W2[a, h] x_k.
    n, m = x.shape[0], w2.shape[0]
    k = np.zeros((n, m, n, m))
    hidden = x @ w1.T
    for i in range(n):
        for j in range(n):
            k[i, :, j, :] = np.eye(m) * (hidden[i] @ hidden[j]) + (x[i] @ x[j]) * (w2 @ w2.T)
    return k.reshape(n * m, n * m)


def _calibrated(row, shape):
    logs = [np.log(c / s) for c, s in zip(row, shape) if np.isfinite(c)]
    return np.exp(sum(logs) / len(logs)) if logs else np.nan


def _windows(shape):
    logs = np.log(shape)
    return [0.5 * min([abs(logs[k] - logs[j]) for j in (k - 1, k + 1) if 0 <= j < len(logs)])
            for k in range(len(logs))]


def _crossing_error(row, shape, limit, minimum):
    # The rule of `crossing_errors`, item by item: NaN when an item predicted inside the run does not cross, one
    # predicted outside crosses, or fewer than `minimum` items cross or are predicted inside.
    constant, windows = _calibrated(row, shape), _windows(shape)
    if not np.isfinite(constant):
        return np.nan
    worst, counted = 0.0, 0
    for crossing, s, w in zip(row, shape, windows):
        inside, outside, crossed = constant * s * np.exp(w) <= limit, constant * s * np.exp(-w) > limit, \
            np.isfinite(crossing)
        if (inside and not crossed) or (outside and crossed):
            return np.nan
        counted += crossed or inside
        if crossed:
            worst = max(worst, abs(np.log(crossing / (constant * s))) / w)
    return worst if counted >= minimum else np.nan


SHAPE = np.array([1.0, 4.0, 9.0, 20.0])
CROSSINGS = np.array([[2.1, 7.5, 19.0, np.nan], [np.nan] * 4, [3.0, 13.0, 25.0, 66.0], [2.0, 8.0, 18.0, 40.0]])


EPOCHS = np.array([0, 1, 2, 4, 8, 16])
TRAIN_ACC = np.array([0.1, 0.5, 0.995, 1.0, 1.0, 1.0])
TEST_ACC = np.array([0.1, 0.2, 0.3, 0.5, 0.85, 0.9])
SIGMOID_T = np.linspace(0.0, 12.0, 25)
SIGMOID = 1 / (1 + np.exp(6.0 - SIGMOID_T))
X_PROBE = RNG.normal(size=(3, 4))
K0, K1 = (lambda a: a @ a.T)(RNG.normal(size=(6, 6))), (lambda a: a @ a.T)(RNG.normal(size=(6, 6)))
TARGETS = RNG.normal(size=(6, 2))

# A two-layer linear net as the unconstrained-features model: H = X W1^T, classifier W2 (Mixon et al. 2020).
UFM = DeepLinearNetwork(widths=(4, D, C))
UFM_PARAMS = UFM.init(jax.random.PRNGKey(5), 0.9)
UFM_X = RNG.normal(size=(N, 4))
UFM_TASK = data.Task.from_samples(UFM_X, np.eye(C)[LABELS])
UFM_H = UFM_X @ np.asarray(UFM_PARAMS[0]).T
UFM_W = np.asarray(UFM_PARAMS[1])

# name -> (the library call, the numpy reference), both without arguments.
REFERENCES = {
    "measured_skill_strength": (lambda: metrics.measured_skill_strength(FEATURES[:, 0], FEATURES[:, 1]),
                       lambda: np.mean((FEATURES[:, 0] - FEATURES[:, 0].mean()) * (FEATURES[:, 1] - FEATURES[:, 1].mean()))
                       / FEATURES[:, 1].std()),
    "first_epoch_reaching": (lambda: metrics.first_epoch_reaching(EPOCHS, TEST_ACC, 0.5),
                             lambda: EPOCHS[np.argmax(TEST_ACC >= 0.5)]),
    "grokking_delay": (lambda: metrics.grokking_delay(EPOCHS, TRAIN_ACC, TEST_ACC),
                       lambda: EPOCHS[np.argmax(TEST_ACC >= 0.9 * TEST_ACC[-1])] - EPOCHS[np.argmax(TRAIN_ACC >= 0.99)]),
    "kernel_distance": (lambda: metrics.kernel_distance(K0, K1),
                        lambda: 1 - np.sum(K0 * K1) / (np.linalg.norm(K0) * np.linalg.norm(K1))),
    "kernel_target_alignment": (lambda: metrics.kernel_target_alignment(K0, TARGETS),
                                lambda: np.sum(K0 * (TARGETS @ TARGETS.T))
                                / (np.linalg.norm(K0) * np.linalg.norm(TARGETS @ TARGETS.T))),
    "ntk_two_layer": (lambda: metrics.ntk_two_layer(DEEP_PARAMS[0][:, :], DEEP_PARAMS[1][:2], X_PROBE),
                      lambda: _ntk_two_layer(np.asarray(DEEP_PARAMS[0]), np.asarray(DEEP_PARAMS[1][:2]), X_PROBE)),
    "empirical_ntk": (lambda: metrics.empirical_ntk(DeepLinearNetwork(widths=(4, 3, 3)), DEEP_PARAMS[:2], X_PROBE),
                      lambda: _ntk_two_layer(np.asarray(DEEP_PARAMS[0]), np.asarray(DEEP_PARAMS[1]), X_PROBE)),
    "relative_weight_change": (lambda: metrics.relative_weight_change(DEEP, tuple(2 * w for w in DEEP_PARAMS), DEEP_PARAMS),
                               lambda: np.ones(3)),
    "class_means": (lambda: metrics.class_means(FEATURES, LABELS, C), lambda: _means(FEATURES, LABELS)),
    "nc1": (lambda: metrics.nc1(FEATURES, LABELS, C), lambda: _nc1(FEATURES, LABELS)),
    "nc1_trace_ratio": (lambda: metrics.nc1_trace_ratio(FEATURES, LABELS, C),
                        lambda: np.sum((FEATURES - _means(FEATURES, LABELS)[LABELS]) ** 2) / N
                        / (np.sum((_means(FEATURES, LABELS) - _means(FEATURES, LABELS).mean(0)) ** 2) / C)),
    "equinorm": (lambda: metrics.equinorm(CLASSIFIER),
                 lambda: np.std(np.linalg.norm(CLASSIFIER, axis=1), ddof=1) / np.mean(np.linalg.norm(CLASSIFIER, axis=1))),
    "equiangularity": (lambda: metrics.equiangularity(CLASSIFIER), lambda: _equiangularity(CLASSIFIER)),
    "etf_distance": (lambda: metrics.etf_distance(CLASSIFIER),
                     lambda: _gram_distance(CLASSIFIER, (np.eye(C) - 1 / C) / np.sqrt(C - 1))),
    "orthogonal_frame_distance": (lambda: metrics.orthogonal_frame_distance(CLASSIFIER),
                                  lambda: _gram_distance(CLASSIFIER, np.eye(C) / np.sqrt(C))),
    "self_duality": (lambda: metrics.self_duality(CLASSIFIER, _means(FEATURES, LABELS)),
                     lambda: np.sum((CLASSIFIER / np.linalg.norm(CLASSIFIER)
                                     - _means(FEATURES, LABELS) / np.linalg.norm(_means(FEATURES, LABELS))) ** 2)),
    "ncc_mismatch": (lambda: metrics.ncc_mismatch(FEATURES, CLASSIFIER, BIAS, _means(FEATURES, LABELS)),
                     lambda: _ncc(FEATURES, CLASSIFIER, BIAS, _means(FEATURES, LABELS))),
    "mse_decomposition": (lambda: metrics.mse_decomposition(FEATURES, LABELS, CLASSIFIER, BIAS, C, 0.1)["total"],
                          lambda: 0.5 * np.mean(np.sum((FEATURES @ CLASSIFIER.T + BIAS - np.eye(C)[LABELS]) ** 2, axis=1))
                          + 0.05 * (np.sum(CLASSIFIER**2) + np.sum(BIAS**2))),
    "crossing_time": (lambda: metrics.crossing_time(EPOCHS * 1.0, TEST_ACC, 0.4),
                      lambda: _crossing(EPOCHS * 1.0, TEST_ACC, 0.4)),
    "exponential_times": (lambda: metrics.exponential_times(10.0, 5, 100.0),
                          lambda: [10.0 * (100.0 ** (k / 4) - 1) / 99.0 for k in range(5)]),
    "log_crossing": (lambda: metrics.log_crossing(2.0 ** np.arange(6), TEST_ACC, 0.4),
                     lambda: np.exp(_crossing(np.log(2.0 ** np.arange(6)), TEST_ACC, 0.4))),
    "transition_width": (lambda: metrics.transition_width(SIGMOID_T, SIGMOID),
                         lambda: (_crossing(SIGMOID_T, SIGMOID, 0.9) - _crossing(SIGMOID_T, SIGMOID, 0.1))
                         / _crossing(SIGMOID_T, SIGMOID, 0.5)),
    "loglog_slope": (lambda: metrics.loglog_slope(EPOCHS[1:], 3.0 * EPOCHS[1:] ** -0.7),
                     lambda: -0.7),
    "grid_fit": (lambda: metrics.grid_fit([0.5, 1.0, 2.0], 2.0 * EPOCHS, lambda a: a * EPOCHS), lambda: 2.0),
    "within_factor": (lambda: metrics.within_factor([1.0, 3.0], [2.0, 2.0], 2.0)[0], lambda: [0.5, 1.5]),
    "compute_frontier": (lambda: metrics.compute_frontier(K0[:3, :4], np.array([0.0, 1.0, 2.0, 4.0]), 4.0),
                         lambda: min(K0[min(int(4.0 // t), 3) - 1, j] for j, t in enumerate([1.0, 2.0, 4.0], 1))),
    "exponential_rate": (lambda: metrics.exponential_rate(EPOCHS * 1.0, 2.0 * np.exp(-0.3 * EPOCHS), 0.0, 3.0),
                         lambda: 0.3),
    "logistic_fit": (lambda: metrics.logistic_fit(EPOCHS * 1.0, 1 / (1 + 50.0 * np.exp(-0.8 * EPOCHS)), 0.01, 0.99),
                     lambda: (np.log(50.0), 0.8)),
    "calibrate_constant": (lambda: metrics.calibrate_constant(CROSSINGS, SHAPE),
                           lambda: [_calibrated(row, SHAPE) for row in CROSSINGS]),
    "spacing_windows": (lambda: metrics.spacing_windows(SHAPE), lambda: _windows(SHAPE)),
    "crossing_errors": (lambda: metrics.crossing_errors(CROSSINGS, SHAPE, 60.0, 3)[0],
                        lambda: [_crossing_error(row, SHAPE, 60.0, 3) for row in CROSSINGS]),
    "penultimate": (lambda: metrics.penultimate(UFM, UFM_PARAMS, UFM_X)[0], lambda: UFM_H),
    "FeatureSpectrum": (lambda: metrics.FeatureSpectrum(centred=True)(UFM, UFM_PARAMS, UFM_TASK),
                        lambda: np.linalg.svd(UFM_H - UFM_H.mean(axis=0), compute_uv=False)),
    "WithinClassScatter": (lambda: metrics.WithinClassScatter(C)(UFM, UFM_PARAMS, UFM_TASK),
                           lambda: np.sqrt(sum(np.sum((UFM_H[i] - _means(UFM_H, LABELS)[LABELS[i]]) ** 2)
                                               for i in range(N)))),
    "ClassifierGram": (lambda: metrics.ClassifierGram()(UFM, UFM_PARAMS, UFM_TASK),
                       lambda: np.sort(np.linalg.eigvalsh(UFM_W @ UFM_W.T))),
    "CollapseMetrics": (lambda: metrics.CollapseMetrics(C)(UFM, UFM_PARAMS, UFM_TASK)[0],
                        lambda: _nc1(UFM_H, LABELS)),
    "end_to_end": (lambda: metrics.end_to_end(DEEP, DEEP_PARAMS), lambda: _product(DEEP_PARAMS)),
    "singular_values": (lambda: metrics.singular_values(DEEP, DEEP_PARAMS),
                        lambda: np.linalg.svd(_product(DEEP_PARAMS), compute_uv=False)),
    "mode_strengths": (lambda: metrics.mode_strengths(K0[:2, :4], np.eye(2), np.eye(4)[:, :2]),
                       lambda: np.array([K0[0, 0], K0[1, 1]])),
    # later layer minus earlier, for both model families
    "imbalance_later_minus_earlier": (
        lambda: metrics.imbalance_later_minus_earlier(DIAGONAL, DIAGONAL_PARAMS),
        lambda: np.stack([np.asarray(DIAGONAL_PARAMS[l + 1]) ** 2 - np.asarray(DIAGONAL_PARAMS[l]) ** 2
                          for l in range(2)])),
    "imbalance_later_minus_earlier (deep linear)": (
        lambda: metrics.imbalance_later_minus_earlier(DEEP, DEEP_PARAMS),
        lambda: np.stack([_gram_columns(DEEP_PARAMS[l + 1]) - _gram_rows(DEEP_PARAMS[l]) for l in range(2)])),
    "imbalance_drift": (lambda: metrics.imbalance_drift(DIAGONAL, 1.1 * DIAGONAL_PARAMS, DIAGONAL_PARAMS),
                        lambda: np.max(np.abs(0.21 * np.stack([np.asarray(DIAGONAL_PARAMS[l]) ** 2
                                                               - np.asarray(DIAGONAL_PARAMS[l + 1]) ** 2
                                                               for l in range(2)])))),
    "task_modes": (lambda: metrics.task_modes(data.Task.from_statistics(np.eye(4), K0[:2, :4], 1.0))[1],
                   lambda: np.linalg.svd(K0[:2, :4], compute_uv=False)),
}
# Observable factories and aggregates: checked through the function they wrap.
WRAPPERS = {
    "skill_strength_observable": "measured_skill_strength", "ntk_observable": "empirical_ntk",
    "mode_strength_observable": "mode_strengths", "grokking_epochs": "grokking_delay",
    "neural_collapse_metrics": "nc1", "nc_vector": "nc1", "NC_METRICS": "nc1",
}


def test_every_metric_has_a_reference():
    missing = [name for name in metrics.__all__ if name not in REFERENCES and name not in WRAPPERS]
    assert not missing, f"metrics without an independent reference in this suite: {missing}"


# metrics of many jnp operations, evaluated as one compiled program: eagerly, each operation compiles on its own
# (~40-80 small XLA programs for each of these); the library function is the same
COMPILED = {"CollapseMetrics", "mse_decomposition", "empirical_ntk"}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_metric_equals_its_numpy_reference(name):
    library, reference = REFERENCES[name]
    library = jax.jit(library) if name in COMPILED else library
    np.testing.assert_allclose(np.asarray(library(), float), np.asarray(reference(), float), rtol=1e-10, atol=1e-12)


def test_wrappers_agree_with_what_they_wrap():
    values = metrics.neural_collapse_metrics(FEATURES, LABELS, CLASSIFIER, BIAS, C)
    vector = metrics.nc_vector(FEATURES, LABELS, CLASSIFIER, BIAS, C)
    np.testing.assert_allclose(vector, [values[n] for n in metrics.NC_METRICS], rtol=1e-12)
    np.testing.assert_allclose(values["nc1"], _nc1(FEATURES, LABELS), rtol=1e-10)
    model = MLP(widths=(4, 5, 2))
    params = model.init(jax.random.PRNGKey(3))
    np.testing.assert_allclose(metrics.ntk_observable(jnp.asarray(X_PROBE))(model, params, None),
                               metrics.empirical_ntk(model, params, jnp.asarray(X_PROBE)), rtol=1e-12)
    u, v = np.eye(2), np.eye(4)[:, :2]
    np.testing.assert_allclose(metrics.mode_strength_observable(u, v)(DeepLinearNetwork(widths=(4, 2)),
                                                                       (jnp.asarray(K0[:2, :4]),)),
                               [K0[0, 0], K0[1, 1]], rtol=1e-12)
    skills_x = jnp.asarray(RNG.normal(size=(3, 8, 4)))
    skills_y = jnp.asarray(RNG.normal(size=(3, 8)))
    mlp = MLP(widths=(4, 6, 1))
    mlp_params = mlp.init(jax.random.PRNGKey(4))
    outputs = np.asarray(mlp.apply(mlp_params, skills_x.reshape(24, 4))).reshape(3, 8)
    np.testing.assert_allclose(metrics.skill_strength_observable(skills_x, skills_y)(mlp, mlp_params, None),
                               [np.mean((o - o.mean()) * (y - y.mean())) / y.std() for o, y in zip(outputs, skills_y)],
                               rtol=1e-10)
    first_train, first_test = metrics.grokking_epochs(EPOCHS, TRAIN_ACC, TEST_ACC)
    assert first_test - first_train == metrics.grokking_delay(EPOCHS, TRAIN_ACC, TEST_ACC)
