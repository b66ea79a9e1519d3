r"""Conserved quantities of the dynamical feedback principle.

Under gradient flow on any loss of the product, neighbouring layers exchange size but keep their imbalance:

* diagonal net, depth 2: ``C_i = a_i^2 - b_i^2`` (Nam et al. 2025, §3.1); depth L: ``(a^(l)_i)^2 - (a^(l+1)_i)^2``
  for every pair of neighbouring layers;
* deep linear net: ``D_l = W_{l+1}^T W_{l+1} - W_l W_l^T`` (h_l, h_l) for each hidden layer ``l`` (Saxe et al. 2014;
  Arora et al. 2018). For two layers ``D_1 = λ I`` defines λ-balance (Dominé et al. 2025).

Under gradient descent with learning rate η they drift: the per-step change is ``O(η^2)``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array


def layer_imbalance(model, params, task=None) -> Array:
    r"""The conserved imbalances, stacked.

    Returns:
        Diagonal net: ``(depth - 1, dim)``, row ``l`` = ``a^(l)^2 - a^(l+1)^2``.
        Deep linear net: ``(depth - 1, h, h)`` if all hidden widths are equal, else a tuple of ``(h_l, h_l)`` arrays.
    """
    from layerwise.models import DiagonalLinearNetwork

    layers = model.layers(params)
    if isinstance(model, DiagonalLinearNetwork):
        return jnp.stack([layers[l] ** 2 - layers[l + 1] ** 2 for l in range(len(layers) - 1)])
    blocks = [layers[l + 1].T @ layers[l + 1] - layers[l] @ layers[l].T for l in range(len(layers) - 1)]
    if len({b.shape for b in blocks}) == 1:
        return jnp.stack(blocks)
    return tuple(blocks)


def imbalance_drift(model, params, initial_params) -> Array:
    r"""Largest absolute change of any conserved imbalance since ``initial_params``: ``max |D(t) - D(0)|``.

    Zero under exact gradient flow; ``O(η^2)`` per GD step.
    """
    now, then = layer_imbalance(model, params), layer_imbalance(model, initial_params)
    if isinstance(now, tuple):
        return jnp.max(jnp.stack([jnp.max(jnp.abs(a - b)) for a, b in zip(now, then)]))
    return jnp.max(jnp.abs(now - then))
