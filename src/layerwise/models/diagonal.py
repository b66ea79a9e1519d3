"""Diagonal linear network of any depth."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from jax import Array

from layerwise.errors import check_positive, check_positive_int


@dataclasses.dataclass(frozen=True)
class DiagonalLinearNetwork:
    r"""Diagonal linear network ``f(x) = output_scale * sum_i x_i prod_l a^(l)_i`` (scalar output).

    Depth 1 is the plain linear model ``theta . x``; depth 2 is the model of the dynamical feedback principle
    (Nam et al. 2025, §3.1: ``f = sum_i x_i a_i b_i``), where each layer's size sets the other's learning speed.

    Params are one array of shape ``(depth, dim)``: row ``l`` holds ``a^(l)``. ``output_scale`` is ``1/Z`` in the
    paper's notation.

    Example:
        >>> model = DiagonalLinearNetwork(dim=3, depth=2)
        >>> model.apply(jnp.ones((2, 3)), jnp.eye(3)).shape
        (3, 1)
    """

    dim: int
    depth: int = 2
    output_scale: float = 1.0

    def __post_init__(self):
        check_positive_int("dim", self.dim)
        check_positive_int("depth", self.depth)
        check_positive("output_scale", self.output_scale)

    @property
    def in_dim(self) -> int:
        return self.dim

    @property
    def out_dim(self) -> int:
        return 1

    def param_shapes(self) -> tuple[int, int]:
        return (self.depth, self.dim)

    def end_to_end(self, params: Array) -> Array:
        """The linear map ``w`` with ``f(x) = w x``, shape ``(1, dim)``: ``w_i = output_scale * prod_l a^(l)_i``."""
        return (self.output_scale * jnp.prod(params, axis=0))[None, :]

    def apply(self, params: Array, x: Array) -> Array:
        """Outputs for inputs ``x`` of shape ``(n, dim)``; returns shape ``(n, 1)``."""
        return x @ self.end_to_end(params).T
