r"""Experiment ``lazy-rich-digits``: does the init scale set lazy vs rich learning beyond linear nets, and does rich
learning generalise better? (beyond Nam et al. 2025, §6; Chizat, Oyallon & Bach 2019)

Init scale α (fan-in Gaussian) × layer imbalance (layers multiplied by ``(ρ, 1, 1/ρ)``) for a depth-3 linear net and
2-hidden-layer tanh and ReLU MLPs (no biases) on scikit-learn's digits, all with a mirrored zero-output init (two
copies, last layer negated: without it a large init is not lazy, since the net must first undo its own O(α^3) random
output), GD with lr ``min(cap, 1/λ_max(K_0/n))``. Measured: the kernel distance ``S(K_0, K_end)`` of the empirical
NTK on a probe set (Fort et al. 2020), the relative weight change per layer and the test accuracy of the runs that
fit the training set.

Seed ``k`` draws the train/test split from ``k`` and the inits from key ``k + 2`` (as before the split into parts, so
seed 0 reproduces the earlier results); each seed's grid of a model trains in one `train` call, and the checks
read the seed mean.
"""

from __future__ import annotations

from typing import Annotated, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from pydantic import Field

from layerwise import data, init, metrics
from layerwise._deprecation import renamed_fields
from layerwise.engine import train
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.models import MLP, DeepLinearNetwork
from layerwise.report.checks import Check, check_above
from layerwise.report.plotting import figure_grid, heatmap, log_ticks
from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.seeds import seed_keys, seed_values

MODELS = ("linear", "tanh", "relu")
DIGITS = 1797  # images in scikit-learn's digits


@renamed_fields(beyond_scales="beyond_init_scales", beyond_imbalance="beyond_log2_layer_ratio")
@F.config_dataclass
class LazyRichDigitsConfig:
    """Settings of the ``lazy-rich-digits`` experiment (defaults: the full run)."""

    seed: F.Seed = 0
    """First seed: draws the digits split and the random init of every cell."""
    seeds: F.Count = 1
    """Number of seeds (splits and inits) trained at once; checks use the seed mean."""
    floor: F.PositiveFloat = 1e-6
    """Added to the kernel distance before log10, as the authors' plots."""
    beyond_models: Annotated[tuple[Literal[MODELS], ...], Field(min_length=1)] = MODELS
    """Networks trained: a depth-3 linear net and 2-hidden-layer tanh and ReLU MLPs (no biases)."""
    beyond_init_scales: F.PositiveGrid = (0.25, 2.0, 5)
    """Init scale α (fan-in Gaussian, std α / sqrt(fan_in)): geomspace(start, stop, num)."""
    beyond_log2_layer_ratio: F.Grid = (-2.0, 2.0, 5)
    """log2 ρ: layers multiplied by (ρ, 1, 1/ρ) (ρ > 1 upstream-heavy): linspace(start, stop, num)."""
    beyond_width: Annotated[int, Field(ge=2, lt=2**31, multiple_of=2)] = 64
    """Hidden width (even: two mirrored halves)."""
    beyond_train: Annotated[int, Field(ge=1, lt=DIGITS)] = 1000
    """Digits training samples (the others of the 1,797 are the test set)."""
    beyond_probe: F.rule(F.Count, lambda train: f"<= beyond_train = {train} (the probe samples are training samples)",
                         lambda probe, train: probe <= train, needs=("beyond_train",)) = 20
    """Training samples on which the empirical NTK is measured (kernel of size 10 * probe)."""
    beyond_steps: F.Count = 2000
    """GD steps."""
    beyond_learning_rate: F.PositiveFloat = 0.5
    """GD learning rate cap; each run uses min(cap, 1 / λ_max(K_0 / probe)) so that lazy (large-kernel) runs are
    stable."""


def _splits(config: LazyRichDigitsConfig) -> list:
    """Each seed's standardised train/test split of digits."""
    x, labels = data.load_digits()
    splits = []
    for seed in seed_values(config.seed, config.seeds):
        x_train, y_train, x_test, y_test = data.train_test_split(x, labels, config.beyond_train, seed=int(seed))
        mean, std = x_train.mean(axis=0), x_train.std()
        splits.append(((x_train - mean) / std, y_train, (x_test - mean) / std, y_test))
    return splits


