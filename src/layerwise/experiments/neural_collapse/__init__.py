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

import numpy as np
import xarray as xr
from pydantic import Field

from layerwise import data
from layerwise._deprecation import renamed_fields
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress
from layerwise.experiments.neural_collapse import panels
from layerwise.experiments.neural_collapse.checks import check
from layerwise.experiments.neural_collapse.figure import plot
from layerwise.seeds import seed_values


def _smallest_mode_strength(sizes: tuple[int, ...]) -> float:
    """``min_c sqrt(n_c / N)``: the smallest singular value of the greedy UFM's ``Sigma_yx``."""
    return float(np.sqrt(min(sizes) / sum(sizes)))


ClassSizes = F.rule(tuple[F.Count, ...], "at least 2 distinct sizes", lambda sizes: 1 < len(sizes) == len(set(sizes)))
GreedyInitScale = F.rule(F.PositiveFloat, lambda sizes: f"below the smallest mode strength sqrt(n_c/N) = "
                         f"{_smallest_mode_strength(sizes):.4g}", lambda u0, sizes: u0 < _smallest_mode_strength(sizes),
                         needs=("greedy_class_sizes",))
WeightDecay = F.rule(F.PositiveFloat, lambda classes: f"below 1/sqrt(classes) = {1 / np.sqrt(classes):.4g} (else the "
                     "minimiser is 0)", lambda wd, classes: wd * np.sqrt(classes) < 1, needs=("classes",))


@renamed_fields(greedy_init="greedy_init_scale")
@F.config_dataclass
class NeuralCollapseConfig:
    """Settings of the ``neural-collapse`` experiment (defaults: the full run)."""

    seed: F.Seed = 0
    """First seed (inits and data split; MNIST-1D generation uses ``mnist1d_seed``)."""
    seeds: F.Count = 1
    """Number of seeds (batched in the linear panels, one after another for the MLP); checks use their mean."""
    greedy_class_sizes: ClassSizes = (32, 16, 8, 4)
    """Class sizes n_c of the greedy-dynamics UFM (distinct, so the modes s_c = sqrt(n_c/N) are learned in order)."""
    greedy_init_scale: GreedyInitScale = 1e-4
    """Initial mode strength u0 of the aligned balanced init (greedy panel)."""
    classes: F.at_least(2) = 4
    """Classes C of the balanced geometry and weight-decay UFMs."""
    samples_per_class: F.at_least(2) = 16
    """Samples per class of the balanced UFMs."""
    feature_dim: F.rule(F.at_least(2), lambda classes: f">= classes ({classes})", lambda d, classes: d >= classes,
                        needs=("classes",)) = 16
    """Feature dimension d (hidden width of the two-layer linear net; at least classes)."""
    init_scales: F.rule(F.PositiveFloats, "at least 2 scales (a fitted slope)",
                        lambda scales: len(scales) >= 2) = (1e-2, 3e-3, 1e-3)
    """Std sigma_0 of the i.i.d. Gaussian init of both layers (geometry panel; at least 2, the sigma_0^2 law is a
    fitted slope); the random init of the greedy panel uses the median, the weight-decay panel the smallest."""
    linear_learning_rate: F.PositiveFloat = 0.05
    """GD learning rate of the geometry panel."""
    linear_duration: F.PositiveFloat = 40.0
    """Gradient-flow time of the greedy flow and the geometry GD runs (t = lr * step)."""
    weight_decay: WeightDecay = 0.05
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
    mlp_weight_decays: F.rule(F.NonNegativeFloats, "2 values (digits, then MNIST-1D or MNIST)",
                              lambda decays: len(decays) == 2) = (3e-4, 1e-3)
    """Coupled L2 weight decay of Adam (PyTorch ``Adam(weight_decay=...)``) for digits and for MNIST-1D/MNIST (the
    noisier MNIST-1D needs the larger one to collapse within the step budget)."""
    mnist1d_samples: F.rule(F.Count, lambda n: f">= n_train + 100 = {n + 100}", lambda samples, n: samples >= n + 100,
                            needs=("n_train",)) = 5000
    """Samples of the generated MNIST-1D set (at least n_train + 100)."""
    mnist1d_seed: F.Seed = 42
    """Seed of the MNIST-1D generator."""
    mnist_path: Annotated[str, Field(min_length=1)] | None = None
    """Directory of the real MNIST IDX files; falls back to ``$LAYERWISE_MNIST``, then to MNIST-1D."""


def simulate(config: NeuralCollapseConfig, progress: Progress) -> xr.Dataset:
    """The linear UFM's three parts, then the MLP on each data set (`layerwise.experiments.neural_collapse.panels`)."""
    parts = [panels.greedy(config)]
    progress("greedy low-rank dynamics (linear UFM)")
    parts.append(panels.geometry(config))
    progress("OF / ETF geometry (linear UFM)")
    parts.append(panels.weight_decay_minimiser(config))
    progress("weight decay: closed-form minimiser")
    per_seed = [data.digit_benchmarks(config.n_train, int(seed), mnist_path=config.mnist_path,
                                      mnist1d_samples=config.mnist1d_samples, mnist1d_seed=config.mnist1d_seed)
                for seed in seed_values(config.seed, config.seeds)]
    runs = []
    for index, weight_decay in enumerate(config.mlp_weight_decays):
        name = per_seed[0][index][0]
        splits = [sets[index][1:] for sets in per_seed]  # (x, y, x_test, y_test) of each seed
        runs.append(panels.mlp(config, splits, weight_decay).expand_dims(dataset=[name]))
        progress(f"MLP on {name}")
    dataset = xr.merge([*parts, xr.concat(runs, dim="dataset")])
    dataset.attrs.update({"description": "Neural collapse: greedy low-rank dynamics of the linear UFM and NC1-NC4 of "
                                         "a ReLU MLP (Nam et al. 2025, §5)",
                          "nc1_convention": "tr(Sigma_W Sigma_B^+)/C (divide by C; the Papyan colab omits it)"})
    return dataset.assign_coords(seed=seed_values(config.seed, config.seeds))


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
