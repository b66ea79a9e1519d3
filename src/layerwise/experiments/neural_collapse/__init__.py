r"""Experiment ``neural-collapse``: greedy low-rank dynamics in linear models and collapse in a real network
(Nam et al. 2025, §5).

Linear part: the unconstrained-features model (UFM, Mixon, Parshall & Pi 2020) *is* a two-layer linear network with
whitened one-hot inputs ``x_i = sqrt(N) e_i`` (features ``h_i = W_1 x_i``, classifier ``W = W_2``), trained with the
half squared error on one-hot targets. Its end-to-end map learns the singular modes of ``Sigma_yx``
(``s_c = sqrt(n_c/N)`` for class sizes ``n_c``) with Saxe sigmoids (Saxe et al. 2014), so

1. *greedy low rank*: the feature singular values ``sigma_c(H) = sqrt(N u_c(t))`` follow ``theory.saxe_mode``
   (aligned balanced init: exactly), larger classes first; the other directions stay at the init scale;
2. *geometry*: without bias the class means and classifier rows reach an orthogonal frame (OF, Dang et al. 2023),
   with a classifier bias the centred means a simplex ETF; the residuals and tr(Sigma_W)/tr(Sigma_B) scale as the
   init variance ``sigma_0^2`` (the flow conserves the within-class scatter, ``d(H P_perp)/dt = -W^T W H P_perp``,
   and the layer imbalance);
3. *weight decay* ``wd`` on both layers: gradient flow reaches the closed-form minimiser (singular-value
   soft-thresholding, Tirer & Bruna 2022; Zhou et al. 2022: ``W H = rho Y``, ``rho = 1 - wd sqrt(C)``,
   ``W W^T = rho/sqrt(C) I``); the within-class scatter inside the class-mean span decays at
   ``2 (rho/sqrt(C) + wd)`` (NC1) and outside it at ``2 wd`` (trace ratio).

Nonlinear part: a ReLU MLP (3 hidden layers) trained with MSE on one-hot targets (Adam, weight decay, one 10x
learning-rate drop) on scikit-learn's digits and on MNIST-1D (Greydanus 2020; or real MNIST when IDX files are
found): NC1-NC4 (Papyan, Han & Donoho 2020) over training, accuracies, the centred features' singular values.

Every panel runs ``seeds`` seeds: batched as runs in the linear panels, one after another (through one compiled
program) for the MLP, whose seeds differ in their data split. Seed ``s`` draws the greedy inits from
``PRNGKey(s)``, the geometry, weight-decay and MLP inits from ``PRNGKey(s + 1)``, ``PRNGKey(s + 2)`` and
``PRNGKey(s + 3)``, and the data split from ``s``; the checks and the figure read the seed mean.
"""

from __future__ import annotations

from typing import Annotated

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from pydantic import Field

from layerwise import data, init, metrics, observables, theory
from layerwise.compare import compare
from layerwise.engine import gradient_flow, log_record_steps, train
from layerwise.errors import LayerwiseError
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.metrics import neural_collapse as nc
from layerwise.models import MLP, DeepLinearNetwork, mlp_init
from layerwise.report.checks import Check, Measurement, check_above, check_below
from layerwise.report.plotting import figure_grid, trajectories
from layerwise.report.style import MODEL_STYLE, mode_colors
from layerwise.seeds import seed_keys, seed_values


