"""The neural-collapse experiment at its `test` preset: check values equal the stored ones (so a loosened threshold
or a changed computation fails here), `layerwise check` / `layerwise plot` re-derive them from data.nc alone; config
validation, the UFM closed form against gradient flow, and the data-set choice."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import data, init, observables, theory
from layerwise.cli import main
from layerwise.engine import gradient_flow
from layerwise.errors import LayerwiseError
from layerwise.experiments import get_experiment, no_progress
from layerwise.experiments.config import build_config
from layerwise.metrics import neural_collapse as nc
from layerwise.models import DeepLinearNetwork
from layerwise.report.claims import claim_checks
from layerwise.runner import run_one

EXPECTED = json.loads((Path(__file__).parent / "expected" / "neural-collapse.json").read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(data.images.MNIST_ENVIRONMENT_VARIABLE, raising=False)  # MNIST-1D, not a local MNIST
        experiment = get_experiment("neural-collapse")
        config = build_config(experiment, {}, preset="test")
        record = run_one(experiment, config, tmp_path_factory.mktemp("results"), quick=False, progress=no_progress)
    return record.path


def _close(name, value, expected):
    # Rounding-level values (the flow's within-class increments ~1e-12, the Saxe error ~1e-8) vary with XLA's
    # summation order; atol 1e-9 covers them. The MLP trains in float32, whose rounding depends on the CPU's matmul
    # kernels: rtol 1e-4 for its checks.
    if isinstance(expected, list) and expected and isinstance(expected[0], str):
        return value == expected
    rtol = 1e-4 if name.startswith("mlp_") else 1e-6
    return np.allclose(np.asarray(value, float), np.asarray(expected, float), rtol=rtol, atol=1e-9)


def test_check_values_equal_the_stored_ones(finished):
    summary = json.loads((finished / "summary.json").read_text())
    checks = {c["name"]: c for c in summary["checks"]}
    assert set(checks) == set(EXPECTED)
    assert claim_checks("neural-collapse") <= set(checks)
    # The data sets are reported, not checked (a check must be able to fail).
    assert {m["name"]: m["value"] for m in summary["measurements"]}["mlp_datasets"] == ["digits", "mnist1d"]
    for name, stored in EXPECTED.items():
        assert checks[name]["expected"] == stored["expected"], name  # the threshold itself
        assert checks[name]["passed"] == stored["passed"], name
        assert _close(name, checks[name]["value"], stored["value"]), (name, checks[name]["value"], stored["value"])


def test_data_nc_records_the_config_and_seeds(finished):
    import xarray as xr

    with xr.open_dataset(finished / "data.nc") as ds:
        assert ds.attrs["experiment"] == "neural-collapse" and "seeds = 2" in ds.attrs["config_toml"]
        assert ds.sizes["seed"] == 2 and list(ds.dataset.values) == ["digits", "mnist1d"]
        assert {name.split("_")[0] for name in ds.data_vars} <= {"linear", "theory", "flow", "nonlinear"}
        assert ds.nonlinear_nc.dims == ("dataset", "seed", "mlp_step", "nc_metric")
        assert np.all(np.isfinite(ds.flow_greedy_feature_sv.values))


def test_layerwise_check_recomputes_every_value_from_data_nc(finished, capsys):
    assert main(["check", str(finished)]) == 0
    assert f"{len(EXPECTED)}/{len(EXPECTED)} check values reproduced" in capsys.readouterr().out


def test_layerwise_plot_redraws_into_a_new_folder(finished, tmp_path):
    assert main(["plot", str(finished), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "neural_collapse.png").stat().st_size > 10_000


@pytest.mark.parametrize("overrides, words", [
    ({"classes": 1}, "'classes' must be >= 2"), ({"seeds": 0}, "'seeds' must be >= 1"),
    ({"greedy_class_sizes": (4, 4)}, "'greedy_class_sizes' must be at least 2 distinct sizes, got \\(4, 4\\)"),
    ({"greedy_class_sizes": (4,)}, "'greedy_class_sizes' must be at least 2 distinct sizes"),
    ({"greedy_init_scale": 0.9}, "'greedy_init_scale' must be below the smallest mode strength sqrt\\(n_c/N\\) = "
                                 "0.2582, got 0.9"),
    ({"greedy_class_sizes": (10**9, 1)}, "'greedy_init_scale' must be below .* = 3.162e-05, got 0.0001"),  # default
    ({"init_scales": (1e-3,)}, "'init_scales' must be at least 2 scales \\(a fitted slope\\), got \\(0.001,\\)"),
    ({"feature_dim": 3}, "'feature_dim' must be >= classes \\(4\\), got 3"),
    ({"classes": 17}, "'feature_dim' must be >= classes \\(17\\), got 16"),
    ({"weight_decay": 0.5}, "'weight_decay' must be below 1/sqrt\\(classes\\) = 0.5 \\(else the minimiser is 0\\), "
                            "got 0.5"),
    ({"mlp_weight_decays": (1e-3,)}, "'mlp_weight_decays' must be 2 values \\(digits, then MNIST-1D or MNIST\\)"),
    ({"mnist1d_samples": 1000}, "'mnist1d_samples' must be >= n_train \\+ 100 = 1100, got 1000"),
    ({"n_train": 4950}, "'mnist1d_samples' must be >= n_train \\+ 100 = 5050, got 5000"),
])
def test_bad_config_is_one_line_naming_the_field(overrides, words):
    with pytest.raises(LayerwiseError, match="^config key " + words) as error:
        build_config(get_experiment("neural-collapse"), overrides)
    assert "\n" not in str(error.value)


def test_ufm_minimum_matches_soft_threshold_and_gradient_flow(finished):
    # Soft-thresholding: rho = 1 - C sqrt(n lambda_W lambda_H) with lambda_W = wd, lambda_H = wd / N -> 1 - wd sqrt(C)
    # The UFM has the test preset's sizes and the weight-decay panel's observables and tolerances: after the fixture
    # (`finished`) its flow reuses that panel's compiled program instead of compiling one (several seconds).
    config = build_config(get_experiment("neural-collapse"), {}, preset="test")
    classes, per_class, wd = config.classes, config.samples_per_class, 0.1
    n = classes * per_class
    rho, objective = (float(v) for v in theory.ufm_network_minimum(classes, wd))
    np.testing.assert_allclose(rho, 1 - classes * np.sqrt(per_class * wd * wd / n), rtol=1e-14)
    task = data.unconstrained_features_task([per_class] * classes)
    model = DeepLinearNetwork((n, config.feature_dim, classes))
    params = jax.tree_util.tree_map(lambda *w: jnp.stack(w), *(init.gaussian_init(jax.random.PRNGKey(seed), model, 0.1)
                                                            for seed in range(config.seeds)))
    recorded = {"nc": nc.CollapseMetrics(classes), "classifier_gram": nc.ClassifierGram(),
                "outputs": observables.Predictions(task.x)}
    result = gradient_flow(model, params, task, np.linspace(0, 150, 321), weight_decay=wd, observables=recorded,
                           rtol=1e-9, atol=1e-12)
    # every run's outputs W H = rho Y and objective at the closed-form minimum (flow converged to ~1e-8)
    for run in range(config.seeds):
        np.testing.assert_allclose(result.history.outputs.values[run, -1], rho * np.asarray(task.y), atol=1e-6)
        final = float(result.history.loss.values[run, -1]) + 0.5 * wd * sum(float(jnp.sum(w[run] ** 2))
                                                                           for w in result.params)
        np.testing.assert_allclose(final, objective, rtol=1e-8)


def test_mnist_used_when_idx_files_are_present(tmp_path, monkeypatch):
    monkeypatch.delenv(data.images.MNIST_ENVIRONMENT_VARIABLE, raising=False)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", 80), ("t10k", 30)):
        data.write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        data.write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", (np.arange(count) % 10).astype(np.uint8))
    sets = data.digit_benchmarks(60, 0, mnist1d_samples=200, mnist_path=str(tmp_path))
    assert [entry[0] for entry in sets] == ["digits", "mnist"]
    _, x, y, x_test, _ = sets[1]
    assert x.shape == (60, 784) and x_test.shape == (30, 784)
    monkeypatch.setenv(data.images.MNIST_ENVIRONMENT_VARIABLE, str(tmp_path))
    assert [e[0] for e in data.digit_benchmarks(60, 0, mnist1d_samples=200)] == ["digits", "mnist"]
    monkeypatch.delenv(data.images.MNIST_ENVIRONMENT_VARIABLE)
    assert [e[0] for e in data.digit_benchmarks(60, 0, mnist1d_samples=200)] == ["digits", "mnist1d"]
