r"""Initialisations. Each returns the params of ONE run; vmap over keys (or arguments) for a batch of runs.

Every random draw takes an explicit PRNG key. Conventions follow the models: ``DeepLinearNetwork`` params are
``(W_1, ..., W_L)`` with ``W_l`` of shape ``(widths[l], widths[l-1])``; ``DiagonalLinearNetwork`` params are one array
``(depth, dim)``; an ``MLP``'s are ``((W_1, b_1), ..., (W_L, b_L))``. Gaussian inits are each model's own
``Model.init``; the structured inits (balanced, aligned, λ-balanced, mirrored) are here.
"""

from __future__ import annotations

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from layerwise import _random
from layerwise._deprecation import renamed_arguments, reordered_arguments
from layerwise.data.regression import random_orthogonal
from layerwise.errors import LayerwiseError
from layerwise.models import DeepLinearNetwork, DiagonalLinearNetwork, Model
from layerwise.models.base import default_float

PARAMETERISATIONS = ("standard", "fan_in")


def _require(model, kind, name):
    if not isinstance(model, kind):
        raise LayerwiseError(f"{name} needs a {kind.__name__}, got {type(model).__name__}")


def _is_concrete(value) -> bool:
    return not isinstance(value, jax.core.Tracer)


@renamed_arguments(scale="init_scale")
def gaussian_init(key: Array, model: Model, init_scale=1.0, *, parameterisation: str = "standard", dtype=None):
    r"""I.i.d. Gaussian weights of any registered model: ``N(0, init_scale^2)`` (``"standard"``) or
    ``N(0, init_scale^2 / fan_in)`` (``"fan_in"``, the NTK-style / LeCun scaling ``init_scale / sqrt(fan_in)`` used by the
    authors' Fig. 11 MLP). MLP biases start at zero (``MLP.init`` takes a ``bias_scale``).

    For a diagonal network every entry is a separate scalar weight (fan-in 1), so both choices agree.

    Example:
        >>> params = gaussian_init(jax.random.PRNGKey(0), DeepLinearNetwork(widths=(3, 4, 2)), 0.1)
        >>> [w.shape for w in params]
        [(4, 3), (2, 4)]
    """
    _require(model, Model, "gaussian_init")
    return model.init(key, init_scale, parameterisation=parameterisation, dtype=dtype)


@renamed_arguments(mode_strengths="init_scale", imbalance="mode_imbalance")
def balanced_diagonal_init(model: DiagonalLinearNetwork, init_scale, mode_imbalance=0.0, *, dtype=None):
    r"""Deterministic diagonal-net init with end-to-end weights ``u_i = prod_l a^(l)_i`` (before ``output_scale``).

    Balanced (``mode_imbalance = 0``): every layer ``a^(l)_i = u_i^(1/L)`` (needs ``u_i > 0``).
    Depth 2 with mode imbalance ``C_i = a_i^2 - b_i^2`` (the conserved quantity of Nam et al. 2025, §3.1):
    ``a_i^2 = (C_i + sqrt(C_i^2 + 4 u_i^2)) / 2``, ``b_i = u_i / a_i``.

    Args:
        init_scale: ``u``, the initial end-to-end weights, (dim,) or a scalar.
        mode_imbalance: ``C`` (dim,) or a scalar; only depth 2 supports ``C != 0``.
    Returns:
        params (depth, dim).
    """
    _require(model, DiagonalLinearNetwork, "balanced_diagonal_init")
    dtype = dtype or default_float()
    u = jnp.broadcast_to(jnp.asarray(init_scale, dtype), (model.dim,))
    c = jnp.broadcast_to(jnp.asarray(mode_imbalance, dtype), (model.dim,))
    if model.depth == 2:
        a = jnp.sqrt((c + jnp.sqrt(c * c + 4 * u * u)) / 2)
        return jnp.stack([a, u / a])
    if _is_concrete(c) and bool(jnp.any(c != 0)):
        raise LayerwiseError(f"mode_imbalance must be 0 for depth {model.depth}; only depth 2 takes one")
    return jnp.broadcast_to(u ** (1.0 / model.depth), (model.depth, model.dim))


