r"""Experiment ``emergence``: do skills emerge abruptly and in the order of their frequency, in time, data and
parameters, and do the losses follow power laws? Multitask sparse parity (Nam et al. 2025 Fig. 4; Nam et al. 2024).

Skills ``g_k`` of multitask sparse parity (`layerwise.data.sparse_parity`) are orthogonal, ``E[g_k^2] = p_k ∝
k^-(alpha+1)``. The skill-basis model ``f = sum_k a_k b_k g_k`` (a `DiagonalLinearNetwork` on ``g(x)``) has Saxe-sigmoid
skill strengths ``R_k/S = 1/(1 + (S/R_0 - 1) e^{-2 eta p_k S t})``; a 2-layer ReLU MLP (``n_s + n_b -> N -> 1``,
weights and biases ``N(0, init_scale^2)``, MSE, as the authors) is trained by the same engine on the same samples.
Panels: the MLP's ``R_k/S`` against SGD step ``T``, training-set size ``D`` and width ``N``, each against the authors'
calibrated theory with one constant fitted per seed (`mlp`), and its stage gap ``t_2 - t_1`` against
``ln(1/init_scale)``; the skill-basis model beside each, and its scaling laws in ``T, D, N`` and compute ``C = N T``
(`skill_basis`). The MLP panels are judged over seeds by `layerwise.metrics.crossing_errors` (`checks`).

Shrunk from the authors (Nam et al. 2025 Fig. 4 code) for CPU: batch 500 instead of 4,000, 5 seeds instead of 10,
``data_steps`` mini-batch steps instead of 100,000 epochs at the time panel's lr and init scale, ``param_steps`` Adam
steps.
"""

from __future__ import annotations

from typing import Annotated

import jax
import numpy as np
import xarray as xr
from pydantic import Field

from layerwise import observables
from layerwise._deprecation import renamed_fields
from layerwise.data import sparse_parity_problem
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress, dataset_config
from layerwise.experiments.emergence import checks, figure, mlp, skill_basis

Grid = F.rule(Annotated[tuple[F.Count, ...], Field(min_length=3)], "increasing integers",
              lambda grid: list(grid) == sorted(set(grid)))
DisjointBits = F.rule(F.Count, lambda skills, bits: f">= n_skills * bits_per_skill = {skills * bits} (disjoint skills)",
                      lambda n, skills, bits: n >= skills * bits, needs=("n_skills", "bits_per_skill"))
GapInitScales = F.rule(F.PositiveFloats, lambda init: f"init scales other than init_scale ({init:g})",
                       lambda scales, init: init not in scales, needs=("init_scale",))
