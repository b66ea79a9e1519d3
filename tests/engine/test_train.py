"""The engine: gradients, the sufficient-statistics path, vmap, GD -> gradient flow, conservation, seeds, divergence."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import data, init, metrics
from layerwise.errors import DivergenceError, LayerwiseError
from layerwise.models import DeepLinearNetwork, DiagonalLinearNetwork
from layerwise.engine import (Status, gradient_flow, log_record_steps, statistics_gradient, statistics_loss, task_loss,
                              train)

DEEP = DeepLinearNetwork(widths=(4, 3, 2))


@pytest.fixture(scope="module")
def regression():
    return data.whitened_regression(jax.random.PRNGKey(0), 40, 4, 2)


def _batch(model, count, scale=0.5, seed=1):
    keys = jax.random.split(jax.random.PRNGKey(seed), count)
    return jax.vmap(lambda k: init.gaussian_init(k, model, scale))(keys)


def _end_to_end(model, params, task):
    return model.end_to_end(params)


@pytest.mark.parametrize("model", [DEEP, DiagonalLinearNetwork(dim=4, depth=3), DeepLinearNetwork(widths=(4, 5, 3, 2))])
def test_gradient_matches_central_finite_differences(model, regression):
    task = regression if model.out_dim == 2 else data.Task.from_samples(regression.x, regression.y[:, :1])
    params = init.gaussian_init(jax.random.PRNGKey(2), model, 0.7)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    loss = lambda f: task_loss(model, unravel(f), task, use_statistics=False)  # noqa: E731
    gradient = jax.grad(loss)(flat)
    eps = 1e-6
    basis = np.eye(flat.size)
    finite = np.array([(loss(flat + eps * e) - loss(flat - eps * e)) / (2 * eps) for e in basis])
    # Central differences are O(eps^2) accurate; float64 rounding adds ~1e-10.
    np.testing.assert_allclose(gradient, finite, rtol=1e-7, atol=1e-9)


def test_sufficient_statistics_path_equals_data_path(regression):
    params = _batch(DEEP, 3)
    runs = {}
    for statistics in (True, False):
        runs[statistics] = train(DEEP, params, regression, steps=300, learning_rate=0.05, use_statistics=statistics,
                                 record_steps=log_record_steps(300, 20), observables={"W": _end_to_end})
    assert runs[True].history.attrs["sufficient_statistics"] == 1
    assert runs[False].history.attrs["sufficient_statistics"] == 0
    # Same math, different summation order: equal to 1e-10 in float64.
    np.testing.assert_allclose(runs[True].history.W, runs[False].history.W, atol=1e-10, rtol=1e-10)
    np.testing.assert_allclose(runs[True].history.loss, runs[False].history.loss, atol=1e-10, rtol=1e-10)


STATISTICS_MODELS = [DEEP, DeepLinearNetwork(widths=(4, 5, 3, 2), output_scale=0.7),
                     DiagonalLinearNetwork(dim=4, depth=3)]


@pytest.mark.parametrize("model", STATISTICS_MODELS)
def test_statistics_gradient_equals_autodiff_of_the_statistics_loss(model):
    # A covariance that is not symmetric in its entries: the loss sees only its symmetric part.
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    covariance = jax.random.normal(keys[0], (4, 4)) + 4 * jnp.eye(4)
    task = data.Task.from_statistics(covariance, jax.random.normal(keys[1], (model.out_dim, 4)), 2.0)
    params = init.gaussian_init(keys[2], model, 0.7)
    autodiff = jax.grad(lambda p: statistics_loss(model.end_to_end(p), task))(params)
    closed_form = statistics_gradient(model, params, task)
    for got, want in zip(jax.tree_util.tree_leaves(closed_form), jax.tree_util.tree_leaves(autodiff)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("model", STATISTICS_MODELS)
def test_statistics_path_equals_gradient_descent_on_the_statistics_loss(model, regression):
    task = regression if model.out_dim == 2 else data.Task.from_samples(regression.x, regression.y[:, :1])
    params = _batch(model, 2)
    result = train(model, params, task, steps=200, learning_rate=0.05, use_statistics=True, record_steps=[0, 200])
    step = jax.grad(lambda p: statistics_loss(model.end_to_end(p), task))
    reference = jax.vmap(lambda p: jax.lax.fori_loop(
        0, 200, lambda _, q: jax.tree_util.tree_map(lambda w, g: w - 0.05 * g, q, step(q)), p))(params)
    for got, want in zip(jax.tree_util.tree_leaves(result.params), jax.tree_util.tree_leaves(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_vmapped_batch_equals_runs_one_by_one(regression):
    params = _batch(DEEP, 4)
    lrs = np.array([0.01, 0.02, 0.05, 0.1])
    batch = train(DEEP, params, regression, steps=200, learning_rate=lrs, observables={"W": _end_to_end})
    for r in range(4):
        single = train(DEEP, jax.tree_util.tree_map(lambda p: p[r : r + 1], params), regression, steps=200,
                       learning_rate=lrs[r], observables={"W": _end_to_end})
        np.testing.assert_allclose(batch.history.W.isel(run=r), single.history.W.isel(run=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(batch.history.learning_rate, lrs)


def test_gradient_descent_converges_to_gradient_flow_at_first_order(regression):
    params = _batch(DEEP, 1, scale=0.3)
    horizon = 2.0
    flow = gradient_flow(DEEP, params, regression, [0.0, horizon], observables={"W": _end_to_end})
    target = flow.history.W.isel(run=0, time=-1).values
    errors = []
    for lr in (0.02, 0.01, 0.005):
        steps = int(round(horizon / lr))
        gd = train(DEEP, params, regression, steps=steps, learning_rate=lr, record_steps=[0, steps],
                   observables={"W": _end_to_end})
        errors.append(np.max(np.abs(gd.history.W.isel(run=0, step=-1).values - target)))
    # Euler's global error is O(lr): halving lr halves the error.
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    np.testing.assert_allclose(ratios, 2.0, rtol=0.1)
    assert errors[-1] < 1e-2


def test_conserved_imbalance_exact_under_flow_and_second_order_per_gd_step(regression):
    model = DeepLinearNetwork(widths=(4, 3, 3, 2))
    params = _batch(model, 2, scale=0.6)
    imbalance = {"D": lambda m, p, t: metrics.imbalance_later_minus_earlier(m, p)}
    flow = gradient_flow(model, params, regression, np.linspace(0, 3, 7), observables=imbalance)
    drift = np.max(np.abs(flow.history.D - flow.history.D.isel(time=0)))
    assert drift < 1e-9  # W_{l+1}^T W_{l+1} - W_l W_l^T is a constant of the flow
    per_step = []
    for lr in (0.02, 0.01):
        one = train(model, params, regression, steps=1, learning_rate=lr, record_steps=[0, 1], observables=imbalance)
        per_step.append(float(np.max(np.abs(one.history.D.isel(step=1) - one.history.D.isel(step=0)))))
    # One GD step changes the imbalance by exactly lr^2 (g g^T terms): halving lr divides it by 4.
    assert per_step[0] / per_step[1] == pytest.approx(4.0, rel=1e-6)


def test_same_seed_same_minibatch_results(regression):
    params = _batch(DEEP, 2)
    run = lambda seed: train(DEEP, params, regression, steps=50, learning_rate=0.05, batch_size=16,  # noqa: E731
                             key=jax.random.PRNGKey(seed), observables={"W": _end_to_end})
    a, b, c = run(3), run(3), run(4)
    np.testing.assert_array_equal(a.history.W, b.history.W)
    assert not np.allclose(a.history.W.isel(step=-1), c.history.W.isel(step=-1))


def test_one_batch_of_all_samples_is_full_batch_gd(regression):
    params = _batch(DEEP, 2)
    full = train(DEEP, params, regression, steps=20, learning_rate=0.05, use_statistics=False,
                 observables={"W": _end_to_end})
    mini = train(DEEP, params, regression, steps=20, learning_rate=0.05, batch_size=40, key=jax.random.PRNGKey(0),
                 observables={"W": _end_to_end})
    np.testing.assert_allclose(mini.history.W, full.history.W, rtol=1e-12, atol=1e-14)


def test_partial_last_batch_is_weighted_by_its_size(regression):
    # n = 40, batch 30: each epoch is one batch of 30 and one of 10. With lr -> 0 an epoch of SGD equals one GD step
    # on the mean of the two batch gradients (not the sample mean): test the step on params at a single step.
    model = DiagonalLinearNetwork(dim=4, depth=1)
    task = data.Task.from_samples(regression.x, regression.y[:, :1])
    params = jnp.zeros((1, 1, 4))
    one = train(model, params, task, steps=2, learning_rate=1e-3, batch_size=30, key=jax.random.PRNGKey(0),
                record_steps=[0, 1, 2], observables={"w": lambda m, p, t: p[0]})
    moved = np.asarray(one.history.w.isel(run=0))
    # First step uses 30 samples, second the remaining 10: together they cover the data exactly once, so to first
    # order in lr the sum of the two steps is 2 * lr * (mean gradient over the 30) + ... ; check each batch's size by
    # reconstructing its gradient: at theta = 0 the gradient is -mean(y x) over the batch.
    first_gradient = -(moved[1] - moved[0]) / 1e-3
    total = regression.y[:, 0] @ regression.x  # sum over all samples of y x
    second_gradient = -(moved[2] - moved[1]) / 1e-3
    # 30 * g1 + 10 * g2 = -sum(y x) (up to O(lr) from the moved params)
    np.testing.assert_allclose(30 * first_gradient + 10 * second_gradient, -total, rtol=1e-2, atol=1e-3)


def test_every_epoch_visits_each_sample_exactly_once():
    # One-hot inputs x_i = e_i, targets 1, theta = 0: a step moves exactly the coordinates of its batch, so the steps
    # reveal the batches. n = 10, B = 3: epochs of 3 + 3 + 3 + 1 samples, recorded every step (the epoch's order
    # must persist across record segments) over three epochs, each a fresh permutation.
    n, batch = 10, 3
    model = DiagonalLinearNetwork(dim=n, depth=1)
    task = data.Task.from_samples(jnp.eye(n), jnp.ones((n, 1)))
    one = train(model, jnp.zeros((2, 1, n)), task, steps=12, learning_rate=1e-3, batch_size=batch,
                key=jax.random.PRNGKey(5), record_steps=np.arange(13), observables={"w": lambda m, p, t: p[0]})
    moved = np.abs(np.diff(np.asarray(one.history.w), axis=1)) > 0  # (run, step, coordinate)
    assert moved.sum(-1).tolist() == [[3, 3, 3, 1] * 3] * 2
    epochs = moved.reshape(2, 3, 4, n)
    np.testing.assert_array_equal(epochs.sum(2), 1)  # each sample exactly once per epoch
    orders = np.argmax(epochs, axis=2)  # the batch each sample fell in, per (run, epoch)
    assert len({tuple(o) for o in orders.reshape(6, n)}) > 1  # epochs (and runs) are shuffled differently


def test_weight_decay_shrinks_at_the_predicted_rate():
    # Zero target, whitened inputs: grad = theta, so theta_k = (1 - lr (1 + wd))^k theta_0 under coupled decay.
    model = DiagonalLinearNetwork(dim=2, depth=1)
    task = data.Task.from_statistics(jnp.eye(2), jnp.zeros((1, 2)), 0.0)
    params = jnp.ones((1, 1, 2))
    result = train(model, params, task, steps=10, learning_rate=0.1, weight_decay=0.5, record_steps=[0, 10],
                   observables={"w": lambda m, p, t: p[0]})
    np.testing.assert_allclose(result.history.w.isel(run=0, step=-1), (1 - 0.1 * 1.5) ** 10, rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "adamw"])
def test_other_optimizers_reduce_the_loss(optimizer, regression):
    result = train(DEEP, _batch(DEEP, 2), regression, steps=300, optimizer=optimizer, learning_rate=0.01)
    loss = result.history.loss
    assert np.all(loss.isel(step=-1) < 0.9 * loss.isel(step=0))


def test_divergence_raises_naming_run_step_and_hyperparameters(regression):
    params = _batch(DEEP, 3)
    with pytest.raises(DivergenceError) as error:
        train(DEEP, params, regression, steps=300, learning_rate=np.array([0.01, 50.0, 0.01]))
    assert error.value.run == 1
    assert error.value.step > 0
    assert error.value.hyperparameters["learning_rate"] == 50.0
    assert "run 1" in str(error.value) and "learning_rate" in str(error.value)


def test_divergence_mark_keeps_other_runs(regression):
    params = _batch(DEEP, 3)
    result = train(DEEP, params, regression, steps=300, learning_rate=np.array([0.01, 50.0, 0.02]),
                   on_divergence="mark")
    assert list(result.diverged) == [False, True, False]
    loss = result.history.loss
    assert np.all(np.isfinite(loss.isel(run=[0, 2])))
    assert np.isnan(loss.isel(run=1, step=-1))
    assert list(result.status) == [Status.FINISHED, Status.DIVERGED, Status.FINISHED]
    assert list(result.history.status.values) == list(result.status)
    step = int(result.stopped_at[1])
    assert result.diverged_step[1] == step and result.stopped_at[0] == 300
    assert np.all(np.isfinite(loss.isel(run=1).sel(step=slice(None, step - 1))))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"steps": -5}, "steps"),
        ({"steps": 0}, "steps"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"loss": "hinge"}, "loss"),
        ({"record_steps": [0, 500]}, "record_steps"),
        ({"batch_size": 8}, "key"),
        ({"learning_rate": np.ones(5)}, "learning_rate"),
    ],
)
def test_bad_engine_input_is_one_line_naming_the_field(kwargs, field, regression):
    arguments = {"steps": 100} | kwargs
    with pytest.raises(LayerwiseError) as error:
        train(DEEP, _batch(DEEP, 2), regression, **arguments)
    assert field in str(error.value) and "\n" not in str(error.value)


def test_log_record_steps_grid():
    steps = log_record_steps(10_000, 30)
    assert steps[0] == 0 and steps[-1] == 10_000 and np.all(np.diff(steps) > 0)
    ratios = steps[6:] / steps[5:-1]
    assert ratios.max() < 1.6  # geometric once past the first integers
