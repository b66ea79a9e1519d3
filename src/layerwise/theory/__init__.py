"""Closed-form theory of layerwise linear models: pure, vectorised (jit/vmap-able) functions, float64 by design.

Each function's docstring states the model, the assumptions, the equation and its source. The tests check each
against the engine's gradient flow of the same model (`layerwise.engine.gradient_flow`) and against worked
oracle values from the cited papers' settings. Each function checks its own inputs (`layerwise.errors.LayerwiseError`,
or ``equinox.error_if`` under jit/vmap) and says in its docstring whether it accepts float32.
"""

from layerwise.theory.diagonal import SaddleToSaddle, azulay_solution, saddle_to_saddle, woodworth_solution
from layerwise.theory.emergence import (
    asymptotic_loss,
    loss_vs_data,
    loss_vs_parameters,
    loss_vs_time,
    scaling_exponents,
    skill_frequencies,
    skill_strength,
)
from layerwise.theory.grokking import grokking_gamma, grokking_rescaling, grokking_slope, grokking_statistics
from layerwise.theory.imbalanced import imbalanced_mode
from layerwise.theory.kunin import kunin_single_neuron
from layerwise.theory.linear_regression import linear_mode
from layerwise.theory.lambda_balanced import balance, lambda_balanced_solution
from layerwise.theory.neural_collapse import UFMMinimizer, ufm_collapse_factor, ufm_mse_minimizer, ufm_network_minimum
from layerwise.theory.ntk import kernel_distance, ntk_two_layer
from layerwise.theory.saxe import learning_time, saxe_mode

__all__ = [
    "SaddleToSaddle",
    "UFMMinimizer",
    "asymptotic_loss",
    "azulay_solution",
    "balance",
    "grokking_gamma",
    "grokking_rescaling",
    "grokking_slope",
    "grokking_statistics",
    "imbalanced_mode",
    "kernel_distance",
    "kunin_single_neuron",
    "lambda_balanced_solution",
    "learning_time",
    "linear_mode",
    "loss_vs_data",
    "loss_vs_parameters",
    "loss_vs_time",
    "ntk_two_layer",
    "saddle_to_saddle",
    "saxe_mode",
    "scaling_exponents",
    "skill_frequencies",
    "skill_strength",
    "ufm_collapse_factor",
    "ufm_mse_minimizer",
    "ufm_network_minimum",
    "woodworth_solution",
]