@F.config_dataclass
class NeuralCollapseConfig:
    """Settings of the ``neural-collapse`` experiment (defaults: the full run)."""

    seed: F.Seed = 0
    """First seed (inits and data split; MNIST-1D generation uses ``mnist1d_seed``)."""
    seeds: F.Count = 1
    """Number of seeds (batched in the linear panels, one after another for the MLP); checks use their mean."""
    greedy_class_sizes: tuple[F.Count, ...] = (32, 16, 8, 4)
    """Class sizes n_c of the greedy-dynamics UFM (distinct, so the modes s_c = sqrt(n_c/N) are learned in order)."""
    greedy_init: F.PositiveFloat = 1e-4
    """Initial mode strength u0 of the aligned balanced init (greedy panel)."""
    classes: F.at_least(2) = 4
    """Classes C of the balanced geometry and weight-decay UFMs."""
    samples_per_class: F.at_least(2) = 16
    """Samples per class of the balanced UFMs."""
    feature_dim: F.at_least(2) = 16
    """Feature dimension d (hidden width of the two-layer linear net; at least classes)."""
    init_scales: F.PositiveFloats = (1e-2, 3e-3, 1e-3)
    """Std sigma_0 of the i.i.d. Gaussian init of both layers (geometry panel; at least 2, the sigma_0^2 law is a
    fitted slope); the random init of the greedy panel uses the median, the weight-decay panel the smallest."""
    linear_learning_rate: F.PositiveFloat = 0.05
    """GD learning rate of the geometry panel."""
    linear_duration: F.PositiveFloat = 40.0
    """Gradient-flow time of the greedy flow and the geometry GD runs (t = lr * step)."""
    weight_decay: F.PositiveFloat = 0.05
    """Weight decay of the UFM gradient flow (on both layers; below 1/sqrt(classes))."""
    weight_decay_duration: F.PositiveFloat = 60.0
    """Gradient-flow time of the weight-decay panel."""
    width: F.at_least(10) = 256
    """Hidden width of the MLP (3 hidden ReLU layers)."""
    n_train: F.at_least(50) = 1000
    """Training samples per data set (a seeded subset); the test set is the rest (at most 2000)."""
    mlp_steps: F.at_least(20) = 4000
    """Full-batch Adam steps; the learning rate drops 10x after half of them."""
    mlp_learning_rate: F.PositiveFloat = 2e-3
    """Adam learning rate of the first half."""
    mlp_weight_decays: F.NonNegativeFloats = (3e-4, 1e-3)
    """Coupled L2 weight decay of Adam (PyTorch ``Adam(weight_decay=...)``) for digits and for MNIST-1D/MNIST (the
    noisier MNIST-1D needs the larger one to collapse within the step budget)."""
    mnist1d_samples: F.Count = 5000
    """Samples of the generated MNIST-1D set (at least n_train + 100)."""
    mnist1d_seed: F.Seed = 42
    """Seed of the MNIST-1D generator."""
    mnist_path: Annotated[str, Field(min_length=1)] | None = None
    """Directory of the real MNIST IDX files; falls back to ``$LAYERWISE_MNIST``, then to MNIST-1D."""

    def __post_init__(self):
        sizes, classes = self.greedy_class_sizes, self.classes
        rules = {
            "greedy_class_sizes": (len(sizes) >= 2 and len(set(sizes)) == len(sizes), "at least 2 distinct sizes"),
            "greedy_init": (self.greedy_init < np.sqrt(min(sizes) / sum(sizes)),
                            "below the smallest mode strength sqrt(n_c/N)"),
            "init_scales": (len(self.init_scales) >= 2, "at least 2 scales (a fitted slope)"),
            "feature_dim": (self.feature_dim >= classes, "at least classes"),
            "weight_decay": (self.weight_decay * np.sqrt(classes) < 1,
                             "below 1/sqrt(classes) (else the minimiser is 0)"),
            "mlp_weight_decays": (len(self.mlp_weight_decays) == 2, "2 values (digits, then MNIST-1D or MNIST)"),
            "mnist1d_samples": (self.mnist1d_samples >= self.n_train + 100, "n_train + 100 or more"),
        }
        for name, (ok, rule) in rules.items():
            if not ok:
                raise LayerwiseError(f"config key {name!r} must be {rule}")


