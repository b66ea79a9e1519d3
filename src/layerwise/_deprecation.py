"""Renamed names that keep working for one release: the one mechanism for arguments, functions and config fields.

* `renamed_arguments` (a decorator): ``f(old=1)`` still works as ``f(new=1)`` and warns
  (`RenamedArgumentWarning`, a ``DeprecationWarning``) naming old -> new.
* `renamed_function`: an old public function name that calls the new function and warns; `replaced_function`:
  an old public function kept as it was (its result differs from its replacement's, e.g. in sign) that warns,
  naming the replacement and the difference.
* `reordered_arguments` (a decorator): a call in an old positional order that no call of the new signature can
  match (too many positional arguments, or one given twice) is re-bound by the old names and warns.
* `legacy_random_state`: an integer seed or a NumPy ``Generator`` given where a JAX key is now taken warns.
* `reinterpreted_argument`: an argument whose name now means another quantity, given in a case where only its old
  meaning applied (``solve(init="aligned", imbalance=C)``, now ``mode_imbalance=C``): the caller keeps the old
  meaning for one release, under the new name, and is warned naming it (never a silent change of sign).
* `renamed_fields` (a class decorator on an experiment config) declares the config's alias table (old -> new);
  `resolve_renamed_fields` applies it to the values of ``--set``, ``--grid``, TOML files, sweeps and
  ``Experiment.make_config``, warning once per old name (`RenamedFieldWarning`, a ``FutureWarning``, which the
  command line prints as one ``warning:`` line). The config keeps only the new name, so a saved config (TOML,
  ``data.nc``) always has the new one.
* `renamed_variables`: a Dataset written under old coordinate / variable names (an older ``data.nc``) read under
  the new ones (`layerwise.experiments.Experiment.renamed_variables` holds each experiment's table), warning once.

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
import inspect
import numbers
import warnings
from typing import Any, Callable

import numpy as np

from layerwise.errors import LayerwiseError

UNTIL = "the old name works until the next release"
RENAMED_FIELDS_ATTRIBUTE = "__renamed_fields__"


class RenamedArgumentWarning(DeprecationWarning):
    """A public function or argument was called by its old name."""


class RenamedFieldWarning(FutureWarning):
    """A config field or command-line flag was given by its old name (``--set``, ``--grid``, a TOML file, a sweep,
    Python, a flag such as ``solve --imbalance``), or a ``data.nc`` was written under old Dataset names."""


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


def _deprecated_wrapper(old_name: str, function: Callable, message: str, doc: str) -> Callable:
    """``function`` under its old public name ``old_name``, warning ``message`` (`RenamedArgumentWarning`) per call."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        warnings.warn(message, RenamedArgumentWarning, stacklevel=2)
        return function(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = old_name.rpartition(".")[2]
    wrapper.__doc__ = doc
    return wrapper


def renamed_function(old_name: str, new_name: str, function: Callable) -> Callable:
    """The function once public as ``old_name`` (e.g. ``"metrics.skill_strength"``), now ``new_name``: a wrapper
    that calls ``function`` and warns (`RenamedArgumentWarning`)."""
    return _deprecated_wrapper(old_name, function, f"{old_name} is renamed {new_name}; {UNTIL}",
                               f"Deprecated: the old name of `{new_name}` (warns; removed in the next release).")


def replaced_function(old_name: str, new_name: str, function: Callable, difference: str) -> Callable:
    """The old public function ``old_name`` kept with its own behaviour (``function``), warning
    (`RenamedArgumentWarning`) that ``new_name`` replaces it and how their results differ (``difference``), for a
    replacement that is not a plain rename (e.g. the opposite sign), so that no caller's numbers change silently."""
    return _deprecated_wrapper(
        old_name, function, f"{old_name} is deprecated; use {new_name}, which differs: {difference}; {UNTIL}",
        f"Deprecated: use `{new_name}`, which differs: {difference} (warns; removed in the next release).")


def reordered_arguments(*old_order: str) -> Callable[[Callable], Callable]:
    """Decorator: a call that does not bind to the new signature but binds when its positional arguments are named
    by ``old_order`` (the old positional order) is passed on by name, with a `RenamedArgumentWarning`.

    Only calls that are errors under the new signature are re-bound (more positional arguments than it takes, or
    an argument given both by position and by keyword), so no valid new call changes meaning. Apply it below
    `renamed_arguments`, so old keyword names are translated first.
    """

    def decorate(function: Callable) -> Callable:
        name = getattr(function, "__qualname__", getattr(function, "__name__", "function"))
        signature = inspect.signature(function)
        new_order = [p.name for p in signature.parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                signature.bind(*args, **kwargs)
            except TypeError:
                named = dict(zip(old_order, args))
                if len(args) > len(old_order) or set(named) & set(kwargs) or not _binds(signature, named, kwargs):
                    raise
                warnings.warn(f"{name}: positional order ({', '.join(old_order)}) is the old one; call "
                              f"{name}({', '.join(new_order)}, ...) and pass the rest by keyword; the old order "
                              "works until the next release", RenamedArgumentWarning, stacklevel=2)
                return function(**named, **kwargs)
            return function(*args, **kwargs)

        return wrapper

    return decorate


def _binds(signature: inspect.Signature, named: dict, kwargs: dict) -> bool:
    try:
        signature.bind(**named, **kwargs)
    except TypeError:
        return False
    return True


def legacy_random_state(function: str, value: Any, *, new: str = "key") -> bool:
    """Whether ``value``, given for ``function``'s JAX-key argument ``new``, is an old-style integer seed or NumPy
    ``Generator``; if so it warns (`RenamedArgumentWarning`) naming the new argument, and the caller keeps the old
    draws for one release."""
    if isinstance(value, np.random.Generator):
        kind = "a NumPy Generator"
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        kind = f"an integer seed (jax.random.PRNGKey({int(value)}) draws the same)"
    else:
        return False
    warnings.warn(f"{function}: {kind} for {new!r} is deprecated; pass a JAX key as {new!r}; the old "
                  "spelling works until the next release",
                  RenamedArgumentWarning, stacklevel=3)
    return True


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


def reinterpreted_argument(function: str, old: str, new: str, case: str, after: str, *,
                           category: type[Warning] = RenamedArgumentWarning, stacklevel: int = 3) -> None:
    """Warn that ``old``, given in ``case`` where it had a meaning now named ``new``, is read as ``new`` for one
    release; ``after`` says what ``old`` means from the next release (e.g. the opposite sign).

    For the command line pass the flags (``"--imbalance"``) and ``category=RenamedFieldWarning``, which it prints
    as one ``warning:`` line.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     reinterpreted_argument("solve", "imbalance", "mode_imbalance", "init='aligned'", "λ = -C")
        >>> print(caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
        solve: imbalance with init='aligned' is read as mode_imbalance (its old meaning); pass mode_imbalance
        instead: from the next release imbalance means λ = -C there
    """
    warnings.warn(f"{function}: {old} with {case} is read as {new} (its old meaning); pass {new} instead: from the "
                  f"next release {old} means {after} there", category, stacklevel=stacklevel)


def renamed_variables(dataset, old_to_new: dict[str, str], *, source: str = "this Dataset"):
    """``dataset`` (an ``xarray.Dataset``) with every old coordinate, dimension or variable name of ``old_to_new``
    renamed to its new one, and one `RenamedFieldWarning` listing them (none when the Dataset already has the new
    names). Values are untouched; a Dataset holding both an old name and its new one is a `LayerwiseError`."""
    names = set(dataset.variables) | set(dataset.dims)
    found = {old: new for old, new in old_to_new.items() if old in names}
    if not found:
        return dataset
    both = [old for old, new in found.items() if new in names]
    if both:
        raise LayerwiseError(f"{source} holds both {both[0]!r} and its new name {found[both[0]]!r}")
    listed = ", ".join(f"{old!r} -> {new!r}" for old, new in found.items())
    warnings.warn(f"{source} was written under old names, read as the new ones: {listed}; the old names are read "
                  "until the next release", RenamedFieldWarning, stacklevel=2)
    return dataset.rename(found)
