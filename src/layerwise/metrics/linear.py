r"""Observables of linear networks: the end-to-end map, its spectrum, and mode strengths along a task's SVD.

Each function takes ``(model, params, task)`` or plain arrays and works on ONE run; pass them to the engine as
observables (it vmaps them over runs).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

from layerwise.data.task import Task


def end_to_end(model, params, task: Task | None = None) -> Array:
    """The network's linear map ``W`` (d_out, d_in) with ``f(x) = W x``."""
    return model.end_to_end(params)


def singular_values(model, params, task: Task | None = None) -> Array:
    """Singular values of the end-to-end map, descending, shape ``(min(d_out, d_in),)``."""
    return jnp.linalg.svd(model.end_to_end(params), compute_uv=False)


def task_modes(task: Task) -> tuple[Array, Array, Array]:
    r"""SVD of the input-output correlation ``Sigma_yx = U diag(s) V^T``: returns ``(U, s, V)`` with ``U`` (m, k),
    ``s`` (k,), ``V`` (d, k), ``k = min(m, d)``. The modes the network learns (Saxe et al. 2014)."""
    u, s, vt = jnp.linalg.svd(task.cross_covariance, full_matrices=False)
    return u, s, vt.T


def mode_strengths(end_to_end_map: Array, left_modes: Array, right_modes: Array) -> Array:
    r"""Mode strengths ``u_a = u_a^T W v_a`` for each pair of columns ``(u_a, v_a)``; shape ``(k,)``.

    For a balanced init aligned with the task, each ``u_a(t)`` follows ``theory.saxe_mode`` with ``s = s_a``.
    """
    return jnp.einsum("ma,md,da->a", left_modes, end_to_end_map, right_modes)


def mode_strength_observable(left_modes: Array, right_modes: Array):
    """An engine observable ``(model, params, task) -> mode_strengths(W, U, V)`` with the modes fixed up front."""

    def observe(model, params, task=None):
        return mode_strengths(model.end_to_end(params), left_modes, right_modes)

    return observe