def _mirrored(model, key, alpha, rho, dtype):
    """Mirrored ("doubling") init: two copies of a half-width net, the second with its last layer negated, so f = 0
    at init for every α (Chizat et al. 2019; the authors' Fig. 6b init); then layers x (ρ, 1, 1/ρ)."""
    widths = model.widths
    half = DeepLinearNetwork((widths[0], widths[1] // 2, widths[2] // 2, widths[3]))
    w1, w2, w3 = init.gaussian_init(key, half, alpha, parameterisation="fan_in", dtype=dtype)
    zeros = jnp.zeros_like(w2)
    weights = (jnp.concatenate([w1, w1]), jnp.block([[w2, zeros], [zeros, w2]]), jnp.concatenate([w3, -w3], axis=1))
    weights = init.scale_layers(DeepLinearNetwork(widths), weights, jnp.stack([rho, jnp.ones_like(rho), 1 / rho]))
    if isinstance(model, DeepLinearNetwork):
        return weights
    return tuple((w, jnp.zeros(w.shape[0] if model.bias else 0, dtype)) for w in weights)


# Per-run programs made once (a jit of a model closure recompiled per call); weight change eager: jit alters rounding.
_ntk = eqx.filter_jit(lambda model, p, probe: jax.lax.map(lambda q: metrics.empirical_ntk(model, q, probe), p))
_init = eqx.filter_jit(lambda model, k, a, r: jax.vmap(lambda *cell: _mirrored(model, *cell, jnp.float32))(k, a, r))
_top = jax.jit(jax.vmap(lambda k: jnp.linalg.eigvalsh(k)[-1]))
_accuracy = eqx.filter_jit(lambda model, p, x, y: jax.vmap(lambda q: data.accuracy(model.apply(q, x), y))(p))


def _model(config: LazyRichDigitsConfig, name: str, splits, keys) -> dict:
    """One model's α x ρ grid of every seed (float32): arrays with a leading seed axis."""
    width = config.beyond_width
    widths = (splits[0][0].shape[1], width, width, 10)
    model = DeepLinearNetwork(widths) if name == "linear" else MLP(widths, activation=name, bias=False)
    per_seed = [_grid(config, model, split, key) for split, key in zip(splits, keys)]
    return {key: np.stack([result[key] for result in per_seed]) for key in per_seed[0]}


def _grid(config: LazyRichDigitsConfig, model, split, key) -> dict:
    """One seed's α x ρ grid in one `train` call; NTK on the probe set at init and at the end. (One call per seed:
    each seed has its own training set, and batching the float32 forward passes over seeds changes their rounding.)"""
    dtype, change = jnp.float32, jax.vmap(lambda p, q: metrics.relative_weight_change(model, p, q))
    x_train, y_train, x_test, y_test = (np.asarray(a, dtype) if a.dtype.kind == "f" else a for a in split)  # host
    alpha, log2_rho = np.geomspace(*config.beyond_init_scales), np.linspace(*config.beyond_log2_layer_ratio)
    alpha_cells, rho_cells = (np.asarray(a.ravel(), dtype) for a in np.meshgrid(alpha, 2.0**log2_rho, indexing="ij"))
    params = _init(model, jax.random.split(key, alpha_cells.size), alpha_cells, rho_cells)
    probe = x_train[: config.beyond_probe]
    k0 = _ntk(model, params, probe)
    top = np.asarray(_top(k0), dtype=float) / config.beyond_probe
    learning_rate = np.minimum(config.beyond_learning_rate, 1.0 / top)
    result = train(model, params, data.classification_task(split[0], y_train, 10, dtype=dtype),
                   steps=config.beyond_steps, learning_rate=learning_rate, on_divergence="mark",
                   record_steps=np.array([0, config.beyond_steps]))
    shape, diverged = (alpha.size, log2_rho.size), result.diverged
    return dict(
        kernel_distance=np.asarray(metrics.kernel_distance(k0, _ntk(model, result.params, probe))).reshape(shape),
        relative_weight_change=np.asarray(change(result.params, params)).reshape(*shape, -1),
        test_accuracy=np.where(diverged, np.nan, _accuracy(model, result.params, x_test, y_test)).reshape(shape),
        train_accuracy=np.where(diverged, np.nan, _accuracy(model, result.params, x_train, y_train)).reshape(shape),
        train_loss=result.history.loss.values[:, -1].reshape(shape), learning_rate=learning_rate.reshape(shape))


def simulate(config: LazyRichDigitsConfig, progress: Progress) -> xr.Dataset:
    splits, keys = _splits(config), seed_keys(config.seed + 2, config.seeds)
    results = {}
    for name in config.beyond_models:
        results[name] = _model(config, name, splits, keys)
        progress(f"digits: {name} net, init scale × imbalance")
    dims = ("seed", "init_scale", "log2_layer_ratio", "layer")
    variables = {f"linear_{key}": (dims[: value.ndim], value) for key, value in results.get("linear", {}).items()}
    activations = [name for name in config.beyond_models if name != "linear"]
    for key in results[activations[0]] if activations else ():
        stacked = np.stack([results[a][key] for a in activations])
        variables[f"nonlinear_{key}"] = (("activation", *dims)[: stacked.ndim], stacked)
    return xr.Dataset(variables, coords={
        "seed": seed_values(config.seed, config.seeds), "init_scale": np.geomspace(*config.beyond_init_scales),
        "log2_layer_ratio": np.linspace(*config.beyond_log2_layer_ratio), "layer": np.arange(3),
        **({"activation": activations} if activations else {})},
        attrs={"description": "Lazy vs rich beyond the paper: init scale × layer imbalance on digits"})


def _results(ds: xr.Dataset) -> dict[str, xr.Dataset]:
    """Model name -> its seed-mean variables (names without the source prefix), in the config's order."""
    config = dataset_config(ds, EXPERIMENT)
    mean, results = ds.mean("seed"), {}
    for name in config.beyond_models:
        prefix = "linear_" if name == "linear" else "nonlinear_"
        part = mean[[v for v in mean.data_vars if v.startswith(prefix)]]
        part = part if name == "linear" else part.sel(activation=name, drop=True)
        results[name] = part.rename({v: v.removeprefix(prefix) for v in part.data_vars})
    return results


def _fitted(result: xr.Dataset) -> np.ndarray:
    """Runs that fit the training set: train accuracy within 0.01 of the grid's best (a linear net cannot reach 1)."""
    train_accuracy = result.train_accuracy.values
    return train_accuracy >= np.nanmax(train_accuracy) - 0.01


def check(ds: xr.Dataset) -> list[Check]:
    config = dataset_config(ds, EXPERIMENT)
    checks = []
    for name, result in _results(ds).items():
        alpha, log_distance = result.init_scale.values, np.log10(result.kernel_distance.values + config.floor)
        balanced = int(np.argmin(np.abs(result.log2_layer_ratio.values)))
        checks.append(check_above(
            f"beyond_{name}_scale_sets_regime", f"{name} net on digits, balanced (ρ = 1): the NTK moves more at the "
            f"smallest init scale α = {alpha[0]:g} than at the largest α = {alpha[-1]:g} (log10 S difference, decades)",
            float(log_distance[0, balanced] - log_distance[-1, balanced]), 1.0))
        change = result.relative_weight_change.values[:, balanced].mean(axis=-1)
        checks.append(check_above(
            f"beyond_{name}_weights_move_less_when_lazy", f"{name}, ρ = 1: the mean relative weight change per layer "
            "falls with α (ratio smallest-α / largest-α run)", float(change[0] / change[-1]), 10.0))
        fitted = _fitted(result)
        checks.append(check_above(
            f"beyond_{name}_fits_training_set", f"{name}: fraction of runs whose train accuracy is within 0.01 of the "
            "grid's best (only those enter the test-accuracy comparison)", float(np.mean(fitted)), 0.6))
        lazy, test = np.flatnonzero(fitted[:, balanced]), result.test_accuracy.values
        difference = (float(test[0, balanced] - test[lazy[-1], balanced])
                      if fitted[0, balanced] and lazy.size > 1 else float("nan"))
        checks.append(check_above(
            f"beyond_{name}_rich_generalises_better", f"{name}, ρ = 1: the rich corner (smallest α) reaches a test "
            "accuracy at least that of the laziest run that fits the training set (difference; NaN if either did "
            "not fit)", difference, 0.0))
    return checks


def plot(ds: xr.Dataset) -> dict:
    config = dataset_config(ds, EXPERIMENT)
    results = _results(ds)
    figure, axes = figure_grid(2, 4, width=5.0, height=4.6, title="Lazy vs rich beyond the paper: digits, mirrored "
                               "zero-output init, init scale α × layer imbalance ρ (linear net dashed, MLPs dotted)")
    alpha, log2_rho = ds.init_scale.values, ds.log2_layer_ratio.values
    balanced, colors = int(np.argmin(np.abs(log2_rho))), mode_colors(len(results))
    for j, (name, r) in enumerate(list(results.items())[:3]):
        heatmap(axes[0, j], alpha, log2_rho, np.log10(r.kernel_distance.values + config.floor).T,
                title=f"digits, {name} 64-{config.beyond_width}-{config.beyond_width}-10: kernel distance",
                xlabel="init scale α (fan-in)", ylabel="log2 ρ (layers × ρ, 1, 1/ρ)", vmin=-4, vmax=0,
                label="log10 S(K0, Kt)")
        accuracy = np.where(_fitted(r), r.test_accuracy.values, np.nan)
        heatmap(axes[1, j], alpha, log2_rho, accuracy.T, title=f"{name}: test acc. (blank: not fitted)",
                xlabel="init scale α (fan-in)", ylabel="log2 ρ", cmap="viridis", label="test accuracy",
                vmin=np.nanmin(accuracy) if np.any(np.isfinite(accuracy)) else 0, vmax=1)
        for row in (0, 1):
            log_ticks(axes[row, j], alpha)
    for (name, r), color in zip(results.items(), colors):
        style = MODEL_STYLE["linear" if name == "linear" else "nonlinear"]
        log_distance = np.log10(r.kernel_distance.values + config.floor)
        axes[0, 3].plot(log_distance.ravel(), r.test_accuracy.values.ravel(), "o", color=color, mfc="none", label=name)
        axes[0, 3].plot(log_distance[:, balanced], r.test_accuracy.values[:, balanced], color=color, **style)
        for layer, marker in zip(range(3), "os^"):
            axes[1, 3].plot(alpha, r.relative_weight_change.values[:, balanced, layer], marker=marker, color=color,
                            mfc="none", label=f"{name} layer {layer + 1}" if layer == 0 else None, **style)
    axes[0, 3].set(xlabel="log10 S(K0, K_end) (rich →)", ylabel="test accuracy",
                   title="rich vs lazy: test accuracy (line: ρ = 1)")
    axes[1, 3].set(yscale="log", xlabel="init scale α", ylabel="‖W_l(T) − W_l(0)‖ / ‖W_l(0)‖",
                   title="rel. weight change, ρ = 1 (o s ^ = layers 1-3)")
    log_ticks(axes[1, 3], alpha)
    for ax in axes[:, 3]:
        ax.legend(fontsize=8)
    return {"lazy_rich_digits": figure}


EXPERIMENT = Experiment(
    name="lazy-rich-digits",
    description="Lazy vs rich beyond the paper: init scale × layer imbalance for linear, tanh and ReLU nets on digits",
    config_type=LazyRichDigitsConfig,
    quick={"beyond_init_scales": (0.25, 2.0, 4), "beyond_log2_layer_ratio": (-2.0, 2.0, 3), "beyond_width": 32,
           "beyond_train": 400, "beyond_steps": 1000},
    presets={"test": {"beyond_models": ("linear", "relu"), "beyond_init_scales": (0.25, 2.0, 2),
                      "beyond_log2_layer_ratio": (-1.0, 1.0, 3), "beyond_width": 8, "beyond_train": 100, "beyond_probe": 4,
                      "beyond_steps": 100, "seeds": 2}},
    simulate=simulate, check=check, plot=plot, renamed_variables={"log2_imbalance": "log2_layer_ratio"},
    units=lambda config: len(config.beyond_models),
)
