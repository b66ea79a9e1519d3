"""Diagonal linear network of any depth."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jax import Array

from layerwise import _random
from layerwise._deprecation import renamed_arguments
from layerwise.errors import check_choice, check_positive_int
from layerwise.models.base import LinearModel, as_hyperparameter, check_positive_leaf, default_float

PARAMETERISATIONS = ("standard", "fan_in")


class DiagonalLinearNetwork(LinearModel):
    r"""Diagonal linear network ``f(x) = output_scale * sum_i x_i prod_l a^(l)_i`` (scalar output).

    Depth 1 is the plain linear model ``theta . x``; depth 2 is the model of the dynamical feedback principle
    (Nam et al. 2025, §3.1: ``f = sum_i x_i a_i b_i``), where each layer's size sets the other's learning speed.

    Params are one array of shape ``(depth, dim)``: row ``l`` holds ``a^(l)`` (layer ``l``). ``output_scale`` is
    ``1/Z`` in the paper's notation; it is an array leaf, so runs can differ in it (``train(model_batched=True)``).

    Example:
        >>> model = DiagonalLinearNetwork(dim=3, depth=2)
        >>> model.apply(jnp.ones((2, 3)), jnp.eye(3)).shape
        (3, 1)
    """

    dim: int = eqx.field(static=True)
    depth: int = eqx.field(static=True, default=2)
    output_scale: Array = eqx.field(default=1.0, converter=as_hyperparameter)

    def __check_init__(self):
        check_positive_int("dim", self.dim)
        check_positive_int("depth", self.depth)
        check_positive_leaf("output_scale", self.output_scale)

    @property
    def in_dim(self) -> int:
        return self.dim

    @property
    def out_dim(self) -> int:
        return 1

    def param_shapes(self) -> tuple[int, int]:
        return (self.depth, self.dim)

    def layers(self, params: Array) -> tuple[Array, ...]:
        return tuple(params[l] for l in range(self.depth))

    def from_layers(self, layers) -> Array:
        return jnp.stack(layers)

    @renamed_arguments(scale="init_scale")
    def init(self, key: Array, init_scale=1.0, *, parameterisation: str = "standard", dtype=None) -> Array:
        """``a^(l)_i ~ N(0, init_scale^2)``; every weight is its own scalar layer entry (fan-in 1), so both
        parameterisations agree."""
        check_choice("parameterisation", parameterisation, PARAMETERISATIONS)
        return init_scale * _random.normal(key, self.param_shapes(), dtype or default_float())

    def end_to_end(self, params: Array) -> Array:
        """The linear map ``w`` with ``f(x) = w x``, shape ``(1, dim)``: ``w_i = output_scale * prod_l a^(l)_i``."""
        return (self.output_scale * jnp.prod(params, axis=0))[None, :]