def _rectangular_diagonal(values: Array, rows: int, cols: int) -> Array:
    k = values.shape[0]
    return jnp.zeros((rows, cols), values.dtype).at[jnp.arange(k), jnp.arange(k)].set(values)


@renamed_arguments(mode_strengths="init_scale")
def balanced_aligned_init(key: Array, model: DeepLinearNetwork, init_scale, left_modes: Array, right_modes: Array):
    r"""Small balanced init aligned with a task's SVD (Saxe et al. 2014): ``u_a^T W_L...W_1 v_a = u0_a``.

    ``W_1 = R_1 D V^T``, ``W_l = R_l D R_{l-1}^T``, ``W_L = U D R_{L-1}^T`` with ``D = diag(u0^(1/L))`` on the first
    ``k`` modes (zero elsewhere) and Haar-random orthogonal ``R_l``: every mode starts decoupled and balanced, so it
    follows ``saxe_mode`` exactly, at any depth.

    Args:
        key: PRNG key for the hidden rotations ``R_l``.
        init_scale: ``u0`` (k,) or scalar, all > 0: the initial strength of each mode.
        left_modes: ``U`` (d_out, k) orthonormal columns; right_modes: ``V`` (d_in, k).
    """
    _require(model, DeepLinearNetwork, "balanced_aligned_init")
    k = left_modes.shape[1]
    if k > min(model.widths) or right_modes.shape != (model.in_dim, k) or left_modes.shape[0] != model.out_dim:
        raise LayerwiseError(
            f"left_modes must be ({model.out_dim}, k) and right_modes ({model.in_dim}, k) with k <= min(widths) = "
            f"{min(model.widths)}; got {left_modes.shape} and {right_modes.shape}"
        )
    dtype = left_modes.dtype
    per_layer = jnp.broadcast_to(jnp.asarray(init_scale, dtype), (k,)) ** (1.0 / model.depth)
    hidden = model.widths[1:-1]
    rotations = [random_orthogonal(sub, h, dtype) for sub, h in zip(_random.split(key, len(hidden)), hidden)]
    # Bases of each layer's input and output space: V, R_1, ..., R_{L-1}, U (only their first k columns matter).
    bases = [right_modes] + rotations + [left_modes]
    return tuple(
        bases[l + 1][:, :k] * per_layer @ bases[l][:, :k].T for l in range(model.depth)
    )


def lambda_balanced_feasible(imbalance, widths) -> Array:
    """Whether ``W_2^T W_2 - W_1 W_1^T = λ I_h`` can hold for widths ``(d_in, h, d_out)``: λ > 0 needs
    ``h <= d_out``, λ < 0 needs ``h <= d_in`` (a rank argument: ``λ I_h`` plus a matrix of rank ``<= d_in`` must
    equal one of rank ``<= d_out``)."""
    d, h, m = widths
    lam = jnp.asarray(imbalance)
    return ((lam <= 0) | (h <= m)) & ((lam >= 0) | (h <= d))


