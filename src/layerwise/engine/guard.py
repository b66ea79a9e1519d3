"""The divergence guard every `train` path shares: one optimiser step that keeps a diverged run's last finite state,
and the end of a recording segment (a non-finite loss marks the run; records after divergence are NaN).

A run *diverges* at the first step whose new params are not all finite; from then on it keeps its last finite
params and optimiser state (no NaN spreads) and remembers the step. The generic path applies this per run under
``vmap`` (``finite`` a scalar); the fast path (`layerwise.engine.fast_path`) to all runs at once with the runs axis
last (``finite`` an ``(R,)`` vector).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def keep_where(ok, new, old):
    """``new`` where ``ok`` else ``old``, leaf by leaf (``ok`` broadcasts against the trailing axis)."""
    return jax.tree_util.tree_map(lambda n, o: jnp.where(ok, n, o), new, old)


def guarded_step(optimizer, gradient, carry, step, finite, keep=keep_where):
    """One optimiser step of ``carry = (params, state, diverged, order)`` with the divergence guard: ``finite(params)``
    says which runs' new params are all finite, ``keep(ok, new, old)`` keeps the old state of the others."""
    p, state, diverged, order = carry
    updates, new_state = optimizer.update(gradient, state, p)
    return accept_finite((optax.apply_updates(p, updates), new_state), carry, step, finite, keep)


def accept_finite(stepped, carry, step, finite, keep=keep_where):
    """The carry after step ``step`` took ``carry`` to new ``stepped = (params, state)``: runs whose new params are
    all finite (and that had not diverged) take them; the others keep their old ones and, if they had not diverged
    before, diverged at ``step + 1``."""
    (new_p, new_state), (p, state, diverged, order) = stepped, carry
    ok = finite(new_p) & (diverged < 0)
    return keep(ok, new_p, p), keep(ok, new_state, state), jnp.where((diverged < 0) & ~ok, step + 1, diverged), order


def close_segment(values: dict, diverged, stop):
    """At a segment's end: a run whose recorded loss is not finite diverged at ``stop``; a diverged run's records are
    NaN. Returns ``(values, diverged)``."""
    diverged = jnp.where((diverged < 0) & ~jnp.isfinite(values["loss"]), stop, diverged)
    return jax.tree_util.tree_map(lambda v: jnp.where(diverged >= 0, jnp.nan, v), values), diverged
