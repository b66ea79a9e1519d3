"""Deep linear network with arbitrary widths."""

from __future__ import annotations

import functools

import equinox as eqx
import jax.numpy as jnp
from jax import Array

from layerwise import _random
from layerwise._deprecation import renamed_arguments
from layerwise.errors import check_choice
from layerwise.models.base import LinearModel, as_hyperparameter, check_positive_leaf, check_widths, default_float

PARAMETERISATIONS = ("standard", "fan_in")


class DeepLinearNetwork(LinearModel):
    r"""Deep linear network ``f(x) = output_scale * W_L ... W_2 W_1 x``.

    ``widths = (d_in, h_1, ..., h_{L-1}, d_out)`` gives ``L = len(widths) - 1`` weight layers; ``W_l`` has shape
    ``(widths[l], widths[l-1])``. Depth 1 is linear regression; depth 2 is the network of Saxe et al. (2014).
    Params are a tuple ``(W_1, ..., W_L)``. ``output_scale`` is ``1/Z`` (NTK parameterisation uses ``Z = sqrt(width)``);
    it is an array leaf, so runs can differ in it (``train(model_batched=True)``).

    Example:
        >>> import jax.numpy as jnp
        >>> model = DeepLinearNetwork(widths=(3, 4, 2))
        >>> params = (jnp.ones((4, 3)), jnp.ones((2, 4)))
        >>> model.apply(params, jnp.ones((5, 3))).shape
        (5, 2)
    """

    widths: tuple[int, ...] = eqx.field(static=True, converter=lambda w: check_widths("widths", w))
    output_scale: Array = eqx.field(default=1.0, converter=as_hyperparameter)

    def __check_init__(self):
        check_positive_leaf("output_scale", self.output_scale)

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @property
    def in_dim(self) -> int:
        return self.widths[0]

    @property
    def out_dim(self) -> int:
        return self.widths[-1]

    def param_shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple((self.widths[l + 1], self.widths[l]) for l in range(self.depth))

    def layers(self, params) -> tuple[Array, ...]:
        return tuple(params)

    def from_layers(self, layers) -> tuple[Array, ...]:
        return tuple(layers)

    @renamed_arguments(scale="init_scale")
    def init(self, key: Array, init_scale=1.0, *, parameterisation: str = "standard", dtype=None):
        """``W_l ~ N(0, init_scale^2)`` (``"standard"``) or ``N(0, init_scale^2 / fan_in)`` (``"fan_in"``, LeCun
        scaling)."""
        check_choice("parameterisation", parameterisation, PARAMETERISATIONS)
        dtype = dtype or default_float()
        params = []
        for layer_key, shape in zip(_random.split(key, self.depth), self.param_shapes()):
            std = init_scale / jnp.sqrt(shape[1]) if parameterisation == "fan_in" else init_scale
            params.append(std * _random.normal(layer_key, shape, dtype))
        return tuple(params)

    def end_to_end(self, params: tuple[Array, ...]) -> Array:
        """The product ``output_scale * W_L ... W_1``, shape ``(d_out, d_in)``."""
        return self.output_scale * functools.reduce(lambda acc, w: w @ acc, params[1:], params[0])

    def apply(self, params: tuple[Array, ...], x: Array) -> Array:
        """Outputs for inputs ``x`` of shape ``(n, d_in)``; returns shape ``(n, d_out)``.

        Multiplies layer by layer (never forms the product), so the cost is that of the network, not of
        ``d_out x d_in``.
        """
        h = x
        for w in params:
            h = h @ w.T
        return self.output_scale * h
