"""A small training experiment registered through LAYERWISE_PLUGINS, for the checkpoint tests: two `train` calls
(Adam with an optax schedule on a deep linear network, mini-batch SGD on a tanh MLP), vmapped over runs, whose
length is set by ``steps`` (``--set steps=N``), so a test can kill the process mid-training and resume."""

import dataclasses

import jax
import matplotlib.pyplot as plt
import numpy as np
import optax
import xarray as xr

from layerwise import data, init
from layerwise.engine import train
from layerwise.experiments.base import REGISTRY, Experiment, Outcome, register
from layerwise.models import MLP, DeepLinearNetwork
from layerwise.report.checks import check_below


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    seed: int = 0
    steps: int = 2000
    runs: int = 4


def _end_to_end(model, params, task):
    return model.end_to_end(params)


def _run(config, progress):
    key = jax.random.PRNGKey(config.seed)
    task = data.whitened_regression(key, 64, 6, 3)
    linear = DeepLinearNetwork(widths=(6, 5, 3))
    keys = jax.random.split(jax.random.fold_in(key, 1), config.runs)
    params = jax.vmap(lambda k: init.gaussian_init(k, linear, 0.3))(keys)
    record = np.unique(np.linspace(0, config.steps, 101).astype(int))
    first = train(linear, params, task, optax.adam(optax.exponential_decay(0.01, config.steps // 4, 0.5)),
                  steps=config.steps, record_steps=record, observables={"W": _end_to_end})
    progress("linear")
    mlp = MLP(widths=(6, 16, 3), activation="tanh")
    mlp_params = jax.vmap(lambda k: init.gaussian_init(k, mlp, 0.5))(keys)
    second = train(mlp, mlp_params, task, "sgd", steps=config.steps, learning_rate=np.linspace(0.02, 0.05, config.runs),
                   batch_size=16, key=jax.random.fold_in(key, 2), record_steps=record, loss="mean_squared_error")
    progress("mlp")
    dataset = xr.Dataset({"linear_loss": first.history.loss.rename(step="linear_step"),
                          "linear_W": first.history.W.rename(step="linear_step"),
                          "mlp_loss": second.history.loss.rename(step="mlp_step"),
                          "mlp_status": second.history.status})
    figure = plt.figure()
    plt.plot(np.asarray(first.history.loss).T)
    final = float(np.max(first.history.loss.values[:, -1]))
    return Outcome(dataset, [check_below("trainer_loss", "the loss is below its start", final, 10.0)],
                   {"trainer_loss": figure})


EXPERIMENT = Experiment("trainer", "checkpoint test experiment", TrainerConfig, {"steps": 500}, _run,
                        units=lambda config: 2)
if "trainer" not in REGISTRY:
    register(EXPERIMENT)
