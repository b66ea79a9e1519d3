"""A task's ``sampler_args``: per-run arrays the engine hands to the sampler, so runs that differ only in them (e.g.
data-set sizes) share one compiled program."""

import jax
import jax.numpy as jnp
import numpy as np

from layerwise.data import Task
from layerwise.engine import train
from layerwise.models import DeepLinearNetwork
from layerwise.profiling import CompileCounter


def _target_sampler(key, batch_size, slope):  # y = slope * x: the run's own argument sets its target
    x = jax.random.normal(key, (batch_size, 1))
    return x, slope * x


def _task(slopes):
    x = jnp.ones((len(slopes), 4, 1))
    return Task(jnp.ones((len(slopes), 1, 1)), jnp.ones((len(slopes), 1, 1)), jnp.ones(len(slopes)), x, x,
                _target_sampler, (jnp.asarray(slopes),))


def test_each_run_reads_its_own_sampler_args_in_one_program():
    model = DeepLinearNetwork(widths=(1, 1))
    params = jax.vmap(lambda k: model.init(k))(jax.random.split(jax.random.PRNGKey(0), 3))
    run = lambda slopes: train(model, params, _task(slopes), "sgd", steps=400, learning_rate=0.1,  # noqa: E731
                               batch_size=8, key=jax.random.PRNGKey(1), task_batched=True)
    first = run([0.5, -1.0, 2.0])
    # SGD on y = a x (noise-free) converges to w = a for each run: the runs saw their own targets.
    np.testing.assert_allclose(np.asarray(model.end_to_end(first.params)).ravel(), [0.5, -1.0, 2.0], atol=1e-6)
    with CompileCounter() as compiled:
        run([1.0, 3.0, -2.0])
    assert compiled.programs == 0  # new argument values, the same program (none built, none loaded)