@renamed_arguments(singular_values="init_scale")
@reordered_arguments("key", "model", "imbalance", "init_scale")
def lambda_balanced_init(
    key: Array,
    model: DeepLinearNetwork,
    init_scale,
    *,
    imbalance=0.0,
    left_modes: Array | None = None,
    right_modes: Array | None = None,
):
    r"""Two-layer λ-balanced init: ``W_2^T W_2 - W_1 W_1^T = λ I_h`` exactly, with end-to-end singular values σ.

    ``W_1 = R A V^T``, ``W_2 = U B R^T`` with per-mode ``a^2 = (sqrt(λ^2 + 4σ^2) - λ)/2``,
    ``b^2 = (sqrt(λ^2 + 4σ^2) + λ)/2`` (so ``b^2 - a^2 = λ`` and ``ab = σ``), Dominé et al. 2025. Hidden directions
    beyond ``k = min(d_in, h, d_out)`` get ``b^2 = λ`` (λ > 0, needs ``h <= d_out``) or ``a^2 = -λ`` (λ < 0, needs
    ``h <= d_in``). ``U``, ``V`` default to Haar-random orthogonal (as the SVD of the authors' random product);
    ``R`` is Haar-random. An infeasible λ raises a `LayerwiseError` (under ``jax.vmap``/``jit``, an equinox runtime
    error naming the condition), never NaN weights.

    The authors' ``get_lambda_balanced(λ, ..., scale=s)`` (the code of Nam et al. 2025,
    ``yoonsoonam119/linear_first``) is ``init_scale = sqrt(s)``.

    Args:
        key: PRNG key.
        init_scale: σ, the init's end-to-end singular values, scalar or (k,), > 0.
        imbalance: λ (scalar, keyword-only), the later layer minus the earlier: ``W_2^T W_2 - W_1 W_1^T = λ I``.
        left_modes, right_modes: optional ``U`` (d_out, d_out), ``V`` (d_in, d_in) orthogonal, to align the init
            with a task.
    Returns:
        ``(W_1, W_2)``.

    The order is every init's: key, model, init scale, then the imbalance. The older order
    ``lambda_balanced_init(key, model, imbalance, init_scale)`` (four positional arguments, or the imbalance third
    with ``init_scale=``) still works for one release and warns; ``imbalance`` is keyword-only so that no call can
    swap the two silently.

    Example:
        >>> W1, W2 = lambda_balanced_init(jax.random.PRNGKey(0), DeepLinearNetwork(widths=(3, 2, 2)), 0.3,
        ...                               imbalance=0.5)
        >>> bool(jnp.allclose(W2.T @ W2 - W1 @ W1.T, 0.5 * jnp.eye(2)))
        True
    """
    _require(model, DeepLinearNetwork, "lambda_balanced_init")
    if model.depth != 2:
        raise LayerwiseError(f"lambda_balanced_init needs depth 2 (widths of length 3), got widths={model.widths}")
    d, h, m = model.widths
    k = min(d, h, m)
    message = (f"imbalance λ infeasible for widths={model.widths}: λ > 0 needs hidden width <= d_out, "
               "λ < 0 needs hidden width <= d_in")
    if _is_concrete(imbalance) and not bool(lambda_balanced_feasible(float(imbalance), model.widths)):
        raise LayerwiseError(message)
    key_u, key_v, key_r = _random.split(key, 3)
    dtype = default_float() if left_modes is None else left_modes.dtype
    u = random_orthogonal(key_u, m, dtype) if left_modes is None else left_modes
    v = random_orthogonal(key_v, d, dtype) if right_modes is None else right_modes
    r = random_orthogonal(key_r, h, dtype)
    lam = jnp.asarray(imbalance, dtype)
    sigma = jnp.broadcast_to(jnp.asarray(init_scale, dtype), (k,))
    root = jnp.sqrt(lam * lam + 4 * sigma * sigma)
    a = jnp.concatenate([jnp.sqrt((root - lam) / 2), jnp.full(min(h, d) - k, jnp.sqrt(jnp.maximum(-lam, 0)))])
    b = jnp.concatenate([jnp.sqrt((root + lam) / 2), jnp.full(min(h, m) - k, jnp.sqrt(jnp.maximum(lam, 0)))])
    w1 = r @ _rectangular_diagonal(a, h, d) @ v.T
    w2 = u @ _rectangular_diagonal(b, m, h) @ r.T
    if not _is_concrete(imbalance):
        # Under vmap/jit the sign of λ is only known at run time: fail there, naming the condition.
        w1 = eqx.error_if(w1, ~lambda_balanced_feasible(lam, model.widths), message)
    return w1, w2


