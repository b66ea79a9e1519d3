r"""The transformer half of ``grokking-modular``: Kunin et al. (2024)'s layer-imbalance test of grokking.

A one-layer transformer (`layerwise.models.Transformer`: token and position embeddings, one attention layer, a ReLU
MLP, an unembedding; Nanda et al. 2023's architecture without LayerNorm) learns ``(a + b) mod p`` from a random
half (or less) of the pairs with softmax cross-entropy and full-batch AdamW (weight decay 1, ``b2 = 0.98``). Three
inits differ only in the ratio of the two ends (`layerwise.models.transformer_init`): *balanced* (``r = 1``),
*upstream* (embeddings / r, unembedding x r: the readout large relative to the embeddings, so the embeddings learn
faster) and *downstream* (the reverse). Kunin et al. (2024) report that upstream inits shorten the grokking delay.
Every init of a seed starts from the same Gaussian draws (only ``r`` differs), and the three train as one vmapped
`train` call per seed (the seeds' held-out sets differ, and the observables of one call share theirs).

The delay is ``step(test acc >= 0.9 x final) - step(train acc >= 0.99)`` on an *evenly* spaced record grid
(``transformer_record_every`` steps), fine enough that the margins the checks ask for span many records.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from layerwise import metrics, observables
from layerwise.data.modular import modular_addition, modular_addition_task
from layerwise.data.task import stack_runs
from layerwise.engine import linear_record_steps, train
from layerwise.models.transformer import Transformer, transformer_init
from layerwise.report.checks import Check, Measurement, check_over_seeds

INITS = ("upstream", "balanced", "downstream")

DEPARTURES = (
    "float32",
    "one layer, no LayerNorm (as Nanda et al. 2023), logits read at the '=' position only",
    "full-batch AdamW (no warm-up, no learning-rate schedule)",
)
"""Departures from Kunin et al. (2024)'s transformer setting that hold at every size; the sizes (d_model, train
fraction, steps) are added per run by `departures`."""


def departures(config) -> list[str]:
    """Every departure of this run from Kunin et al. (2024)'s setting (Nanda et al. 2023's: p = 113, d_model 128,
    4 heads, d_mlp 512, train fraction 0.3), in words, for ``attrs["departures"]`` and the claims table."""
    sizes = [f"p = {config.modulus}" + ("" if config.modulus == 113 else " (theirs 113)"),
             f"d_model {config.transformer_d_model}, d_mlp {config.transformer_d_mlp}, "
             f"{config.transformer_heads} heads (theirs 128, 512, 4)",
             f"train fraction {config.transformer_train_fraction:g} (theirs 0.3)",
             f"{config.transformer_steps} steps, imbalance r = {config.transformer_layer_ratio:g} between embeddings "
             "and unembedding"]
    return sizes + list(DEPARTURES)


def transformer_record_steps(config) -> np.ndarray:
    return linear_record_steps(config.transformer_steps, config.transformer_record_every)


def train_inits(config, key, steps) -> tuple[np.ndarray, np.ndarray]:
    """The three inits of one seed as one vmapped AdamW run: (train accuracy, test accuracy), each (init, step)."""
    p, dtype, r = config.modulus, jnp.float32, config.transformer_layer_ratio
    tokens_train, labels_train, tokens_test, labels_test = modular_addition(
        p, config.transformer_train_fraction, key)
    model = Transformer(vocab_size=p, context=2, d_model=config.transformer_d_model, heads=config.transformer_heads,
                        d_mlp=config.transformer_d_mlp, out_dim=p)
    ratios = {"upstream": 1.0 / r, "balanced": 1.0, "downstream": r}
    init_key = jax.random.fold_in(key, 31)
    inits = [transformer_init(init_key, model, config.transformer_init_scale, ratios[name], dtype=dtype)
             for name in INITS]
    # Joined on the host (numpy): eager jnp would compile a stack per leaf shape.
    params = stack_runs(inits)
    accuracy = {"train_accuracy": observables.Accuracy(jnp.asarray(tokens_train), jnp.asarray(labels_train)),
                "test_accuracy": observables.Accuracy(jnp.asarray(tokens_test), jnp.asarray(labels_test))}
    history = train(model, params, modular_addition_task(tokens_train, labels_train, p, 1.0, dtype),
                    steps=config.transformer_steps, optimizer="adamw",
                    learning_rate=config.transformer_learning_rate, weight_decay=config.transformer_weight_decay,
                    optimizer_options={"b2": config.transformer_b2}, record_steps=steps, observables=accuracy,
                    loss="softmax_cross_entropy", on_divergence="mark").history
    return history.train_accuracy.values, history.test_accuracy.values


def transformer_variables(runs) -> dict:
    """Dataset variables from the per-seed ``(train, test)`` accuracy pairs of `train_inits`."""
    train_accuracy, test_accuracy = zip(*runs)
    dims = ("seed", "init", "transformer_step")
    return {"transformer_train_accuracy": (dims, np.stack(train_accuracy)),
            "transformer_test_accuracy": (dims, np.stack(test_accuracy))}


def transformer_delays(ds: xr.Dataset):
    """``(train step, test step)`` of every (seed, init) (`layerwise.metrics.grokking_epochs`)."""
    return metrics.grokking_epochs(ds.transformer_step.values, ds.transformer_train_accuracy.values,
                                   ds.transformer_test_accuracy.values)


def transformer_checks(ds: xr.Dataset, config) -> list:
    """Claim 18's checks on the transformer runs (seed means with 95 % intervals) and the delays as measurements."""
    train_step, test_step = transformer_delays(ds)
    delay = test_step - train_step  # (seed, init)
    up, balanced, down = (delay[:, INITS.index(name)] for name in INITS)
    final = ds.transformer_test_accuracy.values[:, :, -1]
    every = config.transformer_record_every
    with np.errstate(divide="ignore", invalid="ignore"):  # a balanced run that does not grok gives NaN: fails
        ratio_up = np.where(balanced > 0, up / balanced, np.nan)
        ratio_down = np.where(balanced > 0, np.where(np.isnan(down), config.transformer_steps, down) / balanced,
                              np.nan)
    where = f"(a + b) mod {config.modulus}, one-layer transformer"
    return [check_over_seeds(
        "transformer_balanced_groks", f"{where}: the balanced init groks: final test accuracy >= 0.95 and the delay "
        f"(steps from train acc >= 99 % to test acc >= 0.9 x final) is at least 10 record steps ({10 * every}), so "
        "memorisation comes first (value: the final test accuracy's seed mean; a run with a shorter delay counts "
        "as 0)", np.where(balanced >= 10 * every, final[:, 1], 0.0), lower=0.95), check_over_seeds(
        "transformer_upstream_delay_ratio", f"{where}, r = {config.transformer_layer_ratio:g} (Kunin et al. 2024): an "
        "upstream init (embeddings / r, unembedding x r) shortens the grokking delay to at most 0.8 x the balanced "
        "one (per-seed ratio upstream / balanced delay)", ratio_up, upper=0.8), check_over_seeds(
        "transformer_downstream_delay_ratio", f"{where}: a downstream init (embeddings x r, unembedding / r) "
        "lengthens the delay to at least 1.25 x the balanced one (per-seed ratio; a downstream run that never "
        "memorises counts the whole run as its delay)",
        ratio_down, lower=1.25),
        Measurement("transformer_delays", "grokking delay in steps per init (upstream, balanced, downstream), "
                    "seed mean; record grid spacing " + f"{every} steps", np.mean(delay, axis=0)),
        Measurement("transformer_final_test_accuracy", "final test accuracy per init (upstream, balanced, "
                    "downstream), seed mean", final.mean(axis=0))]
