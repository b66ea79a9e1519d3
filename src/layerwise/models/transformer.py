r"""One-layer transformer on token pairs: the grokking model of Nanda et al. (2023) and Kunin et al. (2024).

Inputs are ``context`` integer tokens ``x_1..x_K`` in ``[0, vocab_size)``; the model appends an "=" token (index
``vocab_size``) and reads its logits at that last position ``T = K + 1``. With token embeddings ``E``, position
embeddings ``P``, ``H`` heads of width ``d_h = d_model / H`` and no LayerNorm (as Nanda et al. 2023):

.. math::
    h_t = E[x_t] + P_t,\qquad
    a = \sum_{\rm heads} W_O^{(j)} \sum_t \mathrm{softmax}_t\Big(\frac{(W_Q^{(j)} h_T)\cdot(W_K^{(j)} h_t)}
        {\sqrt{d_h}}\Big) W_V^{(j)} h_t,

    r = h_T + a,\qquad m = r + W_{\rm out}\,\mathrm{relu}(W_{\rm in} r + b_{\rm in}) + b_{\rm out},\qquad
    f(x) = \text{output\_scale}\cdot W_U\, m .

Only the last position's query is computed: in one layer the logits at ``T`` depend on the other positions only
through their keys and values, so this equals the full (causal or not) transformer's output at ``T``.
The four layers (embedding, attention, MLP, unembedding) are the model's `layers`; the embeddings are the
"upstream" and the unembedding the "downstream" end of Kunin et al. (2024).
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


class Transformer(TokenModel):
    r"""One-layer transformer ``f(x) = output_scale * W_U m(x)`` on integer tokens ``x`` (n, context).

    Params: ``((token (vocab+1, d), position (context+1, d)), (W_Q, W_K, W_V (heads, d_h, d), W_O (d, d)),
    (W_in (d_mlp, d), b_in, W_out (d, d_mlp), b_out), W_U (out_dim, d))``.

    Example:
        >>> import jax.numpy as jnp
        >>> model = Transformer(vocab_size=7, context=2, d_model=8, heads=2, d_mlp=16, out_dim=7)
        >>> params = transformer_init(jax.random.PRNGKey(0), model)
        >>> model.apply(params, jnp.array([[1, 2], [6, 6]])).shape
        (2, 7)
    """

    vocab_size: int = eqx.field(static=True)
    context: int = eqx.field(static=True)
    d_model: int = eqx.field(static=True)
    heads: int = eqx.field(static=True)
    d_mlp: int = eqx.field(static=True)
    out_dim: int = eqx.field(static=True)
    output_scale: Array = eqx.field(default=1.0, converter=as_hyperparameter)

    def __check_init__(self):
        for name in ("vocab_size", "context", "d_model", "heads", "d_mlp", "out_dim"):
            check_positive_int(name, getattr(self, name))
        if self.d_model % self.heads:
            raise LayerwiseError(f"d_model must be a multiple of heads ({self.heads}), got {self.d_model}")
        check_positive_leaf("output_scale", self.output_scale)

    depth = property(lambda self: 4)
    in_dim = property(lambda self: self.context, doc="Tokens per sample (inputs are integers, (n, context)).")
    d_head = property(lambda self: self.d_model // self.heads)

    def param_shapes(self):
        d, h, e = self.d_model, self.heads, self.d_head
        return (((self.vocab_size + 1, d), (self.context + 1, d)), ((h, e, d), (h, e, d), (h, e, d), (d, d)),
                ((self.d_mlp, d), (self.d_mlp,), (d, self.d_mlp), (d,)), (self.out_dim, d))

    @renamed_arguments(scale="init_scale", imbalance="layer_ratio")
    def init(self, key: Array, init_scale=1.0, *, parameterisation: str = "standard", dtype=None, layer_ratio=1.0):
        """`transformer_init` (its scales are already per fan-in, so both parameterisations agree)."""
        check_choice("parameterisation", parameterisation, ("standard", "fan_in"))
        return transformer_init(key, self, init_scale, layer_ratio, dtype=dtype)

    def residual(self, params, x: Array) -> Array:
        """The residual stream ``m`` at the last ("=") position after attention and MLP, shape (n, d_model).

        The last position's input ``h_T = E[=] + P_T`` is the same for every sample, and ``(E[x] + P_t) W`` is
        ``(E W)[x] + P_t W``, so queries, attention logits and values are looked up from per-token tables instead of
        multiplied per sample (the same numbers; the per-sample cost is then the MLP's)."""
        (token, position), (w_q, w_k, w_v, w_o), (w_in, b_in, w_out, b_out), _ = params
        last = token[self.vocab_size] + position[-1]  # (d,)
        query = jnp.einsum("hed,d->he", w_q, last) / jnp.sqrt(self.d_head)
        token_logits = jnp.einsum("he,hed,vd->vh", query, w_k, token)  # (vocab + 1, heads)
        position_logits = jnp.einsum("he,hed,td->th", query, w_k, position)  # (T, heads)
        token_values, position_values = jnp.einsum("hed,vd->vhe", w_v, token), jnp.einsum("hed,td->the", w_v, position)
        sequence = jnp.concatenate([x, jnp.full((x.shape[0], 1), self.vocab_size, dtype=x.dtype)], axis=1)
        weights = jax.nn.softmax(token_logits[sequence] + position_logits, axis=1)  # (n, T, heads)
        attended = jnp.einsum("nth,nthe->nhe", weights, token_values[sequence] + position_values)
        r = last + attended.reshape(x.shape[0], self.d_model) @ w_o.T
        return r + jax.nn.relu(r @ w_in.T + b_in) @ w_out.T + b_out

    def apply(self, params, x: Array) -> Array:
        """Logits at the "=" position for integer tokens ``x`` (n, context); returns (n, out_dim)."""
        return self.output_scale * self.residual(params, x) @ params[3].T


@renamed_arguments(weight_scale="init_scale", imbalance="layer_ratio")
def transformer_init(key: Array, model: Transformer, init_scale=1.0, layer_ratio=1.0, *, dtype=None):
    r"""Gaussian init with the embeddings and the unembedding imbalanced by a factor ``r`` each way.

    Embeddings ``E, P ~ N(0, (w r)^2 / d)`` (a residual stream of norm ~``w r``, Nanda et al. 2023's
    ``1/sqrt(d)`` scale), attention and MLP weights ``N(0, w^2 / fan_in)`` with zero biases, unembedding
    ``W_U ~ N(0, (w / r)^2 / d)``. Attention values and the ReLU MLP are degree-1 homogeneous in the residual stream
    (the softmax's logits are not), so the logits at init barely change with ``r`` and mainly the ratio of the two
    ends moves: ``r < 1`` (readout large relative to the embeddings) is Kunin et al. (2024)'s *upstream* init, under
    which the embeddings learn faster, ``r > 1`` the *downstream* one.

    Args:
        key: PRNG key.
        model: the `Transformer`.
        init_scale: overall scale ``w``.
        layer_ratio: ``r > 0``, the embeddings' scale over the unembedding's (squared: ``r`` each way).
    Returns:
        The params (see `Transformer`).
    """
    dtype = dtype or default_float()
    shapes = model.param_shapes()
    # `layerwise._random`: jax.random's draws bit for bit, from one compiled program per size bucket, not per shape.
    keys = iter(_random.split(key, 11))

    def normal(shape, std):
        return std * _random.normal(next(keys), shape, dtype)

    d, r, weight_scale = model.d_model, layer_ratio, init_scale
    embed = tuple(normal(s, weight_scale * r / jnp.sqrt(d)) for s in shapes[0])
    attention = tuple(normal(s, weight_scale / jnp.sqrt(d)) for s in shapes[1])
    w_in, b_in, w_out, b_out = shapes[2]
    mlp = (normal(w_in, weight_scale / jnp.sqrt(d)), jnp.zeros(b_in, dtype),
           normal(w_out, weight_scale / jnp.sqrt(model.d_mlp)), jnp.zeros(b_out, dtype))
    return embed, attention, mlp, normal(shapes[3], weight_scale / (r * jnp.sqrt(d)))
