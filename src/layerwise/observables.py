r"""Observables the engine records: small `equinox.Module` s called as ``observable(model, params, task)`` on ONE
run's params (the engine vmaps them over runs).

Their arrays (held-out inputs, a task's modes) are pytree leaves, so the engine traces them as arguments: a second
`train` call with a new observable *of the same kind and shapes* reuses the compiled program. A plain function
``fn(model, params, task)`` also works but is part of the compiled program's identity (a fresh lambda recompiles).
Each observable names the dims of what it returns (``dims``), which become the history's dims.

Example:
    >>> from layerwise import observables as obs
    >>> recorded = {"W": obs.EndToEnd(), "u": obs.ModeStrengths(U, V)}   # doctest: +SKIP
"""

from __future__ import annotations

import abc
import warnings
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jax import Array

from layerwise._deprecation import UNTIL, RenamedArgumentWarning
from layerwise.engine.losses import resolve_loss
from layerwise.errors import LayerwiseError
from layerwise.models import LinearModel


class Observable(eqx.Module):
    """Base class: ``__call__(model, params, task) -> Array`` for one run; ``dims`` names the result's axes."""

    dims: ClassVar[tuple[str, ...] | None] = None

    @abc.abstractmethod
    def __call__(self, model, params, task) -> Array: ...


def _linear(model, what: str):
    if not isinstance(model, LinearModel):
        raise LayerwiseError(f"observable {what} needs a linear model (with end_to_end); got {type(model).__name__}")


class EndToEnd(Observable):
    """The linear map ``W`` (out, in) with ``f(x) = W x``."""

    dims: ClassVar = ("output", "input")

    def __call__(self, model, params, task=None) -> Array:
        _linear(model, "EndToEnd")
        return model.end_to_end(params)


class SingularValues(Observable):
    """Singular values of the end-to-end map, descending, ``(min(out, in),)``."""

    dims: ClassVar = ("mode",)

    def __call__(self, model, params, task=None) -> Array:
        _linear(model, "SingularValues")
        return jnp.linalg.svd(model.end_to_end(params), compute_uv=False)


class ModeStrengths(Observable):
    r"""Mode strengths ``u_a = u_a^T W v_a`` along fixed modes (Saxe et al. 2014), ``(k,)``.

    For a linear model ``W`` is its end-to-end map; for any other model give ``x``: then ``W = Ŷ^T X / n`` with
    ``Ŷ`` the network's outputs on ``x`` (n, in), the input-output map's projection (Saxe, McClelland & Ganguli 2019),
    which equals the end-to-end map for a linear model on whitened inputs.

    Args:
        left_modes: ``U`` (out, k); right_modes: ``V`` (in, k); x: optional probe inputs (n, in).
    """

    left_modes: Array
    right_modes: Array
    x: Array | None = None
    dims: ClassVar = ("mode",)

    def __call__(self, model, params, task=None) -> Array:
        if self.x is None:
            _linear(model, "ModeStrengths without x")
            matrix = model.end_to_end(params)
        else:
            matrix = model.apply(params, self.x).T @ self.x / self.x.shape[0]
        return jnp.einsum("ma,md,da->a", self.left_modes, matrix, self.right_modes)


class ImbalanceLaterMinusEarlier(Observable):
    r"""The conserved imbalances between neighbouring layers, each the later layer minus the earlier one
    (`layerwise.metrics.imbalance_later_minus_earlier`: ``W_{l+1}^T W_{l+1} - W_l W_l^T``, or
    ``a^(l+1)^2 - a^(l)^2`` per coordinate of a diagonal net)."""

    def __call__(self, model, params, task=None) -> Array:
        from layerwise.metrics.conserved import imbalance_later_minus_earlier

        return imbalance_later_minus_earlier(model, params)


class LayerImbalance(Observable):
    r"""Deprecated: use `ImbalanceLaterMinusEarlier`, whose diagonal-network rows have the opposite sign
    (``a^(l+1)^2 - a^(l)^2``; this one records ``a^(l)^2 - a^(l+1)^2`` for a diagonal net, the same blocks for a
    deep linear one). Warns when made; removed in the next release."""

    def __init__(self):
        warnings.warn("layerwise.observables.LayerImbalance is deprecated; use "
                      "layerwise.observables.ImbalanceLaterMinusEarlier, which differs: a diagonal network's rows "
                      f"have the opposite sign there (later minus earlier); {UNTIL}", RenamedArgumentWarning,
                      stacklevel=2)

    def __call__(self, model, params, task=None) -> Array:
        from layerwise.metrics.conserved import _earlier_minus_later_for_diagonal

        return _earlier_minus_later_for_diagonal(model, params)


class Predictions(Observable):
    """The network's outputs on fixed inputs ``x`` (n, in): ``(n, out)``."""

    x: Array
    dims: ClassVar = ("sample", "output")

    def __call__(self, model, params, task=None) -> Array:
        return model.apply(params, self.x)


class Accuracy(Observable):
    """Fraction of ``x`` (n, in) whose arg-max output equals ``labels`` (n,) (integers)."""

    x: Array
    labels: Array
    dims: ClassVar = ()

    def __call__(self, model, params, task=None) -> Array:
        return jnp.mean(jnp.argmax(model.apply(params, self.x), axis=-1) == self.labels)


class EvaluationLoss(Observable):
    """Mean per-sample loss on a held-out set ``(x, y)``, with the engine's loss names (default: half squared
    error)."""

    x: Array
    y: Array
    loss: str = eqx.field(static=True, default="half_squared_error")
    dims: ClassVar = ()

    def __call__(self, model, params, task=None) -> Array:
        _, loss_fn = resolve_loss(self.loss)
        y = self.y[:, None] if self.y.ndim == 1 else self.y
        return jnp.mean(loss_fn(model.apply(params, self.x), y))


class SkillStrengths(Observable):
    r"""Every skill's strength ``R_k`` on held-out per-skill sets (Nam et al. 2024; see
    `layerwise.metrics.measured_skill_strength`): ``x`` (skills, n, in), ``y`` (skills, n) → ``(skills,)``."""

    x: Array
    y: Array
    dims: ClassVar = ("skill",)

    def __call__(self, model, params, task=None) -> Array:
        from layerwise.metrics.skills import measured_skill_strength

        outputs = _per_skill_outputs(model, params, self.x)
        return measured_skill_strength(outputs, self.y.reshape(outputs.shape))


class SkillLosses(Observable):
    r"""Every skill's held-out loss ``1/2 E_k (f - y)^2`` on per-skill sets (as `SkillStrengths`): ``x`` (skills, n,
    in), ``y`` (skills, n) or (skills, n, 1) → ``(skills,)``."""

    x: Array
    y: Array
    dims: ClassVar = ("skill",)

    def __call__(self, model, params, task=None) -> Array:
        outputs = _per_skill_outputs(model, params, self.x)
        return 0.5 * jnp.mean((outputs - self.y.reshape(outputs.shape)) ** 2, axis=1)


def _per_skill_outputs(model, params, x: Array) -> Array:
    """The scalar outputs on per-skill inputs ``x`` (skills, n, in), evaluated in one batch: ``(skills, n)``."""
    skills, n, d = x.shape
    return model.apply(params, x.reshape(skills * n, d)).reshape(skills, n)


__all__ = ["Accuracy", "EndToEnd", "EvaluationLoss", "ImbalanceLaterMinusEarlier", "ModeStrengths", "Observable",
           "Predictions", "SingularValues", "SkillLosses", "SkillStrengths"]
