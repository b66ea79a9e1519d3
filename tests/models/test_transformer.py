"""The one-layer transformer against a direct numpy transformer, and its imbalanced init."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise.errors import LayerwiseError
from layerwise.models import Transformer, transformer_init


def _numpy_transformer(params, x, vocab_size, heads):
    """Every position's residual stream, every head's full attention, logits read at the last position."""
    (token, position), (w_q, w_k, w_v, w_o), (w_in, b_in, w_out, b_out), w_u = (
        jax.tree_util.tree_map(np.asarray, params))
    sequence = np.concatenate([x, np.full((len(x), 1), vocab_size)], axis=1)
    h = token[sequence] + position  # (n, T, d)
    outputs = []
    for j in range(heads):
        q, k, v = h @ w_q[j].T, h @ w_k[j].T, h @ w_v[j].T  # (n, T, e)
        logits = np.einsum("nse,nte->nst", q, k) / np.sqrt(q.shape[-1])
        weights = np.exp(logits - logits.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        outputs.append(np.einsum("nst,nte->nse", weights, v))
    r = h + np.concatenate(outputs, axis=-1) @ w_o.T
    m = r + np.maximum(r @ w_in.T + b_in, 0) @ w_out.T + b_out
    return m[:, -1] @ w_u.T


def test_apply_equals_a_direct_numpy_transformer():
    model = Transformer(vocab_size=7, context=2, d_model=12, heads=3, d_mlp=20, out_dim=7, output_scale=1.0)
    # rbg keys and a numpy perturbation (nonzero biases): XLA compiles each threefry draw of a new shape in ~1 s of
    # CPU, and which random numbers these are does not matter to the comparison.
    params = transformer_init(jax.random.key(3, impl="rbg"), model, 1.5, dtype=jnp.float64)
    rng = np.random.default_rng(4)
    params = jax.tree_util.tree_map(lambda p: p + 0.1 * rng.standard_normal(p.shape), params)
    x = model.example_inputs(jax.random.key(5, impl="rbg"), 9)
    # One compiled program instead of ~45 eager ones (tests/models/test_contract.py: jitted apply == eager apply).
    np.testing.assert_allclose(eqx.filter_jit(model.apply)(params, x), _numpy_transformer(params, np.asarray(x), 7, 3),
                               rtol=1e-12, atol=1e-12)


def test_imbalance_scales_the_embeddings_down_and_the_unembedding_up():
    model = Transformer(vocab_size=50, context=2, d_model=32, heads=4, d_mlp=64, out_dim=50)
    key = jax.random.PRNGKey(0)
    balanced, upstream = (transformer_init(key, model, 1.0, r, dtype=jnp.float64) for r in (1.0, 0.25))
    np.testing.assert_allclose(upstream[0][0], 0.25 * balanced[0][0], rtol=1e-12)
    np.testing.assert_allclose(upstream[3], 4.0 * balanced[3], rtol=1e-12)
    np.testing.assert_array_equal(upstream[2][0], balanced[2][0])
    # The embedding entries have standard deviation w r / sqrt(d).
    assert abs(np.std(np.asarray(balanced[0][0])) * np.sqrt(32) - 1.0) < 0.05


def test_d_model_must_split_into_heads():
    with pytest.raises(LayerwiseError, match="multiple of heads"):
        Transformer(vocab_size=5, context=2, d_model=10, heads=4, d_mlp=8, out_dim=5)
