"""The engine: `train` (optax optimisers, ``lax.scan`` over steps, ``vmap`` over runs) and `gradient_flow` (the
exact flow, diffrax), with one result type carrying each run's `Status`. The only training loop in layerwise."""

from layerwise.engine.checkpoint import Checkpointer
from layerwise.engine.flow import gradient_flow
from layerwise.engine.losses import (
    LOSSES,
    half_squared_error,
    mean_squared_error,
    resolve_loss,
    softmax_cross_entropy,
)
from layerwise.engine.optimizers import OPTIMIZERS, make_optimizer
from layerwise.engine.records import even_record_steps, linear_record_steps, log_record_steps
from layerwise.engine.status import Status, TrainResult
from layerwise.engine.train import statistics_gradient, statistics_loss, task_loss, train

__all__ = [
    "Checkpointer",
    "LOSSES",
    "OPTIMIZERS",
    "Status",
    "TrainResult",
    "gradient_flow",
    "even_record_steps",
    "half_squared_error",
    "linear_record_steps",
    "log_record_steps",
    "make_optimizer",
    "mean_squared_error",
    "resolve_loss",
    "softmax_cross_entropy",
    "statistics_gradient",
    "statistics_loss",
    "task_loss",
    "train",
]
