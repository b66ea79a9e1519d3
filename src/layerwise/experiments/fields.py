"""Declared config constraints: the field types experiment configs are built from (pydantic validates them).

A config is a `config_dataclass`: strict types (TOML types only; no string -> number coercion; an int is accepted
for a float), unknown keys refused, frozen, and each field's docstring kept as its description (shown by
``layerwise run NAME --help`` and ``--print-config``). A rule that a bound cannot state, on one field or on a field
and the fields declared above it, is declared on the field too, with `rule`.

Example:
    >>> Sizes = rule(tuple[Count, ...], "increasing", lambda sizes: list(sizes) == sorted(set(sizes)))
    >>> @config_dataclass
    ... class Sketch:
    ...     width: Count = 4
    ...     sizes: Sizes = (1, 2)
    ...     depth: rule(Count, lambda width: f"<= width ({width})", lambda depth, width: depth <= width,
    ...                 needs=("width",)) = 2
    >>> import pydantic
    >>> try:
    ...     Sketch(width=1)
    ... except pydantic.ValidationError as error:
    ...     print(one_line(error, "sketch"))
    config key 'depth' must be <= width (1), got 2
"""

from __future__ import annotations

from typing import Annotated, Any, Callable

import pydantic
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

config_dataclass = pydantic.dataclasses.dataclass(
    frozen=True, config=pydantic.ConfigDict(strict=True, extra="forbid", use_attribute_docstrings=True))
"""Decorator for experiment configs."""

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Seed = Annotated[int, Field(ge=0, lt=2**32)]
"""A seed: the first of ``seeds`` consecutive seeds (see `layerwise.seeds`)."""
Count = Annotated[int, Field(ge=1, lt=2**31)]
PositiveFloats = Annotated[tuple[PositiveFloat, ...], Field(min_length=1)]
NonNegativeFloats = Annotated[tuple[NonNegativeFloat, ...], Field(min_length=1)]


def at_least(minimum: int):
    """An integer ``>= minimum`` (and below 2**31)."""
    return Annotated[int, Field(ge=minimum, lt=2**31)]


def _increasing(grid):
    if not grid[0] < grid[1]:
        raise ValueError(f"must be [start, stop, num] with start < stop, got {list(grid)}")
    return grid


Finite = Annotated[float, Field(allow_inf_nan=False)]
Grid = Annotated[tuple[Finite, Finite, at_least(2)], AfterValidator(_increasing)]
"""A grid ``[start, stop, num]`` (start < stop, num >= 2)."""
PositiveGrid = Annotated[tuple[PositiveFloat, PositiveFloat, at_least(2)], AfterValidator(_increasing)]
"""A grid ``[start, stop, num]`` of positive values."""


RULE_ERROR = "config_rule"
"""The pydantic error type of a broken `rule` (`one_line` writes it as ``config key 'NAME' must be ...``)."""


def rule(annotation, allowed: str | Callable[..., str], holds: Callable[..., bool], *, needs: tuple[str, ...] = ()):
    """``annotation`` whose values must also satisfy ``holds(value, *needed)``, ``needed`` being the values of the
    fields named in ``needs``; a broken rule reads ``config key 'NAME' must be ALLOWED, got VALUE``, where
    ``allowed`` is a text, or a function of the needed values giving one.

    Pydantic validates the fields in the order they are declared, so each of ``needs`` must be declared above the
    field. The field's default is validated too (``validate_default``): changing a needed field alone can break it.
    """

    def check(value: Any, info: pydantic.ValidationInfo) -> Any:
        known = info.data if needs else {}
        if any(name not in known for name in needs):
            return value  # a needed field failed its own check, which is the error reported
        needed = [known[name] for name in needs]
        if not holds(value, *needed):
            text = allowed(*needed) if callable(allowed) else allowed
            raise PydanticCustomError(RULE_ERROR, "{allowed}", {"allowed": text})
        return value

    return Annotated[annotation, Field(validate_default=True), AfterValidator(check)]


def is_validated(config_type) -> bool:
    """Whether ``config_type`` declares its constraints (a pydantic dataclass) rather than checking them by hand."""
    return pydantic.dataclasses.is_pydantic_dataclass(config_type)


def descriptions(config_type) -> dict[str, str]:
    """Field name -> its docstring (empty when it has none)."""
    if not is_validated(config_type):
        return {}
    return {name: (info.description or "") for name, info in config_type.__pydantic_fields__.items()}


_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="), "less_than": ("lt", "<"),
           "less_than_equal": ("le", "<=")}
_TYPES = {"float_type": "a number", "int_type": "an integer", "bool_type": "true or false", "string_type": "a string",
          "tuple_type": "a list", "finite_number": "a finite number", "int_from_float": "an integer"}


def one_line(error: pydantic.ValidationError, experiment: str) -> str:
    """The first problem of a pydantic ``ValidationError`` as one line naming the config key and what is allowed."""
    first = error.errors()[0]
    key = next((str(part) for part in first["loc"] if isinstance(part, str)), "config")
    given = first.get("input")
    kind, ctx = first["type"], first.get("ctx") or {}
    if kind == "unexpected_keyword_argument":
        return f"unknown config key {key!r} for {experiment}"
    if kind in _BOUNDS:
        name, symbol = _BOUNDS[kind]
        return f"config key {key!r} must be {symbol} {ctx[name]}, got {given!r}"
    if kind == RULE_ERROR:
        return f"config key {key!r} must be {first['msg']}, got {given!r}"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        wanted = "a non-empty list" if least == 1 else f"a list of at least {least} values"
        return f"config key {key!r} expects {wanted}, got {given!r}"
    if kind == "value_error":
        return f"config key {key!r}: {ctx.get('error', first['msg'])}" if key != "config" else str(ctx.get("error"))
    if kind in _TYPES:
        return f"config key {key!r} expects {_TYPES[kind]} (float, int, list ... as TOML), got {given!r}"
    return f"config key {key!r}: {first['msg'].lower()}, got {given!r}"
