r"""Gaussian draws and key splits that compile one program per size bucket instead of one per shape.

Each new shape passed to ``jax.random.normal`` or ``jax.random.split`` outside ``jit`` compiles a threefry hash of
its own (about a second each on a CPU, more than the tiny models it initialises take to train). With JAX's
partitionable threefry (``jax_threefry_partitionable``, the default), the bits drawn for an array are a function of
each element's flat index (the counter ``iota``), so a draw is the first elements of any longer draw from the same
key, bit for bit: ``normal(key, shape)`` is ``jax.random.normal(key, (B,))[:prod(shape)].reshape(shape)`` for any
``B >= prod(shape)``. Here ``B`` is a power of two of at least `SMALLEST_BUCKET`, so every small draw of a dtype
shares one compiled program; the values are exactly ``jax.random.normal``'s (inside ``jit`` or ``vmap`` too, where
the padding costs at most twice the draw). Without partitionable threefry or for typed keys the plain JAX call is
made.

Example:
    >>> import jax, numpy as np
    >>> key = jax.random.PRNGKey(0)
    >>> bool(np.array_equal(normal(key, (3, 5)), jax.random.normal(key, (3, 5))))
    True
    >>> bool(np.array_equal(split(key, 3), jax.random.split(key, 3)))
    True
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

SMALLEST_BUCKET = 1024
"""Draws of at most this many numbers share one compiled program (per dtype)."""
LARGEST_BUCKET = 1 << 20
"""Larger draws are made directly (padding them to a power of two would cost memory, not only compile time)."""


@functools.partial(jax.jit, static_argnums=(1, 2))
def _flat_normal(key: Array, size: int, dtype) -> Array:
    return jax.random.normal(key, (size,), dtype)


@functools.partial(jax.jit, static_argnums=(1,))
def _flat_split(key: Array, num: int) -> Array:
    return jax.random.split(key, num)


def _bucket(size: int) -> int | None:
    """The padded length of a draw of ``size`` numbers, or None when it is drawn directly."""
    if size == 0 or size > LARGEST_BUCKET:
        return None
    return max(SMALLEST_BUCKET, 1 << (size - 1).bit_length())


def _bucketed(key) -> bool:
    """Whether draws from ``key`` can take a bucket: partitionable threefry and a raw uint32 key."""
    return bool(jax.config.jax_threefry_partitionable) and not jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)


def _prefix(flat: Array, count: int, shape: tuple[int, ...]) -> Array:
    """The first ``count`` rows of ``flat`` as ``shape`` (on the host when concrete: no program per shape)."""
    if isinstance(flat, jax.core.Tracer):
        return flat[:count].reshape(shape)
    return jnp.asarray(np.asarray(flat)[:count].reshape(shape))


def normal(key: Array, shape, dtype=None) -> Array:
    """``jax.random.normal(key, shape, dtype)``, bit for bit, from one compiled program per size bucket."""
    shape = tuple(int(n) for n in shape)
    size = math.prod(shape)
    bucket = _bucket(size)
    if bucket is None or not _bucketed(key):
        return jax.random.normal(key, shape, dtype or float)
    dtype = jax.dtypes.canonicalize_dtype(dtype or float)
    return _prefix(_flat_normal(key, bucket, dtype), size, shape)


def split(key: Array, num: int = 2) -> Array:
    """``jax.random.split(key, num)``, bit for bit, from one compiled program per size bucket."""
    num = int(num)
    bucket = _bucket(2 * num)
    if bucket is None or not _bucketed(key):
        return jax.random.split(key, num)
    return _prefix(_flat_split(key, bucket // 2), num, (num, 2))
