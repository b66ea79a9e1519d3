"""The panels of ``neural-collapse``: each simulates one part (the linear UFM's greedy dynamics, geometry and
weight-decay minimiser; the ReLU MLP on one data set) and returns it as a Dataset for
`layerwise.experiments.neural_collapse.simulate` to merge."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from layerwise import _random, data, init, metrics, observables, theory
from layerwise.data.task import stack_runs
from layerwise.engine import gradient_flow, log_record_steps, train
from layerwise.metrics import neural_collapse as nc
from layerwise.models import MLP, DeepLinearNetwork, mlp_init
from layerwise.seeds import seed_keys

if TYPE_CHECKING:
    from layerwise.experiments.neural_collapse import NeuralCollapseConfig


def _stacked(inits) -> object:
    """Per-run inits stacked as runs on the host. Each init is made eagerly, one run at a time: its random draws
    then share one compiled program (`layerwise._random`) with every other panel's, where a vmap over keys compiles
    a batched draw per run count; the values are the same bit for bit."""
    return jax.device_put(stack_runs(inits))


def greedy(config: NeuralCollapseConfig) -> xr.Dataset:
    """Imbalanced UFM under exact gradient flow: an aligned balanced init (exact Saxe modes) and a small random one."""
    sizes = np.asarray(config.greedy_class_sizes)
    task = data.unconstrained_features_task(sizes)
    model = DeepLinearNetwork((int(sizes.sum()), config.feature_dim, len(sizes)))
    left, s, right = metrics.task_modes(task)
    inits = []
    for key in seed_keys(config.seed, config.seeds):
        key_aligned, key_random = _random.split(key)  # bitwise jax.random.split, from the inits' compiled program
        inits += [init.balanced_aligned_init(key_aligned, model, config.greedy_init_scale, left, right),
                  init.gaussian_init(key_random, model, float(np.median(config.init_scales)))]
    params = _stacked(inits)
    recorded = {"feature_sv": nc.FeatureSpectrum(), "centred_sv": nc.FeatureSpectrum(centred=True),
                "within_class": nc.WithinClassScatter(len(sizes)), "mode": observables.ModeStrengths(left, right)}
    history = gradient_flow(model, params, task, np.linspace(0.0, config.linear_duration, 201), rtol=1e-8,
                            atol=1e-12, observables=recorded).history  # exact: no learning-rate error
    t = history.time.values
    dims = {"feature_sv": ("greedy_component",), "centred_sv": ("greedy_component",), "within_class": (),
            "mode": ("greedy_class",)}
    return xr.Dataset(
        {f"flow_greedy_{name}": (("seed", "greedy_init", "greedy_time", *dims[name]),
                                 history[name].values.reshape(config.seeds, 2, *history[name].shape[1:]))
         for name in recorded}
        | {"theory_greedy_mode": (("greedy_time", "greedy_class"),
                                  np.asarray(theory.saxe_mode(t[:, None], s, config.greedy_init_scale)))},
        coords={"greedy_init": ["aligned balanced", "random gaussian"], "greedy_time": t,
                "greedy_singular_value": ("greedy_class", np.asarray(s))})


def geometry(config: NeuralCollapseConfig) -> xr.Dataset:
    """Balanced UFM by GD from i.i.d. N(0, sigma_0^2) inits: bias-free (a deep linear net) and with biases (a linear
    MLP). Per seed, one init direction rescaled: the sigma_0^2 law is then a property of the dynamics."""
    task = data.unconstrained_features_task([config.samples_per_class] * config.classes)
    widths = (config.classes * config.samples_per_class, config.feature_dim, config.classes)
    keys = np.repeat(np.asarray(seed_keys(config.seed + 1, config.seeds)), len(config.init_scales), axis=0)
    scales = np.tile(config.init_scales, config.seeds)
    steps = int(round(config.linear_duration / config.linear_learning_rate))
    record = np.unique(np.linspace(0, steps, 201).astype(int))
    free, biased = DeepLinearNetwork(widths), MLP(widths, "linear", bias=True)
    values = [train(model, _stacked([make(k, float(s)) for k, s in zip(keys, scales)]), task, steps=steps,
                    learning_rate=config.linear_learning_rate, record_steps=record,
                    observables={"nc": nc.CollapseMetrics(config.classes)}).history.nc.values
              for model, make in ((free, lambda k, s: init.gaussian_init(k, free, s)),
                                  (biased, lambda k, s: mlp_init(k, biased, s, 0.0, parameterisation="standard")))]
    values = np.stack(values, axis=1).reshape(config.seeds, len(config.init_scales), 2, len(record), -1)
    return xr.Dataset({"linear_geometry_nc": (("seed", "init_scale", "bias", "geometry_time", "nc_metric"), values)},
                      coords={"init_scale": list(config.init_scales), "bias": [False, True],
                              "geometry_time": config.linear_learning_rate * record, "nc_metric": list(nc.NC_METRICS)})


def weight_decay_minimiser(config: NeuralCollapseConfig) -> xr.Dataset:
    """Bias-free balanced UFM under exact gradient flow with weight decay, from the smallest init scale."""
    task = data.unconstrained_features_task([config.samples_per_class] * config.classes)
    model = DeepLinearNetwork((task.x.shape[0], config.feature_dim, config.classes))
    params = _stacked([init.gaussian_init(key, model, min(config.init_scales))
                       for key in seed_keys(config.seed + 2, config.seeds)])
    recorded = {"nc": nc.CollapseMetrics(config.classes), "classifier_gram": nc.ClassifierGram(),
                "outputs": observables.Predictions(task.x)}
    result = gradient_flow(model, params, task, np.linspace(0.0, config.weight_decay_duration, 321),
                           weight_decay=config.weight_decay, observables=recorded, rtol=1e-9, atol=1e-12)
    h = result.history
    penalty = sum(np.sum(np.asarray(w) ** 2, axis=(1, 2)) for w in result.params)
    rho, objective = (float(v) for v in theory.ufm_network_minimum(config.classes, config.weight_decay))
    return xr.Dataset({
        "flow_wd_nc": (("seed", "wd_time", "nc_metric"), h.nc.values),
        "flow_wd_classifier_gram": (("seed", "wd_time", "wd_class"), h.classifier_gram.values),
        "flow_wd_outputs": (("seed", "wd_sample", "wd_class"), h.outputs.values[:, -1]),
        "flow_wd_objective": (("seed",), h.loss.values[:, -1] + 0.5 * config.weight_decay * penalty),
        "theory_wd_outputs": (("wd_sample", "wd_class"), rho * np.asarray(task.y)),
        "theory_ufm_rho": rho,
        "theory_ufm_objective": objective,
    }, coords={"wd_time": h.time.values})


def mlp(config: NeuralCollapseConfig, sets, weight_decay: float) -> xr.Dataset:
    """The ReLU MLP on one data set, two Adam phases (lr, then lr/10), log-spaced records. Seeds (their own data
    splits) run one after another through one compiled program: batching them would change float32 rounding."""
    record, first, f32, histories = log_record_steps(config.mlp_steps, 60), config.mlp_steps // 2, jnp.float32, []
    for key, (x, y, x_test, y_test) in zip(seed_keys(config.seed + 3, config.seeds), sets):
        task = data.classification_task(x, y, 10, dtype=f32)
        model = MLP((x.shape[1], config.width, config.width, config.width, 10), "relu")
        # a runs axis added on the host (no compiled program per leaf shape)
        params = jax.tree_util.tree_map(lambda w: jnp.asarray(np.asarray(w)[None]), mlp_init(key, model, dtype=f32))
        recorded = {"nc": nc.CollapseMetrics(10), "train_accuracy": observables.Accuracy(task.x, jnp.asarray(y)),
                    "test_accuracy": observables.Accuracy(jnp.asarray(x_test, f32), jnp.asarray(y_test)),
                    "feature_sv": nc.FeatureSpectrum(centred=True, count=min(20, config.width, config.n_train))}
        parts = []
        for start, stop, lr in ((0, first, config.mlp_learning_rate),
                                (first, config.mlp_steps, config.mlp_learning_rate / 10)):
            steps = record[(record > start) & (record <= stop)] - start
            result = train(model, params, task, steps=stop - start, optimizer="adam", learning_rate=lr,
                           weight_decay=weight_decay, observables=recorded,
                           record_steps=np.concatenate([[0], steps]) if start == 0 else steps)
            params = result.params
            parts.append(result.history)
        histories.append({name: np.concatenate([part[name].values[0] for part in parts]) for name in
                          ["loss", *recorded]})
    dims = {"nc": ("nc_metric",), "feature_sv": ("mlp_component",)}
    return xr.Dataset({f"nonlinear_{name}": (("seed", "mlp_step", *dims.get(name, ())),
                                             np.stack([h[name] for h in histories])) for name in histories[0]},
                      coords={"mlp_step": record})
