"""The linear and MLP models' own properties and bad input (the contract every model keeps is test_contract.py)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise import init
from layerwise.errors import LayerwiseError
from layerwise.models import DeepLinearNetwork, DiagonalLinearNetwork

def test_diagonal_depth_one_is_linear_model():
    model = DiagonalLinearNetwork(dim=3, depth=1)
    theta = jnp.array([[1.0, -2.0, 0.5]])
    x = jnp.array([[1.0, 1.0, 2.0]])
    assert float(model.apply(theta, x)[0, 0]) == pytest.approx(1.0 - 2.0 + 1.0)


def test_diagonal_output_is_product_of_layers():
    model = DiagonalLinearNetwork(dim=2, depth=3, output_scale=0.5)
    params = jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x = jnp.array([[1.0, 10.0]])
    assert float(model.apply(params, x)[0, 0]) == pytest.approx(0.5 * (15.0 + 10 * 48.0))


@pytest.mark.parametrize(
    "make",
    [
        lambda: DiagonalLinearNetwork(dim=3, depth=0),
        lambda: DiagonalLinearNetwork(dim=0),
        lambda: DiagonalLinearNetwork(dim=3, output_scale=-1.0),
        lambda: DeepLinearNetwork(widths=(3,)),
        lambda: DeepLinearNetwork(widths=(3, 0, 2)),
        lambda: DeepLinearNetwork(widths=(3, 2.5, 2)),
    ],
)
def test_bad_hyperparameters_raise_one_line(make):
    with pytest.raises(LayerwiseError) as error:
        make()
    assert "\n" not in str(error.value)


def test_mlp_linear_activation_equals_deep_linear_network(key):
    from layerwise.models import MLP, mlp_init

    mlp = MLP(widths=(4, 6, 3), activation="linear", bias=False, output_scale=0.5)
    params = mlp_init(key, mlp, 1.3)
    linear = DeepLinearNetwork(widths=(4, 6, 3), output_scale=0.5)
    x = jax.random.normal(jax.random.PRNGKey(5), (9, 4))
    np.testing.assert_allclose(mlp.apply(params, x), linear.apply(tuple(w for w, _ in params), x), rtol=1e-12)


def test_mlp_shapes_and_init_scale(key):
    from layerwise.models import MLP, mlp_init

    mlp = MLP(widths=(300, 200, 10), activation="tanh")
    params = mlp_init(key, mlp, 5.0, 0.1)
    assert float(jnp.std(params[0][0])) == pytest.approx(5.0 / np.sqrt(300), rel=0.03)
    assert params[0][1].shape == (200,)
    out = mlp.apply(params, jnp.ones((3, 300)))
    assert out.shape == (3, 10)
    with pytest.raises(LayerwiseError, match="activation"):
        MLP(widths=(3, 2), activation="sigmoid")
