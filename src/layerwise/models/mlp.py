"""Multi-layer perceptron: the small nonlinear counterpart of the linear networks."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax import Array

from layerwise.errors import LayerwiseError, check_choice, check_positive

ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "gelu": jax.nn.gelu, "linear": lambda h: h}


@dataclasses.dataclass(frozen=True)
class MLP:
    r"""``f(x) = output_scale * W_L phi(... phi(W_1 x + b_1) ...) + output_scale * b_L``.

    ``widths = (d_in, h_1, ..., d_out)``; params are a tuple of ``(W_l, b_l)`` pairs with ``W_l`` of shape
    ``(widths[l], widths[l-1])`` and ``b_l`` of shape ``(widths[l],)`` (zeros-length biases when ``bias=False`` keep
    the pytree structure uniform). ``activation`` is one of ``relu, tanh, gelu, linear`` (``linear`` gives a deep
    linear network with biases). ``output_scale`` multiplies the output (the authors' Fig. 11 ``output_scale``).

    Example:
        >>> model = MLP(widths=(784, 512, 512, 512, 10), activation="tanh")   # the paper's grokking MLP
    """

    widths: tuple[int, ...]
    activation: str = "relu"
    output_scale: float = 1.0
    bias: bool = True

    def __post_init__(self):
        widths = tuple(self.widths)
        if len(widths) < 2 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise LayerwiseError(f"widths must be a sequence of at least 2 positive integers, got {self.widths!r}")
        object.__setattr__(self, "widths", widths)
        check_choice("activation", self.activation, tuple(ACTIVATIONS))
        check_positive("output_scale", self.output_scale)

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


def mlp_init(key: Array, model: MLP, weight_scale=1.0, bias_scale=0.0, *, parameterisation: str = "fan_in",
             dtype=jnp.float64):
    r"""Gaussian MLP init: ``W_l ~ N(0, (weight_scale / sqrt(fan_in))^2)`` (``"fan_in"``, as the authors' Fig. 11)
    or ``N(0, weight_scale^2)`` (``"standard"``, as Nam et al. 2024's ``init``); ``b_l ~ N(0, bias_scale^2)``."""
    check_choice("parameterisation", parameterisation, ("standard", "fan_in"))
    params = []
    for layer_key, (w_shape, b_shape) in zip(jax.random.split(key, model.depth), model.param_shapes()):
        key_w, key_b = jax.random.split(layer_key)
        std = weight_scale / jnp.sqrt(w_shape[1]) if parameterisation == "fan_in" else weight_scale
        params.append((std * jax.random.normal(key_w, w_shape, dtype), bias_scale * jax.random.normal(key_b, b_shape, dtype)))
    return tuple(params)
