r"""Experiment ``grokking-modular``: grokking on modular addition, and the levers that shorten the delay (Nam et al.
2025, §7; Kunin et al. 2024).

``(a + b) mod p`` learned by a two-layer MLP on token embeddings with a square activation (Gromov 2023), full-batch
AdamW with weight decay, MSE on ``target_scale * one_hot``. The baseline groks; the paper's levers, a smaller init or a
larger target (a lower weight-to-target ratio), shorten the delay. Layer imbalance (Kunin et al. 2024) is tested too:
an *upstream* init (a smaller first layer under a larger readout, so the first layer learns faster) is predicted to
shorten the delay, a downstream one to lengthen it (seen at p = 31; at p = 97 upstream did not shorten it in our
runs). The five runs are one `train` call; each of ``seeds`` seeds (its own split and init) is one such call, since
every run of a call shares the observables' held-out set. The grokking delay is ``step(test acc >= 0.9 x final) -
step(train acc >= 0.99)`` on a log-spaced step grid (`layerwise.metrics.grokking_epochs`); the checks read the seed
mean of each run's delay and final test accuracy.
"""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from pydantic import Field

from layerwise import metrics, observables
from layerwise.data.modular import modular_addition, modular_addition_task
from layerwise.engine import log_record_steps, train
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.models.embedding_mlp import EmbeddingMLP, embedding_mlp_init
from layerwise.report.checks import Check, check_above
from layerwise.report.plotting import accuracy_curves, delay_bars, figure_grid
from layerwise.seeds import seed_keys, seed_values

RUNS = ("baseline", "small init", "large target", "upstream", "downstream")


@F.config_dataclass
class GrokkingModularConfig:
    """Settings of the ``grokking-modular`` experiment (defaults: p = 97; ``--quick``: p = 31, narrower)."""

    seed: F.Seed = 0
    """First seed: each seed draws its own train/test split of the pairs and its own init."""
    seeds: F.Count = 1
    """Number of seeds; the checks use the seed mean of each run's delay and final test accuracy."""
    modulus: F.at_least(3) = 97
    """The modulus p: p^2 pairs (a, b)."""
    train_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.3
    """Fraction of the pairs in the training set, in (0, 1)."""
    modular_width: F.Count = 512
    """Hidden width of the EmbeddingMLP."""
    modular_steps: F.Count = 5000
    """Full-batch AdamW steps (= epochs)."""
    modular_learning_rate: F.PositiveFloat = 1e-3
    """AdamW learning rate."""
    modular_weight_decay: F.NonNegativeFloat = 1.0
    """AdamW (decoupled) weight decay."""
    modular_weight_scale: F.PositiveFloat = 0.3
    """Baseline init scale w (embeddings N(0, w^2), readout N(0, w^2/width)); square activation."""
    small_init_scale: F.PositiveFloat = 0.1
    """The smaller-init lever."""
    large_target_scale: F.PositiveFloat = 10.0
    """The larger-target lever (baseline targets: one-hot x 1)."""
    imbalance: F.PositiveFloat = 2.0
    """Layer imbalance r: upstream = embeddings / r and readout x r^2 (downstream the reverse); f at init unchanged."""
    record_epochs: F.at_least(3) = 40
    """About this many log-spaced steps at which accuracies are recorded."""


def _settings(config: GrokkingModularConfig) -> dict:
    """Run name -> (weight scale, layer ratio, target scale)."""
    w, r = config.modular_weight_scale, config.imbalance
    return {"baseline": (w, 1.0, 1.0), "small init": (config.small_init_scale, 1.0, 1.0),
            "large target": (w, 1.0, config.large_target_scale), "upstream": (w, 1.0 / r, 1.0),
            "downstream": (w, r, 1.0)}


def _train_runs(config: GrokkingModularConfig, key, seed: int, steps):
    """The five runs of one seed as one vmapped full-batch AdamW run: (train accuracy, test accuracy) (run, step)."""
    dtype, p, settings = jnp.float32, config.modulus, _settings(config).values()
    tokens_train, labels_train, tokens_test, labels_test = modular_addition(p, config.train_fraction, seed)
    model = EmbeddingMLP(vocab_size=p, context=2, width=config.modular_width, out_dim=p, activation="square")
    init_key = jax.random.fold_in(key, 21)
    params = [embedding_mlp_init(init_key, model, scale, ratio, dtype=dtype) for scale, ratio, _ in settings]
    tasks = [modular_addition_task(tokens_train, labels_train, p, target, dtype) for _, _, target in settings]
    stack = lambda items: jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *items)  # noqa: E731
    accuracy = {"train_accuracy": observables.Accuracy(jnp.asarray(tokens_train), jnp.asarray(labels_train)),
                "test_accuracy": observables.Accuracy(jnp.asarray(tokens_test), jnp.asarray(labels_test))}
    history = train(model, stack(params), stack(tasks), steps=config.modular_steps, optimizer="adamw",
                    learning_rate=config.modular_learning_rate, weight_decay=config.modular_weight_decay,
                    record_steps=steps, observables=accuracy, loss="mean_squared_error", task_batched=True,
                    on_divergence="mark").history
    return history.train_accuracy.values, history.test_accuracy.values


