"""Shared setup for the theory tests: one way to run the engine's gradient flow, so compiled flows are reused.

The engine compiles once per (model, observables, array shapes). Every comparison here therefore goes through
`Engine.flow` with ``Engine.runs`` runs and ``Engine.times`` save times and the same observable functions, and the
diagonal-network checks use population tasks of one dimension, so each family compiles its flow once per session.
"""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from layerwise.engine import gradient_flow
from layerwise.errors import LayerwiseError


def _end_to_end(model, params, task):
    return model.end_to_end(params)


def _diagonal_layers(model, params, task):
    return params


def _first_layer(model, params, task):
    return params[0]


def _second_layer(model, params, task):
    return params[1]


class Engine:
    """The engine's gradient flow (tau = 1) at tight tolerances, on a fixed number of runs and save times."""

    runs = 4  # runs per call (a hypothesis example draws this many parameter sets)
    times = 41  # save times per call
    # Dopri8 tolerances: the flow's own error stays far below the 1e-8 the comparisons assert.
    rtol = 1e-12
    atol = 1e-14
    end_to_end = {"W": _end_to_end}
    layers = {"W1": _first_layer, "W2": _second_layer}
    diagonal = {"layers": _diagonal_layers}

    def flow(self, model, params, task, times, observables, *, task_batched=False):
        """History Dataset (dims ``run, time, ...``) of the gradient flow of ``Engine.runs`` runs.

        ``task_batched``: ``task`` has a leading runs axis on every leaf (one task per run, see `stack_tasks`).
        """
        times = np.asarray(times, dtype=float)
        assert times.shape == (self.times,), "use Engine.times save times so the compiled flow is reused"
        return gradient_flow(
            model, params, task, times, observables=observables, rtol=self.rtol, atol=self.atol,
            task_batched=task_batched,
        ).history

    @staticmethod
    def stack_tasks(tasks):
        """One batched task from a list of tasks of equal shapes (leading runs axis on every leaf)."""
        return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *tasks)


@pytest.fixture(scope="session")
def engine():
    return Engine()


@pytest.fixture
def raises_at_run_time():
    """``pytest.raises`` for a check that fires inside jit/vmap (``equinox.error_if``): JAX raises it as a
    ``JaxRuntimeError``/``EquinoxRuntimeError`` (RuntimeError) or, from an already compiled function, a plain
    ``ValueError``; either way the message carries the check's text. A `LayerwiseError` (a ValueError raised while
    tracing) does not count: these tests are about the run-time path."""

    @contextlib.contextmanager
    def expect(match):
        with pytest.raises((RuntimeError, ValueError), match=match) as info:
            yield info
        assert not isinstance(info.value, LayerwiseError), f"raised while tracing, not at run time: {info.value}"

    return expect
