"""Experiment configs from defaults, ``--quick``, TOML files and ``--set key=value``, validated at the boundary.

Values are TOML literals everywhere (``--set learning_rate=1e-3``, ``--set depths=[2,3]``, ``--set name="x"``; a bare
word is read as a string), so a TOML file and the command line are checked by the same code: unknown keys and
wrong types are one `LayerwiseError` line naming the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pydantic

from layerwise._deprecation import resolve_renamed_fields
from layerwise.errors import LayerwiseError
from layerwise.experiments.fields import descriptions, is_validated, one_line


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {_type_name(args[0])}"
        return f"[{', '.join(_type_name(a) for a in args)}]"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    return "none" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def coerce(key: str, value: Any, annotation) -> Any:
    """``value`` (a TOML value) as the field's type; a `LayerwiseError` naming ``key`` and the expected type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            if type(None) in typing.get_args(annotation):
                return None
        for option in typing.get_args(annotation):
            if option is type(None):
                continue
            try:
                return coerce(key, value, option)
            except LayerwiseError:
                continue
    elif origin is tuple:
        args = typing.get_args(annotation)
        items = value if isinstance(value, (list, tuple)) else [value]
        if len(args) == 2 and args[1] is Ellipsis:  # tuple[float, ...]: any length but zero
            if not items:  # no experiment takes an empty list (their checks take min/max of them)
                raise LayerwiseError(f"config key {key!r} expects a non-empty list of {_type_name(args[0])}, got []")
            return tuple(coerce(key, item, args[0]) for item in items)
        if len(items) == len(args):  # tuple[float, float, int]: fixed length, one type per position
            return tuple(coerce(key, item, arg) for item, arg in zip(items, args))
    elif annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not -2**63 <= value < 2**63:  # numpy and JAX overflow on anything wider, deep inside a run
                raise LayerwiseError(f"config key {key!r} expects an int from -2**63 to 2**63 - 1, got {value}")
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an integer literal beyond the float range
                raise LayerwiseError(f"config key {key!r} expects float, got an integer too large for one") from None
    elif annotation is str:
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # bytes that are not UTF-8 on the command line: no TOML file can hold them
                raise LayerwiseError(f"config key {key!r} expects UTF-8 text, got {value!r}") from None
            return value
    raise LayerwiseError(f"config key {key!r} expects {_type_name(annotation)}, got {value!r}")


def parse_literal(text: str) -> Any:
    """A ``--set`` value as a TOML literal (``1e-3``, ``true``, ``[2, 3]``, ``"s"``); a bare word stays a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except (ValueError, RecursionError):  # TOMLDecodeError; integers over 4300 digits; arrays nested thousands deep
        return text


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` from ``--set`` as a dict of TOML values."""
    values = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key.strip():
            raise LayerwiseError(f"--set expects key=value, got {assignment!r}")
        values[key.strip()] = parse_literal(text.strip())
    return values


def build_config(experiment, values: dict[str, Any], *, quick: bool = False, preset: str | None = None):
    """The experiment's config: defaults, then the preset's overrides (``quick``), then ``values`` (type-checked,
    validated). Old field names in the config's alias table (`layerwise._deprecation.renamed_fields`) are
    accepted with a warning and stored under their new names. A config with declared constraints (`layerwise.experiments.fields`) is validated by pydantic; TOML
    arrays become tuples and a scalar given for a list field a one-item list, as everywhere on the command line."""
    values = resolve_renamed_fields(experiment.config_type, values, experiment=experiment.name)
    hints = typing.get_type_hints(experiment.config_type, include_extras=True)
    fields = [f.name for f in dataclasses.fields(experiment.config_type)]
    for key in values:
        if key not in hints:
            raise LayerwiseError(f"unknown config key {key!r} for {experiment.name}; allowed: {', '.join(fields)}")
    if is_validated(experiment.config_type):
        prepared = {key: _as_tuples(value, hints[key]) for key, value in values.items()}
        try:
            return experiment.make_config(quick=quick, preset=preset, **prepared)
        except pydantic.ValidationError as error:
            raise LayerwiseError(one_line(error, experiment.name)) from None
    checked = {key: coerce(key, value, hints[key]) for key, value in values.items()}
    return experiment.make_config(quick=quick, preset=preset, **checked)


def _as_tuples(value, annotation):
    """TOML arrays as tuples (recursively); a scalar for a tuple-typed field as a one-item tuple."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(value, list):
        value = tuple(value)
    if typing.get_origin(annotation) is tuple:
        if not isinstance(value, tuple):
            value = (value,)
        args = typing.get_args(annotation)
        items = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        return tuple(_as_tuples(v, a) for v, a in zip(value, items)) + value[len(items):]
    return value


def read_config_file(path) -> tuple[str, dict[str, Any]]:
    """A TOML config file: ``experiment = "NAME"`` plus config fields. Returns ``(name, fields)``.

    Any file that cannot be read or decoded (missing, a directory, unreadable, not UTF-8, not TOML) is one
    `LayerwiseError` naming the file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LayerwiseError(f"config file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise LayerwiseError(f"config file {str(path)!r} is a directory, not a TOML file") from None
    except OSError as error:
        raise LayerwiseError(f"config file {str(path)!r} cannot be read: {error.strerror or error}") from None
    except ValueError as error:  # a NUL byte or a lone surrogate in the name
        raise LayerwiseError(f"config file {str(path)!r} is not a valid path: {error}") from None
    try:
        content = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise LayerwiseError(f"config file {str(path)!r} is not UTF-8 text (byte {error.start}); TOML files must "
                             "be UTF-8") from None
    except (ValueError, RecursionError) as error:  # TOMLDecodeError; integers over 4300 digits; absurd nesting
        raise LayerwiseError(f"config file {str(path)!r} is not valid TOML: {error}") from None
    name = content.pop("experiment", None)
    if not isinstance(name, str):
        raise LayerwiseError(f"config file {str(path)!r} must set experiment = \"NAME\"")
    return name, content


def config_to_toml(name: str, config, *, comments: bool = False) -> str:
    """The config as a TOML file that `read_config_file` reads back (with ``comments``, each field's docstring
    above it)."""
    lines = [f'experiment = "{name}"']
    docs = descriptions(type(config)) if comments else {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        for line in docs.get(field.name, "").splitlines():
            lines.append(f"# {line}".rstrip())
        if value is None:
            lines.append(f"# {field.name} = (unset)")
            continue
        lines.append(f"{field.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):  # a TOML basic string (JSON's \ud83d\ude00 escapes of astral characters are not TOML)
        return '"' + "".join("\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c
                             for c in value) + '"'
    return repr(value)


def config_key(name: str, config) -> str:
    """A stable hash of the experiment name and its config: finished results with the same key are reused."""
    payload = json.dumps({"experiment": name, "config": dataclasses.asdict(config)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
