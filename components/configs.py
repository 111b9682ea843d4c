"""Frozen-dataclass configs from YAML/JSON/dicts, with errors that name the key and file.

Every bertpipe config (example generation, vocabulary, experiment, pipeline) is a frozen
dataclass validated in `__post_init__`. This module turns plain data into such dataclasses
strictly: an unknown key, a wrong type or a missing required value raises `BertpipeError`
naming the dotted key and the source file, plus the closest valid key for a typo. The same
code applies `key.sub=value` overrides (CLI `--set`/`--param`) and serialises configs back to
JSON, which is how they cross component boundaries.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from components.errors import BertpipeError

T = TypeVar("T")


def from_dict(cls: type[T], data: Any, *, source: str = "config", prefix: str = "") -> T:
    """Builds dataclass `cls` from `data`, checking keys and types recursively.

    Args:
      cls: a dataclass type.
      data: a mapping (e.g. parsed YAML).
      source: what to call the origin in messages, e.g. the file path.
      prefix: the dotted key of `data` inside the whole config (for messages).

    Raises:
      BertpipeError: unknown key, wrong type, missing required value, or a failed
        `__post_init__` check (re-raised with the key and source added).
    """
    where = f"{prefix or 'the top level'} of {source}"
    if not isinstance(data, Mapping):
        raise BertpipeError(f"{where} must be a mapping of keys to values, got {_kind(data)}.")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"; did you mean {_join(prefix, close[0])!r}?" if close else ""
            raise BertpipeError(
                f"unknown key {_join(prefix, key)!r} in {source}{hint} "
                f"Valid keys here: {', '.join(sorted(fields))}."
            )
    kwargs = {}
    for name, f in fields.items():
        key = _join(prefix, name)
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], key, source)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise BertpipeError(f"missing required key {key!r} in {source}.")
    try:
        return cls(**kwargs)
    except BertpipeError as e:
        raise BertpipeError(f"{where}: {e}") from None


def to_dict(config: Any) -> Any:
    """A JSON-ready copy of a (nested) dataclass config."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, list | tuple):
        return [to_dict(v) for v in config]
    if isinstance(config, Mapping):
        return {k: to_dict(v) for k, v in config.items()}
    return config


def to_json(config: Any) -> str:
    """Serialises a config to canonical JSON (sorted keys): what crosses component edges."""
    return json.dumps(to_dict(config), sort_keys=True)


def from_json(cls: type[T], text: str, *, source: str = "config JSON") -> T:
    return from_dict(cls, json.loads(text), source=source)


def load_file(path: str) -> Any:
    """Reads a local YAML or JSON file into plain data."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise BertpipeError(f"config file {path!r} not found.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise BertpipeError(f"{path}{at} is not valid YAML/JSON: {e}") from None
    return {} if data is None else data


def parse_overrides(overrides: Iterable[str], *, source: str = "--set") -> dict[str, Any]:
    """Turns ['a.b=1', 'c=[x, y]'] into a nested dict; values are parsed as YAML scalars."""
    import yaml

    nested: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise BertpipeError(f"{source} {item!r} must look like key=value (e.g. a.b=3).")
        value = yaml.safe_load(raw) if raw.strip() else ""
        node = nested
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise BertpipeError(f"{source} {item!r} conflicts with another override.")
        node[parts[-1]] = value
    return nested


def merge(base: Any, update: Any) -> Any:
    """Deep-merges plain data `update` into `base` (mappings merge; anything else replaces)."""
    if isinstance(base, Mapping) and isinstance(update, Mapping):
        merged = dict(base)
        for key, value in update.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return update


def _convert(hint: Any, value: Any, key: str, source: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, key, source)
            except BertpipeError as e:
                errors.append(str(e))
        raise BertpipeError(errors[0])
    if origin is typing.Literal:
        if value not in args:
            raise BertpipeError(f"{key!r} in {source} must be one of {list(args)}, got {value!r}.")
        return value
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, source=source, prefix=key)
    if origin in (tuple, list):
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise BertpipeError(f"{key!r} in {source} must be a list, got {_kind(value)}.")
        item_hint = args[0] if args else Any
        items = [_convert(item_hint, v, f"{key}[{i}]", source) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise BertpipeError(f"{key!r} in {source} must be a mapping, got {_kind(value)}.")
        return dict(value)
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise BertpipeError(f"{key!r} in {source} must be true or false, got {value!r}.")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BertpipeError(f"{key!r} in {source} must be an integer, got {value!r}.")
        return value
    if hint is float:
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            # YAML 1.1 (PyYAML) reads `1e-4` (no dot) as a string; it is a number.
            return float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BertpipeError(f"{key!r} in {source} must be a number, got {value!r}.")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise BertpipeError(f"{key!r} in {source} must be a string, got {value!r}.")
        return value
    raise TypeError(f"configs: unsupported field type {hint!r} for {key!r}")


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string"}.get(
        type(value), f"{type(value).__name__} {value!r}"
    )


# The validators every config's `__post_init__` uses: one signature, one message shape
# ("<owner>.<name> must be <what and range>; got <value>.").


def check_int(owner: str, name: str, value: Any, low: int, high: int | None = None) -> None:
    """Raises `BertpipeError` unless `value` is an integer in [low, high] (high None: >= low)."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise BertpipeError(f"{_label(owner, name)} must be an integer {bound}; got {value!r}.")


def check_number(
    owner: str,
    name: str,
    value: Any,
    low: float,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raises `BertpipeError` unless `value` is a number in the interval low..high.

    The bounds are closed unless `low_open`/`high_open`; `high=None` means no upper bound.
    Example: `check_number("BertConfig", "dropout_rate", 1.0, 0, 1, high_open=True)` raises
    "BertConfig.dropout_rate must be a number in [0, 1); got 1.0."
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            high is None or (value < high if high_open else value <= high)
        )
    if not ok:
        if high is None:
            bound = f"{'>' if low_open else '>='} {low}"
        else:
            bound = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise BertpipeError(f"{_label(owner, name)} must be a number {bound}; got {value!r}.")


def check_choice(owner: str, name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raises `BertpipeError` unless `value` is one of `choices`."""
    choices = list(choices)
    if value not in choices:
        raise BertpipeError(f"{_label(owner, name)} must be one of {choices}; got {value!r}.")


def check_bool(owner: str, name: str, value: Any) -> None:
    """Raises `BertpipeError` unless `value` is True or False."""
    if not isinstance(value, bool):
        raise BertpipeError(f"{_label(owner, name)} must be true or false; got {value!r}.")


def _label(owner: str, name: str) -> str:
    return f"{owner}.{name}" if owner else name
