r"""Experiment ``grokking-modular``: grokking on modular addition, and the levers that shorten the delay (Nam et al.
2025, §7; Kunin et al. 2024), in two nonlinear models.

1. A one-layer transformer (`layerwise.experiments.grokking_transformer`), Kunin et al. (2024)'s setting shrunk to
   fit two CPU cores (its departures in ``attrs["departures"]``): softmax cross-entropy, AdamW, upstream vs balanced
   vs downstream inits. Claim 18 is decided here.
2. A two-layer MLP on token embeddings with a square activation (Gromov 2023), full-batch AdamW with weight decay,
   MSE on ``target_scale * one_hot``: a baseline, the paper's levers (a smaller init, a larger target: a lower
   weight-to-target ratio) and the layer imbalance (upstream: a smaller first layer under a larger readout).

Each seed draws its own split and init; per seed the five MLP runs are one `train` call and the three transformer
inits another (every run of a call shares the observables' held-out set). The grokking delay is ``step(test acc >=
0.9 x final) - step(train acc >= 0.99)`` on evenly spaced record grids (`layerwise.metrics.grokking_epochs`); the
checks are `check_over_seeds` on per-seed delay ratios and accuracies (seed mean, 95 % interval).
"""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from pydantic import Field

from layerwise import metrics, observables
from layerwise._deprecation import renamed_fields
from layerwise.data.modular import modular_addition, modular_addition_task
from layerwise.engine import linear_record_steps, train
from layerwise.experiments import fields as F
from layerwise.experiments import grokking_transformer as transformer
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.models.embedding_mlp import EmbeddingMLP, embedding_mlp_init
from layerwise.report.checks import Measurement, check_over_seeds
from layerwise.report.plotting import accuracy_curves, delay_bars, figure_grid
from layerwise.seeds import seed_keys, seed_values

RUNS = ("baseline", "small init", "large target", "upstream", "downstream")


@renamed_fields(modular_weight_scale="modular_init_scale", imbalance="layer_ratio",
                transformer_weight_scale="transformer_init_scale", transformer_imbalance="transformer_layer_ratio")
@F.config_dataclass
class GrokkingModularConfig:
    """Settings of the ``grokking-modular`` experiment (defaults: p = 97; ``--quick``: p = 31, narrower)."""

    seed: F.Seed = 0
    """First seed: each seed draws its own train/test split of the pairs and its own init."""
    seeds: F.Count = 3
    """Number of seeds (>= 3 for the checks' intervals); the checks use per-seed values' means."""
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
    modular_init_scale: F.PositiveFloat = 0.3
    """Baseline init scale w (embeddings N(0, w^2), readout N(0, w^2/width)); square activation."""
    small_init_scale: F.PositiveFloat = 0.1
    """The smaller-init lever."""
    large_target_scale: F.PositiveFloat = 10.0
    """The larger-target lever (baseline targets: one-hot x 1)."""
    layer_ratio: F.PositiveFloat = 2.0
    """Layer imbalance r: upstream = embeddings / r and readout x r^2 (downstream the reverse); f at init unchanged."""
    modular_record_every: F.Count = 25
    """The EmbeddingMLP's accuracies are recorded every this many steps (an even grid)."""
    transformer_train_fraction: Annotated[float, Field(gt=0, le=0.5)] = 0.5
    """Fraction of the pairs the transformer trains on, in (0, 0.5]."""
    transformer_d_model: Annotated[int, Field(ge=1, le=64)] = 32
    """Transformer residual width d_model (<= 64; Nanda et al. 2023 use 128)."""
    transformer_heads: F.Count = 4
    """Attention heads (d_model must be a multiple)."""
    transformer_d_mlp: F.Count = 128
    """Hidden width of the transformer's ReLU MLP (4 d_model, as Nanda et al. 2023)."""
    transformer_steps: F.Count = 4000
    """Full-batch AdamW steps of the transformer."""
    transformer_learning_rate: F.PositiveFloat = 1e-3
    """Transformer AdamW learning rate."""
    transformer_weight_decay: F.NonNegativeFloat = 1.0
    """Transformer AdamW (decoupled) weight decay."""
    transformer_b2: Annotated[float, Field(gt=0, lt=1)] = 0.98
    """Transformer AdamW second-moment decay (Nanda et al. 2023: 0.98)."""
    transformer_init_scale: F.PositiveFloat = 1.0
    """Overall transformer init scale w (`layerwise.models.transformer_init`)."""
    transformer_layer_ratio: F.PositiveFloat = 4.0
    """Imbalance r: upstream = embeddings / r and unembedding x r, downstream the reverse."""
    transformer_record_every: F.Count = 20
    """Transformer accuracies are recorded every this many steps (an even grid)."""


