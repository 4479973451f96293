"""YAML scalars and keys as js-yaml 4 (default schema) and JavaScript objects hold them.

Plain scalars follow the YAML 1.2 core schema (`yes`/`on` stay strings, `0x1F` is a number),
numbers are JavaScript numbers (integral values are integers), and mapping keys are strings in
JavaScript's iteration order.
"""

from __future__ import annotations

import math
import re
from typing import Any

from runtime.jsjson import js_number as js_number_text

_NULLS = frozenset({"~", "null", "Null", "NULL", ""})
_TRUES = frozenset({"true", "True", "TRUE"})
_FALSES = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"^[-+]?(?:0b[01]+|0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)\Z")
_FLOAT = re.compile(
    r"^(?:[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)
_BASES = {"0b": 2, "0x": 16, "0o": 8}
# Digits beyond which a decimal integer is larger than any double: JavaScript reads Infinity
# (and Python's int() would refuse a string of more than 4,300 digits).
_MAX_FINITE_DIGITS = 309


def js_number(text: str) -> int | float:
    """A YAML number as JavaScript holds it: integral values are integers."""
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if _INT.match(text):
        if body[:2] in _BASES:
            return sign * int(body[2:], _BASES[body[:2]])
        digits = body.lstrip("0") or "0"
        if len(digits) > _MAX_FINITE_DIGITS:
            return sign * math.inf
        return sign * int(digits)
    lowered = body.lower()
    if lowered == ".inf":
        return sign * math.inf
    if lowered == ".nan":
        return math.nan
    value = sign * float(body)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def resolve_plain(text: str) -> Any:
    """Resolve a plain (unquoted) scalar as js-yaml's default schema does."""
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    if _INT.match(text) or (_FLOAT.match(text) and _is_finite_or_special(text)):
        return js_number(text)
    return text


def _is_finite_or_special(text: str) -> bool:
    lowered = text.lower().lstrip("+-")
    if lowered in (".inf", ".nan"):
        return True
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def js_key(value: Any) -> str:
    """A mapping key as a JavaScript object key (always a string)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return js_number_text(value)
    return str(value)


def _is_array_index(key: str) -> bool:
    return (
        key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1
    )


def js_ordered(mapping: dict[str, Any]) -> dict[str, Any]:
    """Reorder keys as a JavaScript object iterates them: integer-like keys first, ascending."""
    indices = sorted((k for k in mapping if len(k) < 11 and _is_array_index(k)), key=int)
    if not indices:
        return mapping
    ordered = {k: mapping[k] for k in indices}
    ordered.update((k, v) for k, v in mapping.items() if k not in ordered)
    return ordered
