r"""Conserved quantities of the dynamical feedback principle.

Under gradient flow on any loss of the product, neighbouring layers exchange size but keep their imbalance. One sign
convention throughout: the imbalance is the **later layer minus the earlier** one (the λ of Dominé et al. 2025 and
Nam et al. 2025, ``W_2^T W_2 - W_1 W_1^T = λ I``; λ > 0: the later layer is heavier):

* diagonal net: ``(a^(l+1)_i)^2 - (a^(l)_i)^2`` for every pair of neighbouring layers; at depth 2 it is
  ``b_i^2 - a_i^2 = -C_i``, minus the per-mode ``C_i = a_i^2 - b_i^2`` of Nam et al. (2025, §3.1), which
  `layerwise.init.balanced_diagonal_init` and `layerwise.theory.imbalanced_mode` take as ``mode_imbalance``;
* deep linear net: ``D_l = W_{l+1}^T W_{l+1} - W_l W_l^T`` (h_l, h_l) for each hidden layer ``l`` (Saxe et al. 2014;
  Arora et al. 2018). For two layers ``D_1 = λ I`` defines λ-balance (Dominé et al. 2025).

Under gradient descent with learning rate η they drift: the per-step change is ``O(η^2)``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

from layerwise._deprecation import replaced_function


def _stacked(blocks):
    if len({b.shape for b in blocks}) == 1:
        return jnp.stack(blocks)
    return tuple(blocks)


def imbalance_later_minus_earlier(model, params, task=None) -> Array:
    r"""The conserved imbalances between neighbouring layers, each the later layer minus the earlier one.

    .. math::  D_l = W_{l+1}^\top W_{l+1} - W_l W_l^\top \quad\text{(deep linear)},\qquad
               D_{l,i} = \big(a^{(l+1)}_i\big)^2 - \big(a^{(l)}_i\big)^2 \quad\text{(diagonal)},

    both conserved by gradient flow; a two-layer λ-balanced net has ``D_1 = λ I`` and a depth-2 diagonal mode
    ``b^2 - a^2 = -C``.

    Returns:
        Diagonal net: ``(depth - 1, dim)``, row ``l`` = ``a^(l+1)^2 - a^(l)^2``.
        Deep linear net: ``(depth - 1, h, h)`` if all hidden widths are equal, else a tuple of ``(h_l, h_l)`` arrays.

    Example:
        >>> from layerwise.models import DiagonalLinearNetwork
        >>> imbalance_later_minus_earlier(DiagonalLinearNetwork(dim=1), jnp.array([[2.0], [3.0]])).tolist()
        [[5.0]]
    """
    from layerwise.models import DiagonalLinearNetwork

    layers = model.layers(params)
    if isinstance(model, DiagonalLinearNetwork):
        return jnp.stack([layers[l + 1] ** 2 - layers[l] ** 2 for l in range(len(layers) - 1)])
    return _stacked([layers[l + 1].T @ layers[l + 1] - layers[l] @ layers[l].T for l in range(len(layers) - 1)])


def _earlier_minus_later_for_diagonal(model, params, task=None) -> Array:
    """The earlier release's `layer_imbalance`: a diagonal net's rows are ``a^(l)^2 - a^(l+1)^2`` (earlier minus
    later), a deep linear net's blocks ``W_{l+1}^T W_{l+1} - W_l W_l^T`` (later minus earlier)."""
    from layerwise.models import DiagonalLinearNetwork

    later_minus_earlier = imbalance_later_minus_earlier(model, params)
    return -later_minus_earlier if isinstance(model, DiagonalLinearNetwork) else later_minus_earlier


layer_imbalance = replaced_function(
    "layerwise.metrics.layer_imbalance", "layerwise.metrics.imbalance_later_minus_earlier",
    _earlier_minus_later_for_diagonal,
    "a diagonal network's rows have the opposite sign there (a^(l+1)^2 - a^(l)^2, later minus earlier; "
    "layer_imbalance returns a^(l)^2 - a^(l+1)^2); a deep linear network's blocks are the same")


def imbalance_drift(model, params, initial_params) -> Array:
    r"""Largest absolute change of any conserved imbalance since ``initial_params``: ``max |D(t) - D(0)|``, with ``D``
    `imbalance_later_minus_earlier` (the sign does not matter here).

    Zero under exact gradient flow; ``O(η^2)`` per GD step.
    """
    now = imbalance_later_minus_earlier(model, params)
    then = imbalance_later_minus_earlier(model, initial_params)
    if isinstance(now, tuple):
        return jnp.max(jnp.stack([jnp.max(jnp.abs(a - b)) for a, b in zip(now, then)]))
    return jnp.max(jnp.abs(now - then))
