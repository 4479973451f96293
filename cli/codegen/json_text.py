"""Generated JSON files as JavaScript's `JSON.stringify(value, null, 2)` writes them.

`.nango/nango.json` must be byte for byte what Nango's CLI writes; every generated JSON file must
be strict JSON. So numbers are written in JavaScript's notation (`1e+21`, integers beyond 2**53
as JavaScript rounds them), NaN and Infinity as `null` (as `JSON.stringify` does), and lone
surrogates escaped, so that the text always encodes as UTF-8.
"""

from __future__ import annotations

import re
from json.encoder import encode_basestring
from typing import Any

from runtime.jsjson import js_number

_SAFE_INTEGER = 2**53
_SURROGATE = re.compile("[\ud800-\udfff]")


def js_json_text(value: Any, indent: int = 2) -> str:
    """`JSON.stringify(value, null, indent)` for JSON-shaped Python data (dict keys are text)."""
    parts: list[str] = []
    _write(value, parts, "\n", " " * indent)
    return "".join(parts)


def _write(value: Any, parts: list[str], newline: str, step: str) -> None:
    kind = type(value)
    if kind is str:
        parts.append(_string(value))
    elif kind is dict or (kind is not list and isinstance(value, dict)):
        if not value:
            parts.append("{}")
            return
        inner = newline + step
        separator = "," + inner
        parts.append("{" + inner)
        for i, (key, item) in enumerate(value.items()):
            parts.append(f"{separator if i else ''}{_string(str(key))}: ")
            _write(item, parts, inner, step)
        parts.append(newline + "}")
    elif kind is list or isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        inner = newline + step
        parts.append("[" + inner)
        for i, item in enumerate(value):
            if i:
                parts.append("," + inner)
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
    encoded: str = encode_basestring(text)
    if not text.isascii() and _SURROGATE.search(text):
        encoded = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)
    return encoded
