"""EmbeddingMLP: the one-hot two-layer MLP it stands for, shapes/jit/vmap, and a function-preserving layer imbalance."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise.errors import LayerwiseError
from layerwise.models import EmbeddingMLP, embedding_mlp_init

TOKENS = jnp.array([[0, 1], [3, 4], [4, 4], [2, 0]])


@pytest.mark.parametrize("activation", ["square", "relu", "tanh"])
def test_equals_two_layer_mlp_on_concatenated_one_hot_tokens(activation, key):
    """Reference path: f(x) = s W phi(U [onehot(x_1); onehot(x_2)]) with U = [E_1^T, E_2^T]."""
    model = EmbeddingMLP(vocab_size=5, context=2, width=6, out_dim=5, activation=activation, output_scale=0.7)
    embeddings, readout = embedding_mlp_init(key, model, init_scale=0.8)
    one_hot = jnp.concatenate([jax.nn.one_hot(TOKENS[:, 0], 5), jax.nn.one_hot(TOKENS[:, 1], 5)], axis=1)
    first = jnp.concatenate([embeddings[0].T, embeddings[1].T], axis=1)  # (width, 2 vocab)
    phi = {"square": jnp.square, "relu": jax.nn.relu, "tanh": jnp.tanh}[activation]
    expected = 0.7 * phi(one_hot @ first.T) @ readout.T
    np.testing.assert_allclose(model.apply((embeddings, readout), TOKENS), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_contract_shapes_dtype_jit_vmap(dtype, key):
    model = EmbeddingMLP(vocab_size=5, context=2, width=8, out_dim=3)
    params = embedding_mlp_init(key, model, dtype=dtype)
    assert params[0].shape == (2, 5, 8) and params[1].shape == (3, 8)
    out = model.apply(params, TOKENS)
    assert out.shape == (4, 3) and out.dtype == dtype
    tol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(eqx.filter_jit(model.apply)(params, TOKENS), out, rtol=tol, atol=tol)
    batched = jax.tree_util.tree_map(lambda p: jnp.stack([p, 0.5 * p]), params)
    outs = jax.vmap(model.apply, in_axes=(0, None))(batched, TOKENS)
    np.testing.assert_allclose(outs[0], out, rtol=tol, atol=tol)
    np.testing.assert_allclose(outs[1], 0.5**3 * out, rtol=tol, atol=tol)  # square: degree 2 x 1 in the readout


@pytest.mark.parametrize("activation, degree", [("square", 2), ("relu", 1)])
@pytest.mark.parametrize("ratio", [0.25, 3.0])
def test_imbalance_moves_the_layers_not_the_function(activation, degree, ratio, key):
    """phi(r z) = r^h phi(z) and W -> W r^-h: the initial function is identical, the layer norms are not."""
    model = EmbeddingMLP(vocab_size=5, context=2, width=16, out_dim=5, activation=activation)
    balanced = embedding_mlp_init(key, model, init_scale=0.5)
    tilted = embedding_mlp_init(key, model, init_scale=0.5, layer_ratio=ratio)
    np.testing.assert_allclose(model.apply(tilted, TOKENS), model.apply(balanced, TOKENS), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tilted[0], ratio * balanced[0], rtol=1e-14)
    np.testing.assert_allclose(tilted[1], ratio ** (-degree) * balanced[1], rtol=1e-14)


def test_bad_inputs_are_one_line_errors(key):
    with pytest.raises(LayerwiseError, match="width"):
        EmbeddingMLP(vocab_size=5, context=2, width=0, out_dim=5)
    with pytest.raises(LayerwiseError, match="activation"):
        EmbeddingMLP(vocab_size=5, context=2, width=4, out_dim=5, activation="sigmoid")
    with pytest.raises(LayerwiseError, match="homogeneous"):
        embedding_mlp_init(key, EmbeddingMLP(5, 2, 4, 5, activation="tanh"), layer_ratio=2.0)
