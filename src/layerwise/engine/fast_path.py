r"""The engine's fast path for tiny linear models: all runs stepped at once, the runs axis last.

Phase diagrams train thousands of *tiny* models (a 2-2-2 net, a diagonal net with 8 modes). On the generic path each
run is a ``vmap`` lane and a step is a handful of batched 2x2 ``dot_general``\ s, whose cost is per-op overhead, not
arithmetic. Here `train` keeps every param leaf as ``(*shape, R)`` (runs innermost and contiguous, so XLA fuses and
vectorises over them) and computes the gradient of the sufficient-statistics loss

``L = 1/2 tr(E Sxx E^T) - tr(E Syx^T) + 1/2 tr Syy``,  ``G = dL/dE = E (Sxx + Sxx^T)/2 - Syx``

explicitly, every small matrix product unrolled into elementwise multiply-adds over the runs axis:

* deep linear ``E = c W_L ... W_1``: ``dL/dW_l = c (W_L ... W_{l+1})^T G (W_{l-1} ... W_1)^T``;
* diagonal ``E_i = c prod_l a_li``: ``dL/da_li = c G_i prod_{k != l} a_ki``.

The optimiser is the named optax one (elementwise, so per-run hyperparameters ``(R,)`` broadcast over the trailing
runs axis). Steps run in blocks of `BLOCK` without a per-step finiteness check: params updated by
``optax.apply_updates`` (``p + u``) never return from inf/NaN to finite, so a block whose end is finite for every run
was finite at every step; otherwise the block is redone one step at a time and the step that goes non-finite is
settled by the engine's guard (`layerwise.engine.guard.accept_finite`), so the diverged step and the kept params are
exactly the generic path's. It is the same `train` call: the records (the engine's ``observe`` of each run), the end
of a segment and the divergence guard (`layerwise.engine.guard`), the statuses, the history and the checkpoints are
shared code; this program has its own ``lax.scan`` over segments and loop over steps, because its steps hold all runs
at once (runs last) instead of one ``vmap`` lane. Results equal the generic path's to rounding (float64: 1e-12
relative, checked for every registered model by ``tests/models``).

`train` takes this path by itself (``fast_path="auto"``) when `fast_path_blocker` finds nothing in the way and the
call is large enough to win back the longer compilation (`AUTO_MIN_RUN_STEPS`); ``fast_path=True`` forces it.

Example:
    >>> import jax
    >>> from layerwise import data, init
    >>> from layerwise.engine import train
    >>> from layerwise.models import DeepLinearNetwork
    >>> model = DeepLinearNetwork(widths=(2, 2, 2))
    >>> task = data.whitened_regression(jax.random.PRNGKey(0), 10, 2, 2)
    >>> params = jax.vmap(lambda k: init.gaussian_init(k, model, 0.5))(jax.random.split(jax.random.PRNGKey(1), 4))
    >>> fast = train(model, params, task, steps=100, learning_rate=0.05, fast_path=True)
    >>> generic = train(model, params, task, steps=100, learning_rate=0.05, fast_path=False)
    >>> bool(abs(fast.history.loss - generic.history.loss).max() < 1e-12), fast.history.attrs["fast_path"]
    (True, 1)
"""

from __future__ import annotations

import functools
import operator

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from layerwise.engine import optimizers as opt_lib
from layerwise.engine.guard import accept_finite, close_segment
from layerwise.errors import LayerwiseError
from layerwise.models import DeepLinearNetwork, DiagonalLinearNetwork

MAX_WIDTH = 8
"""Largest width (input, hidden, output, or number of modes) the fast path unrolls; wider models take the generic
path, whose matmuls then pay off (the unrolled products grow as width^3)."""

BLOCK = 16
"""Steps per block between finiteness checks."""

AUTO_MIN_RUN_STEPS = 4_000_000
"""``fast_path="auto"`` takes the fast path from this many run·steps per call on: its program takes longer to
compile than the generic one (measured: about 1.5x), which a smaller call does not win back."""


