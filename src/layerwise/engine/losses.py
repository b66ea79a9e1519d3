r"""Per-sample losses for the engine: ``loss(prediction (n, m), target (n, m)) -> (n,)``.

The engine averages them over the samples of a (mini-)batch. Any callable with that contract works; the names
below are shortcuts. Only the half squared error has the sufficient-statistics fast path for linear models.
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp
import optax
from jax import Array

from layerwise.errors import LayerwiseError

Loss = Callable[[Array, Array], Array]


def half_squared_error(prediction: Array, target: Array) -> Array:
    r"""``1/2 ||f(x) - y||^2`` per sample (summed over outputs): the loss of the theory, whose gradient flow is
    ``d(theta)/dt = -grad 1/2 E||f(x) - y||^2`` (Saxe et al. 2014)."""
    return 0.5 * jnp.sum((prediction - target) ** 2, axis=-1)


def mean_squared_error(prediction: Array, target: Array) -> Array:
    r"""``mean_outputs (f(x) - y)^2`` per sample: PyTorch's ``MSELoss(reduction='mean')`` once averaged over
    samples."""
    return jnp.mean((prediction - target) ** 2, axis=-1)


def softmax_cross_entropy(prediction: Array, target: Array) -> Array:
    r"""``-sum_c y_c log softmax(f(x))_c`` per sample. ``target`` is one-hot / probabilities ``(n, classes)``, or
    integer class labels ``(n,)`` or ``(n, 1)`` (an integer dtype)."""
    if jnp.issubdtype(target.dtype, jnp.integer):
        return optax.softmax_cross_entropy_with_integer_labels(prediction, target.reshape(prediction.shape[:-1]))
    return optax.softmax_cross_entropy(prediction, target)


LOSSES: dict[str, Loss] = {
    "half_squared_error": half_squared_error,
    "mean_squared_error": mean_squared_error,
    "softmax_cross_entropy": softmax_cross_entropy,
}


def resolve_loss(loss: str | Loss) -> tuple[str, Loss]:
    """``(name, per-sample function)`` for a loss name or callable; a `LayerwiseError` for anything else."""
    if callable(loss):
        return getattr(loss, "__name__", type(loss).__name__), loss
    if isinstance(loss, str) and loss in LOSSES:
        return loss, LOSSES[loss]
    raise LayerwiseError(f"loss must be one of {', '.join(LOSSES)} or a callable loss(prediction, target) -> (n,); "
                         f"got {loss!r}")


def mean_loss(loss_fn: Loss, prediction: Array, target: Array, weight: Array | None = None) -> Array:
    """The (weighted) mean over samples of ``loss_fn``, checking its per-sample contract at trace time."""
    per_sample = loss_fn(prediction, target)
    if per_sample.shape != prediction.shape[:1]:
        raise LayerwiseError(f"a loss must return one value per sample, shape {prediction.shape[:1]}; "
                             f"{getattr(loss_fn, '__name__', loss_fn)!r} returned shape {per_sample.shape}")
    if weight is None:
        return jnp.mean(per_sample)
    return jnp.sum(weight * per_sample) / jnp.sum(weight)
