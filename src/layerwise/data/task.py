"""A supervised task: inputs, targets and, for linear models with squared error, their sufficient statistics."""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from layerwise.errors import LayerwiseError

Sampler = Callable[[Array, int], tuple[Array, Array]]


class Task(eqx.Module):
    r"""Inputs ``x`` (n, d) and targets ``y`` (n, m), plus the moments that fully determine a linear model's MSE.

    For any linear map ``W`` (m, d), ``L(W) = 1/(2n) ||X W^T - Y||_F^2``
    ``= 1/2 tr(W Sigma_xx W^T) - tr(W Sigma_yx^T) + 1/2 tr Sigma_yy`` with
    ``Sigma_xx = X^T X / n`` (d, d), ``Sigma_yx = Y^T X / n`` (m, d), ``tr Sigma_yy = ||Y||_F^2 / n`` (scalar).
    So a linear model's loss and gradient never need the samples (measured on a 2-core machine: about 6-7x faster
    than the data path at n = 500 and about 70x at n = 5,000, ``benchmarks/README.md``).

    A *population* task (``x = y = None``) is defined by its moments alone (an infinite data set). An *online* task
    has a ``sampler(key, batch_size, *sampler_args) -> (x, y)`` drawing fresh samples; ``x``, ``y`` then hold a fixed
    evaluation set. ``sampler_args`` are arrays the sampler reads (``()`` by default): in a batch of tasks they carry
    one value per run (e.g. each run's data-set size), so runs that differ only in them share one compiled program.
    Tasks are pytrees, so a batch of tasks (one per run, e.g. targets ``Y/s``) is a Task with a leading run axis.
    """

    input_covariance: Array
    cross_covariance: Array
    output_second_moment: Array
    x: Array | None = None
    y: Array | None = None
    sampler: Sampler | None = eqx.field(static=True, default=None)
    sampler_args: tuple = ()

    @classmethod
    def from_samples(cls, x: Array, y: Array, sampler: Sampler | None = None, sampler_args: tuple = ()) -> "Task":
        """Task from samples ``x`` (n, d) and ``y`` (n, m) (a 1-D ``y`` is read as one output); ``sampler`` and its
        ``sampler_args`` (arrays) draw the training batches when given."""
        x = jnp.asarray(x)
        y = jnp.asarray(y)
        if y.ndim == 1:
            y = y[:, None]
        if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
            raise LayerwiseError(f"x must be (n, d) and y (n, m) with the same n; got {x.shape} and {y.shape}")
        input_covariance, cross_covariance, output_second_moment = _sample_moments(x, y)
        return cls(
            input_covariance=input_covariance,
            cross_covariance=cross_covariance,
            output_second_moment=output_second_moment,
            x=x,
            y=y,
            sampler=sampler,
            sampler_args=tuple(jnp.asarray(arg) for arg in sampler_args),
        )

    @classmethod
    def from_statistics(cls, input_covariance, cross_covariance, output_second_moment) -> "Task":
        """Population task from ``Sigma_xx`` (d, d), ``Sigma_yx`` (m, d) and ``tr Sigma_yy`` (scalar)."""
        sxx = jnp.asarray(input_covariance)
        syx = jnp.asarray(cross_covariance)
        if sxx.ndim != 2 or sxx.shape[0] != sxx.shape[1] or syx.ndim != 2 or syx.shape[1] != sxx.shape[0]:
            raise LayerwiseError(
                f"input_covariance must be (d, d) and cross_covariance (m, d); got {sxx.shape} and {syx.shape}"
            )
        return cls(sxx, syx, jnp.asarray(output_second_moment, dtype=sxx.dtype))

    @property
    def in_dim(self) -> int:
        return self.input_covariance.shape[-1]

    @property
    def out_dim(self) -> int:
        return self.cross_covariance.shape[-2]

    @property
    def n_samples(self) -> int | None:
        return None if self.x is None else self.x.shape[-2]

    def scale_targets(self, factor) -> "Task":
        """The same inputs with targets ``factor * y`` (moments rescaled exactly, no re-computation)."""
        factor = jnp.asarray(factor)
        return Task(
            self.input_covariance,
            factor * self.cross_covariance,
            factor**2 * self.output_second_moment,
            self.x,
            None if self.y is None else factor * self.y,
            self.sampler,
            self.sampler_args,
        )


@jax.jit
def _sample_moments(x: Array, y: Array) -> tuple[Array, Array, Array]:
    """``X^T X / n``, ``Y^T X / n`` and ``sum(Y * Y) / n`` as one compiled program (three eager products and their
    divisions would compile one program each per new shape)."""
    n = x.shape[0]
    return x.T @ x / n, y.T @ x / n, jnp.sum(y * y) / n


def stack_runs(trees):
    """Pytrees of equal shapes (one per run: params, tasks, ...) stacked leaf by leaf on a new leading runs axis, on
    the host (NumPy arrays: eager ``jnp.stack`` would compile a program per leaf shape); traced leaves with
    ``jnp.stack``."""
    def stack(*leaves):
        if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
            return jnp.stack(leaves)
        return np.stack([np.asarray(leaf) for leaf in leaves])

    return jax.tree_util.tree_map(stack, *trees)


def stack_tasks(tasks) -> "Task":
    """Tasks of equal shapes stacked leaf by leaf into one batched task (for ``task_batched=True``)."""
    return jax.tree_util.tree_map(jnp.asarray, stack_runs(tasks))
