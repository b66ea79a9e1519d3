r"""The simulation: the linear net and each compared network trained by `layerwise.engine.train` on the same data.

Every network is recorded through its input-output map projected on the data's modes (Saxe, McClelland & Ganguli
2019): with ``Yhat`` (n, m) the network's outputs on the training inputs ``X`` (n, d_w),

.. math::  u_a(t) = u_a^\top\big(\hat Y^\top X / n\big) v_a ,

which for a linear net ``f(x) = W x`` is ``u_a^T W Sigma_xx v_a`` (``= u_a^T W v_a`` on whitened inputs), so the
linear net is recorded from its weights alone (it trains from sufficient statistics; no samples needed). Near-
degenerate groups ``G`` of modes are recorded together through ``||U_G^T (Yhat^T X / n) V_G||_F``. The loss, the
held-out loss and (for labels) the held-out accuracy are recorded at every record step.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from layerwise.data.task import Task
from layerwise.engine import train
from layerwise.metrics.timing import crossing_time
from layerwise.models import LinearModel
from layerwise.observables import EvaluationLoss, ModeStrengths, Observable
from layerwise.solving.prediction import FRACTIONS, Modes


class GroupStrengths(Observable):
    r"""Strength of each group ``G`` of modes, ``||U_G^T M V_G||_F`` with ``M`` the input-output map (as in
    `layerwise.observables.ModeStrengths`: the end-to-end map of a linear model, ``Yhat^T x / n`` given ``x``).

    Args:
        left_modes: ``U`` (m, k); right_modes: ``V`` (d, k); membership: (k, g) one-hot group of each mode;
        x: optional probe inputs (n, d).
    Returns (per run): (g,).
    """

    left_modes: Array
    right_modes: Array
    membership: Array
    x: Array | None = None
    dims: ClassVar = ("group",)

    def __call__(self, model, params, task=None) -> Array:
        if self.x is None:
            matrix = model.end_to_end(params)
        else:
            matrix = model.apply(params, self.x).T @ self.x / self.x.shape[0]
        projected = self.left_modes.T @ matrix @ self.right_modes  # (k, k)
        return jnp.sqrt(jnp.einsum("ag,ab,bg->g", self.membership, projected**2, self.membership))


class OffsetAccuracy(Observable):
    r"""Fraction of ``x`` (n, d) with ``argmax(f(x) + offset) == label``: the accuracy of a network trained on
    centred one-hot targets (``offset`` (m,) = the subtracted class frequencies)."""

    x: Array
    labels: Array
    offset: Array
    dims: ClassVar = ()

    def __call__(self, model, params, task=None) -> Array:
        return jnp.mean(jnp.argmax(model.apply(params, self.x) + self.offset, axis=-1) == self.labels)


def membership(modes: Modes) -> np.ndarray:
    """One-hot (k, g) group membership of the modes."""
    return np.eye(modes.group_count)[modes.groups]


def mode_observables(modes: Modes, *, x=None, input_covariance=None, test=None) -> dict:
    r"""The observables of one network: ``strength`` (mode), ``group_strength`` (group), ``test_loss`` and
    ``test_accuracy`` (when ``test = (x, y, labels or None, offset)`` has samples).

    For a linear model leave ``x`` None: its map is read from the weights, with right modes ``Sigma_xx V`` when
    ``input_covariance`` is given (un-whitened inputs), so that ``u_a = u_a^T W Sigma_xx v_a`` as for any network.
    """
    U, V = jnp.asarray(modes.U), jnp.asarray(modes.V)
    if x is None and input_covariance is not None:
        V = jnp.asarray(input_covariance) @ V
    probe = None if x is None else jnp.asarray(x)
    observables = {"strength": ModeStrengths(U, V, probe),
                   "group_strength": GroupStrengths(U, V, jnp.asarray(membership(modes)), probe)}
    if test is not None and len(test[0]):
        x_test, y_test, labels, offset = test
        observables["test_loss"] = EvaluationLoss(jnp.asarray(x_test), jnp.asarray(y_test))
        if labels is not None:
            observables["test_accuracy"] = OffsetAccuracy(jnp.asarray(x_test), jnp.asarray(labels),
                                                          jnp.asarray(offset))
    return observables


def simulate(model, params, task: Task, modes: Modes, *, steps: int, learning_rate: float, optimizer="gd",
             record_steps, test=None, input_covariance=None, extra=None):
    r"""Train one network (R runs, a leading runs axis on ``params``) with `layerwise.engine.train`, full batch, half
    squared error, recording `mode_observables` (and ``extra``) at ``record_steps``.

    A linear model is trained on ``task``'s sufficient statistics and read from its weights; any other model on
    ``task``'s samples and read through ``Yhat^T X / n`` on ``task.x``. Diverged runs are marked (NaN records),
    not raised. Returns the engine's `layerwise.engine.TrainResult` (history dims ``(run, step, ...)``).
    """
    linear = isinstance(model, LinearModel)
    observables = mode_observables(modes, x=None if linear else task.x,
                                   input_covariance=input_covariance if linear else None, test=test)
    observables.update(extra or {})
    return train(model, params, task, optimizer, steps=steps, learning_rate=learning_rate,
                 record_steps=record_steps, observables=observables, on_divergence="mark")


def crossing_times(times, strength, targets) -> dict[str, np.ndarray]:
    r"""First crossings of ``u / target = f`` for ``f`` in 0.1, 0.5, 0.9, linearly interpolated between records.

    Args:
        times: (T,) gradient-flow times ``t = eta * step``; strength: (runs, T, k) strengths; targets: (k,) the
            levels' scale (``s_a``, or ``||s_G||`` for groups).
    Returns:
        ``{"t10", "half_time", "t90"}`` each (runs, k): 0 if crossed at ``t = 0``, NaN if never crossed.
    """
    curves = np.moveaxis(np.asarray(strength, np.float64) / np.asarray(targets), 1, -1)  # (runs, k, T)
    return {key: crossing_time(np.asarray(times, np.float64), curves, fraction) for key, fraction in FRACTIONS.items()}


def learned_rank(strength, s) -> np.ndarray:
    r"""End-to-end rank over time: the number of modes past half their target, ``#{a : u_a(t) >= s_a / 2}``
    (..., T); NaN records count as not learned."""
    return np.sum(np.nan_to_num(np.asarray(strength) / np.asarray(s), nan=0.0) >= 0.5, axis=-1)


def layer_observables() -> dict:
    """Plain-function observables recording a two-layer linear net's weights ``W_1`` (H, d), ``W_2`` (m, H)
    (for the kernel distance along the run)."""
    return {"W1": (lambda model, params, task: params[0], ("hidden", "input")),
            "W2": (lambda model, params, task: params[1], ("output", "hidden"))}


def kernel_distance_path(W1, W2, x_probe) -> np.ndarray:
    r"""``S(K_0, K_t) = 1 - <K_0, K_t>_F / (||K_0||_F ||K_t||_F)`` of the two-layer linear net's NTK on the probe
    inputs (`layerwise.theory.ntk_two_layer`, `layerwise.theory.kernel_distance`), from weights ``W1`` (T, H, d),
    ``W2`` (T, m, H): shape (T,)."""
    return np.asarray(_kernel_distances(jnp.asarray(W1), jnp.asarray(W2), jnp.asarray(x_probe)))


@jax.jit
def _kernel_distances(W1, W2, x_probe):
    """`kernel_distance_path` as one compiled program (reused for every run and network of a solve), not one small
    program per jnp operation."""
    from layerwise.theory import kernel_distance, ntk_two_layer

    kernels = ntk_two_layer(W1, W2, x_probe)
    return kernel_distance(kernels[0], kernels)


def final_neural_collapse(model, params, x, labels, classes: int) -> dict[str, np.ndarray]:
    r"""NC1-NC4 (`layerwise.metrics.neural_collapse_metrics`, Papyan et al. 2020) on a compared MLP's last hidden
    layer ``h = model.features(params, x)`` with its last layer ``(W_L, b_L)`` as classifier, per run (runs,)."""
    from layerwise.metrics.neural_collapse import NC_METRICS

    values = np.asarray(_nc_vectors(model, params, jnp.asarray(x), jnp.asarray(labels), classes))
    return {name: values[:, i] for i, name in enumerate(NC_METRICS)}


@eqx.filter_jit
def _nc_vectors(model, params, x, labels, classes):
    """`final_neural_collapse`'s per-run NC vectors as one compiled program, not one per jnp operation."""
    from layerwise.metrics.neural_collapse import nc_vector

    def one(p):
        w, b = p[-1]
        bias = b if b.shape[0] else None
        return nc_vector(model.features(p, x), labels, w, bias, classes)

    return jax.vmap(one)(params)