def _greedy(config: NeuralCollapseConfig) -> xr.Dataset:
    """Imbalanced UFM under exact gradient flow: an aligned balanced init (exact Saxe modes) and a small random one."""
    sizes = np.asarray(config.greedy_class_sizes)
    task = data.unconstrained_features_task(sizes)
    model = DeepLinearNetwork((int(sizes.sum()), config.feature_dim, len(sizes)))
    left, s, right = metrics.task_modes(task)
    inits = []
    for key in seed_keys(config.seed, config.seeds):
        key_aligned, key_random = jax.random.split(key)
        inits += [init.balanced_aligned_init(key_aligned, model, config.greedy_init, left, right),
                  init.gaussian_init(key_random, model, float(np.median(config.init_scales)))]
    params = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *inits)
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
                                  np.asarray(theory.saxe_mode(t[:, None], s, config.greedy_init)))},
        coords={"greedy_init": ["aligned balanced", "random gaussian"], "greedy_time": t,
                "greedy_singular_value": ("greedy_class", np.asarray(s))})


def _geometry(config: NeuralCollapseConfig) -> xr.Dataset:
    """Balanced UFM by GD from i.i.d. N(0, sigma_0^2) inits: bias-free (a deep linear net) and with biases (a linear
    MLP). Per seed, one init direction rescaled: the sigma_0^2 law is then a property of the dynamics."""
    task = data.unconstrained_features_task([config.samples_per_class] * config.classes)
    widths = (config.classes * config.samples_per_class, config.feature_dim, config.classes)
    keys = jnp.repeat(seed_keys(config.seed + 1, config.seeds), len(config.init_scales), axis=0)
    scales = jnp.asarray(np.tile(config.init_scales, config.seeds))
    steps = int(round(config.linear_duration / config.linear_learning_rate))
    record = np.unique(np.linspace(0, steps, 201).astype(int))
    free, biased = DeepLinearNetwork(widths), MLP(widths, "linear", bias=True)
    values = [train(model, jax.vmap(make)(keys, scales), task, steps=steps, learning_rate=config.linear_learning_rate,
                    record_steps=record, observables={"nc": nc.CollapseMetrics(config.classes)}).history.nc.values
              for model, make in ((free, lambda k, s: init.gaussian_init(k, free, s)),
                                  (biased, lambda k, s: mlp_init(k, biased, s, 0.0, parameterisation="standard")))]
    values = np.stack(values, axis=1).reshape(config.seeds, len(config.init_scales), 2, len(record), -1)
    return xr.Dataset({"linear_geometry_nc": (("seed", "init_scale", "bias", "geometry_time", "nc_metric"), values)},
                      coords={"init_scale": list(config.init_scales), "bias": [False, True],
                              "geometry_time": config.linear_learning_rate * record, "nc_metric": list(nc.NC_METRICS)})


def _weight_decay(config: NeuralCollapseConfig) -> xr.Dataset:
    """Bias-free balanced UFM under exact gradient flow with weight decay, from the smallest init scale."""
    task = data.unconstrained_features_task([config.samples_per_class] * config.classes)
    model = DeepLinearNetwork((task.x.shape[0], config.feature_dim, config.classes))
    params = jax.vmap(lambda k: init.gaussian_init(k, model, min(config.init_scales)))(
        seed_keys(config.seed + 2, config.seeds))
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


def _mlp(config: NeuralCollapseConfig, sets, weight_decay: float) -> xr.Dataset:
    """The ReLU MLP on one data set, two Adam phases (lr, then lr/10), log-spaced records. Seeds (their own data
    splits) run one after another through one compiled program: batching them would change float32 rounding."""
    record, first, f32, histories = log_record_steps(config.mlp_steps, 60), config.mlp_steps // 2, jnp.float32, []
    for key, (x, y, x_test, y_test) in zip(seed_keys(config.seed + 3, config.seeds), sets):
        task = data.classification_task(x, y, 10, dtype=f32)
        model = MLP((x.shape[1], config.width, config.width, config.width, 10), "relu")
        params = jax.tree_util.tree_map(lambda w: w[None], mlp_init(key, model, 1.0, dtype=f32))
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


