r"""What a model offers: the small abstract contract the engine, the inits and the metrics dispatch on.

A model is an `equinox.Module`: its *structure* (widths, depth, activation) is static, its non-trainable
hyperparameters (an output scale) are array leaves, so one compiled program serves every value of them and
``train(..., model_batched=True)`` can give each run its own. Trainable parameters are a separate ``params`` pytree
(one run's, or with a leading runs axis on every leaf for a batch).

Every model implements:

* ``apply(params, x) -> (n, out_dim)`` for inputs ``x`` of shape ``(n, in_dim)`` (integer tokens for embeddings);
* ``layers(params) -> tuple`` of per-layer parameter pytrees, input layer first, and ``from_layers(layers)``, its
  inverse (conserved imbalances, per-layer rescaling and weight changes are defined layer by layer);
* ``param_shapes()``: the shapes of one run's params, as a pytree with the params' structure;
* ``init(key, init_scale=1.0, *, parameterisation="standard", dtype=None)``: i.i.d. Gaussian params of one run.

A `LinearModel` also has ``end_to_end(params) -> (out_dim, in_dim)``, the matrix ``W`` with ``f(x) = W x``: the
engine then trains it from the task's sufficient statistics, and every linear-network theory applies to it.
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from layerwise import _random
from layerwise.errors import LayerwiseError


def default_float():
    """The floating dtype JAX creates by default now: float64 with ``jax_enable_x64``, float32 without."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def as_hyperparameter(value) -> Array:
    """A non-trainable hyperparameter as an array leaf (weakly typed for Python numbers, so it keeps the params'
    dtype)."""
    return value if isinstance(value, jax.Array) else jnp.asarray(value)


def check_positive_leaf(name: str, value) -> None:
    """`LayerwiseError` unless every entry of a concrete hyperparameter is finite and > 0 (tracers pass)."""
    if isinstance(value, jax.core.Tracer):
        return
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array) & (array > 0)):
        raise LayerwiseError(f"{name} must be finite and > 0, got {np.asarray(value).tolist()!r}")


def check_widths(name: str, widths) -> tuple[int, ...]:
    """``widths`` as a tuple of >= 2 positive ints, or a `LayerwiseError` naming it."""
    try:
        widths = tuple(widths)
    except TypeError:
        widths = ()
    if len(widths) < 2 or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
        raise LayerwiseError(f"{name} must be a sequence of at least 2 positive integers (d_in, ..., d_out), got "
                             f"{widths!r}")
    return tuple(int(w) for w in widths)


class Model(eqx.Module):
    """Abstract base of every layerwise model (see the module docstring for the contract)."""

    @abc.abstractmethod
    def apply(self, params, x: Array) -> Array:
        """Outputs ``(n, out_dim)`` of one run's ``params`` on inputs ``x`` ``(n, in_dim)``."""

    @abc.abstractmethod
    def layers(self, params) -> tuple:
        """One run's params split into layers, input layer first."""

    @abc.abstractmethod
    def from_layers(self, layers) -> Any:
        """The params whose `layers` are ``layers`` (the inverse of `layers`)."""

    @abc.abstractmethod
    def param_shapes(self) -> Any:
        """Shapes of one run's params, as a pytree of tuples with the params' structure."""

    @abc.abstractmethod
    def init(self, key: Array, init_scale=1.0, *, parameterisation: str = "standard", dtype=None) -> Any:
        """I.i.d. Gaussian params of one run: ``N(0, init_scale^2)`` or ``N(0, init_scale^2 / fan_in)``
        (``"fan_in"``). The engine and `layerwise.init.gaussian_init` pass ``init_scale`` by position."""

    def example_inputs(self, key: Array, n: int, dtype=None) -> Array:
        """``n`` random inputs of the kind the model takes (standard normal ``(n, in_dim)`` by default), for
        tests and docs."""
        return _random.normal(key, (n, self.in_dim), dtype or default_float())

    def check_params(self, params, *, runs: int | None = None, name: str = "params") -> None:
        """`LayerwiseError` unless ``params`` has this model's structure and shapes (with a leading runs axis of
        size ``runs`` on every leaf when ``runs`` is given). The message names the leaf, the expected shape and the
        shape given."""
        expected = self.param_shapes()
        expected_leaves, expected_tree = jax.tree_util.tree_flatten(expected, is_leaf=_is_shape)
        leaves, tree = jax.tree_util.tree_flatten(params)
        if tree.num_leaves != expected_tree.num_leaves:
            raise LayerwiseError(f"{name} must have the structure of {type(self).__name__}.param_shapes() "
                                 f"({expected_tree.num_leaves} arrays), got {tree.num_leaves} arrays")
        paths = [jax.tree_util.keystr(path) for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
        for path, leaf, shape in zip(paths, leaves, expected_leaves):
            want = tuple(shape) if runs is None else (runs, *shape)
            got = tuple(np.shape(leaf))
            if got != want:
                what = "(runs, *shape)" if runs is not None else "shape"
                raise LayerwiseError(f"{name}{path} must have {what} {want} for {type(self).__name__}, got {got}")


class TokenModel(Model):
    """Base of models whose inputs are integer token sequences ``(n, context)`` over ``vocab_size`` tokens, with
    params a tuple of layers (subclasses have fields ``vocab_size`` and ``context``)."""

    def layers(self, params) -> tuple:
        return tuple(params)

    def from_layers(self, layers) -> tuple:
        return tuple(layers)

    def example_inputs(self, key: Array, n: int, dtype=None) -> Array:
        """``n`` random token sequences, integers in ``[0, vocab_size)``, shape (n, context)."""
        return jax.random.randint(key, (n, self.context), 0, self.vocab_size)


class LinearModel(Model):
    """A model whose output is linear in its input: ``f(x) = W x`` with ``W = end_to_end(params)``."""

    @abc.abstractmethod
    def end_to_end(self, params) -> Array:
        """The map ``W`` (out_dim, in_dim) with ``f(x) = W x``."""

    def apply(self, params, x: Array) -> Array:
        return x @ self.end_to_end(params).T


def _is_shape(node) -> bool:
    return isinstance(node, tuple) and all(isinstance(n, (int, np.integer)) for n in node)
