"""What a record, an action output or a log argument becomes on its way out of a script: JSON.

Values are written as the script built them: key order kept, numbers as they are, non-ASCII text
unescaped, model instances as their records (`model_dump(by_alias=True, exclude_unset=True)`).
Dates and datetimes become ISO 8601 text as JavaScript's `JSON.stringify` writes them for Nango's
users (`2024-01-31T12:00:00.000Z`; a datetime without a zone is taken as UTC; a date is midnight
UTC); NaN and infinities become `null`, as there. Anything else JSON cannot hold (a set, bytes, a
Decimal, an arbitrary object) is refused with the path of the field that holds it.

JSON read back (`decode`) keeps integers exact, however long.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pydantic import BaseModel

__all__ = [
    "NotJSONError",
    "decode",
    "encode",
    "encode_checked",
    "encode_plain",
    "js_date",
    "to_json",
    "to_json_lenient",
]

_STR_KEY_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_OPTIONS = _STR_KEY_OPTIONS | orjson.OPT_NON_STR_KEYS
"""Keys that are not strings are written as JavaScript would (`1` as `"1"`); orjson is a third
slower with that option, so `encode_plain` first tries without it."""
_MAX_DEPTH = 200
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = 19
"""The shortest run of digits that can be an integer orjson reads as a float (beyond 64 bits)."""
_LONG_NUMBER = b"0" * _LONG_RUN
_STRIDE = 4
_SAMPLED_RUN = b"0" * (_LONG_RUN // _STRIDE)
"""A run of 19 digits holds at least 4 positions that are multiples of 4, one after the other in
`data[::4]`: without 4 digits in a row there, `data` has no long run, which a quarter of the
bytes tells (a match only means looking at them all). At a stride of 3 or 5, some ISO date-times
would match."""


class NotJSONError(ValueError):
    """A value JSON cannot hold; `path` is the dotted path of the field (empty for the value)."""

    def __init__(self, path: str, value: object) -> None:
        kind = type(value).__name__
        where = f"{path}: " if path else ""
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        super().__init__(
            f"{where}{article} {kind} is not JSON (use strings, numbers, booleans, null, lists, "
            "dicts or dates)"
        )
        self.path = path
        self.kind = kind


def js_date(value: date) -> str:
    """`JSON.stringify(new Date(...))` of a date or datetime (UTC, milliseconds, `Z`)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return f"{value.isoformat()}T00:00:00.000Z"


def _default(value: Any) -> Any:
    if isinstance(value, date):
        return js_date(value)
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_unset=True)
    raise TypeError


def encode(value: Any) -> bytes:
    """Compact JSON of `value` (see the module docstring); `NotJSONError` names what is not."""
    return encode_checked(value)[0]


def encode_plain(value: Any) -> bytes | None:
    """Compact JSON of `value` in one orjson call when it already is plain JSON data (as a page
    of records read from an API is); None when anything in it would need converting (a date, a
    model instance, an integer beyond 64 bits...) or is not JSON."""
    try:
        return orjson.dumps(value, option=_STR_KEY_OPTIONS)
    except (orjson.JSONEncodeError, TypeError) as exc:
        if "key must be str" not in str(exc):  # a date, a model...: not plain, whatever the keys
            return None
    try:  # a key that is not a string (written as JavaScript would), and nothing else amiss?
        return orjson.dumps(value, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return None


def encode_checked(value: Any) -> tuple[bytes, Any]:
    """`encode(value)`, and `value` as plain JSON data: `value` itself when nothing had to be
    converted on the way, else its converted form (dates as text, model instances as records)."""
    converted = False

    def default(item: Any) -> Any:
        nonlocal converted
        converted = True
        return _default(item)

    try:
        encoded = orjson.dumps(value, default=default, option=_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        # Something orjson refuses (an unsupported type, an integer beyond 64 bits, nesting past
        # its limit): walk the value to convert what JSON can hold and name what it cannot.
        plain = _plain(value, "", 0)
        return _utf8(json.dumps(plain, ensure_ascii=False, separators=(",", ":"))), plain
    # orjson wrote it, so it holds no integer orjson would read back as a float
    return encoded, orjson.loads(encoded) if converted else value


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate (only in strings): escaped, as JavaScript does
        return "".join(_escape_surrogate(c) for c in text).encode()


def _escape_surrogate(char: str) -> str:
    return f"\\u{ord(char):04x}" if 0xD800 <= ord(char) <= 0xDFFF else char


def decode(data: bytes) -> Any:
    """JSON text as Python data, integers exact however long (`ValueError` when not JSON)."""
    if _SAMPLED_RUN not in data[::_STRIDE].translate(_DIGITS) or (
        _LONG_NUMBER not in data.translate(_DIGITS)
    ):
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(data)
    # a long run of digits, or what only `json` reads (NaN, a BOM, a lone surrogate...)
    return json.loads(data)


def to_json(value: Any) -> Any:
    """`value` as plain JSON data (dicts, lists, str, int, float, bool, None)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    try:
        return orjson.loads(orjson.dumps(value, default=_default, option=_OPTIONS))
    except (orjson.JSONEncodeError, TypeError):
        return _plain(value, "", 0)


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _plain(value: Any, path: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise NotJSONError(path, value) from None
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(by_alias=True, exclude_unset=True), path, depth + 1)
    if isinstance(value, Mapping):
        return {_key(k, path): _plain(v, _join(path, k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, _join(path, i), depth + 1) for i, v in enumerate(value)]
    if isinstance(value, date):
        return js_date(value)
    raise NotJSONError(path, value)


def _key(key: object, path: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int | float):
        return json.dumps(key)
    raise NotJSONError(_join(path, key), key)


def to_json_lenient(value: Any) -> Any:
    """`to_json(value)`, with what JSON cannot hold written as its `repr` (for error payloads,
    which must always be reportable)."""
    try:
        return to_json(value)
    except (NotJSONError, RecursionError):
        return _lenient(value, 0)


def _lenient(value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return "..."
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, BaseModel):
        return _lenient(value.model_dump(by_alias=True, exclude_unset=True), depth + 1)
    if isinstance(value, Mapping):
        return {str(k): _lenient(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lenient(v, depth + 1) for v in value]
    if isinstance(value, date):
        return js_date(value)
    return repr(value)
