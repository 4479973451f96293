"""JSON exactly as JavaScript's `JSON.stringify` writes it.

Request bodies and request identities (whose SHA-1 names recorded fixtures) must match what
Nango's Node CLI produces byte for byte: compact separators, key order kept, non-ASCII characters
unescaped, and numbers in JavaScript's notation (`18` not `18.0`, `1e+21`, `1e-7`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_encode_string = json.JSONEncoder(ensure_ascii=False).encode


def js_number(value: float | int) -> str:
    """A number as JavaScript's `Number.prototype.toString` writes it (`null` for NaN/Infinity)."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return "null"
    if value == 0:
        return "0"
    sign, digits_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(d) for d in digits_tuple)
    assert isinstance(exponent, int)
    k = len(digits)
    n = k + exponent
    prefix = "-" if sign else ""
    if k <= n <= 21:
        return prefix + digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{prefix}{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return f"{prefix}0.{'0' * -n}{digits}"
    e = n - 1
    mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{prefix}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _string(value: str) -> str:
    text = _encode_string(value)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        text = "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def _date(value: date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return _string(value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z")
    return _string(f"{value.isoformat()}T00:00:00.000Z")


def stringify(value: Any) -> str:
    """`JSON.stringify(value)`; model instances are written as their records."""
    if value is None or value is True or value is False:
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int | float):
        return js_number(value)
    if isinstance(value, Mapping):
        items = (f"{_string(str(k))}:{stringify(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(stringify(v) for v in value) + "]"
    if isinstance(value, date):
        return _date(value)
    to_record = getattr(value, "to_record", None)
    if callable(to_record):
        return stringify(to_record())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
