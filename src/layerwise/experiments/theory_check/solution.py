"""What comparing one closed form with the flow produces (`Solution`, one seed), the pieces every family of
``theory-check`` shares (an independent NumPy stream per family, one flow call, layer observables) and one seed's
Dataset."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from layerwise import data
from layerwise.engine import gradient_flow

SOLUTIONS = ("saxe_mode_depth2", "saxe_mode_deep", "imbalanced_mode", "lambda_balanced_solution", "kernel_distance",
             "kunin_single_neuron", "grokking_rescaling", "grokking_gamma", "ufm_mse_minimizer", "woodworth_solution")
LIMITS = ("grokking_gamma", "ufm_mse_minimizer", "woodworth_solution")
PLOTTED_COMPONENTS = 6  # lines per trajectory panel at most


class Solution(NamedTuple):
    """One closed form against the flow (one seed): per-instance errors and the trajectories shown."""

    name: str
    description: str  # what was simulated and compared (the first part of the check's claim)
    errors: np.ndarray  # (instances,) max relative error of each instance
    times: np.ndarray  # (T,)
    theory: np.ndarray  # (instances, T, K) closed form (limits: the limit, constant in time)
    flow: np.ndarray  # (instances, T, K) gradient flow
    label: str  # y-axis label of the figure panel
    parameter: np.ndarray  # (instances,) the instance parameter named in `parameter_name`
    parameter_name: str


# Observables as module-level functions: the engine compiles a flow once per function object.
def first_layer(model, params, task):
    """``W1`` of a two-layer net."""
    return params[0]


def second_layer(model, params, task):
    """``W2`` of a two-layer net."""
    return params[1]


def end_to_end_vector(model, params, task):
    """The end-to-end map of a diagonal net as a vector (its one row)."""
    return model.end_to_end(params)[0]


LAYERS = {"W1": first_layer, "W2": second_layer}


def family_rng(seed: int, family: int) -> np.random.Generator:
    """An independent stream per (seed, family): changing one family's draws never changes another's."""
    return np.random.default_rng([seed, family])


def family_keys(rng: np.random.Generator, count: int) -> jax.Array:
    """``count`` PRNG keys drawn from the family's stream (for the `layerwise.init` constructions)."""
    return jax.random.split(jax.random.PRNGKey(int(rng.integers(2**31))), count)


def family_orthogonal(rng: np.random.Generator, dim: int) -> np.ndarray:
    """A Haar-random orthogonal matrix (dim, dim) drawn from the family's stream (QR of a Gaussian matrix, signs
    fixed): the instances come from NumPy streams, so the family draws its own rotations rather than take a key."""
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    return q * np.sign(np.diagonal(r))


def run_flow(config, model, params, tasks, times, observables, weight_decay=0.0):
    """The instances' exact gradient flow (one vmapped call over the batched ``tasks``) at the config's Dopri8
    tolerances: the history of ``observables`` on ``times``."""
    return gradient_flow(model, params, tasks, times, observables=observables, weight_decay=weight_decay,
                         rtol=config.rtol, atol=config.atol, task_batched=True).history


def flat_components(values) -> np.ndarray:
    """(instances, T, ...) -> (instances, T, K)."""
    values = np.asarray(values)
    return values.reshape(values.shape[0], values.shape[1], -1)


def whitened_tasks(targets) -> data.Task:
    """One task per target ``Sigma_yx`` (m, d) with whitened input ``Sigma_xx = I``, stacked."""
    return data.stack_tasks([data.Task.from_statistics(np.eye(t.shape[1]), jnp.asarray(t), float(np.sum(t**2)))
                             for t in targets])


def seed_dataset(solutions: list[Solution]) -> xr.Dataset:
    """One seed's solutions: shown trajectories ``theory_<name>``/``flow_<name>`` (instance, step, component), the
    flow's save times and each instance's error (computed from the full compared states)."""
    variables = {"flow_max_relative_error": (("solution", "instance"), np.stack([s.errors for s in solutions]), {
        "description": "largest relative error of each instance over its trajectory (limits: at the final time), "
                       "from layerwise.compare against the engine's gradient flow"})}
    coords = {"solution": list(SOLUTIONS), "instance": np.arange(len(solutions[0].errors))}
    for s in solutions:
        dims = ("instance", f"{s.name}_step", f"{s.name}_component")
        variables[f"theory_{s.name}"] = (dims, np.ascontiguousarray(s.theory, dtype=float),
                                         {"description": s.description, "label": s.label})
        variables[f"flow_{s.name}"] = (dims, np.ascontiguousarray(s.flow, dtype=float))
        variables[f"flow_{s.name}_time"] = ((f"{s.name}_step",), s.times)
        coords[f"{s.name}_component"] = np.arange(s.flow.shape[-1])
        coords[f"{s.name}_parameter"] = ("instance", np.asarray(s.parameter, dtype=float), {"name": s.parameter_name})
    return xr.Dataset(variables, coords=coords)
