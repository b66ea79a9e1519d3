"""The no-hidden-layer baseline: exponential saturation, and its boundary checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise.errors import LayerwiseError
from layerwise.theory import linear_mode


def test_exponential_saturation():
    t = np.linspace(0.0, 4.0, 9)
    np.testing.assert_allclose(linear_mode(t, 2.0, 0.5, 0.7), 2.0 - 1.5 * np.exp(-0.7 * t), rtol=1e-15)


@pytest.mark.parametrize("changes, match", [
    (dict(t=-1.0), "linear_mode: t must be finite and >= 0"),
    (dict(input_variance=-0.5), "linear_mode: input_variance must be finite and >= 0"),
    (dict(target_strength=np.array([1.0, np.nan])), r"linear_mode: target_strength must be finite \(no NaN or inf\), got nan at index \(1,\)"),
    (dict(t=np.ones(3), init_scale=np.ones(2)),
     r"linear_mode: the shapes of t \(3,\), target_strength \(\), init_scale \(2,\)"),
])
def test_refuses_bad_inputs(changes, match):
    arguments = dict(t=1.0, target_strength=2.0, init_scale=0.0, input_variance=1.0) | changes
    with pytest.raises(LayerwiseError, match=match):
        linear_mode(**arguments)


def test_checks_fail_loudly_under_jit_and_float32_follows_the_dtype(raises_at_run_time):
    with raises_at_run_time("linear_mode: input_variance must be finite and >= 0"):
        jax.block_until_ready(jax.jit(lambda v: linear_mode(1.0, 2.0, 0.0, v))(jnp.array(-1.0)))
    with jax.enable_x64(False):
        low = linear_mode(np.float32(1.0), np.float32(2.0))
    assert low.dtype == jnp.float32
    np.testing.assert_allclose(low, 2.0 * (1.0 - np.exp(-1.0)), rtol=1e-6)
