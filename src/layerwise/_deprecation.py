"""Renamed names that keep working for one release: the one mechanism for arguments, functions and config fields.

* `renamed_arguments` (a decorator): ``f(old=1)`` still works as ``f(new=1)`` and warns
  (`RenamedArgumentWarning`, a ``DeprecationWarning``) naming old -> new.
* `renamed_function`: an old public function name that calls the new function and warns.
* `renamed_fields` (a class decorator on an experiment config) declares the config's alias table (old -> new);
  `resolve_renamed_fields` applies it to the values of ``--set``, ``--grid``, TOML files, sweeps and
  ``Experiment.make_config``, warning once per old name (`RenamedFieldWarning`, a ``FutureWarning``, which the
  command line prints as one ``warning:`` line). The config keeps only the new name, so a saved config (TOML,
  ``data.nc``) always has the new one.

Giving both the old and the new name of one argument or field is a `LayerwiseError`.

Example:
    >>> import warnings
    >>> @renamed_arguments(u0="init_scale")
    ... def mode(t, init_scale=1.0):
    ...     return t * init_scale
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     mode(2.0, u0=3.0)
    6.0
    >>> str(caught[0].message)
    "mode: argument 'u0' is renamed 'init_scale'; the old name works until the next release"
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Any, Callable

from layerwise.errors import LayerwiseError

UNTIL = "the old name works until the next release"
RENAMED_FIELDS_ATTRIBUTE = "__renamed_fields__"


class RenamedArgumentWarning(DeprecationWarning):
    """A public function or argument was called by its old name."""


class RenamedFieldWarning(FutureWarning):
    """A config field was given by its old name (``--set``, ``--grid``, a TOML file, a sweep or Python)."""


def renamed_arguments(**old_to_new: str) -> Callable[[Callable], Callable]:
    """Decorator: each keyword argument ``old`` is passed on as ``new``, with a `RenamedArgumentWarning`.

    The function's signature (``inspect.signature``, the API docs) shows the new names only; the table is kept as
    ``function.__renamed_arguments__``.
    """

    def decorate(function: Callable) -> Callable:
        name = getattr(function, "__qualname__", getattr(function, "__name__", "function"))

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise LayerwiseError(f"{name}: {old!r} is the old name of {new!r}; give {new!r} only")
                    warnings.warn(f"{name}: argument {old!r} is renamed {new!r}; {UNTIL}", RenamedArgumentWarning,
                                  stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        wrapper.__renamed_arguments__ = {**getattr(function, "__renamed_arguments__", {}), **old_to_new}
        return wrapper

    return decorate


def renamed_function(old_name: str, new_name: str, function: Callable) -> Callable:
    """The function once public as ``old_name`` (e.g. ``"metrics.skill_strength"``), now ``new_name``: a wrapper
    that calls ``function`` and warns (`RenamedArgumentWarning`)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        warnings.warn(f"{old_name} is renamed {new_name}; {UNTIL}", RenamedArgumentWarning, stacklevel=2)
        return function(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = old_name.rpartition(".")[2]
    wrapper.__doc__ = f"Deprecated: the old name of `{new_name}` (warns; removed in the next release)."
    return wrapper


def renamed_fields(**old_to_new: str) -> Callable[[type], type]:
    """Class decorator declaring an experiment config's alias table: ``@renamed_fields(weight_scales="init_scales")``
    above ``@config_dataclass``. Every new name must be a field and no old name may be one."""

    def decorate(config_type: type) -> type:
        fields = {field.name for field in dataclasses.fields(config_type)}
        for old, new in old_to_new.items():
            if new not in fields or old in fields:
                raise ValueError(f"{config_type.__name__}: renamed field {old!r} -> {new!r} needs {new!r} to be a "
                                 f"field and {old!r} not to be one")
        table = {**getattr(config_type, RENAMED_FIELDS_ATTRIBUTE, {}), **old_to_new}
        setattr(config_type, RENAMED_FIELDS_ATTRIBUTE, table)
        return config_type

    return decorate


def field_aliases(config_type) -> dict[str, str]:
    """The alias table (old -> new) declared on ``config_type`` with `renamed_fields` (empty when none)."""
    return dict(getattr(config_type, RENAMED_FIELDS_ATTRIBUTE, {}))


def resolve_renamed_fields(config_type, values: dict[str, Any], *, experiment: str = "") -> dict[str, Any]:
    """``values`` with each old field name replaced by its new one (the order kept), warning once per old name
    (`RenamedFieldWarning`); a `LayerwiseError` when a field is given under both names."""
    table = field_aliases(config_type)
    resolved: dict[str, Any] = {}
    where = f" for {experiment}" if experiment else ""
    for key, value in values.items():
        new = table.get(key)
        if new is None:
            resolved[key] = value
            continue
        if new in values:
            raise LayerwiseError(f"config key {key!r} is the old name of {new!r}{where}; give {new!r} only")
        warnings.warn(f"config key {key!r}{where} is renamed {new!r}; {UNTIL}", RenamedFieldWarning, stacklevel=3)
        resolved[new] = value
    return resolved
