r"""Experiment ``theory-check``: every closed form of `layerwise.theory` against the engine's exact gradient flow.

Are the closed forms exact on random instances, at every time, and not only on the worked examples they were derived
for? For each closed form with a gradient-flow counterpart, ``instances`` random instances are drawn per seed
(targets, initial scales, imbalances, λ, depths, weight decays, design matrices, and the dimensions of each family),
simulated with `layerwise.engine.gradient_flow` (diffrax Dopri8 at ``rtol``/``atol``, float64) and compared with
`layerwise.compare` on the flow's own save times. The value of each check is the largest relative error over the
instances (of each instance's largest relative error over the trajectory):

========================  ==============================================================  ==========================
solution                  network simulated                                               compared
========================  ==============================================================  ==========================
saxe_mode_depth2          two-layer linear net, balanced init aligned with ``Sigma_yx``   every mode ``u_a(t)``
saxe_mode_deep            balanced diagonal net of depth ``L >= 3``                       every coordinate
imbalanced_mode           two-layer diagonal net, any ``a0, b0 > 0`` and input variances  every coordinate
lambda_balanced_solution  unaligned λ-balanced two-layer net, whitened input               ``W1(t)``, ``W2(t)``
kernel_distance           the same runs: NTK from the closed-form vs the flow's weights   ``K(t)``; ``S(0, t)``
kunin_single_neuron       single neuron ``f = a w^T x``, any ``delta`` (*)                the state ``(w, a)``
grokking_rescaling        the wide scalar toy ``f = (1/Z) sum a_i b_i x``                 ``a + b``, ``a - b``
grokking_gamma            the same runs at the end                                        ``g(T)^2``
ufm_mse_minimizer         MSE-UFM with weight decay (two-layer net, one-hot inputs)       limit ``WW^T, HW^T, HH^T``
woodworth_solution        ``w = u * v`` from ``u = 2 alpha``, ``v = 0`` (``n < d``)       limit ``w``
========================  ==============================================================  ==========================

The closed forms: Saxe, McClelland & Ganguli (2014) (balanced modes, any depth); Kunin et al. (2024) (imbalanced
modes and the single neuron); Fukumizu (1998), Braun et al. (2022) and Dominé et al. (2025) (λ-balanced Riccati
solution, its NTK); Nam et al. (2025, §7) (grokking toy); Tirer & Bruna (2022) and Zhou et al. (2022) (MSE-UFM
minimiser); Woodworth et al. (2020) (the interpolator of ``w = u * v``).

Vector and matrix states are compared in relative Frobenius norm at each time; scalar modes elementwise. The three
limits are compared at the final time, chosen from each instance's convergence rate so that the remaining distance
(``~e^{-rate T}``) is about 1e-14. Compilation dominates the run time, so the instances of one solution share one
shape (drawn once per seed) and run as one vmapped flow, and solutions share compiled flows: the depth-2 Saxe,
λ-balanced, UFM and single-neuron runs use one two-layer shape ``(d, h, m) = (n C, C, C)`` (``n`` samples per class,
``C`` classes; (*) the single neuron is that net with one active hidden unit and output, the others starting at 0,
where their gradients vanish identically, so the flow is exactly the single neuron's), and the imbalanced and
Woodworth runs one diagonal net. Each seed draws its own shapes, so seeds run one after another (padded with NaN to
common sizes in the Dataset); the per-instance errors are computed in `simulate` from the full compared states
(``flow_max_relative_error``) and the checks take their largest value over seeds and instances. The figure shows,
per solution, the instance with the largest error.
"""

from __future__ import annotations

from typing import Annotated

import xarray as xr
from pydantic import Field

from layerwise._deprecation import renamed_fields
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.experiments.theory_check import checks, figure
from layerwise.experiments.theory_check.diagonal import deep_family, diagonal_family
from layerwise.experiments.theory_check.grokking import grokking_family
from layerwise.experiments.theory_check.solution import SOLUTIONS, seed_dataset
from layerwise.experiments.theory_check.two_layer import two_layer_family
from layerwise.seeds import seed_values


