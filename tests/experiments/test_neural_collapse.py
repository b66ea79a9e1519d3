"""The neural-collapse experiment: a tiny end-to-end run, config validation, the UFM closed form, data choice."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import data, init
from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment, no_progress
from layerwise.experiments import neural_collapse as experiment
from layerwise.models import DeepLinearNetwork
from layerwise.engine import gradient_flow
from layerwise.report.claims import claim_checks

TINY = dict(greedy_class_sizes=(6, 3), classes=3, samples_per_class=3, feature_dim=4, linear_duration=30.0,
            weight_decay_duration=5.0, width=12, n_train=60, mlp_steps=30, mnist1d_samples=200)


@pytest.mark.slow  # ~65 s CPU on 2 cores, almost all of it compiling the seven engine programs
def test_tiny_run_structure_and_linear_checks(monkeypatch):
    monkeypatch.delenv(data.images.MNIST_ENVIRONMENT_VARIABLE, raising=False)
    exp = get_experiment("neural-collapse")
    config = exp.make_config(**TINY)
    calls = []
    outcome = exp.run(config, calls.append)
    assert len(calls) == exp.units(config)
    checks = {c.name: c for c in outcome.checks}
    assert claim_checks("neural-collapse") <= set(checks)  # every check a claim relies on exists
    assert len(checks) == len(outcome.checks)
    # the exact Saxe modes and the greedy order hold at any size; the MLP checks exist for both data sets
    assert checks["greedy_modes_vs_saxe"].passed and checks["greedy_order"].passed
    assert checks["within_class_scatter_non_increasing"].passed
    for name in ("digits", "mnist1d"):
        assert f"mlp_{name}_nc1_drop" in checks
    ds = outcome.dataset
    assert list(ds.dataset.values) == ["digits", "mnist1d"] and ds.attrs["mlp_datasets"] == "digits, mnist1d"
    assert ds.mlp_nc.dims == ("dataset", "mlp_step", "nc_metric")
    assert ds.geometry_nc.shape[:2] == (2, len(config.init_scales))
    assert np.all(np.isfinite(ds.greedy_feature_sv.values))
    assert set(outcome.figures) == {"neural_collapse"}


@pytest.mark.parametrize("field, value", [("classes", 1), ("weight_decay", 2.0), ("greedy_class_sizes", (4, 4)),
                                          ("init_scales", (1e-3,)), ("mlp_weight_decays", (1e-3,))])
def test_bad_config_is_one_line_error_naming_the_field(field, value):
    with pytest.raises(LayerwiseError, match=field):
        experiment.NeuralCollapseConfig(**{field: value})


def test_ufm_minimiser_matches_soft_threshold_and_gradient_flow():
    # theory.md §8.6: rho = 1 - C sqrt(n lambda_W lambda_H) with lambda_W = wd, lambda_H = wd / N -> 1 - wd sqrt(C)
    classes, per_class, wd = 3, 2, 0.1
    n = classes * per_class
    rho, objective = experiment.ufm_minimiser(classes, wd)
    np.testing.assert_allclose(rho, 1 - classes * np.sqrt(per_class * wd * wd / n), rtol=1e-14)
    task, labels = experiment._ufm_task([per_class] * classes)
    model = DeepLinearNetwork((n, 4, classes))
    params = jax.tree_util.tree_map(lambda w: w[None], init.gaussian_init(jax.random.PRNGKey(0), model, 0.1))
    result = gradient_flow(model, params, task, np.linspace(0, 150, 3), weight_decay=wd,
                           observables={"out": (lambda m, p, t: m.apply(p, t.x), ("sample", "class"))})
    # outputs W H = rho Y and the objective at its closed-form minimum (flow converged to ~1e-8)
    np.testing.assert_allclose(result.history.out.values[0, -1], rho * data.one_hot(labels, classes), atol=1e-6)
    final = float(result.history.loss.values[0, -1]) + 0.5 * wd * sum(float(jnp.sum(w**2)) for w in result.params)
    np.testing.assert_allclose(final, objective, rtol=1e-8)


def test_mnist_used_when_idx_files_are_present(tmp_path, monkeypatch):
    monkeypatch.delenv(data.images.MNIST_ENVIRONMENT_VARIABLE, raising=False)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 80), ("t10k", 30)):
        data.write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        data.write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", (np.arange(count) % 10).astype(np.uint8))
    config = experiment.NeuralCollapseConfig(n_train=60, mnist1d_samples=200, mnist_path=str(tmp_path))
    names = [entry[0] for entry in experiment._datasets(config)]
    assert names == ["digits", "mnist"]
    _, x, y, x_test, _ = experiment._datasets(config)[1]
    assert x.shape == (60, 784) and x_test.shape == (30, 784)
    monkeypatch.setenv(data.images.MNIST_ENVIRONMENT_VARIABLE, str(tmp_path))
    assert [e[0] for e in experiment._datasets(experiment.NeuralCollapseConfig(n_train=60, mnist1d_samples=200))] \
        == ["digits", "mnist"]
