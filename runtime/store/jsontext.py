"""JSON kept as text: key order exactly as given, the same bytes on SQLite and PostgreSQL.

Not PostgreSQL's `jsonb`, which reorders keys and drops duplicates: a record's payload must come
back as the script saved it. orjson does the work; what it cannot write (integers past 64 bits,
lone surrogates, non-string keys) and what it would write differently from JavaScript (dates,
model instances) goes through `runtime.jsjson`, so dates read as `JSON.stringify` writes them.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from runtime.jsjson import stringify

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _fragment(value: Any) -> orjson.Fragment:
    return orjson.Fragment(stringify(value).encode())


def dumps(value: Any) -> bytes:
    """UTF-8 JSON of `value`, compact, key order kept."""
    try:
        return orjson.dumps(value, default=_fragment, option=_OPTIONS)
    except TypeError:
        return stringify(value).encode()


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


class JsonText(TypeDecorator[Any]):
    """A column holding any JSON value as text (None stays SQL NULL)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, _dialect: Dialect) -> str | None:
        return None if value is None else dumps_text(value)

    def process_result_value(self, value: Any, _dialect: Dialect) -> Any:
        return None if value is None else orjson.loads(value)
