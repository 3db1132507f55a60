"""A small, deterministic YAML writer for the example programmes.

PyYAML's dumper wraps long flow mappings in ways yamllint dislikes; this writer keeps one
list item per line where it fits (`- {key: value, ...}`) and block style elsewhere, always
with two-space indentation. Every file written is read back and compared to the data.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import yaml

MAX_LINE = 160
_UNSAFE_ANYWHERE = set(":#,[]{}")
_UNSAFE_FIRST = set("-?:,[]{}#&*!|>'\"%@`")


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise TypeError(f"cannot write {value!r}")
    plain_ok = (
        value
        and value == value.strip()
        and not any(ch in _UNSAFE_ANYWHERE for ch in value)
        and value[0] not in _UNSAFE_FIRST
        and yaml.safe_load(value) == value
    )
    return value if plain_ok else json.dumps(value, ensure_ascii=False)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _flow(value: Any) -> str | None:
    """One-line form of a flat mapping or a list of scalars, or None."""
    if isinstance(value, dict) and all(_is_scalar(v) for v in value.values()):
        return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list) and all(_is_scalar(v) for v in value):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    return None


def _mapping(data: dict[str, Any], indent: int, out: list[str], first_prefix: str = "") -> None:
    pad = " " * indent
    for i, (key, value) in enumerate(data.items()):
        lead = first_prefix if i == 0 and first_prefix else pad
        if _is_scalar(value):
            out.append(f"{lead}{key}: {scalar(value)}")
            continue
        flow = _flow(value)
        if flow is not None and (value == [] or isinstance(value, list)):
            line = f"{lead}{key}: {flow}"
            if len(line) <= MAX_LINE:
                out.append(line)
                continue
        if isinstance(value, dict):
            out.append(f"{lead}{key}:")
            _mapping(value, indent + 2, out)
        else:
            out.append(f"{lead}{key}:")
            _sequence(value, indent + 2, out)


def _sequence(items: list[Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if _is_scalar(item):
            out.append(f"{pad}- {scalar(item)}")
            continue
        flow = _flow(item)
        if flow is not None and len(pad) + 2 + len(flow) <= MAX_LINE:
            out.append(f"{pad}- {flow}")
        elif isinstance(item, dict):
            _mapping(item, indent + 2, out, first_prefix=f"{pad}- ")
        else:
            raise TypeError("nested lists are not used in programmes")


def dump(data: dict[str, Any], header: str = "") -> str:
    out = [f"# {line}".rstrip() for line in header.splitlines()]
    _mapping(data, 0, out)
    text = "\n".join(out) + "\n"
    if yaml.safe_load(text) != data:
        raise AssertionError("the YAML written does not read back as the data")
    return text