def _settings(config: GrokkingModularConfig) -> dict:
    """Run name -> (weight scale, layer ratio, target scale)."""
    w, r = config.modular_init_scale, config.layer_ratio
    return {"baseline": (w, 1.0, 1.0), "small init": (config.small_init_scale, 1.0, 1.0),
            "large target": (w, 1.0, config.large_target_scale), "upstream": (w, 1.0 / r, 1.0),
            "downstream": (w, r, 1.0)}


def _train_runs(config: GrokkingModularConfig, key, steps):
    """The five runs of one seed as one vmapped full-batch AdamW run: (train accuracy, test accuracy) (run, step)."""
    dtype, p, settings = jnp.float32, config.modulus, _settings(config).values()
    tokens_train, labels_train, tokens_test, labels_test = modular_addition(p, config.train_fraction, key)
    model = EmbeddingMLP(vocab_size=p, context=2, width=config.modular_width, out_dim=p, activation="square")
    init_key = jax.random.fold_in(key, 21)
    params = [embedding_mlp_init(init_key, model, scale, ratio, dtype=dtype) for scale, ratio, _ in settings]
    tasks = [modular_addition_task(tokens_train, labels_train, p, target, dtype) for _, _, target in settings]
    # Joined on the host (numpy): eager jnp would compile a stack per leaf shape.
    stack = lambda items: jax.tree_util.tree_map(  # noqa: E731
        lambda *leaves: np.stack([np.asarray(leaf) for leaf in leaves]), *items)
    accuracy = {"train_accuracy": observables.Accuracy(jnp.asarray(tokens_train), jnp.asarray(labels_train)),
                "test_accuracy": observables.Accuracy(jnp.asarray(tokens_test), jnp.asarray(labels_test))}
    history = train(model, stack(params), stack(tasks), steps=config.modular_steps, optimizer="adamw",
                    learning_rate=config.modular_learning_rate, weight_decay=config.modular_weight_decay,
                    record_steps=steps, observables=accuracy, loss="mean_squared_error", task_batched=True,
                    on_divergence="mark").history
    return history.train_accuracy.values, history.test_accuracy.values


def simulate(config: GrokkingModularConfig, progress: Progress) -> xr.Dataset:
    steps = linear_record_steps(config.modular_steps, config.modular_record_every)
    transformer_steps = transformer.transformer_record_steps(config)
    runs, transformer_runs = [], []
    for seed, key in zip(seed_values(config.seed, config.seeds), seed_keys(config.seed, config.seeds)):
        runs.append(_train_runs(config, key, steps))
        transformer_runs.append(transformer.train_inits(config, key, transformer_steps))
        progress(f"modular addition, seed {seed}: EmbeddingMLP and transformer")
    train_accuracy, test_accuracy = zip(*runs)
    settings = np.asarray(list(_settings(config).values()))
    return xr.Dataset(
        {"nonlinear_train_accuracy": (("seed", "run", "step"), np.stack(train_accuracy)),
         "nonlinear_test_accuracy": (("seed", "run", "step"), np.stack(test_accuracy)),
         **transformer.transformer_variables(transformer_runs)},
        coords={"seed": seed_values(config.seed, config.seeds), "run": list(RUNS), "step": steps,
                "init_scale": ("run", settings[:, 0]), "layer_ratio": ("run", settings[:, 1]),
                "target_scale": ("run", settings[:, 2]), "init": list(transformer.INITS),
                "transformer_step": transformer_steps},
        attrs={"description": "Grokking on modular addition (Nam et al. 2025, §7; Kunin et al. 2024)",
               "data_source": f"modular-{config.modulus}",
               "departures": transformer.departures(config),
               "modular": f"p = {config.modulus}, train fraction {config.train_fraction:g}, EmbeddingMLP width "
                          f"{config.modular_width} (square activation), AdamW lr {config.modular_learning_rate:g} wd "
                          f"{config.modular_weight_decay:g}, {config.modular_steps} full-batch steps, float32",
               "transformer": f"p = {config.modulus}, train fraction {config.transformer_train_fraction:g}, "
                              f"d_model {config.transformer_d_model}, {config.transformer_heads} heads, d_mlp "
                              f"{config.transformer_d_mlp}, AdamW lr {config.transformer_learning_rate:g} wd "
                              f"{config.transformer_weight_decay:g} b2 {config.transformer_b2:g}, "
                              f"{config.transformer_steps} full-batch steps, softmax cross-entropy, float32"})


def _delays(ds: xr.Dataset):
    """``(train step, test step, delay)`` of every (seed, run) (`layerwise.metrics.grokking_epochs`)."""
    train_step, test_step = metrics.grokking_epochs(ds.step.values, ds.nonlinear_train_accuracy.values,
                                                    ds.nonlinear_test_accuracy.values)
    return train_step, test_step, test_step - train_step