def simulate(config: NeuralCollapseConfig, progress: Progress) -> xr.Dataset:
    parts = [_greedy(config)]
    progress("greedy low-rank dynamics (linear UFM)")
    parts.append(_geometry(config))
    progress("OF / ETF geometry (linear UFM)")
    parts.append(_weight_decay(config))
    progress("weight decay: closed-form minimiser")
    per_seed = [data.digit_benchmarks(config.n_train, int(seed), mnist_path=config.mnist_path,
                                      mnist1d_samples=config.mnist1d_samples, mnist1d_seed=config.mnist1d_seed)
                for seed in seed_values(config.seed, config.seeds)]
    runs = []
    for index, weight_decay in enumerate(config.mlp_weight_decays):
        name = per_seed[0][index][0]
        runs.append(_mlp(config, [sets[index][1:] for sets in per_seed], weight_decay).expand_dims(dataset=[name]))
        progress(f"MLP on {name}")
    dataset = xr.merge([*parts, xr.concat(runs, dim="dataset")])
    dataset.attrs.update({"description": "Neural collapse: greedy low-rank dynamics of the linear UFM and NC1-NC4 of "
                                         "a ReLU MLP (Nam et al. 2025, §5)",
                          "nc1_convention": "tr(Sigma_W Sigma_B^+)/C (divide by C; the Papyan colab omits it)"})
    return dataset.assign_coords(seed=seed_values(config.seed, config.seeds))


def _greedy_checks(config: NeuralCollapseConfig, m: xr.Dataset) -> list[Check]:
    """Aligned init follows the Saxe modes exactly; a small random init learns them in the same order, rank C."""
    s, t, classes = m.greedy_singular_value.values, m.greedy_time.values, m.sizes["greedy_class"]
    aligned, random = m.sel(greedy_init="aligned balanced"), m.sel(greedy_init="random gaussian")
    aligned_u = aligned.flow_greedy_feature_sv.values[:, :classes] ** 2 / sum(config.greedy_class_sizes)
    checks = [compare(m.theory_greedy_mode.values / s, aligned_u / s, rtol=0.0, atol=1e-5, times=t,
                      name="greedy_modes_vs_saxe").to_check(
        f"aligned balanced init (u0 = {config.greedy_init:g}), exact gradient flow: feature singular values "
        "sigma_c(H)^2/N follow the Saxe mode u_c(t) = saxe_mode(t, s_c = sqrt(n_c/N), u0) at every time (max abs "
        "error of u_c/s_c)")]
    half = metrics.crossing_time(t, (random.flow_greedy_mode.values / s).T, 0.5)
    order, expected = [int(i) for i in np.argsort(half)], [int(i) for i in np.argsort(-s)]
    checks.append(Check("greedy_order", "small random init: modes reach half their strength in decreasing order of "
                        "the singular value s_c = sqrt(n_c/N) (larger classes first)", order, expected,
                        bool(np.all(np.isfinite(half)) and order == expected)))
    half_aligned = metrics.crossing_time(t, (aligned.flow_greedy_mode.values / s).T, 0.5)
    half_theory = np.log(s / config.greedy_init - 1) / (2 * s)
    checks.append(check_below("greedy_half_times", "aligned init: half-times match ln(s/u0 - 1)/(2 s) (max relative "
                              "error)", np.max(np.abs(half_aligned - half_theory) / half_theory), 0.02))
    for variable, label, rank in (("feature_sv", "features H", classes),
                                  ("centred_sv", "centred features H - mean", classes - 1)):
        start, end = random[f"flow_greedy_{variable}"].values[[0, -1]]
        checks.append(check_above(
            f"{variable}_top_{rank}_learned", f"small random init: the top {rank} singular values of the {label} grow "
            "from the init scale (smallest growth factor)", np.min(end[:rank] / start[:rank]), 10.0))
        checks.append(check_below(
            f"{variable}_rest_not_learned", f"... while the others stay at the init scale (rank {rank}): max over "
            "the rest of sigma_k(end)/sigma_k(0)", np.max(end[rank:] / start[rank:]), 2.0))
    within = random.flow_greedy_within_class.values
    checks.append(check_below(
        "within_class_scatter_non_increasing", "small random init: the within-class scatter ||H P_perp||_F never "
        "increases under the flow (UFM gradient flow: d(H P_perp)/dt = -W^T W H P_perp; max relative increment)",
        np.max(np.diff(within) / within[:-1]), 1e-8))
    return checks


