"""Multi-layer perceptron: the small nonlinear counterpart of the linear networks."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from layerwise import _random
from layerwise._deprecation import renamed_arguments
from layerwise.errors import check_choice
from layerwise.models.base import Model, as_hyperparameter, check_positive_leaf, check_widths, default_float

ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "gelu": jax.nn.gelu, "linear": lambda h: h}
PARAMETERISATIONS = ("standard", "fan_in")


class MLP(Model):
    r"""``f(x) = output_scale * W_L phi(... phi(W_1 x + b_1) ...) + output_scale * b_L``.

    ``widths = (d_in, h_1, ..., d_out)``; params are a tuple of ``(W_l, b_l)`` pairs with ``W_l`` of shape
    ``(widths[l], widths[l-1])`` and ``b_l`` of shape ``(widths[l],)`` (zeros-length biases when ``bias=False`` keep
    the pytree structure uniform). ``activation`` is one of ``relu, tanh, gelu, linear`` (``linear`` gives a deep
    linear network with biases). ``output_scale`` multiplies the output (the authors' Fig. 11 ``output_scale``); it is
    an array leaf, so runs can differ in it (``train(model_batched=True)``).

    Example:
        >>> model = MLP(widths=(784, 512, 512, 512, 10), activation="tanh")   # the paper's grokking MLP
    """

    widths: tuple[int, ...] = eqx.field(static=True, converter=lambda w: check_widths("widths", w))
    activation: str = eqx.field(static=True, default="relu")
    output_scale: Array = eqx.field(default=1.0, converter=as_hyperparameter)
    bias: bool = eqx.field(static=True, default=True)

    def __check_init__(self):
        check_choice("activation", self.activation, tuple(ACTIVATIONS))
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

    def param_shapes(self):
        return tuple(
            ((self.widths[l + 1], self.widths[l]), (self.widths[l + 1] if self.bias else 0,))
            for l in range(self.depth)
        )

    def layers(self, params) -> tuple:
        return tuple(params)

    def from_layers(self, layers) -> tuple:
        return tuple(tuple(layer) for layer in layers)

    @renamed_arguments(scale="init_scale")
    def init(self, key: Array, init_scale=1.0, *, parameterisation: str = "standard", dtype=None, bias_scale=0.0):
        r"""Gaussian init: ``W_l ~ N(0, (init_scale / sqrt(fan_in))^2)`` (``"fan_in"``, as the authors'
        Fig. 11) or ``N(0, init_scale^2)`` (``"standard"``, as Nam et al. 2024); ``b_l ~ N(0, bias_scale^2)``."""
        check_choice("parameterisation", parameterisation, PARAMETERISATIONS)
        dtype = dtype or default_float()
        params = []
        for layer_key, (w_shape, b_shape) in zip(_random.split(key, self.depth), self.param_shapes()):
            key_w, key_b = _random.split(layer_key)
            std = init_scale / jnp.sqrt(w_shape[1]) if parameterisation == "fan_in" else init_scale
            params.append((std * _random.normal(key_w, w_shape, dtype),
                           bias_scale * _random.normal(key_b, b_shape, dtype)))
        return tuple(params)

    def features(self, params, x: Array) -> Array:
        """Penultimate-layer features ``phi(... phi(W_1 x + b_1))``, shape ``(n, widths[-2])`` (x itself if depth 1)."""
        phi = ACTIVATIONS[self.activation]
        h = x
        for w, b in params[:-1]:
            h = phi(h @ w.T + b) if self.bias else phi(h @ w.T)
        return h

    def apply(self, params, x: Array) -> Array:
        """Outputs for inputs ``x`` (n, d_in); returns (n, d_out)."""
        w, b = params[-1]
        out = self.features(params, x) @ w.T
        return self.output_scale * (out + b if self.bias else out)


@renamed_arguments(weight_scale="init_scale")
def mlp_init(key: Array, model: MLP, init_scale=1.0, bias_scale=0.0, *, parameterisation: str = "fan_in",
             dtype=None):
    """`MLP.init` with the fan-in parameterisation by default and ``bias_scale`` positional."""
    return model.init(key, init_scale, parameterisation=parameterisation, dtype=dtype, bias_scale=bias_scale)