def _ratio(delay, of: str, grokked=None):
    """Per-seed ``delay[of] / delay[baseline]``; NaN (a failure) where the baseline has no positive delay or
    ``grokked`` is False."""
    baseline, value = delay[:, RUNS.index("baseline")], delay[:, RUNS.index(of)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(baseline > 0, value / baseline, np.nan)
    return ratio if grokked is None else np.where(grokked, ratio, np.nan)


def _mlp_checks(ds: xr.Dataset, config) -> list:
    delay = _delays(ds)[2]
    final = ds.nonlinear_test_accuracy.values[:, :, -1]  # (seed, run)
    grokked = final >= 0.95
    where, r = f"(a + b) mod {config.modulus}, EmbeddingMLP (square activation)", config.layer_ratio
    levers = np.fmax(_ratio(delay, "small init", grokked[:, 1]), _ratio(delay, "large target", grokked[:, 2]))
    return [check_over_seeds(
        "modular_groks", f"{where}: the baseline reaches >= 95 % test accuracy (final; seed mean)", final[:, 0],
        lower=0.95), check_over_seeds(
        "modular_levers_delay_ratio", f"{where}: the paper's levers, a smaller init and a larger target (lower "
        "weight-to-target ratio), each shorten the grokking delay to at most 0.8 x the baseline's and still reach "
        ">= 95 % test (per-seed max of the two ratios; not reaching 95 % = NaN, a failure)", levers, upper=0.8),
        check_over_seeds(
        "modular_upstream_delay_ratio", f"{where}, r = {r:g} (Kunin et al. 2024): an upstream init (embeddings / r, "
        "readout x r^2: the first layer learns faster) shortens the delay to at most 0.8 x the baseline's "
        "(per-seed ratio)", _ratio(delay, "upstream"), upper=0.8), check_over_seeds(
        "modular_downstream_delay_ratio", f"{where}: a downstream init (the reverse) lengthens the delay to at least "
        "1.25 x the baseline's (per-seed ratio)", _ratio(delay, "downstream"), lower=1.25),
        Measurement("modular_delays", "EmbeddingMLP grokking delay in steps (baseline, small init, large target, "
                    f"upstream, downstream), seed mean; record grid spacing {config.modular_record_every} steps",
                    np.mean(delay, axis=0))]


def check(ds: xr.Dataset) -> list:
    config = dataset_config(ds, EXPERIMENT)
    return _mlp_checks(ds, config) + transformer.transformer_checks(ds, config)


def _plot_transformer(axes, ds: xr.Dataset) -> None:
    train_step, test_step = (np.mean(v, axis=0) for v in transformer.transformer_delays(ds))
    for j, (name, ax) in enumerate(zip(transformer.INITS, axes)):
        accuracy_curves(ax, ds.transformer_step.values, ds.transformer_train_accuracy.mean("seed").values[j],
                        ds.transformer_test_accuracy.mean("seed").values[j], train_step[j], test_step[j])
        ax.set(xlabel="step (log)", title=f"transformer, {name}: delay {test_step[j] - train_step[j]:g}")


def plot(ds: xr.Dataset) -> dict:
    config = dataset_config(ds, EXPERIMENT)
    train_step, test_step, delay = (np.mean(v, axis=0) for v in _delays(ds))
    figure, axes = figure_grid(3, 3, width=4.6, height=3.7, title=f"Grokking on (a+b) mod {config.modulus} — "
                               f"EmbeddingMLP (width {config.modular_width}) and one-layer transformer "
                               f"(d_model {config.transformer_d_model}); seed means")
    for j, (name, ax) in enumerate(zip(RUNS, axes.ravel())):
        accuracy_curves(ax, ds.step.values, ds.nonlinear_train_accuracy.mean("seed").values[j],
                        ds.nonlinear_test_accuracy.mean("seed").values[j], train_step[j], test_step[j])
        ax.set(xlabel="step = epoch (log)", title=f"MLP, {name}: delay {delay[j]:g}")
        if j == 0:
            ax.set_ylabel(f"accuracy, (a+b) mod {config.modulus}")
            ax.legend(fontsize=8, loc="upper left")
    delay_bars(axes[1, 2], [n.replace(" ", "\n") for n in RUNS], delay)
    axes[1, 2].set(xlabel="grokking delay (steps), < 0 shown as 0", title="MLP delays")
    _plot_transformer(axes[2], ds)
    return {"grokking_modular": figure}


EXPERIMENT = Experiment(
    name="grokking-modular",
    description="Grokking on modular addition: a smaller init, a larger target and an upstream init shorten it",
    config_type=GrokkingModularConfig,
    quick={"modulus": 31, "train_fraction": 0.5, "modular_width": 128, "modular_steps": 5000,
           "transformer_steps": 3000},
    presets={"test": {"modulus": 11, "train_fraction": 0.5, "modular_width": 32, "modular_steps": 600,
                      "modular_record_every": 20, "transformer_d_model": 8, "transformer_heads": 2,
                      "transformer_d_mlp": 16, "transformer_steps": 200, "transformer_record_every": 10}},
    simulate=simulate,
    check=check,
    plot=plot,
    units=lambda config: config.seeds,
)