def _geometry_checks(config: NeuralCollapseConfig, m: xr.Dataset) -> list[Check]:
    """OF without bias, ETF with bias, residuals scaling as sigma_0^2; NC1 and NC4 of the linear UFM."""
    scales, final = np.asarray(config.init_scales), m.linear_geometry_nc.isel(geometry_time=-1)
    free, biased = final.sel(bias=False), final.sel(bias=True)  # (init_scale, nc_metric)
    smallest, checks = int(np.argmin(scales)), []
    for name, claim, values in (
        ("no_bias_orthogonal_frame", "bias-free: classifier rows reach an orthogonal frame (Dang et al. 2023 "
         "distance)", free.sel(nc_metric="orthogonal_frame_distance_classifier").values),
        ("no_bias_means_orthogonal_frame", "bias-free: uncentred class means reach an orthogonal frame",
         free.sel(nc_metric="orthogonal_frame_distance_means").values),
        ("bias_simplex_etf", "with biases: centred class means reach a simplex ETF (Zhu et al. 2021 distance)",
         biased.sel(nc_metric="etf_distance_means").values),
        ("trace_ratio", "bias-free: tr(Sigma_W)/tr(Sigma_B) -> 0", free.sel(nc_metric="nc1_trace_ratio").values),
    ):
        checks.append(check_below(f"{name}_smallest_init", f"{claim}, at sigma_0 = {scales[smallest]:g}",
                                  values[smallest], 1e-2 if name == "trace_ratio" else 1e-3))
        checks.append(check_below(
            f"{name}_scales_as_init_variance", f"{claim}: the residual scales as sigma_0^2 (conserved within-class "
            "scatter / layer imbalance of the UFM gradient flow): |fitted log-log slope - 2|",
            abs(metrics.loglog_slope(scales, values) - 2), 0.25))
    checks.append(check_below(
        "linear_nc1", "bias-free UFM: NC1 = tr(Sigma_W Sigma_B^+)/C -> 0 (largest sigma_0; the class-mean span "
        "is emptied at rate 2 s)", np.max(free.sel(nc_metric="nc1").values), 1e-4))
    checks.append(check_below("linear_ncc_mismatch", "linear UFM (both variants): NC4 = 0 at the end",
                              float(final.sel(nc_metric="ncc_mismatch").max()), 0.0))
    return checks


def _weight_decay_checks(config: NeuralCollapseConfig, m: xr.Dataset) -> list[Check]:
    """The closed-form minimiser (outputs, classifier frame, objective) and the predicted decay rates."""
    rho, wd, classes = float(m.theory_ufm_rho), config.weight_decay, config.classes
    gram = m.flow_wd_classifier_gram.isel(wd_time=-1).values
    checks = [check_below("wd_outputs_vs_closed_form", f"gradient flow with weight decay {wd:g} converges to "
                          f"W H = rho Y, rho = 1 - wd sqrt(C) = {rho:.4f} (max abs error of the outputs)",
                          np.max(np.abs(m.flow_wd_outputs.values - m.theory_wd_outputs.values)), 1e-4),
              check_below("wd_classifier_orthogonal_frame", f"... with W W^T = rho/sqrt(C) I = "
                          f"{rho / np.sqrt(classes):.4f} I (max relative error of the eigenvalues)",
                          np.max(np.abs(gram / (rho / np.sqrt(classes)) - 1)), 1e-4),
              check_below("wd_objective_vs_closed_form", f"... at the closed-form minimum objective "
                          f"{float(m.theory_ufm_objective):.6f} (relative error)",
                          abs(float(m.flow_wd_objective) / float(m.theory_ufm_objective) - 1), 1e-6)]
    tw, late = m.wd_time.values, m.wd_time.values > m.wd_time.values[-1] / 2
    rate_nc1 = metrics.exponential_rate(tw, m.flow_wd_nc.sel(nc_metric="nc1").values, 1e-15, 1e-7)
    rate_trace = metrics.exponential_rate(tw[late], m.flow_wd_nc.sel(nc_metric="nc1_trace_ratio").values[late], 0, 1)
    nc1_rate_theory = 2 * (rho / np.sqrt(classes) + wd)
    checks.append(check_below(
        "wd_nc1_rate", f"with weight decay NC1 -> 0 exponentially at rate 2 (rho/sqrt(C) + wd) = {nc1_rate_theory:.4f} "
        "once the modes are learned (within-class scatter inside the class-mean span; fit over 1e-15 < NC1 < 1e-7, "
        "before a slower second-order term takes over; relative error of the fitted rate)",
        abs(rate_nc1 / nc1_rate_theory - 1), 0.05))
    checks.append(check_below(
        "wd_trace_ratio_rate", f"... and tr(Sigma_W)/tr(Sigma_B) at rate 2 wd = {2 * wd:g} (scatter outside it; "
        "relative error of the fitted rate)", abs(rate_trace / (2 * wd) - 1), 0.05))
    return checks


