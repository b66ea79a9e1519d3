"""Shared test setup: float64 on for the whole suite (importing layerwise no longer does it), deterministic keys."""

import os

import jax
import pytest

# The CLI's persistent compilation cache would make compile counts depend on earlier runs (tests call main()).
os.environ["LAYERWISE_COMPILATION_CACHE"] = "0"

# Tests compare with closed forms at double precision; the library itself leaves the setting to its caller.
jax.config.update("jax_enable_x64", True)


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
