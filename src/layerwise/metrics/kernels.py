r"""Lazy-vs-rich markers: the empirical neural tangent kernel, kernel distance, kernel-target alignment and relative
weight change (Chizat, Oyallon & Bach 2019; Fort et al. 2020; see ``docs/lazy-rich.md``).

*Ordering.* Every NTK here is the ``(n m, n m)`` matrix over (sample, output) pairs in **sample-major** order: row
``i * m + a`` is output ``a`` at sample ``i`` (``model.apply(params, x).reshape(-1)``),

.. math::  K_{(i,a),(j,b)} = \sum_p \frac{\partial f_a(x_i)}{\partial\theta_p}\frac{\partial f_b(x_j)}{\partial\theta_p},

the order of the theory module's `ntk_two_layer`, the closed form for a two-layer linear net ``f(x) = W_2 W_1 x``
(samples as rows of ``X``): ``K = X X^T ⊗ W_2 W_2^T + X W_1^T W_1 X^T ⊗ I_m``. (The authors' ``get_ntk`` uses the
output-major order ``kron(I_m, ...)``; the kernel distance between two kernels is the same in either order.)

`kernel_distance` and `ntk_two_layer` are `layerwise.theory`'s, re-exported here.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
from jax import Array

from layerwise.errors import LayerwiseError, check_choice
from layerwise.theory import kernel_distance, ntk_two_layer

CENTERINGS = ("none", "both", "columns")

__all__ = ["empirical_ntk", "kernel_distance", "kernel_target_alignment", "ntk_observable", "ntk_two_layer",
           "relative_weight_change"]


def empirical_ntk(model, params, x: Array, *, mode: str = "auto") -> Array:
    r"""The empirical NTK ``K = J J^T`` of any model at ``params`` on inputs ``x`` (n, d), by automatic differentiation.

    ``J`` is the Jacobian of the outputs ``f(x)`` (flattened sample-major, see the module docstring) with respect to
    every parameter leaf; ``K = sum_leaves J_leaf J_leaf^T``. For one run (vmap it over runs).

    Args:
        model: any model with ``apply(params, x) -> (n, m)``.
        params: one run's params (a pytree).
        x: inputs (n, d).
        mode: ``"rev"`` (``jax.jacrev``: one backward pass per output entry), ``"fwd"`` (``jax.jacfwd``: one
            forward pass per parameter) or ``"auto"`` (reverse when ``m n`` is smaller than the number of parameters).
    Returns:
        ``K`` of shape ``(n m, n m)``, symmetric positive semi-definite, row ``i * m + a`` = output ``a`` at sample ``i``.

    Example:
        >>> from layerwise.models import DeepLinearNetwork
        >>> model = DeepLinearNetwork((3, 4, 2))
        >>> params = (jnp.ones((4, 3)), jnp.ones((2, 4)))
        >>> empirical_ntk(model, params, jnp.eye(3)).shape
        (6, 6)

    References:
        Jacot, Gabriel & Hongler (2018), "Neural tangent kernel", NeurIPS; Fort et al. (2020), NeurIPS (empirical NTK
        on a data subset).
    """
    check_choice("mode", mode, ("auto", "rev", "fwd"))

    def outputs(p):
        return model.apply(p, x).reshape(-1)

    if mode == "auto":
        n_params = sum(leaf.size for leaf in jax.tree_util.tree_leaves(params))
        n_out = x.shape[0] * model.out_dim
        mode = "rev" if n_out < n_params else "fwd"
    jacobian = (jax.jacrev if mode == "rev" else jax.jacfwd)(outputs)(params)
    blocks = [j.reshape(j.shape[0], -1) for j in jax.tree_util.tree_leaves(jacobian)]
    return sum(b @ b.T for b in blocks)


def ntk_observable(x: Array, *, mode: str = "auto"):
    """An engine observable ``(model, params, task) -> empirical_ntk(model, params, x)`` on fixed inputs ``x``
    (record it with dims ``("ntk_row", "ntk_col")`` at the few steps you need: it is ``(n m)^2`` numbers per step)."""

    def observe(model, params, task=None):
        return empirical_ntk(model, params, x, mode=mode)

    return observe


def kernel_target_alignment(kernel: Array, targets: Array, *, centering: str = "none") -> Array:
    r"""Kernel-target alignment ``A(K, Y) = <K, Y Y^T>_F / (||K||_F ||Y Y^T||_F)``, in [-1, 1].

    For one target column this is Cristianini et al.'s ``y^T K y / (||K||_F ||y||^2)``. Centring (over samples):

    * ``"none"``: uncentred (Cristianini, Shawe-Taylor, Elisseeff & Kandola 2002).
    * ``"both"``: ``K_c = H K H``, ``H = I - 1 1^T / n``, and ``Y_c = H Y`` (Cortes, Mohri & Rostamizadeh 2012).
    * ``"columns"``: one-sided ``K_c = H K`` (``K - K.mean(axis=0)``, the centring in the grokking code of Kumar,
      Bordelon, Gershman & Pehlevan 2024, ICLR), with ``Y_c = H Y``.

    Args:
        kernel: ``(n, n)`` sample kernel, or an ``(n m, n m)`` sample-major NTK (`empirical_ntk`).
        targets: ``(n,)`` or ``(n, m)``. With an ``(n m, n m)`` kernel and ``m > 1``, ``Y`` is read as the single
            column ``targets.reshape(-1)`` (sample-major) and centring subtracts each output's mean over samples
            (``H -> H ⊗ I_m``).
        centering: ``"none"``, ``"both"`` or ``"columns"``.
    Returns:
        The alignment (scalar). ``K = Y Y^T`` gives 1; ``K = I_n`` and one column gives ``1/sqrt(n)`` (uncentred).
    """
    check_choice("centering", centering, CENTERINGS)
    y = jnp.asarray(targets)
    y = y[:, None] if y.ndim == 1 else y
    n, m = y.shape
    size = kernel.shape[0]
    if kernel.shape != (size, size) or size not in (n, n * m):
        raise LayerwiseError(f"kernel must be (n, n) or (n m, n m) for targets of shape {targets.shape}; "
                             f"got {kernel.shape}")
    group = 1
    if size != n:  # sample-major NTK: one stacked target column; sample i, output a at row i * m + a
        y, group = y.reshape(-1, 1), m
    if centering != "none":
        y = _center_rows(y, group)
        kernel = _center_rows(kernel, group)
        if centering == "both":
            kernel = _center_rows(kernel.T, group).T
    outer = y @ y.T
    return jnp.sum(kernel * outer) / (jnp.linalg.norm(kernel) * jnp.linalg.norm(outer))


def _center_rows(matrix: Array, group: int) -> Array:
    """``(H ⊗ I_group) M``: subtract from row ``i * group + a`` the mean over ``i`` of rows ``i' * group + a``."""
    shaped = matrix.reshape(-1, group, matrix.shape[-1])
    return (shaped - shaped.mean(axis=0, keepdims=True)).reshape(matrix.shape)