def fast_path_blocker(model, optimizer, statistics: bool) -> str | None:
    """What the fast path needs that this request lacks (None when it applies)."""
    if not isinstance(model, (DeepLinearNetwork, DiagonalLinearNetwork)):
        return f"a DeepLinearNetwork or DiagonalLinearNetwork (got {type(model).__name__})"
    widths = model.widths if isinstance(model, DeepLinearNetwork) else (model.dim,)
    if max(widths) > MAX_WIDTH:
        return f"every width <= {MAX_WIDTH} (got {tuple(widths)})"
    if not statistics:
        return "training from sufficient statistics (loss='half_squared_error', full batch, no sampler)"
    if not isinstance(optimizer, str):
        return f"a named optimizer ({', '.join(opt_lib.OPTIMIZERS)}: elementwise), not an optax transformation"
    if len(jax.local_devices()) > 1:
        return "a single device (the runs axis is not sharded on the fast path)"
    return None


def use_fast_path(fast_path, model, optimizer, statistics: bool, run_steps: int) -> bool:
    """Whether `train` takes the fast path for ``fast_path`` (``"auto"``: where it applies and the call has at least
    `AUTO_MIN_RUN_STEPS` runs x steps; True; False); a `LayerwiseError` when ``fast_path=True`` cannot be honoured."""
    if not (isinstance(fast_path, bool) or (isinstance(fast_path, str) and fast_path == "auto")):
        raise LayerwiseError(f"fast_path must be 'auto', True or False; got {fast_path!r}")
    if fast_path is False:
        return False
    blocker = fast_path_blocker(model, optimizer, statistics)
    if blocker is not None and fast_path is True:
        raise LayerwiseError(f"fast_path=True needs {blocker}; pass fast_path='auto' or False")
    return blocker is None and (fast_path is True or run_steps >= AUTO_MIN_RUN_STEPS)


def _total(terms):
    return functools.reduce(operator.add, terms)


def contract(a, b, a_axis: int, b_axis: int):
    """``sum_k a[.., k, ..] b[.., k, ..]`` of two ``(p, q, R)`` arrays over ``a_axis`` of ``a`` and ``b_axis`` of
    ``b``, unrolled (elementwise multiply-adds over the runs axis); the result is ``(a's other axis, b's other axis,
    R)``. ``contract(a, b, 1, 0)`` is the per-run product ``a b``, ``(a, b, 0, 0)`` is ``a^T b``."""
    return _total([jnp.take(a, k, axis=a_axis)[:, None] * jnp.take(b, k, axis=b_axis)[None, :]
                   for k in range(a.shape[a_axis])])


def _chain(matrices):
    """``M_n ... M_1`` of ``(M_1, ..., M_n)`` (runs last), or None for an empty chain."""
    return functools.reduce(lambda acc, m: contract(m, acc, 1, 0), matrices[1:], matrices[0]) if matrices else None


def runs_last_statistics_gradient(model, params, statistics):
    r"""``dL/dparams`` of the sufficient-statistics loss for all runs (every leaf ``(*shape, R)``); ``statistics``
    is ``(Sxx_sym, Syx)`` runs last (``(d, d, R or 1)``, ``(m, d, R or 1)``). The same gradient as
    `layerwise.engine.statistics_gradient` (one run, vmapped by the generic path), with every product unrolled over
    the trailing runs axis."""
    symmetric, cross = statistics
    scale = model.output_scale
    if isinstance(model, DiagonalLinearNetwork):
        depth = params.shape[0]
        end_to_end = scale * _total_product([params[l] for l in range(depth)])[None]
        residual = _times_covariance(end_to_end, symmetric) - cross  # (1, dim, R)
        return jnp.stack([scale * residual[0] * _total_product([params[k] for k in range(depth) if k != l] or
                                                               [jnp.ones_like(params[0])]) for l in range(depth)])
    layers = tuple(params)
    end_to_end = scale * _chain(layers)
    residual = _times_covariance(end_to_end, symmetric) - cross  # (m, d, R)
    gradients = []
    for l in range(len(layers)):
        after, before = _chain(layers[l + 1:]), _chain(layers[:l])
        g = residual if after is None else contract(after, residual, 0, 0)
        g = g if before is None else contract(g, before, 1, 1)
        gradients.append(scale * g)
    return tuple(gradients)


def _times_covariance(end_to_end, symmetric):
    """``E Sxx_sym`` per run; one matmul over all runs when every run shares the covariance."""
    if symmetric.shape[-1] == 1:
        return jnp.einsum("oir,ij->ojr", end_to_end, symmetric[..., 0])
    return contract(end_to_end, symmetric, 1, 0)


def _total_product(factors):
    return functools.reduce(operator.mul, factors)


def runs_last(tree):
    """Every leaf's leading runs axis moved last."""
    return jax.tree_util.tree_map(lambda leaf: jnp.moveaxis(leaf, 0, -1), tree)