FitSkills = F.rule(tuple[F.at_least(2), F.at_least(2)], lambda n: f"(k_lo, k_hi) with k_lo < k_hi <= scaling_skills/10 "
                   f"= {n // 10}", lambda fit, n: fit[0] < fit[1] <= n // 10, needs=("scaling_skills",))


@renamed_fields(init="init_scale", gap_inits="gap_init_scales", param_init="param_init_scale")
@F.config_dataclass
class EmergenceConfig:
    """Settings of the ``emergence`` experiment (defaults: the full run, the authors' sizes where CPU allows)."""

    seed: F.Seed = 0
    """Draws the skills' bits, the MLP inits, the samples and the data sets."""
    seeds: F.at_least(3) = 5
    """MLP runs per setting of the time, stage-gap and parameter panels (>= 3: checks judge their mean and 95 %
    interval)."""
    n_skills: F.at_least(3) = 5
    """Number of skills n_s (one-hot control bits)."""
    bits_per_skill: F.Count = 3
    """Task bits per skill m (each skill's parity is over its own m bits)."""
    n_bits: DisjointBits = 32
    """Number of task bits n_b (>= n_skills * bits_per_skill: the skills' bits are disjoint)."""
    alpha: F.PositiveFloat = 0.6
    """Zipf exponent: p_k ∝ k^-(alpha+1)."""
    target_scale: F.PositiveFloat = 5.0
    """S: labels are ±S."""
    width: F.Count = 1000
    """Hidden width of the MLP in the time and data panels."""
    init_scale: F.PositiveFloat = 0.01
    """Std of the MLP's weights and biases (time and data panels)."""
    learning_rate: F.PositiveFloat = 0.02
    """SGD learning rate of the time and data panels."""
    batch_size: F.Count = 500
    """Samples per SGD/Adam step."""
    time_steps: F.Count = 25000
    """SGD steps of the time panel."""
    gap_init_scales: GapInitScales = (0.003, 0.03)
    """Further MLP init scales for the stage gap (with init_scale; same seeds, unit-normal directions and samples)."""
    gap_steps: F.Count = 12000
    """SGD steps of each further stage-gap run (t_2 at the smallest init must fall inside: ~7,000 at full size)."""
    data_sizes: Grid = (1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000)
    """Training-set sizes D (increasing): bracket each D_k = 0.75 D_c/p_k (~1,000-16,000), end 1.5x past D_5."""
    data_seeds: F.at_least(3) = 3
    """MLP runs per data set (each D has one fixed data set; seeds vary the init and the batch order; >= 3)."""
    data_steps: F.Count = 25000
    """SGD steps per data-panel run."""
    param_widths: Grid = (1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18, 20, 24, 28, 32, 40, 48, 56, 64, 80)
    """Hidden widths N of the parameter panel (increasing; the authors' plot: 1..20; skills 4-5 need 40-80 here)."""
    param_init_scale: F.PositiveFloat = 0.05
    """Std of the MLP's weights and biases in the parameter panel."""
    param_learning_rate: F.PositiveFloat = 0.003
    """Adam learning rate of the parameter panel (at the authors' 0.05, or 0.01, skills 4-5 never reach 1/2 here)."""
    param_steps: F.Count = 15000
    """Adam steps of the parameter panel."""
    eval_size: F.Count = 2000
    """Held-out samples per skill for R_k (authors: 20,000)."""
    scaling_skills: F.Count = 30000
    """Skills of the skill-basis model in the scaling-law panels (p_k over k = 1..scaling_skills)."""
    fit_skills: FitSkills = (8, 100)
    """Fit the exponents where skills k_lo..k_hi emerge (T in [t_klo, t_khi], D in [1/p_klo, 1/p_khi], N in [k_lo,
    k_hi]); k_hi << scaling_skills keeps the finite-n_s truncation small."""
    scaling_data_seeds: F.Count = 4
    """Multinomial data draws per D in the data scaling law."""


def simulate(config: EmergenceConfig, progress: Progress) -> xr.Dataset:
    problem = sparse_parity_problem(jax.random.PRNGKey(config.seed), config.n_skills, config.n_bits,
                                    config.bits_per_skill, config.alpha, config.target_scale, dtype="float32")
    p, key = problem.frequencies, jax.random.PRNGKey(config.seed)
    x_eval, y_eval = problem.evaluation_sets(jax.random.fold_in(key, 0), config.eval_size)
    skills = {"skill_strength": observables.SkillStrengths(x_eval, y_eval),
              "skill_loss": observables.SkillLosses(x_eval, y_eval)}
    keys = mlp.time_keys(jax.random.fold_in(key, 1))  # 1. time and 2. stage gap: same directions and samples
    runs = mlp.init_runs(config, problem, skills, keys)
    time, calibration = mlp.time_panel(config, p, runs[config.init_scale])
    time |= skill_basis.sgd_on_mlp_samples(config, problem, x_eval, y_eval, keys[1], calibration)
    progress("time emergence")
    gap_inits, gap = mlp.gap_panel(config, p, runs, calibration["n_free"])
    gap |= skill_basis.flow_half_times(p, config.target_scale, gap_inits)
    progress("stage gap")
    data, d_c = mlp.data_panel(config, problem, skills, jax.random.fold_in(key, 3))
    sb_sizes, converged = skill_basis.converged_panels(config, problem)  # one-shot, parameters, L(D), L(N)
    progress("data emergence")
    params, n_c = mlp.parameter_panel(config, problem, skills, jax.random.fold_in(key, 4))
    progress("parameter emergence")
    scaling = skill_basis.scaling_laws(config)
    progress("scaling laws")
    return xr.Dataset(
        {**time, **gap, **data, **converged, **params, **scaling},
        coords={"skill": np.arange(1, p.size + 1), "frequency": ("skill", p), "seed": np.arange(config.seeds),
                "time_step": runs[config.init_scale].step.values, "gap_init_scale": gap_inits,
                "data_size": list(config.data_sizes), "data_seed": np.arange(config.data_seeds),
                "sb_data_size": sb_sizes, "width": list(config.param_widths),
                "sb_data_draw": np.arange(skill_basis.SKILL_BASIS_DRAWS),
                "scaling_seed": np.arange(config.scaling_data_seeds)},
        attrs={"description": "Emergence in time, data and parameters and scaling laws: skill-basis model vs a ReLU "
                              "MLP on multitask sparse parity (Nam et al. 2025 Fig. 4; Nam et al. 2024)",
               "n_free": calibration["n_free"], "d_c": d_c, "n_c": n_c, "c": calibration["c"],
               "skill_bits": str(problem.skill_bits)},
    )


EXPERIMENT = Experiment(
    name="emergence",
    description="Emergence in time, data and parameters and scaling laws: skill-basis model vs ReLU MLP on multitask "
                "sparse parity (Fig. 4)",
    config_type=EmergenceConfig,
    quick={"seeds": 3, "width": 250, "learning_rate": 0.04, "batch_size": 256, "time_steps": 10000,
           "gap_init_scales": (0.003, 0.03), "gap_steps": 5000, "data_sizes": (1000, 2000, 4000, 8000, 16000),
           "data_seeds": 3, "data_steps": 8000, "param_widths": (2, 4, 8, 12, 16, 24, 32, 48, 64, 80),
           "param_steps": 6000, "eval_size": 1000, "scaling_skills": 10000, "fit_skills": (8, 50),
           "scaling_data_seeds": 2},
    presets={"test": {"seeds": 3, "width": 64, "learning_rate": 0.05, "batch_size": 128, "time_steps": 1500,
                      "gap_init_scales": (0.03,), "gap_steps": 1500, "data_sizes": (300, 1000, 3000), "data_seeds": 3,
                      "data_steps": 300, "param_widths": (1, 2, 4), "param_steps": 200, "eval_size": 200,
                      "scaling_skills": 1000, "fit_skills": (5, 30), "scaling_data_seeds": 2}},
    simulate=simulate, renamed_variables=checks.OLD_NAMES,
    check=lambda ds: checks.results(ds, dataset_config(ds, EXPERIMENT)),
    plot=lambda ds: figure.figures(ds, dataset_config(ds, EXPERIMENT)),
    units=lambda config: 5,
)
