"""A tiny seeded experiment (registered through LAYERWISE_PLUGINS) and functions for the sweep tests.

``tiny-seeded``: per seed a random walk of ``steps`` steps of size ``scale`` (JAX, one key per seed, vectorised).
Its Dataset has a variable named ``scale`` (a sweep over ``scale`` renames it ``cell_scale``) and a ``step``
dimension whose length is ``steps`` (a sweep over ``steps`` leaves ``walk`` unmerged). With ``$TINY_SWEEP_MARKS``
set, the cell whose scale equals ``$TINY_SWEEP_PAUSE_AT`` touches ``MARKS/started`` and sleeps ``$TINY_SWEEP_SLEEP``
seconds, for a test to kill the process mid-cell.
"""

import dataclasses
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from layerwise._deprecation import renamed_fields
from layerwise.experiments.base import REGISTRY, Experiment, register
from layerwise.report.checks import check_over_seeds
from layerwise.seeds import seed_keys, seed_values


@renamed_fields(size="scale")  # an old name, for the tests of renamed config fields
@dataclasses.dataclass(frozen=True)
class TinySeededConfig:
    seed: int = 0
    seeds: int = 1
    scale: float = 1.0
    steps: int = 5


def simulate(config, progress):
    pause = os.environ.get("TINY_SWEEP_PAUSE_AT")
    if pause is not None and float(pause) == config.scale and os.environ.get("TINY_SWEEP_MARKS"):
        Path(os.environ["TINY_SWEEP_MARKS"], "started").touch()
        time.sleep(float(os.environ.get("TINY_SWEEP_SLEEP", "60")))
    keys = seed_keys(config.seed, config.seeds)
    walk = jnp.cumsum(config.scale * jax.vmap(lambda k: jax.random.normal(k, (config.steps,)))(keys), axis=1)
    return xr.Dataset({"walk": (("seed", "step"), np.asarray(walk)),
                       "end": (("seed",), np.asarray(walk[:, -1])),
                       "scale": config.scale},
                      coords={"seed": seed_values(config.seed, config.seeds), "step": np.arange(config.steps)})


def check(dataset):
    spread = np.abs(dataset["end"].values) / (float(dataset["scale"]) * np.sqrt(dataset.sizes["step"]))
    return [check_over_seeds("end_within_4_sigma", "|end| / (scale sqrt(steps)) < 4", spread, upper=4.0)]


def plot(dataset):
    figure = plt.figure()
    plt.plot(dataset["walk"].values.T)
    return {"walk": figure}


EXPERIMENT = Experiment("tiny-seeded", "a seeded random walk (sweep tests)", TinySeededConfig, quick={"steps": 4},
                        simulate=simulate, check=check, plot=plot, presets={"test": {"steps": 3}})
if "tiny-seeded" not in REGISTRY:
    register(EXPERIMENT)


def walk_function(config: dict) -> xr.Dataset:
    """A function sweep target: the engine-free seeded walk of `simulate`, as a plain ``config -> Dataset``."""
    return simulate(TinySeededConfig(**{k: config[k] for k in ("seed", "seeds", "scale", "steps")}), None)


def descent_function(config: dict) -> xr.Dataset:
    """A function sweep target with real XLA numerics: per seed, 40 gradient-descent steps on a tanh regression
    (random init of size ``scale``, rate ``learning_rate``), vectorised over the seeds."""
    x = jnp.linspace(-1.0, 1.0, 12).reshape(3, 4)
    y = jnp.sin(x)

    def descend(key):
        weights = config["scale"] * jax.random.normal(key, (4, 4))
        loss = lambda w: jnp.mean((jnp.tanh(x @ w) - y) ** 2)  # noqa: E731
        step = lambda i, w: w - config["learning_rate"] * jax.grad(loss)(w)  # noqa: E731
        final = jax.lax.fori_loop(0, 40, step, weights)
        return loss(final), final

    losses, weights = jax.jit(jax.vmap(descend))(seed_keys(config["seed"], config["seeds"]))
    return xr.Dataset({"loss": (("seed",), np.asarray(losses)), "weights": (("seed", "i", "j"), np.asarray(weights))},
                      coords={"seed": seed_values(config["seed"], config["seeds"])})


def descent_check(dataset):
    return [check_over_seeds("loss_below_1", "final loss < 1", dataset["loss"].values, upper=1.0)]


def waiting_function(config: dict) -> xr.Dataset:
    """Each attempt appends its process id to ``FOLDER/<x>.attempts``, then waits (up to a minute) for
    ``FOLDER/go``: a test can kill the worker of a running cell by its process id."""
    folder = Path(config["folder"])
    with open(folder / f"{config['x']}.attempts", "a") as file:
        file.write(f"{os.getpid()}\n")
    for _ in range(600):
        if (folder / "go").exists():
            break
        time.sleep(0.1)
    return xr.Dataset({"y": float(config["x"]) ** 2})


def raising_function(config: dict) -> xr.Dataset:
    """Fails for ``x = 2`` (a cell that raises is failed with its error, never retried)."""
    if config["x"] == 2:
        raise ArithmeticError("x = 2 is broken")
    return xr.Dataset({"y": float(config["x"]) ** 2})
