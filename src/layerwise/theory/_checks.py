"""Boundary checks shared by the closed forms (private).

Every check names the function and the argument, says what is expected and (for concrete inputs) what was got, in
one line. Two regimes:

* concrete values (a plain call, or an unbatched argument under ``jax.vmap``): the check runs now, in numpy, and
  raises `LayerwiseError`;
* traced values (inside ``jax.jit``/``jax.vmap``): the check is attached with ``equinox.error_if`` and fails at run
  time with the same text in the message (JAX raises an ``EquinoxRuntimeError``/``JaxRuntimeError``, or a plain
  ``ValueError`` from the fast path of an already compiled function). The checked array
  is *returned*, and callers must use the returned array downstream, or XLA drops the check as dead code.

Shape and dtype checks are static (shapes and dtypes are known while tracing), so they always raise
`LayerwiseError`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from layerwise.errors import LayerwiseError

X64_HINT = "call layerwise.enable_x64() or jax.config.update('jax_enable_x64', True)"


def traced(*values) -> bool:
    """Whether any leaf of ``values`` is a JAX tracer (inside jit/vmap/grad)."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(values))


def x64_enabled() -> bool:
    """Whether JAX creates float64 arrays now (``jax_enable_x64``, including its context managers)."""
    return jnp.dtype(jnp.result_type(float)).itemsize >= 8


def require_float64(function: str, why: str, **arrays) -> None:
    """Raise `LayerwiseError` unless x64 is on and no floating input is narrower than float64.

    ``why`` says in a few words which accuracy needs float64 (it goes into the message).
    """
    if not x64_enabled():
        raise LayerwiseError(f"{function} needs float64 ({why}) but jax_enable_x64 is off: {X64_HINT}")
    for name, value in arrays.items():
        dtype = getattr(value, "dtype", None)
        if dtype is not None and jnp.issubdtype(dtype, jnp.floating) and jnp.dtype(dtype).itemsize < 8:
            raise LayerwiseError(
                f"{function} needs float64 ({why}): {name} has dtype {jnp.dtype(dtype).name}; pass float64 arrays "
                f"({X64_HINT})"
            )


def _got(value, bad) -> str:
    """``", got 3.0"`` / ``", got nan at index (1, 0)"`` for the first offending element."""
    if value is None or traced(value):
        return ""
    value = np.asarray(value)
    bad, value = np.broadcast_arrays(np.asarray(bad), value)
    if value.ndim == 0:
        return f", got {value.item()!r}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f", got {value[index].item()!r} at index {index}"


def check(x, bad, message: str, value=None):
    """Return ``x``; fail with ``message`` wherever ``bad`` is True (eagerly, or at run time when traced).

    ``value``: the array the message is about; its first offending element is quoted for concrete inputs.
    """
    if traced(bad):
        return eqx.error_if(x, bad, message)
    bad = np.asarray(bad)
    if np.any(bad):
        raise LayerwiseError(message + _got(value, bad))
    return x


def _values(x):
    """``(xp, v)``: jnp and ``x`` itself when traced, else numpy and ``x`` as a numpy array (host-side checks)."""
    return (jnp, x) if traced(x) else (np, np.asarray(x))


def values(*xs):
    """``(xp, [v, ...])`` to build a predicate from: jnp and the arrays themselves when any is traced, else numpy
    and numpy copies (so that concrete checks run on the host, without dispatching JAX ops)."""
    if traced(*xs):
        return jnp, list(xs)
    return np, [np.asarray(x) for x in xs]


def finite(function: str, name: str, x):
    """Check that every element of ``x`` is finite (no NaN, no inf)."""
    xp, v = _values(x)
    return check(x, ~xp.isfinite(v), f"{function}: {name} must be finite (no NaN or inf)", v)


def positive(function: str, name: str, x, *, allow_zero: bool = False, why: str = ""):
    """Check ``x > 0`` (``>= 0`` with ``allow_zero``) and finite; NaN fails. ``why`` is appended to the message."""
    xp, v = _values(x)
    ok = (v >= 0) if allow_zero else (v > 0)
    bound = ">= 0" if allow_zero else "> 0"
    return check(x, ~(ok & xp.isfinite(v)), f"{function}: {name} must be finite and {bound}{why}", v)


def nonzero(function: str, name: str, x, *, why: str = ""):
    """Check ``x != 0`` and finite."""
    xp, v = _values(x)
    return check(x, ~((v != 0) & xp.isfinite(v)), f"{function}: {name} must be finite and non-zero{why}", v)


def satisfies(function: str, name: str, x, ok, expected: str, value=None):
    """Check a condition ``ok`` (True = fine, an array) about argument ``x``; the message reads
    ``{function}: {name} must be {expected}`` and quotes the first offending element of ``value`` (default ``x``)."""
    ok = ok if traced(ok) else np.asarray(ok)
    return check(x, ~ok, f"{function}: {name} must be {expected}", x if value is None else value)


def as_array(function: str, name: str, x):
    """``jnp.asarray(x)`` (tracers pass through), refusing strings, objects and ragged lists with `LayerwiseError`."""
    if isinstance(x, jax.Array):
        array = x
    else:
        try:
            array = jnp.asarray(x)
        except (TypeError, ValueError) as error:
            raise LayerwiseError(f"{function}: {name} must be a numeric array, got {type(x).__name__}") from error
    if not (jnp.issubdtype(array.dtype, jnp.number) or array.dtype == jnp.bool_):
        raise LayerwiseError(f"{function}: {name} must be a numeric array, got dtype {array.dtype}")
    if jnp.issubdtype(array.dtype, jnp.complexfloating):
        raise LayerwiseError(f"{function}: {name} must be real, got dtype {array.dtype}")
    return array


def ndim(function: str, name: str, x, expected: int | tuple[int, ...], layout: str):
    """Check the number of axes of ``x`` (one int or the allowed ones); ``layout`` reads e.g. ``"(h, d)"``."""
    allowed = (expected,) if isinstance(expected, int) else tuple(expected)
    if x.ndim not in allowed:
        raise LayerwiseError(f"{function}: {name} must have shape {layout}, got shape {tuple(x.shape)}")
    return x


def min_ndim(function: str, name: str, x, minimum: int, layout: str):
    """Check that ``x`` has at least ``minimum`` axes."""
    if x.ndim < minimum:
        raise LayerwiseError(f"{function}: {name} must have shape {layout}, got shape {tuple(x.shape)}")
    return x


def broadcastable(function: str, **arrays) -> tuple[int, ...]:
    """The common broadcast shape of the named arrays, or `LayerwiseError` naming all their shapes."""
    return shapes_broadcast(function, **{name: tuple(jnp.shape(a)) for name, a in arrays.items()})


def shapes_broadcast(function: str, **shapes) -> tuple[int, ...]:
    """The common broadcast shape of the named shapes (tuples), or `LayerwiseError` naming all of them."""
    try:
        return tuple(jnp.broadcast_shapes(*shapes.values()))
    except ValueError:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise LayerwiseError(f"{function}: the shapes of {listed} do not broadcast together") from None


def positive_int(function: str, name: str, value, *, minimum: int = 1) -> int:
    """Check a static integer (Python or numpy int, not bool) ``>= minimum``; returns it as a Python int."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise LayerwiseError(f"{function}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def static_depth(function: str, depth) -> int:
    """Check a static depth: a Python int >= 1."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise LayerwiseError(f"{function}: depth must be a Python int >= 1, got {depth!r}")
    return depth