def _mlp_checks(m: xr.Dataset) -> list[Check | Measurement]:
    """The terminal phase of training of the ReLU MLP on each data set."""
    checks = []
    for name in m.dataset.values:
        h = m.sel(dataset=name)
        accuracy, values = h.nonlinear_train_accuracy.values, h.nonlinear_nc
        reached = np.flatnonzero(accuracy >= 1.0)
        checks.append(check_above(f"mlp_{name}_train_accuracy", f"{name}: the MLP reaches 100 % train accuracy",
                                  accuracy[-1], 1.0))
        start = int(reached[0]) if reached.size else len(accuracy) - 1
        ratio = lambda metric: values.sel(nc_metric=metric).values[[start, -1]]  # noqa: E731
        checks.append(check_above(
            f"mlp_{name}_nc1_drop", f"{name}: NC1 falls by >= 2 orders of magnitude from its value at the first "
            f"100 % train accuracy (step {int(h.mlp_step.values[start])}) to the end (ratio)",
            ratio("nc1")[0] / ratio("nc1")[1], 100.0))
        for metric, label in (("equinorm_means", "NC2 equinorm"), ("etf_distance_means", "NC2 ETF distance"),
                              ("self_duality", "NC3 self-duality")):
            checks.append(check_below(
                f"mlp_{name}_{metric}_trend", f"{name}: {label} of the class means shrinks over the terminal phase "
                "(final / value at 100 % train accuracy)", ratio(metric)[1] / ratio(metric)[0], 0.7))
        checks.append(check_below(f"mlp_{name}_nc4", f"{name}: NC4, classifier vs nearest class centre, at the end",
                                  values.sel(nc_metric="ncc_mismatch").values[-1], 0.01))
        sv = h.nonlinear_feature_sv.values[-1]
        checks.append(check_below(
            f"mlp_{name}_rank_c_minus_1", f"{name}: centred penultimate features are close to rank C-1 at the end "
            "(sigma_C / sigma_{C-1})", sv[9] / sv[8], 0.2))
    checks.append(Measurement("mlp_datasets", "data sets the MLP was trained on (real MNIST when IDX files are "
                              "found, else MNIST-1D)", [str(name) for name in m.dataset.values]))
    return checks


def check(ds: xr.Dataset) -> list[Check | Measurement]:
    config, m = dataset_config(ds, EXPERIMENT), ds.mean("seed")
    return [*_greedy_checks(config, m), *_geometry_checks(config, m), *_weight_decay_checks(config, m),
            *_mlp_checks(m)]


METRIC_STYLE = {"nc1": ("NC1", "C0"), "etf_distance_means": ("NC2 (ETF dist.)", "C1"),
                "equinorm_means": ("NC2 (equinorm)", "C4"), "self_duality": ("NC3", "C2"),
                "ncc_mismatch": ("NC4", "C3")}


