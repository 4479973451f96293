"""Pages of records as `GET /records` returns them (Nango's `getRecords`).

Order: (`updated_at`, internal id) ascending. A cursor is base64 of
`<last_modified_at ISO>||<internal id>` and a page holds the records strictly after it, so a
record saved while a client pages through the list is never skipped: it moves to the end.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.engine import Connection

from runtime.store.errors import InvalidCursorError, InvalidValueError
from runtime.store.records.format import RecordIds
from runtime.store.schema import records
from runtime.store.timestamps import iso_from_us, to_us

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
ACTIONS = ("ADDED", "UPDATED", "DELETED")
_SEPARATOR = "||"
_NO_LOWER_BOUND = -(2**62)
_c = records.c


@dataclass(frozen=True)
class RecordPage:
    records: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class PageQuery:
    """The arguments of `GET /records` in the store's terms (`model` is the full name)."""

    model: str
    limit: int = DEFAULT_LIMIT
    modified_after: datetime | None = None
    actions: frozenset[str] | None = None
    cursor: str | None = None
    ids: Sequence[str] | None = None


def model_name(model: str, variant: str | None) -> str:
    """The model's full name: `Model`, or `Model::variant` (`base` is no variant)."""
    return model if variant in (None, "", "base") else f"{model}::{variant}"


def parse_actions(filter_value: str | Collection[str] | None) -> frozenset[str] | None:
    """`added,updated` (any case, a comma list or a collection) as a set of actions."""
    if filter_value is None:
        return None
    parts = filter_value.split(",") if isinstance(filter_value, str) else list(filter_value)
    actions = frozenset(part.strip().upper() for part in parts if part.strip())
    unknown = sorted(actions - set(ACTIONS))
    if unknown:
        raise InvalidValueError(f"Unknown record filter {', '.join(unknown).lower()}")
    return actions or None


def encode_cursor(last_modified_at: str, record_id: str) -> str:
    return base64.b64encode(f"{last_modified_at}{_SEPARATOR}{record_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The (updated_at, internal id) a cursor points at."""
    try:
        parts = base64.b64decode(cursor, validate=True).decode("ascii").split(_SEPARATOR)
        if len(parts) != 2 or "T" not in parts[0]:
            raise ValueError
        when = datetime.fromisoformat(parts[0])
        if when.tzinfo is None:
            raise ValueError
        return to_us(when), str(uuid.UUID(parts[1]))
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise InvalidCursorError("Invalid cursor value") from None


def _action_condition(actions: frozenset[str]) -> ColumnElement[bool] | None:
    live = _c.deleted_at.is_(None)
    conditions = {
        "ADDED": and_(live, _c.created_at == _c.updated_at),
        "UPDATED": and_(live, _c.created_at != _c.updated_at),
        "DELETED": _c.deleted_at.is_not(None),
    }
    if actions >= {"ADDED", "UPDATED", "DELETED"}:
        return None
    if actions == {"ADDED", "UPDATED"}:
        return live
    return or_(*(conditions[action] for action in sorted(actions)))


def page_statement(connection_id: int, query: PageQuery) -> Select[Any]:
    """The SELECT of one page (one row more than the limit, to know whether more exist)."""
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidValueError(f"The limit must be between 1 and {MAX_LIMIT}")
    statement = select(
        _c.id,
        _c.external_id,
        _c.payload,
        _c.created_at,
        _c.updated_at,
        _c.deleted_at,
        _c.pruned_at,
    ).where(_c.connection_id == connection_id, _c.model == query.model)
    # Always a lower bound on `updated_at` (at worst one below every timestamp): with it both
    # databases walk the ordering index range, even when PostgreSQL has no statistics yet
    # (right after a bulk load) and would otherwise sort the whole model for every first page.
    lower = _NO_LOWER_BOUND
    if query.modified_after is not None:
        lower = to_us(query.modified_after)
    if query.cursor is not None:
        after, after_id = decode_cursor(query.cursor)
        statement = statement.where(or_(_c.updated_at > after, _c.id > after_id))
        lower = max(lower, after)
    statement = statement.where(_c.updated_at >= lower)
    if query.actions:
        condition = _action_condition(query.actions)
        if condition is not None:
            statement = statement.where(condition)
    if query.ids is not None:
        ids = RecordIds(connection_id, query.model)
        statement = statement.where(_c.id.in_([ids.of(i.replace("\x00", "")) for i in query.ids]))
    return statement.order_by(_c.updated_at, _c.id).limit(query.limit + 1)


def read_page_json(connection: Connection, connection_id: int, query: PageQuery) -> bytes:
    """The page as the JSON body of `GET /records`: `{"records": [...], "next_cursor": ...}`."""
    # Plain tuples from the driver: these columns need no conversion, and SQLAlchemy's row
    # objects would cost as much as the fetch itself.
    result = connection.execute(page_statement(connection_id, query))
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    has_more = len(rows) > query.limit
    records, last_cursor = render_json(rows[: query.limit] if has_more else rows)
    next_cursor = f'"{last_cursor}"' if has_more else "null"
    # Pages run to megabytes: the records are joined and encoded once, never copied again.
    return (
        b'{"records":[' + ",".join(records).encode() + f'],"next_cursor":{next_cursor}}}'.encode()
    )


def _metadata_head(created: int, updated: int, deleted: int | None, pruned: int | None) -> str:
    """`_nango_metadata` up to the cursor's value, which is the only part unique per record."""
    action = "ADDED" if created == updated else "UPDATED"
    deleted_at = "null"
    if deleted is not None:
        action, deleted_at = "DELETED", f'"{iso_from_us(deleted)}"'
    pruned_at = "null" if pruned is None else f'"{iso_from_us(pruned)}"'
    return (
        f',"_nango_metadata":{{"first_seen_at":"{iso_from_us(created)}",'
        f'"last_modified_at":"{iso_from_us(updated)}","last_action":"{action}",'
        f'"deleted_at":{deleted_at},"pruned_at":{pruned_at},"cursor":"'
    )


def render_json(rows: Sequence[Any]) -> tuple[list[str], str]:
    """Each row as the JSON of a record (its stored payload, `_nango_metadata` appended), and
    the cursor of the last. Nothing is parsed: payloads are stored ready to send, and records
    written together share their metadata but for the cursor."""
    out: list[str] = []
    append, encode = out.append, binascii.b2a_base64
    heads: dict[tuple[int, int, int | None, int | None], tuple[str, bytes]] = {}
    cursor = ""
    for record_id, external_id, payload, created, updated, deleted, pruned in rows:
        key = (created, updated, deleted, pruned)
        found = heads.get(key)
        if found is None:
            found = heads[key] = (
                _metadata_head(created, updated, deleted, pruned),
                f"{iso_from_us(updated)}||".encode(),
            )
        head, cursor_prefix = found
        cursor = encode(cursor_prefix + record_id.encode(), newline=False).decode()
        body = payload[:-1] if payload is not None else _pruned_body(external_id)
        append(f'{body}{head}{cursor}"}}}}')
    return out, cursor


def _pruned_body(external_id: str) -> str:
    return '{"id":' + orjson.dumps(external_id).decode()
