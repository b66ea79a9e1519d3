"""Shared test setup: float64 on (importing layerwise enables it), deterministic keys."""

import jax
import pytest

import layerwise  # noqa: F401  (enables jax_enable_x64)


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