@renamed_fields(max_lambda="max_imbalance")
@F.config_dataclass
class TheoryCheckConfig:
    """Settings of the ``theory-check`` experiment (defaults: the full run)."""

    seed: F.Seed = 0
    """First seed: seed s draws every instance of its run (dimensions, targets, inits, λ, depths, weight decays,
    designs) from NumPy streams ``default_rng([s, family])``."""
    seeds: F.Count = 1
    """Number of seeds (independent draws of every instance, shapes included; simulated one after another)."""
    instances: F.Count = 16
    """Random instances per closed form and seed (simulated as one vmapped flow)."""
    times: F.at_least(3) = 161
    """Save times per trajectory (the flow is saved, and the closed form evaluated, on the same grid)."""
    tolerance: F.PositiveFloat = 1e-8
    """Largest relative error a closed form may have against the flow (every check)."""
    rtol: F.rule(F.PositiveFloat, lambda tolerance: f"<= tolerance / 100 = {tolerance / 100:g} (the flow is the "
                 "reference)", lambda rtol, tolerance: rtol <= 1e-2 * tolerance, needs=("tolerance",)) = 1e-12
    """Relative tolerance of the Dopri8 step-size controller (at most tolerance / 100: the flow is the reference)."""
    atol: F.PositiveFloat = 1e-18
    """Absolute tolerance of the Dopri8 step-size controller (tiny: weights start as small as 1e-4, and a relative
    error of the flow is what is compared)."""
    max_dim: F.at_least(3) = 5
    """Largest dimension of the diagonal nets (the deep and the two-layer diagonal family each draw theirs in
    [3, max_dim])."""
    max_classes: F.at_least(2) = 4
    """Largest number of classes C of the shared two-layer shape (n C, C, C) (C in [2, max_classes], n in [2, 3])."""
    deep_depths: Annotated[tuple[F.at_least(3), ...], Field(min_length=1)] = (3, 4, 5)
    """Depths L >= 3 of the deep Saxe instances (each depth compiles its own flow)."""
    max_imbalance: F.PositiveFloat = 2.0
    """The imbalance λ of the λ-balanced instances is drawn uniformly in [-max_imbalance, max_imbalance]."""
    alpha_range: F.rule(tuple[F.PositiveFloat, F.PositiveFloat], "two numbers 0 < low <= high",
                        lambda bounds: bounds[0] <= bounds[1]) = (0.05, 1.0)
    """Initial scales alpha of the Woodworth instances: log-uniform in [low, high]."""
    grokking_width: F.at_least(2) = 6
    """Hidden units p of the grokking toy."""


def simulate(config: TheoryCheckConfig, progress: Progress) -> xr.Dataset:
    per_seed = []
    for seed in seed_values(config.seed, config.seeds):
        found = {}
        for family in (two_layer_family, deep_family, diagonal_family, grokking_family):
            result = family(config, int(seed))
            for solution in result if isinstance(result, list) else [result]:
                found[solution.name] = solution
                progress(solution.name)
        per_seed.append(seed_dataset([found[name] for name in SOLUTIONS]))
    # Each seed draws its own dimensions: the component axes are padded with NaN to the largest.
    dataset = xr.concat(per_seed, dim="seed", coords="all", join="outer")
    dataset = dataset.assign_coords(seed=seed_values(config.seed, config.seeds))
    dataset.attrs["description"] = "Every closed form of layerwise.theory vs the engine's exact gradient flow"
    return dataset


EXPERIMENT = Experiment(
    name="theory-check",
    description="Every closed form of layerwise.theory vs the engine's exact gradient flow on random instances",
    config_type=TheoryCheckConfig,
    quick={"instances": 4, "times": 81, "deep_depths": (3,)},
    presets={"test": {"instances": 2, "times": 21, "deep_depths": (3,), "max_dim": 3, "max_classes": 2, "seeds": 2}},
    simulate=simulate,
    check=lambda ds: checks.results(ds, dataset_config(ds, EXPERIMENT)),
    plot=lambda ds: figure.figures(ds, dataset_config(ds, EXPERIMENT)),
    units=lambda config: len(SOLUTIONS) * config.seeds,
)