def _plot_linear(axes, config: NeuralCollapseConfig, m: xr.Dataset) -> None:
    """(a) greedy singular values, (b) OF / ETF geometry per sigma_0, (c) weight decay against the closed form."""
    s, t, classes = m.greedy_singular_value.values, m.greedy_time.values, m.sizes["greedy_class"]
    sv = m.flow_greedy_feature_sv
    colors = trajectories(axes[0], t, np.sqrt(sum(config.greedy_class_sizes) * m.theory_greedy_mode.values),
                          sv.sel(greedy_init="aligned balanced").values[:, :classes], labels=[
                              f"$n_c$={n} ($s$={v:.2f})" for n, v in zip(config.greedy_class_sizes, s)])
    random = sv.sel(greedy_init="random gaussian").values[:, : classes + 4]
    for k in range(random.shape[1]):
        axes[0].plot(t, random[:, k], color=colors[k] if k < classes else "0.6", alpha=0.45 if k < classes else 1,
                     linestyle="--", linewidth=1.0)
    axes[0].set(yscale="log", xlabel="time $t$ (gradient flow)", ylabel="singular values of features $H$",
                title="a. greedy low rank: Saxe modes (solid), aligned init (dashed),\nrandom init (faint; grey = "
                      "unlearned)")
    axes[0].legend(fontsize=7, loc="lower right")
    geometry, tg = m.linear_geometry_nc, m.geometry_time.values
    for color, scale in zip(mode_colors(len(config.init_scales), "viridis"), config.init_scales):
        free, biased = geometry.sel(init_scale=scale, bias=False), geometry.sel(init_scale=scale, bias=True)
        axes[1].plot(tg, free.sel(nc_metric="orthogonal_frame_distance_classifier"), color=color,
                     **MODEL_STYLE["linear"], label=f"$\\sigma_0$={scale:g}: OF dist. of $W$ (no bias)")
        axes[1].plot(tg, biased.sel(nc_metric="etf_distance_means"), color=color, linestyle="-.", linewidth=1.2,
                     label="ETF dist. of centred means (bias)")
        axes[1].plot(tg, free.sel(nc_metric="nc1_trace_ratio"), color=color, linestyle=(0, (5, 1, 1, 1, 1, 1)),
                     linewidth=1.0, label="tr$\\Sigma_W$/tr$\\Sigma_B$ (no bias)")
    axes[1].set(yscale="log", xlabel="time $t$", ylabel="distance / ratio", title="b. linear UFM geometry: OF "
                "without bias, ETF with bias;\nresiduals $\\propto\\sigma_0^2$")
    axes[1].legend(fontsize=6, ncol=1)
    tw, rho, wd = m.wd_time.values, float(m.theory_ufm_rho), config.weight_decay
    nc1, trace = (m.flow_wd_nc.sel(nc_metric=name).values for name in ("nc1", "nc1_trace_ratio"))
    rate, anchor = 2 * (rho / np.sqrt(config.classes) + wd), int(np.argmin(np.abs(nc1 - 1e-10)))
    trajectories(axes[2], tw, np.stack([nc1[anchor] * np.exp(-rate * (tw - tw[anchor])),
                                        trace[-1] * np.exp(-2 * wd * (tw - tw[-1]))], axis=1), colors=["C0", "C1"],
                 labels=[f"rate 2($\\rho/\\sqrt{{C}}$+wd)={rate:.3g}", f"rate 2 wd={2 * wd:g}"])
    trajectories(axes[2], tw, simulation=np.stack([nc1, trace], axis=1), colors=["C0", "C1"],
                 labels=["NC1", "tr$\\Sigma_W$/tr$\\Sigma_B$"])
    axes[2].set(yscale="log", ylim=(1e-30, 1e2), xlabel="time $t$", title=f"c. weight decay {wd:g}: collapse to the "
                f"closed form\n$WH=\\rho Y$, $\\rho$={rho:.3f}, $WW^T=\\rho/\\sqrt{{C}}\\,I$")
    inset = axes[2].inset_axes([0.55, 0.55, 0.42, 0.4])
    inset.plot(tw, m.flow_wd_classifier_gram.values, color="0.3", **MODEL_STYLE["linear"])
    inset.axhline(rho / np.sqrt(config.classes), **MODEL_STYLE["theory"], color="C3")
    inset.set_title("eig $WW^T$", fontsize=7)
    inset.tick_params(labelsize=6)
    axes[2].legend(fontsize=7, loc="lower left")