@renamed_arguments(scale="init_scale", imbalance="scale_difference")
def mirrored_init(key: Array, model: DeepLinearNetwork, init_scale, scale_difference, *, dtype=None):
    r"""Zero-output init with a layer-scale imbalance (``get_lambda_unbalanced`` of Nam et al. 2025's code).

    Depth 2: ``W_1 = (σ + max(λ, 0)) [A; A]``, ``W_2 = (σ + max(-λ, 0)) [B, -B]`` with ``A`` (h/2, d_in),
    ``B`` (d_out, h/2) standard Gaussian: the mirrored halves cancel, so ``W_2 W_1 = 0`` at init, and the layer
    scales differ by ``σ_1 - σ_2 = λ``. Depth ``L > 2``: the hidden layers are block-diagonal ``σ diag(M_l, M_l)``
    (``M_l`` standard Gaussian, (h_l/2, h_{l-1}/2)), so both halves carry the same signal and still cancel.

    Every hidden width must be even.

    Args:
        key: PRNG key.
        init_scale: ``σ``, the common scale of the Gaussian blocks.
        scale_difference: ``λ = σ_1 - σ_2`` of the authors' code: a difference of layer scales, first minus last
            (not the matrix imbalance λ of `lambda_balanced_init`, whose positive sign makes the last layer
            heavier).
    """
    _require(model, DeepLinearNetwork, "mirrored_init")
    hidden = model.widths[1:-1]
    if model.depth < 2 or any(h % 2 for h in hidden):
        raise LayerwiseError(f"mirrored_init needs depth >= 2 and even hidden widths; got widths={model.widths}")
    dtype = dtype or default_float()
    d, m = model.in_dim, model.out_dim
    keys = _random.split(key, model.depth)
    a = _random.normal(keys[0], (hidden[0] // 2, d), dtype)
    b = _random.normal(keys[-1], (m, hidden[-1] // 2), dtype)
    w_first = (init_scale + jnp.maximum(scale_difference, 0)) * jnp.concatenate([a, a], axis=0)
    w_last = (init_scale + jnp.maximum(-scale_difference, 0)) * jnp.concatenate([b, -b], axis=1)
    middle = []
    for layer_key, (h_in, h_out) in zip(keys[1:-1], zip(hidden[:-1], hidden[1:])):
        block = _random.normal(layer_key, (h_out // 2, h_in // 2), dtype)
        zeros = jnp.zeros_like(block)
        middle.append(init_scale * jnp.block([[block, zeros], [zeros, block]]))
    return (w_first, *middle, w_last)


def scale_layers(model, params, factors=None):
    r"""Multiply layer ``l`` of one run's params by ``factors[l]``: upstream (first layers larger) or downstream
    imbalance.

    Layers are the model's (`Model.layers`): a row of a diagonal network's ``(depth, dim)`` array, ``W_l`` of a deep
    linear network, the pair ``(W_l, b_l)`` of an MLP (both scaled, so the layer's pre-activation scales by
    ``factors[l]``).

    ``scale_layers(params, factors)`` without a model (which guessed the layers from the params' container type)
    still works for one release and warns.
    """
    if not isinstance(model, Model):
        warnings.warn("scale_layers(params, factors) is deprecated; call scale_layers(model, params, factors)",
                      DeprecationWarning, stacklevel=2)
        params, factors = model, params
        model = (DiagonalLinearNetwork(dim=params.shape[1], depth=params.shape[0])
                 if isinstance(params, jax.Array | np.ndarray) else _LayerTuple(len(params)))
    layers = model.layers(params)
    if np.shape(factors) != (len(layers),):
        raise LayerwiseError(f"factors must have one entry per layer ({len(layers)}), got shape {np.shape(factors)}")
    return model.from_layers(tuple(jax.tree_util.tree_map(lambda leaf, i=i: factors[i] * leaf, layer)
                                   for i, layer in enumerate(layers)))


class _LayerTuple:
    """Stand-in layers for the deprecated model-less `scale_layers` call: one tuple entry per layer."""

    def __init__(self, depth):
        self.depth = depth

    def layers(self, params):
        return tuple(params)

    def from_layers(self, layers):
        return tuple(layers)
