"""Shared test setup: float64 on for the whole suite (importing layerwise no longer does it), deterministic keys."""

import os
import shutil
import tempfile

import jax
import pytest

# The CLI's persistent compilation cache would make compile counts depend on earlier runs (tests call main()).
os.environ["LAYERWISE_COMPILATION_CACHE"] = "0"

# Tests compare with closed forms at double precision; the library itself leaves the setting to its caller.
jax.config.update("jax_enable_x64", True)

SESSION_CACHE = "LAYERWISE_TEST_SESSION_CACHE"
"""The session's JAX compilation cache folder, passed from the pytest process to its xdist workers."""
_OWNER = pytest.StashKey[str]()


def pytest_configure(config):
    # One persistent compilation cache per test session, shared by the xdist workers (they inherit the variable,
    # set before they start), so a program one worker compiled is loaded by the other. Even small programs are
    # cached. ``LAYERWISE_TEST_COMPILATION_CACHE=0`` runs without it. No size limit, so no file lock (it cost more
    # CPU than the cache saved); an entry read while the other worker writes it is a miss (pyproject's filter).
    if os.environ.get("LAYERWISE_TEST_COMPILATION_CACHE", "1") == "0":
        return
    if SESSION_CACHE not in os.environ:
        os.environ[SESSION_CACHE] = tempfile.mkdtemp(prefix="layerwise-test-jax-cache-")
        config.stash[_OWNER] = os.environ[SESSION_CACHE]
    jax.config.update("jax_compilation_cache_dir", os.environ[SESSION_CACHE])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_unconfigure(config):
    folder = config.stash.get(_OWNER, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(SESSION_CACHE, None)


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
