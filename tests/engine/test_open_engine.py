"""The open engine: any optax transformation, per-run injected hyperparameters, batched models, losses, per-run
status, observables that compile once, and errors at the boundary."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from layerwise import data, init, observables as obs
from layerwise.engine import Status, gradient_flow, train
from layerwise.engine.losses import softmax_cross_entropy
from layerwise.errors import LayerwiseError, SolverError
from layerwise.models import MLP, DeepLinearNetwork, DiagonalLinearNetwork
from layerwise.profiling import CompileCounter

DEEP = DeepLinearNetwork(widths=(4, 3, 2))


@pytest.fixture(scope="module")
def regression():
    return data.whitened_regression(jax.random.PRNGKey(0), 40, 4, 2)


def _batch(model, count, scale=0.5, seed=1):
    return jax.vmap(lambda k: init.gaussian_init(k, model, scale))(jax.random.split(jax.random.PRNGKey(seed), count))


def test_optax_transformation_equals_the_named_optimizer(regression):
    params = _batch(DEEP, 2)
    named = train(DEEP, params, regression, "adam", steps=150, learning_rate=3e-3, observables={"W": obs.EndToEnd()})
    chained = train(DEEP, params, regression, optax.chain(optax.add_decayed_weights(0.0), optax.adam(3e-3)),
                    steps=150, observables={"W": obs.EndToEnd()})
    # The same optax arithmetic in both: equal to rounding in float64.
    np.testing.assert_allclose(named.history.W, chained.history.W, rtol=1e-12, atol=1e-14)


def test_a_schedule_reaches_the_engine(regression):
    params = _batch(DEEP, 1)
    # lr 0.05 for 100 steps, then 0 (a piecewise-constant schedule): the params stop moving after step 100.
    schedule = optax.piecewise_constant_schedule(0.05, {100: 0.0})
    result = train(DEEP, params, regression, optax.sgd(schedule), steps=200, record_steps=[0, 100, 150, 200],
                   observables={"W": obs.EndToEnd()})
    W = result.history.W.isel(run=0).values
    assert np.max(np.abs(W[1] - W[0])) > 1e-3
    np.testing.assert_array_equal(W[1], W[3])
    reference = train(DEEP, params, regression, "gd", steps=100, learning_rate=0.05, record_steps=[0, 100],
                      observables={"W": obs.EndToEnd()})
    np.testing.assert_allclose(W[1], reference.history.W.isel(run=0, step=-1), rtol=1e-12, atol=1e-14)


def test_per_run_hyperparameters_through_inject_hyperparams(regression):
    params = _batch(DEEP, 3)
    lrs = np.array([0.01, 0.03, 0.05])
    injected = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
    custom = train(DEEP, params, regression, injected, steps=100, learning_rate=lrs, observables={"W": obs.EndToEnd()})
    named = train(DEEP, params, regression, "gd", steps=100, learning_rate=lrs, observables={"W": obs.EndToEnd()})
    np.testing.assert_allclose(custom.history.W, named.history.W, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(custom.history.learning_rate, lrs)


def test_per_run_hyperparameters_need_injection(regression):
    with pytest.raises(LayerwiseError, match="inject_hyperparams"):
        train(DEEP, _batch(DEEP, 2), regression, optax.sgd(0.1), steps=10, learning_rate=np.array([0.1, 0.2]))


@pytest.mark.parametrize("options, name", [({"momentum": 0.5}, "adam"), ({"beta": 0.9}, "adam"), ({"b1": 0.9}, "gd")])
def test_optimizer_options_are_checked_against_the_optimizer(options, name, regression):
    with pytest.raises(LayerwiseError, match=f"{list(options)[0]}.*{name}"):
        train(DEEP, _batch(DEEP, 1), regression, name, steps=5, optimizer_options=options)


def test_batched_model_equals_its_runs_one_by_one(regression):
    scales = jnp.array([0.5, 1.0, 2.0])
    params = _batch(DEEP, 3)
    batched = train(DeepLinearNetwork(widths=(4, 3, 2), output_scale=scales), params, regression, steps=120,
                    learning_rate=0.02, model_batched=True, observables={"W": obs.EndToEnd()})
    np.testing.assert_array_equal(batched.history.output_scale, scales)
    for r, scale in enumerate(scales):
        single = train(DeepLinearNetwork(widths=(4, 3, 2), output_scale=float(scale)),
                       jax.tree_util.tree_map(lambda p: p[r:r + 1], params), regression, steps=120,
                       learning_rate=0.02, observables={"W": obs.EndToEnd()})
        np.testing.assert_allclose(batched.history.W.isel(run=r), single.history.W.isel(run=0), rtol=1e-12,
                                   atol=1e-14)


def test_softmax_cross_entropy_matches_its_definition():
    logits = jax.random.normal(jax.random.PRNGKey(0), (6, 4))
    labels = jnp.array([0, 3, 1, 1, 2, 0])
    expected = -jax.nn.log_softmax(logits)[jnp.arange(6), labels]
    np.testing.assert_allclose(softmax_cross_entropy(logits, labels[:, None]), expected, rtol=1e-12)
    np.testing.assert_allclose(softmax_cross_entropy(logits, jax.nn.one_hot(labels, 4)), expected, rtol=1e-12)


def test_cross_entropy_training_and_a_callable_loss(key):
    x = jax.random.normal(key, (64, 4))
    labels = jnp.argmax(x[:, :3], axis=1)
    task = data.Task.from_samples(x, jax.nn.one_hot(labels, 3))
    model = MLP(widths=(4, 16, 3))
    params = jax.vmap(lambda k: model.init(k, 1.0, parameterisation="fan_in"))(jax.random.split(key, 2))
    accuracy = obs.Accuracy(x, labels)
    result = train(model, params, task, "adam", steps=300, learning_rate=1e-2, loss="softmax_cross_entropy",
                   observables={"accuracy": accuracy})
    assert float(result.history.loss.isel(step=-1).max()) < 0.5 * float(result.history.loss.isel(step=0).min())
    assert float(result.history.accuracy.isel(step=-1).min()) > 0.9
    # A user's own per-sample loss, here the cross-entropy written out: the same trajectory.
    mine = train(model, params, task, "adam", steps=300, learning_rate=1e-2, observables={"accuracy": accuracy},
                 loss=lambda f, y: -jnp.sum(y * jax.nn.log_softmax(f), axis=-1))
    np.testing.assert_allclose(mine.history.loss, result.history.loss, rtol=1e-10)


def test_a_loss_must_return_one_value_per_sample(regression):
    with pytest.raises(LayerwiseError, match="one value per sample"):
        train(DEEP, _batch(DEEP, 1), regression, steps=5, loss=lambda f, y: jnp.sum((f - y) ** 2))


def test_new_observable_of_the_same_kind_does_not_recompile(regression):
    params = _batch(DEEP, 2)
    u, _, vt = np.linalg.svd(np.asarray(regression.cross_covariance), full_matrices=False)
    first = obs.ModeStrengths(jnp.asarray(u), jnp.asarray(vt.T))
    train(DEEP, params, regression, steps=50, observables={"u": first})
    second = obs.ModeStrengths(-jnp.asarray(u), jnp.asarray(vt.T))  # new arrays, same kind and shapes
    with CompileCounter() as counter:
        result = train(DEEP, _batch(DEEP, 2, seed=7), regression, steps=50, learning_rate=0.03,
                       observables={"u": second})
    assert counter.programs == 0  # neither compiled nor loaded from the session's compilation cache
    assert result.history.u.dims == ("run", "step", "mode")
    # A plain function is part of the program's identity: a fresh one compiles again.
    with CompileCounter() as counter:
        train(DEEP, params, regression, steps=50, observables={"u": lambda m, p, t: first(m, p, t)})
    assert counter.programs >= 1


def test_gradient_flow_out_of_solver_steps_is_a_status(regression):
    params = _batch(DEEP, 2)

    def flow(horizon, **options):
        # One compiled program for every call (the same max_steps, observables and tolerances): reaching t = 5 at
        # rtol 1e-10 takes more than 3 solver steps, t = 0.005 takes one.
        return gradient_flow(DEEP, params, regression, np.linspace(0, horizon, 6), max_steps=3,
                             observables={"W": obs.EndToEnd()}, **options)

    marked = flow(5.0, on_divergence="mark")
    assert list(marked.status) == [Status.MAX_STEPS, Status.MAX_STEPS]
    stop = int(marked.stopped_at[0])
    assert stop < 6 and np.all(np.isnan(marked.history.W.isel(run=0, time=slice(stop, None))))
    with pytest.raises(SolverError, match="run 0 ran out of solver steps"):
        flow(5.0)
    finished = flow(0.005)
    assert list(finished.status) == [Status.FINISHED, Status.FINISHED] and list(finished.stopped_at) == [5, 5]
    assert np.all(finished.history.solver_steps.values <= 3)


def test_nan_in_the_data_is_named_as_such(regression):
    x = np.asarray(regression.x).copy()
    x[3, 1] = np.nan
    task = data.Task.from_samples(x, regression.y)
    for run in (lambda: train(DEEP, _batch(DEEP, 1), task, steps=5),
                lambda: gradient_flow(DEEP, _batch(DEEP, 1), task, [0.0, 1.0])):
        with pytest.raises(LayerwiseError, match=r"task.x contains NaN or inf \(first at index \(3, 1\)\)"):
            run()


@pytest.mark.parametrize("params, message", [
    (lambda: (jnp.zeros((2, 3, 4)), jnp.zeros((2, 2, 4))), r"params\[1\] must have \(runs, \*shape\) \(2, 2, 3\)"),
    (lambda: (jnp.zeros((2, 3, 4)),), "structure"),
])
def test_wrong_param_shapes_name_the_leaf(params, message, regression):
    with pytest.raises(LayerwiseError, match=message):
        train(DEEP, params(), regression, steps=5)


def test_task_dimensions_must_match_the_model(regression):
    with pytest.raises(LayerwiseError, match="4 input features but the model takes 3"):
        train(DeepLinearNetwork(widths=(3, 2)), (jnp.zeros((1, 2, 3)),), regression, steps=5)
    with pytest.raises(LayerwiseError, match="model must be a layerwise Model"):
        train(object(), _batch(DEEP, 1), regression, steps=5)


def test_diagonal_net_batched_output_scale_with_the_statistics_path():
    model = DiagonalLinearNetwork(dim=2, depth=2, output_scale=jnp.array([1.0, 0.5]))
    task = data.diagonal_task([1.0, 2.0])
    params = jnp.full((2, 2, 2), 0.1)
    result = train(model, params, task, steps=10, learning_rate=0.1, model_batched=True)
    assert result.history.attrs["sufficient_statistics"] == 1
    assert float(result.history.loss.isel(run=0, step=1)) != float(result.history.loss.isel(run=1, step=1))
