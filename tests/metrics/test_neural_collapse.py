"""Neural-collapse metrics: exact ETF/OF geometry, invariances, theory.md §8.1 oracles, a numpy reference, and the
Han et al. (2022) MSE decomposition identity."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import metrics
from layerwise.metrics import neural_collapse as nc

# Each metric as one compiled program per shape: called eagerly, every jnp operation inside compiles on its own for
# each new shape (~40-100 small XLA programs per test), which is most of this file's time. The values are the same
# functions' (jit changes only the order of a few float operations, far below the tolerances).
metrics_of = jax.jit(nc.neural_collapse_metrics, static_argnums=4)
nc1_of = jax.jit(nc.nc1, static_argnums=2, static_argnames="divide_by_classes")
mse_decomposition_of = jax.jit(nc.mse_decomposition, static_argnums=4)


def _simplex_etf(classes, dim, key=0):
    """Rows: a rotated simplex ETF in R^dim (C x dim)."""
    etf = np.eye(classes) - 1.0 / classes
    rotation = np.linalg.qr(np.random.default_rng(key).normal(size=(dim, dim)))[0][:classes]
    return etf @ rotation * 3.0


def _collapsed(means, per_class):
    labels = np.repeat(np.arange(len(means)), per_class)
    return jnp.asarray(means[labels]), jnp.asarray(labels)


def test_exact_simplex_etf_is_collapsed():
    classes, dim = 5, 7
    means = _simplex_etf(classes, dim) + 0.4  # an offset (global mean) must not matter for the centred metrics
    features, labels = _collapsed(means, 3)
    classifier = jnp.asarray(_simplex_etf(classes, dim) * 0.5)  # W proportional to M~: self-dual
    values = metrics_of(features, labels, classifier, jnp.zeros(classes), classes)
    for name in ("nc1", "nc1_trace_ratio", "equinorm_means", "equinorm_classifier", "equiangularity_means",
                 "equiangularity_classifier", "etf_distance_means", "etf_distance_classifier", "self_duality",
                 "ncc_mismatch"):
        assert abs(float(values[name])) < 1e-12, name
    # an ETF is not an orthogonal frame: ||G/||G|| - I/sqrt(C)|| > 0
    assert float(values["orthogonal_frame_distance_classifier"]) > 0.1


def test_orthogonal_frame_reference_values():
    classes = 4
    frame = 2.0 * np.eye(classes, 6)
    assert float(jax.jit(nc.orthogonal_frame_distance)(frame)) < 1e-14
    # an equal-norm orthogonal frame has cosines 0, so |0 + 1/(C-1)| = 1/(C-1); centring it gives a simplex ETF
    np.testing.assert_allclose(float(jax.jit(nc.equiangularity)(frame)), 1 / (classes - 1), rtol=1e-14)
    assert float(jax.jit(nc.etf_distance)(frame - frame.mean(axis=0))) < 1e-14


def test_random_features_have_large_nc1():
    rng = np.random.default_rng(0)
    features = jnp.asarray(rng.normal(size=(200, 20)))
    labels = jnp.asarray(rng.integers(0, 5, 200))
    # class means of pure noise are ~ sqrt(d/n_c) apart while within-class spread is ~1: NC1 >> 1
    assert float(nc1_of(features, labels, 5)) > 5.0


def _random_problem(seed=0, classes=4, per_class=6, dim=5):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class)
    features = rng.normal(size=(classes, dim))[labels] + 0.3 * rng.normal(size=(len(labels), dim))
    return features, labels, rng.normal(size=(classes, dim)), rng.normal(size=classes)


def _all(features, labels, classifier, bias, classes):
    values = metrics_of(jnp.asarray(features), jnp.asarray(labels), jnp.asarray(classifier),
                                        jnp.asarray(bias), classes)
    return np.array([float(values[name]) for name in nc.NC_METRICS])


def test_invariant_to_sample_order_class_relabelling_and_scale():
    features, labels, classifier, bias = _random_problem()
    reference = _all(features, labels, classifier, bias, 4)
    order = np.random.default_rng(1).permutation(len(labels))
    np.testing.assert_allclose(_all(features[order], labels[order], classifier, bias, 4), reference, rtol=1e-10)
    relabel = np.array([2, 0, 3, 1])  # class c becomes relabel[c]; classifier rows and biases move with it
    inverse = np.argsort(relabel)
    np.testing.assert_allclose(_all(features, relabel[labels], classifier[inverse], bias[inverse], 4), reference,
                               rtol=1e-10, atol=1e-14)
    # h -> a h, W -> c W, b -> a c b: every metric is scale-free
    np.testing.assert_allclose(_all(3.0 * features, labels, 0.2 * classifier, 0.6 * bias, 4), reference,
                               rtol=1e-10, atol=1e-14)


def _numpy_reference(features, labels, classifier, bias, classes):
    """A direct, loop-based numpy transcription of the Papyan et al. colab (and Zhu et al.'s NC2)."""
    n, d = features.shape
    means = np.stack([features[labels == c].mean(axis=0) for c in range(classes)])
    global_mean = means.mean(axis=0)
    sigma_w = sum(np.outer(h - means[y], h - means[y]) for h, y in zip(features, labels)) / n
    centred = means - global_mean
    sigma_b = centred.T @ centred / classes
    eigenvalues, eigenvectors = np.linalg.eigh(sigma_b)
    top = eigenvectors[:, -(classes - 1):]
    pinv = top @ np.diag(1 / eigenvalues[-(classes - 1):]) @ top.T  # svds(Sb, k=C-1) pseudo-inverse
    norms = np.linalg.norm(centred, axis=1)
    cosines = [centred[i] @ centred[j] / norms[i] / norms[j] for i in range(classes) for j in range(classes) if i != j]
    gram = classifier @ classifier.T
    zhu = np.linalg.norm(gram / np.linalg.norm(gram) - (np.eye(classes) - 1 / classes) / np.sqrt(classes - 1))
    net = np.argmax(features @ classifier.T + bias, axis=1)
    ncc = np.argmin([[np.linalg.norm(h - m) for m in means] for h in features], axis=1)
    return {
        "nc1": np.trace(sigma_w @ pinv) / classes,
        "nc1_trace_ratio": np.trace(sigma_w) / np.trace(sigma_b),
        "equinorm_means": np.std(norms, ddof=1) / np.mean(norms),
        "equiangularity_means": np.mean(np.abs(np.array(cosines) + 1 / (classes - 1))),
        "etf_distance_classifier": zhu,
        "self_duality": np.linalg.norm(classifier / np.linalg.norm(classifier) - centred / np.linalg.norm(centred))**2,
        "ncc_mismatch": np.mean(net != ncc),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_direct_numpy_computation(seed):
    features, labels, classifier, bias = _random_problem(seed)
    values = metrics_of(jnp.asarray(features), jnp.asarray(labels), jnp.asarray(classifier),
                                        jnp.asarray(bias), 4)
    for name, expected in _numpy_reference(features, labels, classifier, bias, 4).items():
        np.testing.assert_allclose(float(values[name]), expected, rtol=1e-10, atol=1e-14, err_msg=name)


def test_theory_md_oracles():
    # theory.md §8.1 (iii): a generic 3-class example with published values (6 significant digits).
    h = np.array([[1, .2, 0], [.8, -.1, .1], [1.2, 0, -.1], [-.4, 1, .3], [-.6, .9, .1], [-.5, 1.3, .2],
                  [-.3, -.8, .5], [-.7, -1.1, .4], [-.5, -.9, 0]])
    labels = np.repeat(np.arange(3), 3)
    w = np.array([[1, .1, 0], [-.5, 1, .2], [-.4, -.9, .1]])
    values = metrics_of(jnp.asarray(h), jnp.asarray(labels), jnp.asarray(w), None, 3)
    expected = {"nc1": 0.022975, "nc1_trace_ratio": 0.050741, "equinorm_means": 0.057820,
                "equinorm_classifier": 0.076859, "equiangularity_means": 0.062805,
                "equiangularity_classifier": 0.087278, "self_duality": 0.024740, "ncc_mismatch": 0.0,
                "etf_distance_classifier": 0.163382}
    for name, value in expected.items():
        np.testing.assert_allclose(float(values[name]), value, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(float(nc1_of(jnp.asarray(h), jnp.asarray(labels), 3, divide_by_classes=False)),
                               0.068925, atol=1e-6)
    # (i): C = 2, d = 1, features {-1.1, -0.9 | 0.9, 1.1}: NC1 (colab) = 0.01, NC1/C = 0.005.
    h1, l1 = jnp.array([[-1.1], [-0.9], [0.9], [1.1]]), jnp.array([0, 0, 1, 1])
    np.testing.assert_allclose(float(nc1_of(h1, l1, 2)), 0.005, rtol=1e-12)
    np.testing.assert_allclose(float(nc1_of(h1, l1, 2, divide_by_classes=False)), 0.01, rtol=1e-12)


def test_vectorised_over_runs_and_jittable():
    problems = [_random_problem(seed) for seed in range(3)]
    stacked = [jnp.asarray(np.stack(parts)) for parts in zip(*problems)]
    batched = jax.jit(jax.vmap(lambda h, y, w, b: nc.nc_vector(h, y, w, b, 4)))(*stacked)
    assert batched.shape == (3, len(nc.NC_METRICS))
    for run, problem in enumerate(problems):
        np.testing.assert_allclose(np.asarray(batched[run]), _all(*problem, 4), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("per_class", [(5, 5, 5), (7, 3, 5)])
def test_mse_decomposition_identity(per_class):
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(3), per_class)
    h, w, b = rng.normal(size=(len(labels), 4)), rng.normal(size=(3, 4)), rng.normal(size=3)
    parts = mse_decomposition_of(jnp.asarray(h), jnp.asarray(labels), jnp.asarray(w), jnp.asarray(b), 3, 0.05)
    # L = L_NC1 + L_NC2/3 + L_perp exactly (balanced or not), and the direct loss is recovered
    np.testing.assert_allclose(float(parts["nc1"] + parts["nc2_3"] + parts["perpendicular"]), float(parts["total"]),
                               rtol=1e-12)
    direct = 0.5 * np.mean(np.sum((h @ w.T + b - np.eye(3)[labels]) ** 2, axis=1)) + 0.025 * (np.sum(w**2) + b @ b)
    np.testing.assert_allclose(float(parts["total"]), direct, rtol=1e-12)
    assert min(float(parts[k]) for k in ("nc1", "nc2_3", "perpendicular")) >= 0


def test_mse_decomposition_matches_han_et_al_least_squares_classifier():
    # Balanced classes: Han et al.'s explicit W_LS, b_LS (theory.md §8.3) is the least-squares classifier, so
    # plugging it in leaves no perpendicular part.
    rng = np.random.default_rng(4)
    classes, lam = 3, 0.1
    labels = np.repeat(np.arange(classes), 5)
    h = rng.normal(size=(len(labels), 4))
    means = np.stack([h[labels == c].mean(axis=0) for c in range(classes)])
    mu = means.mean(axis=0)
    sigma_t = (h - mu).T @ (h - mu) / len(h)
    w_ls = (means.T - np.outer(mu, np.ones(classes)) / (1 + lam)).T @ np.linalg.inv(
        sigma_t + lam / (1 + lam) * np.outer(mu, mu) + lam * np.eye(4)) / classes
    b_ls = (np.ones(classes) / classes - w_ls @ mu) / (1 + lam)
    parts = mse_decomposition_of(jnp.asarray(h), jnp.asarray(labels), jnp.asarray(w_ls), jnp.asarray(b_ls), classes,
                                 lam)
    assert float(parts["perpendicular"]) < 1e-24


def test_public_names():
    assert metrics.nc1 is nc.nc1 and metrics.mse_decomposition is nc.mse_decomposition


def test_observables_match_the_metrics_on_the_penultimate_features():
    from layerwise import data
    from layerwise.models import MLP, DeepLinearNetwork

    task = data.unconstrained_features_task([3, 2, 2])
    labels = np.argmax(np.asarray(task.y), axis=1)
    assert list(labels) == [0, 0, 0, 1, 1, 2, 2] and np.allclose(task.input_covariance, np.eye(7))
    deep = DeepLinearNetwork((7, 5, 3), output_scale=0.5)
    params = deep.init(jax.random.PRNGKey(0), 0.3)
    features, classifier, bias = eqx.filter_jit(nc.penultimate)(deep, params, task.x)
    np.testing.assert_allclose(features, np.asarray(task.x) @ np.asarray(params[0]).T, rtol=1e-14)
    assert bias is None and np.allclose(classifier, 0.5 * np.asarray(params[1]))
    np.testing.assert_allclose(eqx.filter_jit(nc.CollapseMetrics(3))(deep, params, task),
                               jax.jit(nc.nc_vector, static_argnums=4)(features, labels, classifier, None, 3),
                               rtol=1e-14)
    centred = np.asarray(features) - np.mean(np.asarray(features), axis=0)
    np.testing.assert_allclose(eqx.filter_jit(nc.FeatureSpectrum(centred=True, count=2))(deep, params, task),
                               np.linalg.svd(centred, compute_uv=False)[:2], rtol=1e-12)
    means = np.stack([np.asarray(features)[labels == c].mean(axis=0) for c in range(3)])
    np.testing.assert_allclose(eqx.filter_jit(nc.WithinClassScatter(3))(deep, params, task),
                               np.linalg.norm(np.asarray(features) - means[labels]), rtol=1e-12)
    np.testing.assert_allclose(eqx.filter_jit(nc.ClassifierGram())(deep, params, task),
                               np.linalg.eigvalsh(np.asarray(classifier) @ np.asarray(classifier).T), rtol=1e-12)
    mlp = MLP((7, 6, 3), "relu", output_scale=2.0)
    mlp_params = mlp.init(jax.random.PRNGKey(1), 1.0, bias_scale=0.1)
    features, classifier, bias = eqx.filter_jit(nc.penultimate)(mlp, mlp_params, task.x)
    np.testing.assert_allclose(np.asarray(features) @ np.asarray(classifier).T + np.asarray(bias),
                               eqx.filter_jit(mlp.apply)(mlp_params, task.x), rtol=1e-12)
    with pytest.raises(TypeError, match="MLP or a DeepLinearNetwork"):
        nc.penultimate(object(), params, task.x)