def _plot_mlp(axes, h: xr.Dataset, name: str, letter: str) -> None:
    """One data set: NC1-NC4 against the Adam step, accuracies, and sigma_k/sigma_1 of the centred features."""
    steps, accuracy = np.maximum(h.mlp_step.values, 1), h.nonlinear_train_accuracy.values
    reached = np.flatnonzero(accuracy >= 1.0)
    trajectories(axes[0], steps, simulation=np.stack([np.maximum(h.nonlinear_nc.sel(nc_metric=metric).values, 1e-6)
                                                      for metric in METRIC_STYLE], axis=1), kind="nonlinear",
                 labels=[label for label, _ in METRIC_STYLE.values()], colors=[c for _, c in METRIC_STYLE.values()])
    if reached.size:
        axes[0].axvline(steps[reached[0]], color="0.5", linewidth=0.8)
    axes[0].set(xscale="log", yscale="log", xlabel="Adam step (full batch)", ylabel="metric",
                title=f"{letter}. MLP on {name}: NC1-NC4 (grey line: 100 % train acc.)")
    trajectories(axes[1], steps, simulation=np.stack([accuracy, h.nonlinear_test_accuracy.values], axis=1),
                 kind="nonlinear", labels=["train", "test"], colors=["C0", "C1"])
    axes[1].set(xscale="log", xlabel="Adam step", ylabel="accuracy", ylim=(0, 1.02), title=f"{name}: accuracy")
    sv = h.nonlinear_feature_sv.values
    trajectories(axes[2], steps, simulation=sv / sv[:, :1], kind="nonlinear",
                 colors=mode_colors(9, "viridis") + ["0.6"] * (sv.shape[1] - 9))
    axes[2].set(xscale="log", yscale="log", xlabel="Adam step", ylabel="$\\sigma_k/\\sigma_1$ (centred features)",
                title=f"{name}: penultimate features, top C-1 = 9 in colour")
    for ax in axes[:2]:
        ax.legend(fontsize=7)


def plot(ds: xr.Dataset) -> dict:
    config, m = dataset_config(ds, EXPERIMENT), ds.mean("seed")
    figure, axes = figure_grid(3, 3, width=5.0, height=13 / 3, title="Neural collapse — theory solid, linear "
                               "network dashed, ReLU MLP dotted")
    _plot_linear(axes[0], config, m)
    for row, name in enumerate(m.dataset.values[:2], start=1):
        _plot_mlp(axes[row], m.sel(dataset=name), str(name), "de"[row - 1])
    return {"neural_collapse": figure}


EXPERIMENT = Experiment(
    name="neural-collapse",
    description="Neural collapse: greedy low-rank UFM dynamics, OF/ETF geometry, weight-decay minimiser; NC1-NC4 "
                "of a ReLU MLP on digits and MNIST-1D (or MNIST)",
    config_type=NeuralCollapseConfig,
    # Quick keeps the full run's 4,000 steps: at 2,000 the terminal phase (after 100 % train accuracy) is too short
    # for MNIST-1D's centred features to lose their 10th direction (sigma_10/sigma_9 0.37; 0.11 at 4,000).
    quick={"width": 128, "n_train": 500, "mlp_steps": 4000, "linear_duration": 40.0},
    presets={"test": {"greedy_class_sizes": (6, 3), "classes": 3, "samples_per_class": 3, "feature_dim": 4,
                      "linear_duration": 30.0, "width": 12, "n_train": 60,
                      "mlp_steps": 23, "mnist1d_samples": 200, "seeds": 2}},
    simulate=simulate,
    check=check,
    plot=plot,
    units=lambda config: 3 + len(config.mlp_weight_decays),
)
