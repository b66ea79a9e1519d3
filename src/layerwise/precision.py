"""Double precision on demand: layerwise never changes JAX's float64 setting on import.

Its closed forms are checked against the exact flow to ~1e-10, which needs float64; call `enable_x64()` once (the
CLI does), or use it as a context manager around a block, which restores the previous setting on exit.
"""

from __future__ import annotations

import jax


class enable_x64:  # noqa: N801  (used like a function, as jax.config.update)
    """Switch JAX's float64 (``jax_enable_x64``) on; as a context manager, only inside the ``with`` block.

    Example:
        >>> import layerwise as lw
        >>> with lw.enable_x64():
        ...     ...                       # float64 here
        >>> lw.enable_x64()               # float64 from now on  # doctest: +SKIP
    """

    def __init__(self, enabled: bool = True):
        self._previous = bool(jax.config.jax_enable_x64)
        jax.config.update("jax_enable_x64", bool(enabled))

    def __enter__(self) -> "enable_x64":
        return self

    def __exit__(self, *exc) -> None:
        jax.config.update("jax_enable_x64", self._previous)


def x64_enabled() -> bool:
    """Whether JAX creates float64 arrays by default now."""
    return bool(jax.config.jax_enable_x64)
