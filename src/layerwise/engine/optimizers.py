r"""Optimisers: any `optax.GradientTransformation`, with names for the common ones.

Per-run hyperparameters (a learning-rate sweep in one compiled call) live in the optimiser state of
`optax.inject_hyperparams`: the engine initialises each run's state and writes that run's values into
``state.hyperparams``. The named optimisers are built that way, so a sweep over the learning rate, weight decay or
Adam's betas never recompiles.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import optax

from layerwise.errors import LayerwiseError, check_choice, check_positive

OPTIMIZERS = ("gd", "sgd", "momentum", "adam", "adamw")
OPTIONS = {"gd": (), "sgd": (), "momentum": ("momentum",), "adam": ("b1", "b2", "eps"), "adamw": ("b1", "b2", "eps")}
"""The ``optimizer_options`` each named optimiser uses (besides ``learning_rate`` and ``weight_decay``)."""
DEFAULTS = {"momentum": 0.9, "b1": 0.9, "b2": 0.999, "eps": 1e-8}


def make_optimizer(
    name: str = "gd", learning_rate=1e-2, weight_decay=0.0, momentum=0.9, b1=0.9, b2=0.999, eps=1e-8
) -> optax.GradientTransformation:
    r"""An optax optimiser by name.

    * ``"gd"``/``"sgd"``: ``theta <- theta - lr (grad + wd theta)`` (full batch or mini-batch is the engine's choice).
    * ``"momentum"``: heavy-ball SGD with ``momentum``, coupled weight decay.
    * ``"adam"``: Adam with *coupled* L2 weight decay added to the gradient, as ``torch.optim.Adam(weight_decay=wd)``
      (the authors' Fig. 11 setting).
    * ``"adamw"``: Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    Hyperparameters may be JAX tracers.

    Example:
        >>> optimizer = make_optimizer("adam", learning_rate=1e-3, weight_decay=1e-4)
    """
    check_choice("optimizer", name, OPTIMIZERS)
    for field, value in (("learning_rate", learning_rate), ("weight_decay", weight_decay)):
        if not isinstance(value, jax.core.Tracer) and np.ndim(value) == 0:
            check_positive(field, value, allow_zero=field == "weight_decay")
    coupled_decay = optax.add_decayed_weights(weight_decay)
    if name in ("gd", "sgd"):
        return optax.chain(coupled_decay, optax.sgd(learning_rate))
    if name == "momentum":
        return optax.chain(coupled_decay, optax.sgd(learning_rate, momentum=momentum))
    if name == "adam":
        return optax.chain(coupled_decay, optax.adam(learning_rate, b1=b1, b2=b2, eps=eps))
    return optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay)


@functools.lru_cache(maxsize=None)
def named_optimizer(name: str) -> optax.GradientTransformation:
    """The named optimiser with every hyperparameter injected (one object per name, so compiled programs are reused
    across calls); the engine sets each run's values in its state."""
    hyper = {"learning_rate": 1e-2, "weight_decay": 0.0, **{key: DEFAULTS[key] for key in OPTIONS[name]}}
    return optax.inject_hyperparams(functools.partial(make_optimizer, name))(**hyper)


def check_options(name: str, options) -> None:
    """`LayerwiseError` for an ``optimizer_options`` key the named optimiser does not use."""
    for key in options:
        if key not in OPTIONS[name]:
            allowed = ", ".join(OPTIONS[name]) or "none"
            raise LayerwiseError(f"optimizer_options key {key!r} is not used by optimizer {name!r}; allowed: {allowed}")


def injected_names(optimizer: optax.GradientTransformation, params) -> tuple[str, ...]:
    """The hyperparameters ``optimizer`` keeps in its state (empty unless it is an ``optax.inject_hyperparams``)."""
    state = jax.eval_shape(optimizer.init, params)
    return tuple(getattr(state, "hyperparams", {}) or ())


def set_hyperparams(state, values: dict):
    """``state`` with ``state.hyperparams`` updated from ``values`` (one run's scalars, in the params' dtype)."""
    if not values:
        return state
    return state._replace(hyperparams={**state.hyperparams, **values})


def require_injected(names, optimizer, params) -> None:
    """`LayerwiseError` unless every per-run hyperparameter in ``names`` is injected into ``optimizer``'s state."""
    available = injected_names(optimizer, params)
    missing = [name for name in names if name not in available]
    if missing:
        raise LayerwiseError(
            f"per-run hyperparameters {', '.join(missing)} need an optimizer built with "
            f"optax.inject_hyperparams(...)(...) as the outermost transformation; this one injects "
            f"{', '.join(available) or 'none'}")
