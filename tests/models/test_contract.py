"""The contract every registered model keeps (as optax's alias tests and scikit-learn's common checks): a new model
gets all of these by being registered in `layerwise.models.REGISTRY`."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import data
from layerwise import observables as observables_lib
from layerwise.engine import Status, fast_path, train
from layerwise.errors import LayerwiseError
from layerwise.models import REGISTRY, LinearModel
from layerwise.profiling import CompileCounter

NAMES = sorted(REGISTRY)


def _key(seed):
    # The contract is about shapes, dtypes, jit, vmap and the engine, not about the random generator: XLA compiles
    # each threefry draw of a new shape in ~1 s of CPU (a vmapped transformer init: 11 of them, ~15 s per dtype),
    # the "rbg" generator (XLA's RngBitGenerator) in a fraction of that.
    return jax.random.key(seed, impl="rbg")


def _setup(name, dtype, runs=3):
    model = REGISTRY[name]()
    keys = jax.random.split(_key(sum(map(ord, name))), runs)
    params = jax.vmap(lambda k: model.init(k, 0.7, dtype=dtype))(keys)
    x = model.example_inputs(_key(1), 6, dtype)
    return model, params, x


def _run(params, r):
    return jax.tree_util.tree_map(lambda p: p[r], params)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_shapes_dtype_jit_and_vmap(name, dtype):
    model, params, x = _setup(name, dtype)
    one = _run(params, 0)
    model.check_params(one)
    model.check_params(params, runs=3)
    assert all(leaf.dtype == dtype for leaf in jax.tree_util.tree_leaves(one))
    out = model.apply(one, x)
    assert out.shape == (6, model.out_dim) and out.dtype == dtype
    np.testing.assert_array_equal(eqx.filter_jit(model.apply)(one, x), out)
    # vmap over runs: every run equals its single-run result (float64: to 1e-12 relative).
    batched = jax.vmap(model.apply, in_axes=(0, None))(params, x)
    tol = 1e-12 if dtype == jnp.float64 else 1e-5
    for r in range(3):
        np.testing.assert_allclose(batched[r], model.apply(_run(params, r), x), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", NAMES)
def test_layers_round_trip(name):
    model, params, _ = _setup(name, jnp.float64)
    one = _run(params, 0)
    layers = model.layers(one)
    assert len(layers) == model.depth
    rebuilt = model.from_layers(layers)
    assert jax.tree_util.tree_structure(rebuilt) == jax.tree_util.tree_structure(one)
    for a, b in zip(jax.tree_util.tree_leaves(rebuilt), jax.tree_util.tree_leaves(one)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_a_batched_hyperparameter_equals_one_model_per_run(name):
    model, params, x = _setup(name, jnp.float64)
    scales = jnp.array([0.5, 1.0, 3.0])
    batched_model = eqx.tree_at(lambda m: m.output_scale, model, scales)
    outs = eqx.filter_vmap(lambda m, p: m.apply(p, x))(batched_model, params)
    for r in range(3):
        single = eqx.tree_at(lambda m: m.output_scale, model, scales[r])
        np.testing.assert_allclose(outs[r], single.apply(_run(params, r), x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", [n for n in NAMES if isinstance(REGISTRY[n](), LinearModel)])
def test_linear_models_apply_their_end_to_end_map(name):
    model, params, x = _setup(name, jnp.float64)
    one = _run(params, 0)
    assert model.end_to_end(one).shape == (model.out_dim, model.in_dim)
    np.testing.assert_allclose(model.apply(one, x), x @ model.end_to_end(one).T, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_the_engine_trains_it_and_does_not_recompile_across_calls(name):
    model, params, x = _setup(name, jnp.float64, runs=2)
    y = jax.random.normal(_key(2), (x.shape[0], model.out_dim))
    task = data.Task.from_samples(x, y)
    first = train(model, params, task, steps=4, learning_rate=1e-3, loss="mean_squared_error")
    assert first.history.loss.shape == (2, 5) and np.all(np.isfinite(first.history.loss))
    new_params = jax.tree_util.tree_map(lambda p: 0.5 * p, params)
    with CompileCounter() as compiled:
        again = train(model, new_params, task, steps=4, learning_rate=np.array([2e-3, 3e-3]),
                      loss="mean_squared_error")
    assert compiled.programs == 0  # none compiled and none loaded from the session's compilation cache
    assert not np.allclose(again.history.loss, first.history.loss)


def _fast_path_applies(name) -> bool:
    model = REGISTRY[name]()
    return fast_path.fast_path_blocker(model, "gd", isinstance(model, LinearModel)) is None


FAST = [n for n in NAMES if _fast_path_applies(n)]


def _both_paths(name, optimizer, learning_rate, steps, **options):
    model, params, x = _setup(name, jnp.float64, runs=3)
    y = jax.random.normal(_key(3), (x.shape[0], model.out_dim))
    task = data.Task.from_samples(x, y)
    record = [0, 1, 5, 17, 18, 33, 50, steps]  # segments shorter and longer than a block, and a partial last block
    observables = {"W": observables_lib.EndToEnd()}
    runs = {fast: train(model, params, task, optimizer, steps=steps, learning_rate=learning_rate,
                        record_steps=record, observables=observables, on_divergence="mark", fast_path=fast, **options)
            for fast in (True, False)}
    assert runs[True].history.attrs["fast_path"] == 1 and runs[False].history.attrs["fast_path"] == 0
    return runs[True], runs[False]


def _close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    scale = np.nanmax(np.abs(b)) if np.any(np.isfinite(b)) else 1.0
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * scale, equal_nan=True)


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("optimizer, options", [("gd", {"weight_decay": np.array([0.0, 1e-3, 1e-2])}),
                                                ("adam", {"optimizer_options": {"b1": 0.8}})])
def test_the_fast_path_equals_the_generic_path_and_detects_divergence_alike(name, optimizer, options):
    # float64: records, final params, statuses and the diverged step agree (GD's last run diverges).
    rates = np.array([1e-3, 1e-2, 3e3]) if optimizer == "gd" else np.array([1e-3, 3e-3, 1e-2])
    fast, generic = _both_paths(name, optimizer, rates, steps=60, **options)
    if optimizer == "gd":
        assert generic.status[-1] == Status.DIVERGED and generic.stopped_at[-1] < 60
    np.testing.assert_array_equal(fast.status, generic.status)
    np.testing.assert_array_equal(fast.stopped_at, generic.stopped_at)
    for variable in ("loss", "W"):
        _close(fast.history[variable], generic.history[variable])
    for a, b in zip(jax.tree_util.tree_leaves(fast.params), jax.tree_util.tree_leaves(generic.params)):
        assert a.shape == b.shape
        _close(a, b)


@pytest.mark.parametrize("name", [n for n in NAMES if not _fast_path_applies(n)][:2])
def test_fast_path_true_where_it_does_not_apply_is_a_one_line_error(name):
    model, params, x = _setup(name, jnp.float64, runs=2)
    task = data.Task.from_samples(x, jax.random.normal(_key(2), (x.shape[0], model.out_dim)))
    with pytest.raises(LayerwiseError, match="fast_path=True needs") as error:
        train(model, params, task, steps=2, loss="mean_squared_error", fast_path=True)
    assert "\n" not in str(error.value)
