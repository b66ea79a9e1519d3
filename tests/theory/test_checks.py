"""The boundary checks shared by the closed forms: eager `LayerwiseError`, run-time errors under jit/vmap, the
float64 guard, and a property test: random bad inputs give a `LayerwiseError`, never NaN or a raw JAX error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerwise.errors import LayerwiseError
from layerwise.theory import (
    _checks as checks,
    grokking_gamma,
    imbalanced_mode,
    lambda_balanced_solution,
    ntk_two_layer,
    saxe_mode,
)


# ---------------------------------------------------------------------------------------------- the helper itself
def test_concrete_checks_raise_now_and_quote_the_first_offending_element():
    with pytest.raises(LayerwiseError, match=r"^f: x must be finite and > 0, got -2.0 at index \(1,\)$"):
        checks.positive("f", "x", jnp.array([1.0, -2.0, -3.0]))
    with pytest.raises(LayerwiseError, match=r"^f: x must be finite \(no NaN or inf\), got nan$"):
        checks.finite("f", "x", np.nan)
    x = jnp.array([1.0, 2.0])
    assert checks.positive("f", "x", x) is x  # passes through unchanged


def test_traced_checks_fail_at_run_time_and_pass_values_through(raises_at_run_time):
    positive = jax.jit(lambda x: checks.positive("f", "x", x) * 2.0)
    np.testing.assert_array_equal(positive(jnp.array([1.0, 2.0])), [2.0, 4.0])
    with raises_at_run_time("f: x must be finite and > 0"):
        jax.block_until_ready(positive(jnp.array([1.0, -2.0])))
    with raises_at_run_time(r"f: x must be finite \(no NaN or inf\)"):
        jax.block_until_ready(jax.vmap(lambda x: checks.finite("f", "x", x))(jnp.array([1.0, jnp.inf])))


def test_float64_guard():
    checks.require_float64("f", "why", x=jnp.ones(2), n=3)  # float64 (x64 on in the tests), ints are fine
    with pytest.raises(LayerwiseError, match=r"^f needs float64 \(why\): x has dtype float32; .*enable_x64\(\)"):
        checks.require_float64("f", "why", x=jnp.ones(2, jnp.float32))
    with jax.enable_x64(False):
        with pytest.raises(LayerwiseError, match=r"^f needs float64 \(why\) but jax_enable_x64 is off: call "
                                                 r"layerwise.enable_x64\(\) or jax.config.update"):
            checks.require_float64("f", "why")


def test_shape_checks_name_the_arguments():
    with pytest.raises(LayerwiseError, match=r"f: the shapes of a \(3,\), b \(2,\) do not broadcast together"):
        checks.broadcastable("f", a=jnp.ones(3), b=jnp.ones(2))
    with pytest.raises(LayerwiseError, match=r"f: W must have shape \(h, d\), got shape \(3,\)"):
        checks.ndim("f", "W", jnp.ones(3), 2, "(h, d)")
    with pytest.raises(LayerwiseError, match="f: x must be a numeric array"):
        checks.as_array("f", "x", "text")


# ------------------------------------------------------------------------ property: random bad inputs, clean error
BAD_NUMBERS = st.sampled_from([np.nan, np.inf, -np.inf])


@st.composite
def bad_calls(draw):
    """A theory call with one assumption broken: a NaN/inf entry, a negative strength or time, or bad shapes."""
    kind = draw(st.sampled_from(["nonfinite", "negative", "shape"]))
    function = draw(st.sampled_from(["saxe_mode", "imbalanced_mode", "grokking_gamma", "lambda_balanced_solution",
                                     "ntk_two_layer"]))
    n = draw(st.integers(2, 4))  # >= 2: a length-1 axis would broadcast against the mismatched one
    values = np.asarray(draw(st.lists(st.floats(0.1, 3.0), min_size=n, max_size=n)))
    index = draw(st.integers(0, n - 1))
    negative = -draw(st.floats(1e-6, 10.0))
    bad = draw(BAD_NUMBERS)
    if function == "saxe_mode":
        depth = draw(st.integers(1, 4))
        args = {"t": values, "target_strength": np.full(n, 2.0), "init_scale": np.full(n, 0.1)}
        if kind == "nonfinite":
            args[draw(st.sampled_from(sorted(args)))][index] = bad
        elif kind == "negative":
            name = "t" if depth == 1 else draw(st.sampled_from(["t", "init_scale"]
                                                               + (["target_strength"] if depth >= 3 else [])))
            args[name][index] = negative
        else:
            args["init_scale"] = np.full(n + 1, 0.1)
        return lambda: saxe_mode(**args, depth=depth)
    if function == "imbalanced_mode":
        args = {"t": values, "target_strength": np.full(n, 2.0), "init_scale": np.full(n, 0.1),
                "mode_imbalance": np.zeros(n), "input_variance": np.ones(n)}
        if kind == "nonfinite":
            args[draw(st.sampled_from(sorted(args)))][index] = bad
        elif kind == "negative":
            args[draw(st.sampled_from(["t", "input_variance"]))][index] = negative
        else:
            args["target_strength"] = np.full(n + 2, 2.0)
        return lambda: imbalanced_mode(**args)
    if function == "grokking_gamma":
        args = {"Sigma0": values, "S0": 0.5 * values, "S": np.ones(n)}
        if kind == "nonfinite":
            args[draw(st.sampled_from(sorted(args)))][index] = bad
        elif kind == "negative":
            args["Sigma0"][index] = negative
        else:
            args["S"] = np.ones(n + 1)
        return lambda: grokking_gamma(**args)
    if function == "lambda_balanced_solution":
        w1 = np.diag(values[:1].repeat(2))
        args = {"t": np.linspace(0.0, 1.0, 3), "W1_0": w1, "W2_0": w1.T.copy(), "Sigma_yx": np.eye(2)}
        if kind == "nonfinite":
            name = draw(st.sampled_from(["t", "W1_0", "Sigma_yx"]))
            args[name].reshape(-1)[0] = bad
        elif kind == "negative":
            args["t"][0] = negative
        else:
            args["Sigma_yx"] = np.eye(2)[:, : draw(st.integers(0, 1))]
        return lambda: lambda_balanced_solution(**args, hidden_basis="symmetric")
    args = {"W1": np.ones((2, 3)), "W2": np.ones((n, 2)), "X": np.ones((n, 3))}
    if kind in ("nonfinite", "negative"):  # the NTK has no sign constraint: a non-finite entry instead
        args[draw(st.sampled_from(sorted(args)))][0, 0] = bad
    else:
        args["X"] = np.ones((n, 4))
    return lambda: ntk_two_layer(**args)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(call=bad_calls())
def test_random_bad_inputs_raise_a_layerwise_error(call):
    with pytest.raises(LayerwiseError):
        call()
