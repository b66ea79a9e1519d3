r"""Two-layer MLP on token embeddings: the cheap grokking model for modular arithmetic (Gromov 2023).

.. math::
    f(x) = \text{output\_scale}\cdot W\,\phi\Big(\sum_{k=1}^{K} E_k[x_k]\Big),

with one embedding table ``E_k`` (vocab, width) per input position (equivalently a first layer acting on the
concatenated one-hot tokens) and a readout ``W`` (out, width). With ``phi(z) = z^2`` this is the model Gromov (2023)
solves for ``(a + b) mod p``; the readout and embeddings are the "downstream" and "upstream" layers of Kunin et al.
(2024).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array

from layerwise import _random
from layerwise._deprecation import renamed_arguments
from layerwise.errors import LayerwiseError, check_choice, check_positive_int
from layerwise.models.base import TokenModel, as_hyperparameter, check_positive_leaf, default_float

ACTIVATIONS = {"relu": jax.nn.relu, "square": jnp.square, "tanh": jnp.tanh, "gelu": jax.nn.gelu}
HOMOGENEITY = {"relu": 1, "square": 2}
"""Degree ``k`` with ``phi(c z) = c^k phi(z)`` for ``c > 0``, where the activation is positively homogeneous."""


class EmbeddingMLP(TokenModel):
    r"""``f(x) = output_scale * W phi(sum_k E_k[x_k])`` for integer tokens ``x`` (n, context).

    Params are ``(embeddings (context, vocab_size, width), readout (out_dim, width))``: two layers.
    ``output_scale`` is an array leaf (runs can differ in it with ``train(model_batched=True)``).

    Example:
        >>> import jax.numpy as jnp
        >>> model = EmbeddingMLP(vocab_size=5, context=2, width=8, out_dim=5)
        >>> params = embedding_mlp_init(jax.random.PRNGKey(0), model)
        >>> model.apply(params, jnp.array([[1, 2], [4, 4]])).shape
        (2, 5)
    """

    vocab_size: int = eqx.field(static=True)
    context: int = eqx.field(static=True)
    width: int = eqx.field(static=True)
    out_dim: int = eqx.field(static=True)
    activation: str = eqx.field(static=True, default="square")
    output_scale: Array = eqx.field(default=1.0, converter=as_hyperparameter)

    def __check_init__(self):
        for name in ("vocab_size", "context", "width", "out_dim"):
            check_positive_int(name, getattr(self, name))
        check_choice("activation", self.activation, tuple(ACTIVATIONS))
        check_positive_leaf("output_scale", self.output_scale)

    @property
    def depth(self) -> int:
        return 2

    @property
    def in_dim(self) -> int:
        """Tokens per sample (the inputs are integer tokens, shape (n, context))."""
        return self.context

    def param_shapes(self):
        return ((self.context, self.vocab_size, self.width), (self.out_dim, self.width))

    @renamed_arguments(scale="init_scale", imbalance="layer_ratio")
    def init(self, key: Array, init_scale=1.0, *, parameterisation: str = "standard", dtype=None, layer_ratio=1.0):
        """`embedding_mlp_init` (one-hot inputs have fan-in 1, so both parameterisations agree)."""
        check_choice("parameterisation", parameterisation, ("standard", "fan_in"))
        return embedding_mlp_init(key, self, init_scale, layer_ratio, dtype=dtype)

    def features(self, params, x: Array) -> Array:
        """Hidden activations ``phi(sum_k E_k[x_k])``, shape (n, width)."""
        embeddings, _ = params
        summed = sum(embeddings[k][x[:, k]] for k in range(self.context))
        return ACTIVATIONS[self.activation](summed)

    def apply(self, params, x: Array) -> Array:
        """Outputs for integer tokens ``x`` (n, context); returns (n, out_dim)."""
        return self.output_scale * self.features(params, x) @ params[1].T


@renamed_arguments(weight_scale="init_scale", imbalance="layer_ratio")
def embedding_mlp_init(key: Array, model: EmbeddingMLP, init_scale=1.0, layer_ratio=1.0, *, dtype=None):
    r"""Gaussian init with a layer imbalance that leaves the initial function's scale unchanged.

    ``E_k ~ N(0, (w * r)^2)`` and ``W ~ N(0, (w * r^(-h) / sqrt(width))^2)`` with ``w = init_scale``, ``r =
    layer_ratio`` and ``h`` the activation's homogeneity degree (1 for ReLU, 2 for the square), so ``f`` at init has the
    same distribution for every ``r`` and only the ratio of the layers moves. By the feedback principle each layer
    learns at a speed set by the other's size, so ``r < 1`` (readout-heavy) makes the first layer learn faster: the
    *upstream* init of Kunin et al. (2024) (their delta > 0); ``r > 1`` (embedding-heavy) is *downstream*.
    One-hot inputs have fan-in 1, so the embedding entries are the first layer's weights at the fan-in scale.

    Args:
        key: PRNG key.
        model: the `EmbeddingMLP`.
        init_scale: overall scale ``w`` (the numerator of the ratio ``init_scale / target_scale``).
        layer_ratio: ``r > 0``, the embeddings' scale over the readout's; needs a homogeneous activation (relu or
            square) unless ``r = 1``.
    Returns:
        ``(embeddings (context, vocab_size, width), readout (out_dim, width))``.
    """
    if model.activation not in HOMOGENEITY and layer_ratio != 1.0:
        raise LayerwiseError(f"layer_ratio != 1 needs a homogeneous activation ({', '.join(HOMOGENEITY)}); got "
                             f"{model.activation!r}")
    degree = HOMOGENEITY.get(model.activation, 1)
    dtype = dtype or default_float()
    # `layerwise._random`: jax.random's draws bit for bit, from one compiled program per size bucket, not per shape.
    key_embed, key_out = _random.split(key)
    embeddings = init_scale * layer_ratio * _random.normal(
        key_embed, (model.context, model.vocab_size, model.width), dtype)
    readout = init_scale * layer_ratio ** (-degree) / jnp.sqrt(model.width) * _random.normal(
        key_out, (model.out_dim, model.width), dtype)
    return embeddings, readout
