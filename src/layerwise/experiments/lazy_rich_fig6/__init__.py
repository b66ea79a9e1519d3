r"""Experiment ``lazy-rich-fig6``: layer imbalance and the weight-to-target ratio decide lazy vs rich learning in
two-layer linear nets (Nam et al. 2025, §6 and Fig. 6).

The regime is measured by how far the neural tangent kernel moves, ``S(K_0, K_t) = 1 - <K_0,K_t>/(|K_0||K_t|)``
(Fort et al. 2020).

1. **Fig. 6a, the authors' setting**: 2-2-2 linear net, 10 exactly whitened samples, λ-balanced init
   (``W_2^T W_2 - W_1 W_1^T = λ I``, end-to-end singular values ``sqrt(s)``), targets ``Y/s``, GD lr 0.01 for 4,000
   steps, ``log10(S(K_0, K_4000) + 1e-6)`` over λ ∈ linspace(-9, 9, 40) × s ∈ linspace(1, 20, 40): all runs (and
   seeds) in ONE vmapped `train` call. Compared with the exact gradient flow of λ-balanced nets in Riccati form
   (Dominé et al. 2025), whose NTK is read off the blocks ``W_1^T W_1``, ``W_2 W_2^T`` of ``P(t)``.
2. **Fig. 6b, the authors' setting**: 20-20-2 net on 10 raw Gaussian samples, zero-output mirrored init with layer
   scales ``0.1 + max(λ, 0)`` and ``0.1 + max(-λ, 0)``, λ ∈ linspace(-0.5, 0.5, 40), s ∈ linspace(0.1, 50, 40).

Seed ``k`` draws the 6a data and inits from key ``k`` and the 6b ones from key ``k + 1`` (as before the split into
parts, so seed 0 reproduces the earlier results); the checks read the seed mean of the kernel distances.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from layerwise._deprecation import renamed_fields
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress
from layerwise.experiments.lazy_rich_fig6 import panels
from layerwise.experiments.lazy_rich_fig6.checks import OLD_NAMES, check
from layerwise.experiments.lazy_rich_fig6.figure import plot
from layerwise.seeds import seed_keys, seed_values


@renamed_fields(scale_a="init_target_ratio_a", imbalance_b="scale_difference_b", scale_b="target_divisor_b",
                weight_scale_b="init_scale_b")
@F.config_dataclass
class LazyRichFig6Config:
    """Settings of the ``lazy-rich-fig6`` experiment (defaults: the authors' full grids)."""

    seed: F.Seed = 0
    """First seed: draws the data and the random init directions of every cell."""
    seeds: F.Count = 1
    """Number of seeds (data and init draws) trained at once; checks use the seed mean of the kernel distances."""
    imbalance_a: F.Grid = (-9.0, 9.0, 40)
    """Fig. 6a layer imbalance λ: linspace(start, stop, num)."""
    init_target_ratio_a: F.PositiveGrid = (1.0, 20.0, 40)
    """Fig. 6a init-to-target ratio s (the paper's weight-to-target ratio): init end-to-end singular values sqrt(s),
    targets Y/s; linspace(start, stop, num)."""
    scale_difference_b: F.Grid = (-0.5, 0.5, 40)
    """Fig. 6b scale difference σ1 - σ2 of the mirrored init (layer scales init_scale_b + max(±(σ1 - σ2), 0))."""
    target_divisor_b: F.PositiveGrid = (0.1, 50.0, 40)
    """Fig. 6b target divisor s (targets Y/s)."""
    init_scale_b: F.PositiveFloat = 0.1
    """Fig. 6b base layer scale σ of the mirrored init."""
    n_samples: F.at_least(3) = 10
    """Training samples of both panels (whitened exactly in 6a, so more than the 2 inputs)."""
    learning_rate: F.PositiveFloat = 0.01
    """GD learning rate of both panels."""
    steps: F.Count = 4000
    """GD steps of both panels."""
    floor: F.PositiveFloat = 1e-6
    """Added to the kernel distance before log10, as the authors' plots."""
    curve_points: F.at_least(2) = 40
    """Log-spaced steps at which the 6a weights are recorded (for the S(K_0, K_t) curves)."""


def simulate(config: LazyRichFig6Config, progress: Progress) -> xr.Dataset:
    """Both grids (`layerwise.experiments.lazy_rich_fig6.panels`): kernel distances of GD (``linear_``) and of the
    exact λ-balanced flow (``theory_``), with the final loss and the drift of λ."""
    a = panels.fig6a(config, seed_keys(config.seed, config.seeds))
    progress("Fig. 6a: 2-2-2 λ-balanced grid (GD and exact flow)")
    b = panels.fig6b(config, seed_keys(config.seed + 1, config.seeds))
    progress("Fig. 6b: 20-20-2 mirrored-init grid")
    cells_a, cells_b = ("seed", "imbalance_a", "init_target_ratio_a"), ("seed", "scale_difference_b",
                                                                        "target_divisor_b")
    return xr.Dataset(
        {"linear_kernel_distance_a": ((*cells_a, "step_a"), a["gd"]),
         "theory_kernel_distance_a": ((*cells_a, "step_a"), a["flow"]),
         "linear_final_loss_a": (cells_a, a["loss"]),
         "linear_imbalance_drift_a": (cells_a, a["drift"]),
         "linear_kernel_distance_b": (cells_b, b)},
        coords={"seed": seed_values(config.seed, config.seeds), "imbalance_a": a["lam"],
                "init_target_ratio_a": a["s"], "step_a": a["steps"], "time_a": ("step_a", a["times"]),
                "scale_difference_b": np.linspace(*config.scale_difference_b),
                "target_divisor_b": np.linspace(*config.target_divisor_b)},
        attrs={"description": "Lazy vs rich: NTK kernel distance over layer imbalance × weight-to-target ratio "
                              "(Nam et al. 2025, Fig. 6)"},
    )


EXPERIMENT = Experiment(
    name="lazy-rich-fig6",
    description="Lazy vs rich in linear nets: NTK movement over layer imbalance and weight-to-target ratio (Fig. 6)",
    config_type=LazyRichFig6Config,
    quick={"imbalance_a": (-9.0, 9.0, 20), "init_target_ratio_a": (1.0, 20.0, 20),
           "scale_difference_b": (-0.5, 0.5, 20), "target_divisor_b": (0.1, 50.0, 20)},
    presets={"test": {"imbalance_a": (-9.0, 9.0, 6), "init_target_ratio_a": (1.0, 20.0, 3),
                      "scale_difference_b": (-0.5, 0.5, 4), "target_divisor_b": (0.1, 50.0, 3), "curve_points": 8,
                      "seeds": 2}},
    simulate=simulate, check=check, plot=plot, renamed_variables=OLD_NAMES,
    units=lambda config: 2,
)