def relative_weight_change(model, params, initial_params=None) -> Array:
    r"""Relative change of each layer, ``Delta_l = ||theta_l(t) - theta_l(0)||_F / ||theta_l(0)||_F``.

    ``theta_l`` is layer ``l``'s parameters (``W_l``; for an MLP ``(W_l, b_l)`` together, which is ``W_l`` alone
    when the biases start and stay near zero). ``O(1/alpha)`` in the lazy limit of Chizat, Oyallon & Bach (2019),
    ``O(1/sqrt(width))`` in NTK parameterisation; in a λ-balanced two-layer net with large ``|λ|`` only the lighter
    layer moves (Dominé et al. 2025). A layer that starts at zero gives ``inf`` (or NaN if it also stays at zero).

    Args:
        model: the model (its `Model.layers` define the layers).
        params, initial_params: one run's params at time t and at 0 (same pytree structure).
    Returns:
        ``(L,)`` one value per layer.
    """
    if initial_params is None:  # the old call relative_weight_change(params, initial_params), kept for one release
        warnings.warn("relative_weight_change(params, initial_params) is deprecated; pass the model first",
                      DeprecationWarning, stacklevel=2)
        from layerwise.init import _LayerTuple

        model, params, initial_params = _LayerTuple(0), model, params
    now, then = ([jax.tree_util.tree_leaves(layer) for layer in model.layers(p)] for p in (params, initial_params))
    change = [jnp.sqrt(sum(jnp.sum((a - b) ** 2) for a, b in zip(p, q))) for p, q in zip(now, then)]
    size = [jnp.sqrt(sum(jnp.sum(b**2) for b in q)) for q in then]
    return jnp.stack([c / s for c, s in zip(change, size)])
