"""Deep linear network with arbitrary widths."""

from __future__ import annotations

import dataclasses
import functools

from jax import Array

from layerwise.errors import LayerwiseError, check_positive


@dataclasses.dataclass(frozen=True)
class DeepLinearNetwork:
    r"""Deep linear network ``f(x) = output_scale * W_L ... W_2 W_1 x``.

    ``widths = (d_in, h_1, ..., h_{L-1}, d_out)`` gives ``L = len(widths) - 1`` weight layers; ``W_l`` has shape
    ``(widths[l], widths[l-1])``. Depth 1 is linear regression; depth 2 is the network of Saxe et al. (2014).
    Params are a tuple ``(W_1, ..., W_L)``. ``output_scale`` is ``1/Z`` (NTK parameterisation uses ``Z = sqrt(width)``).

    Example:
        >>> import jax.numpy as jnp
        >>> model = DeepLinearNetwork(widths=(3, 4, 2))
        >>> params = (jnp.ones((4, 3)), jnp.ones((2, 4)))
        >>> model.apply(params, jnp.ones((5, 3))).shape
        (5, 2)
    """

    widths: tuple[int, ...]
    output_scale: float = 1.0

    def __post_init__(self):
        widths = tuple(self.widths)
        if len(widths) < 2 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise LayerwiseError(
                f"widths must be a sequence of at least 2 positive integers (d_in, ..., d_out), got {self.widths!r}"
            )
        object.__setattr__(self, "widths", widths)
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

    def param_shapes(self) -> tuple[tuple[int, int], ...]:
        return tuple((self.widths[l + 1], self.widths[l]) for l in range(self.depth))

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
