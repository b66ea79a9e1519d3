"""The package as a library: importing it changes no global setting; float64 is switched on only when asked."""

import os
import subprocess
import sys

import jax
import pytest

import layerwise as lw


@pytest.mark.integration  # a fresh interpreter (a real subprocess) is the only clean place to import layerwise
def test_import_leaves_float64_and_the_matplotlib_backend_alone():
    code = (
        "import jax, matplotlib\n"
        "import layerwise, layerwise.compare, layerwise.experiments, layerwise.report, layerwise.theory\n"
        "import layerwise.cli, layerwise.runner\n"
        "print(jax.config.jax_enable_x64, matplotlib.get_backend())\n"
    )
    env = {**os.environ, "MPLBACKEND": "svg", "JAX_ENABLE_X64": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["False", "svg"], out.stderr


def test_enable_x64_as_a_context_manager_restores_the_setting():
    assert jax.config.jax_enable_x64  # the suite runs in float64 (conftest)
    with lw.enable_x64(False):
        assert not jax.config.jax_enable_x64
        with lw.enable_x64():
            assert jax.numpy.zeros(1).dtype == jax.numpy.float64
        assert not jax.config.jax_enable_x64
    assert jax.config.jax_enable_x64
