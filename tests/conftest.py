"""Shared test setup: float64 on for the whole suite (importing layerwise no longer does it), deterministic keys, and
optionally one persistent compilation cache per test session, shared by the pytest-xdist workers."""

import os

import jax
import pytest

# The CLI's own persistent compilation cache (in the user's cache dir) would carry compiled programs over from earlier
# runs and from the user's own work (compile counts and times would depend on them); off in the suite.
os.environ["LAYERWISE_COMPILATION_CACHE"] = "0"

# Tests compare with closed forms at double precision; the library itself leaves the setting to its caller.
jax.config.update("jax_enable_x64", True)


@pytest.hookimpl(trylast=True)  # after pytest's tmp_path plugin has set up the session's temporary root
def pytest_configure(config):
    """JAX's persistent compilation cache in this session's temporary root, for every program however small.

    Compilation dominates the suite's time, and many tests compile the same program: the other xdist worker, a test
    that builds a fresh model or closure (a miss for jit's in-memory cache, a hit here), or `main()` running an
    experiment again. The cache lives beside the workers' ``popen-gw*`` folders (pytest removes old session roots), so
    nothing carries over from an earlier session, and compile counts (`CompileCounter`) are unchanged: a cache hit
    still reports a compile event. A size limit is set because it makes JAX lock the folder while it reads or writes
    an entry, so one worker never reads an entry the other is half-way through writing.

    Off unless ``LAYERWISE_TEST_COMPILATION_CACHE=1``: measured on 35 compile-heavy tests (tests/data/test_tasks.py,
    test_sparse_parity.py, tests/theory/test_kunin.py; ``-n 2``; both runs side by side on one machine) it saved
    nothing: CPU time 87.6 s with it, 83.2 s without. Most programs there are compiled once per process anyway, and
    serialising every entry costs more than the few hits save.
    """
    if os.environ.get("LAYERWISE_TEST_COMPILATION_CACHE", "0") != "1":
        return
    root = config._tmp_path_factory.getbasetemp()
    if hasattr(config, "workerinput"):  # an xdist worker: its basetemp is <session root>/popen-gwN
        root = root.parent
    jax.config.update("jax_compilation_cache_dir", str(root / "jax-compilation-cache"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", 8 * 2**30)


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