def runs_first(tree):
    """The inverse of `runs_last` (0-d leaves, e.g. a step count shared by all runs, stay as they are)."""
    return jax.tree_util.tree_map(lambda leaf: jnp.moveaxis(leaf, -1, 0) if jnp.ndim(leaf) else leaf, tree)


def _keep(ok, new, old):
    # Leaves without a runs axis (the optimiser's step count, shared by all runs) advance for every run.
    return jax.tree_util.tree_map(lambda n, o: jnp.where(ok, n, o) if jnp.ndim(n) else n, new, old)


def _finite(params):
    """(R,) bool: every entry of the run's params is finite (runs last)."""
    leaves = jax.tree_util.tree_leaves(params)
    return functools.reduce(operator.and_, [jnp.all(jnp.isfinite(leaf), axis=tuple(range(leaf.ndim - 1)))
                                            for leaf in leaves])


def _run_steps(optimizer, gradient, carry, start, stop):
    """Steps ``start .. stop - 1`` as blocks of up to `BLOCK` unguarded steps. A block after which some run that had
    not diverged holds a non-finite param is retried one step at a time from its start; a single step that goes
    non-finite is settled by the engine's guard (`accept_finite`). One loop body steps every block."""
    def unguarded(step, carry):
        p, state, diverged, order = carry
        updates, new_state = optimizer.update(gradient(p), state, p)
        active = diverged < 0
        return _keep(active, optax.apply_updates(p, updates), p), _keep(active, new_state, state), diverged, order

    def block(loop):
        carry, first, size = loop
        stepped = jax.lax.fori_loop(first, first + size, unguarded, carry)
        clean = jnp.all(_finite(stepped[0]) | (carry[2] >= 0))
        outcome = jnp.where(clean, 0, jnp.where(size > 1, 1, 2))  # accept / retry step by step / settle one step
        carry = jax.lax.switch(outcome, [
            lambda: stepped, lambda: carry,
            lambda: accept_finite(stepped[:2], carry, first, _finite, _keep)])
        first = jnp.where(outcome == 1, first, first + size)
        return carry, first, jnp.where(outcome == 1, 1, jnp.minimum(BLOCK, stop - first))

    loop = (carry, start, jnp.minimum(BLOCK, stop - start))
    return jax.lax.while_loop(lambda loop: loop[1] < stop, block, loop)[0]


@eqx.filter_jit
def train_fast_compiled(params, task, hyper, keys, segments, model, carry=None, fresh=None, *, optimizer, loss,
                        observables, batch_size, statistics, task_batched, model_batched, init_only=False):
    """The fast path's program, with the signature of the generic one (so `layerwise.engine.checkpoint` runs it in
    chunks the same way); its carry holds params and optimiser state runs last."""
    from layerwise.engine.train import observe, start_or_continue  # the engine's own (import cycle)

    runs = keys.shape[0]
    expand = (lambda a: jnp.moveaxis(a, 0, -1)) if task_batched else (lambda a: a[..., None])
    sxx, syx = expand(task.input_covariance), expand(task.cross_covariance)
    symmetric = 0.5 * (sxx + jnp.swapaxes(sxx, 0, 1))
    # A batched model's output_scale is (R,): it broadcasts over the trailing runs axis as it is.
    gradient = functools.partial(runs_last_statistics_gradient, model, statistics=(symmetric, syx))

    def observe_all(p):
        one = lambda p, task, model: observe(model, p, task, observables, loss, statistics)  # noqa: E731
        return eqx.filter_vmap(one, in_axes=(0, 0 if task_batched else None, 0 if model_batched else None))(
            runs_first(p), task, model)

    def segment(carry, bounds):
        start, stop = bounds
        carry = _run_steps(optimizer, gradient, carry, start, stop)
        values, diverged = jax.vmap(close_segment, in_axes=(0, 0, None))(observe_all(carry[0]), carry[2], stop)
        return (carry[0], carry[1], diverged, carry[3]), values

    def first_carry():
        p = runs_last(params)
        return (p, opt_lib.set_hyperparams(optimizer.init(p), hyper), jnp.full((runs,), -1),
                jnp.zeros((runs, 0), dtype=int))

    carry = start_or_continue(first_carry, carry, fresh)
    if init_only:
        return carry
    carry, records = jax.lax.scan(segment, carry, segments)
    return carry, jax.tree_util.tree_map(lambda r: jnp.moveaxis(r, 0, 1), records)
