"""Generated JSON files as JavaScript's `JSON.stringify(value, null, 2)` writes them.

`.nango/nango.json` must be byte for byte what Nango's CLI writes; every generated JSON file must
be strict JSON. So numbers are written in JavaScript's notation (`1e+21`, integers beyond 2**53
as JavaScript rounds them), NaN and Infinity as `null` (as `JSON.stringify` does), and lone
surrogates escaped, so that the text always encodes as UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

from runtime.jsjson import js_number

_SAFE_INTEGER = 2**53
_encode = json.JSONEncoder(ensure_ascii=False).encode


def js_json_text(value: Any, indent: int = 2) -> str:
    """`JSON.stringify(value, null, indent)` for JSON-shaped Python data (dict keys are text)."""
    parts: list[str] = []
    _write(value, parts, "\n", " " * indent)
    return "".join(parts)


def _write(value: Any, parts: list[str], newline: str, step: str) -> None:
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + step
        parts.append("{")
        for i, (key, item) in enumerate(value.items()):
            parts.append(("," if i else "") + inner + _string(str(key)) + ": ")
            _write(item, parts, inner, step)
        parts.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        inner = newline + step
        parts.append("[")
        for i, item in enumerate(value):
            parts.append(("," if i else "") + inner)
            _write(item, parts, inner, step)
        parts.append(newline + "]")
    else:
        parts.append(_scalar(value))


def _scalar(value: Any) -> str:
    if value is None or value is True or value is False:
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int) and abs(value) >= _SAFE_INTEGER:
        try:
            return js_number(float(value))
        except OverflowError:
            return "null"
    if isinstance(value, int | float):
        return js_number(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _string(text: str) -> str:
    encoded = _encode(text)
    if any("\ud800" <= c <= "\udfff" for c in text):
        encoded = "".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in encoded)
    return encoded
