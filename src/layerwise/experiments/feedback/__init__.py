r"""Experiment ``feedback``: the dynamical feedback principle in a diagonal linear network (Nam et al. 2025, §3.1-3.2).

In ``f(x) = sum_i x_i a_i b_i`` each weight's size sets the other's learning speed,
``da/dt = -b E[x^2](ab - S)``, ``db/dt = -a E[x^2](ab - S)``. Four consequences, each simulated with the engine and
overlaid with its closed form:

1. sigmoidal saturation of ``a_i b_i / S_i`` (vs exponential for the linear model ``theta . x``);
2. stage-like learning: modes learned in order of ``S_i E[x_i^2]`` at ``t_1/2 = ln(S/u0 - 1) / (2 S E[x^2])``,
   the gap between stages growing like ``ln(1/u0)``;
3. depth: balanced depth-L nets, ``du/dt = L E[x^2] u^(2-2/L) (S - u)``, sharpen the transition;
4. imbalance: ``C = a^2 - b^2`` is conserved; ``C = 0`` is sigmoidal (rich), ``|C| >> u`` exponential at rate
   ``|C| E[x^2]`` (lazy).

Panels 1-2 train on ``seeds`` sample sets at once (exactly whitened, so seeds differ only at rounding level); the
checks read the seed mean.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import xarray as xr
from pydantic import Field

from layerwise._deprecation import renamed_fields
from layerwise.experiments import fields as F
from layerwise.experiments.base import Experiment, Progress
from layerwise.experiments.feedback import panels
from layerwise.experiments.feedback.checks import OLD_NAMES, check
from layerwise.experiments.feedback.figure import plot
from layerwise.seeds import seed_values

Modes = Annotated[F.PositiveFloats, Field(min_length=2)]
"""Two or more mode strengths S_i (a stage order needs two modes)."""


def _one_per(name: str):
    """Positive values, one per entry of the field ``name`` (declared above)."""
    return F.rule(F.PositiveFloats, lambda other: f"one value per entry of {name} ({len(other)} values)",
                  lambda values, other: len(values) == len(other), needs=(name,))


def _below_target_strengths(annotation, largest):
    """``annotation`` whose largest value, ``largest(value)``, is below every target strength (small inits)."""
    return F.rule(annotation, lambda s: f"below every target strength (< {min(s):g})",
                  lambda value, s: largest(value) < min(s), needs=("target_strengths",))


def _largest_init(u0: float, depth_u0: float, gap_u0s: tuple[float, ...]) -> float:
    return max(u0, depth_u0, *gap_u0s)


def _products(var, s) -> np.ndarray:
    return np.asarray(s) * np.asarray(var)


VarianceStrengths = F.rule(Modes, lambda *inits: f"above every init scale (> max(init_scale, depth_init_scale, "
                           f"stage_gap_init_scales) = {_largest_init(*inits):g})",
                           lambda s, *inits: _largest_init(*inits) < min(s),
                           needs=("init_scale", "depth_init_scale", "stage_gap_init_scales"))
VarianceInputs = F.rule(
    F.rule(_one_per("variance_target_strengths"), "values whose products S E[x^2] with variance_target_strengths "
           "are distinct", lambda var, s: len(np.unique(_products(var, s))) == len(s),
           needs=("variance_target_strengths",)),
    "values that order the modes by S E[x^2] differently than variance_target_strengths orders them by S (so the "
    "stage order tests E[x^2])", lambda var, s: not np.array_equal(np.argsort(-np.asarray(s)),
                                                                   np.argsort(-_products(var, s))),
    needs=("variance_target_strengths",))


@renamed_fields(target_weights="target_strengths", init="init_scale", stage_gap_inits="stage_gap_init_scales",
                depth_init="depth_init_scale", imbalances="mode_imbalances",
                variance_targets="variance_target_strengths", variance_imbalance="variance_mode_imbalance")
@F.config_dataclass
class FeedbackConfig:
    """Settings of the ``feedback`` experiment (defaults: the full run)."""

    seed: F.Seed = 0
    """First seed of the panel-1 input samples (exactly whitened: results depend on it only at rounding level)."""
    seeds: F.Count = 1
    """Number of seeds (sample sets) trained at once in panels 1-2; checks use their mean."""
    target_strengths: Modes = (4.0, 2.0, 1.0, 0.5)
    """Mode strengths S_i of the diagonal task (panels 1-2)."""
    input_variances: _one_per("target_strengths") = (1.0, 1.0, 1.0, 1.0)
    """Input variances E[x_i^2] (panels 1-2)."""
    init_scale: _below_target_strengths(F.PositiveFloat, lambda u0: u0) = 1e-4
    """Initial end-to-end weight u0 = a_i b_i (balanced, a_i = b_i)."""
    learning_rate: F.PositiveFloat = 1e-3
    """GD learning rate for panels 1-3 (gradient-flow time t = lr * step)."""
    duration: F.PositiveFloat = 14.0
    """Gradient-flow time simulated in panels 1-2."""
    n_samples: F.rule(F.at_least(2), lambda s: f"> the number of modes ({len(s)})", lambda n, s: n > len(s),
                      needs=("target_strengths",)) = 1000
    """Samples of the panel-1 task (the engine trains from their sufficient statistics)."""
    stage_gap_init_scales: _below_target_strengths(F.PositiveFloats, max) = (1e-2, 1e-4, 1e-6, 1e-8)
    """Initial scales u0 over which the stage gap is measured (panel 2)."""
    depths: tuple[F.at_least(2), ...] = (2, 3, 4)
    """Depths of the balanced diagonal nets of panel 3."""
    depth_init_scale: F.PositiveFloat = 1e-2
    """Initial end-to-end weight of the depth panel."""
    depth_duration: F.PositiveFloat = 10.0
    """Gradient-flow time simulated in panel 3."""
    mode_imbalances: F.NonNegativeFloats = (0.0, 1.0, 10.0, 100.0)
    """Conserved imbalances C = a^2 - b^2 of panel 4 (target S = 1, E[x^2] = 1, b0 = imbalance_b0)."""
    imbalance_b0: F.PositiveFloat = 0.01
    """Initial second-layer weight b0 of panel 4 (a0 = sqrt(C + b0^2))."""
    imbalance_learning_rate: F.PositiveFloat = 1e-4
    """GD learning rate of panel 4 (run again at twice this rate for the drift order)."""
    imbalance_duration: F.PositiveFloat = 8.0
    """Gradient-flow time simulated in panel 4."""
    variance_target_strengths: VarianceStrengths = (3.0, 1.0)
    """Mode strengths S_i of the E[x^2] != 1 panel (5), ordered differently by S and by S E[x^2]."""
    variance_inputs: VarianceInputs = (0.5, 2.0)
    """Input variances E[x_i^2] != 1 of panel 5 (population task)."""
    variance_mode_imbalance: F.PositiveFloat = 100.0
    """Conserved imbalance C of the lazy runs of panel 5 (every mode; b0 = imbalance_b0)."""


PANELS = ((panels.saturation_and_stages, "sigmoidal vs exponential; stages"), (panels.depth, "depth"),
          (panels.imbalance, "imbalance"), (panels.input_variance, "E[x^2] != 1"))
"""The panel simulations (`layerwise.experiments.feedback.panels`), each with its progress line."""


def simulate(config: FeedbackConfig, progress: Progress) -> xr.Dataset:
    """Every panel's engine runs (``linear_``, ``flow_``) beside its closed forms (``theory_``), in one Dataset."""
    variables, coords = {}, {"seed": seed_values(config.seed, config.seeds)}
    for panel, description in PANELS:
        panel_variables, panel_coords = panel(config)
        variables |= panel_variables
        coords |= panel_coords
        progress(description)
    return xr.Dataset(variables, coords=coords, attrs={
        "description": "Dynamical feedback principle: diagonal linear network (Nam et al. 2025, §3.1-3.2)"})


EXPERIMENT = Experiment(
    name="feedback",
    description="Dynamical feedback principle: sigmoidal, stage-like, depth and imbalance dynamics of diagonal nets",
    config_type=FeedbackConfig,
    quick={"learning_rate": 2e-3, "imbalance_learning_rate": 2e-4, "duration": 10.0},
    presets={"test": {"learning_rate": 2e-3, "imbalance_learning_rate": 2e-4, "duration": 9.0, "n_samples": 200,
                      "stage_gap_init_scales": (1e-2, 1e-4, 1e-6), "depth_duration": 7.0, "imbalance_duration": 6.0,
                      "seeds": 2}},
    simulate=simulate, renamed_variables=OLD_NAMES,
    check=check,
    plot=plot,
    units=lambda config: len(PANELS),
)