def simulate(config: GrokkingModularConfig, progress: Progress) -> xr.Dataset:
    steps = log_record_steps(config.modular_steps, config.record_epochs)
    runs = []
    for seed, key in zip(seed_values(config.seed, config.seeds), seed_keys(config.seed, config.seeds)):
        runs.append(_train_runs(config, key, int(seed), steps))
        progress(f"modular addition, seed {seed}")
    train_accuracy, test_accuracy = zip(*runs)
    settings = np.asarray(list(_settings(config).values()))
    return xr.Dataset(
        {"nonlinear_train_accuracy": (("seed", "run", "step"), np.stack(train_accuracy)),
         "nonlinear_test_accuracy": (("seed", "run", "step"), np.stack(test_accuracy))},
        coords={"seed": seed_values(config.seed, config.seeds), "run": list(RUNS), "step": steps,
                "weight_scale": ("run", settings[:, 0]), "layer_ratio": ("run", settings[:, 1]),
                "target_scale": ("run", settings[:, 2])},
        attrs={"description": "Grokking on modular addition (Nam et al. 2025, §7; Kunin et al. 2024)",
               "modular": f"p = {config.modulus}, train fraction {config.train_fraction:g}, EmbeddingMLP width "
                          f"{config.modular_width} (square activation), AdamW lr {config.modular_learning_rate:g} wd "
                          f"{config.modular_weight_decay:g}, {config.modular_steps} full-batch steps, float32"})


def _delays(ds: xr.Dataset):
    """``(train step, test step, delay)`` of every (seed, run) (`layerwise.metrics.grokking_epochs`)."""
    train_step, test_step = metrics.grokking_epochs(ds.step.values, ds.nonlinear_train_accuracy.values,
                                                    ds.nonlinear_test_accuracy.values)
    return train_step, test_step, test_step - train_step


def check(ds: xr.Dataset) -> list[Check]:
    config = dataset_config(ds, EXPERIMENT)
    delays = dict(zip(RUNS, np.mean(_delays(ds)[2], axis=0)))
    final = ds.nonlinear_test_accuracy.values[:, :, -1].mean(axis=0)
    delay_list = [float(delays[n]) for n in RUNS]
    shorter = all(delays[n] < delays["baseline"] for n in ("small init", "large target"))
    return [check_above(
        "modular_groks", f"(a + b) mod {config.modulus}: the baseline reaches >= 95% test accuracy (final)",
        final[0], 0.95), Check(
        "modular_levers_shorten_delay", "the paper's levers: a smaller init and a larger target (lower "
        "weight-to-target ratio) each shorten the grokking delay, and all three runs grok (>= 95% test) (delays in "
        "steps: baseline, small init, large target, upstream, downstream)", delay_list,
        "small init, large target < baseline", bool(shorter and np.all(final[:3] >= 0.95))), Check(
        "modular_upstream_shortens_delay", f"layer imbalance (Kunin et al. 2024), r = {config.imbalance:g}: an "
        "upstream init (embeddings / r, readout x r^2: the first layer learns faster) shortens the delay and a "
        "downstream one (the reverse) lengthens it (delays in steps: baseline, small init, large target, upstream, "
        "downstream)", delay_list, "upstream < baseline < downstream",
        bool(delays["upstream"] < delays["baseline"] < delays["downstream"]))]


def plot(ds: xr.Dataset) -> dict:
    config = dataset_config(ds, EXPERIMENT)
    train_step, test_step, delay = (np.mean(v, axis=0) for v in _delays(ds))
    figure, axes = figure_grid(2, 3, width=4.6, height=3.7, title=f"Grokking on (a+b) mod {config.modulus} — "
                               f"nonlinear network dotted (width {config.modular_width}; seed mean)")
    for j, (name, ax) in enumerate(zip(RUNS, axes.ravel())):
        accuracy_curves(ax, ds.step.values, ds.nonlinear_train_accuracy.mean("seed").values[j],
                        ds.nonlinear_test_accuracy.mean("seed").values[j], train_step[j], test_step[j])
        ax.set(xlabel="step = epoch (log)", title=f"{name}: delay {delay[j]:g}")
        if j == 0:
            ax.set_ylabel(f"accuracy, (a+b) mod {config.modulus}")
            ax.legend(fontsize=8, loc="upper left")
    delay_bars(axes[1, 2], [n.replace(" ", "\n") for n in RUNS], delay)
    axes[1, 2].set(xlabel="grokking delay (steps), < 0 shown as 0", title="delays")
    return {"grokking_modular": figure}


EXPERIMENT = Experiment(
    name="grokking-modular",
    description="Grokking on modular addition: a smaller init, a larger target and an upstream init shorten it",
    config_type=GrokkingModularConfig,
    quick={"modulus": 31, "train_fraction": 0.5, "modular_width": 128, "modular_steps": 5000},
    presets={"test": {"modulus": 11, "train_fraction": 0.5, "modular_width": 32, "modular_steps": 1000,
                      "record_epochs": 10, "seeds": 2}},
    simulate=simulate,
    check=check,
    plot=plot,
    units=lambda config: config.seeds,
)
