r"""Skill strength: how much of a skill's target a model's output carries (Nam et al. 2024).

On ``n`` held-out samples of skill ``k`` with outputs ``f_i`` and targets ``y_i``,

.. math::  \mathcal R_k = \Big\langle \frac{f - \bar f}{\sqrt n},\
           \frac{y - \bar y}{\lVert y - \bar y\rVert} \Big\rangle = \frac{\widehat{\mathrm{Cov}}(f, y)}{\sqrt{\widehat{\mathrm{Var}}(y)}},

the projection of the centred output on the normalised centred target, as in the authors' ``check_corrs``
(``yoonsoonam119/Skill_Eigenmode``, ``utils.py``). A perfect predictor ``f = y = ±S`` gives ``R_k = std(y) ≈ S``; the
skill-basis model ``f = sum_k a_k b_k g_k`` gives ``R_k = a_k b_k`` exactly (on skill-``k`` samples ``f = a_k b_k y/S``,
with the sample std). Plot ``R_k / S``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

from layerwise._deprecation import renamed_function


def measured_skill_strength(predictions: Array, targets: Array) -> Array:
    r"""A skill strength measured from a model's outputs (the closed form is `layerwise.theory.skill_strength`):
    ``R = <f - mean f, y - mean y> / (sqrt(n) ||y - mean y||)`` along the last (sample) axis.

    Args:
        predictions: outputs ``f``, shape (..., n).
        targets: targets ``y``, shape (..., n) (broadcast with ``predictions``).
    Returns:
        ``R``, shape (...); NaN where the targets are constant (no skill to measure).

    Example:
        >>> measured_skill_strength(jnp.array([5.0, -5.0]), jnp.array([5.0, -5.0]))   # a perfect predictor: R = S
        Array(5., dtype=float64)
    """
    predictions, targets = jnp.broadcast_arrays(jnp.asarray(predictions), jnp.asarray(targets))
    n = predictions.shape[-1]
    f = predictions - jnp.mean(predictions, axis=-1, keepdims=True)
    y = targets - jnp.mean(targets, axis=-1, keepdims=True)
    norm = jnp.sqrt(jnp.sum(y * y, axis=-1))
    return jnp.sum(f * y, axis=-1) / (jnp.sqrt(n) * jnp.where(norm > 0, norm, jnp.nan))


skill_strength = renamed_function("layerwise.metrics.skill_strength", "layerwise.metrics.measured_skill_strength",
                                  measured_skill_strength)
"""Deprecated: `layerwise.theory.skill_strength` is the closed form; this is `measured_skill_strength`."""


def skill_strength_observable(x_eval: Array, y_eval: Array):
    r"""An engine observable ``fn(model, params, task) -> (n_s,)`` giving every skill's ``R_k`` on held-out sets.

    Args:
        x_eval: per-skill inputs, shape (n_s, n, d) (e.g. `MultitaskSparseParity.evaluation_sets`, or their
            `skill_features` for the skill-basis model).
        y_eval: per-skill targets, shape (n_s, n, 1) or (n_s, n).
    Returns:
        The `layerwise.observables.SkillStrengths` observable (compiled once per shape), for
        ``train(observables={"skill_strength": fn})``.
    """
    from layerwise.observables import SkillStrengths

    x_eval = jnp.asarray(x_eval)
    return SkillStrengths(x_eval, jnp.asarray(y_eval).reshape(x_eval.shape[:2]))
