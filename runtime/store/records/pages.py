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

from sqlalchemy import (
    ColumnElement,
    Integer,
    LargeBinary,
    Select,
    and_,
    bindparam,
    cast,
    false,
    or_,
    select,
)
from sqlalchemy.sql.elements import BindParameter

from runtime.store.errors import InvalidCursorError, InvalidValueError
from runtime.store.records.format import RecordIds
from runtime.store.schema import connections, integrations, records
from runtime.store.timestamps import to_us

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


@dataclass(frozen=True)
class _Shape:
    """What varies between page statements, beyond their values."""

    as_bytes: bool
    after_cursor: bool
    actions: frozenset[str] | None
    id_count: int | None
    named: bool = False  # the connection by its API names (a subquery), not its internal id


def shape_of(query: PageQuery, *, as_bytes: bool, named: bool = False) -> _Shape:
    """The shape of a page's statement (`named`: not with `ids`, which need the internal id)."""
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidValueError(f"The limit must be between 1 and {MAX_LIMIT}")
    id_count = None if query.ids is None else len(query.ids)
    assert not (named and id_count is not None), "ids are hashed with the connection's id"
    return _Shape(as_bytes, query.cursor is not None, query.actions or None, id_count, named)


def connection_select() -> Select[Any]:
    """The internal id of the connection named by the parameters `environment_id`,
    `integration_key` and `connection_name`."""
    key = connections.c
    joined = connections.join(integrations, integrations.c.id == key.integration_id)
    return (
        select(key.id)
        .select_from(joined)
        .where(
            key.environment_id == bindparam("environment_id"),
            integrations.c.unique_key == bindparam("integration_key"),
            key.connection_id == bindparam("connection_name"),
        )
    )


def select_page(shape: _Shape) -> Select[Any]:
    """The SELECT of one page's bodies with every value a named parameter (one row more than
    the limit, to know whether more exist)."""
    body = cast(_c.body, LargeBinary) if shape.as_bytes else _c.body
    if shape.named:  # found once, before the index is walked, by both databases
        connection: Any = connection_select().scalar_subquery()
    else:
        connection = bindparam("connection_id")
    statement = select(body).where(_c.connection_id == connection, _c.model == bindparam("model"))
    if shape.after_cursor:
        condition = or_(_c.updated_at > bindparam("after"), _c.id > bindparam("after_id"))
        statement = statement.where(condition)
    # Always a lower bound on `updated_at` (at worst one below every timestamp): with it both
    # databases walk the ordering index range, even when PostgreSQL has no statistics yet
    # (right after a bulk load) and would otherwise sort the whole model for every first page.
    statement = statement.where(_c.updated_at >= bindparam("lower"))
    if shape.actions:
        action_condition = _action_condition(shape.actions)
        if action_condition is not None:
            statement = statement.where(action_condition)
    if shape.id_count is not None:
        ids: list[BindParameter[Any]] = [
            bindparam(f"id_{index}") for index in range(shape.id_count)
        ]
        statement = statement.where(_c.id.in_(ids) if ids else false())
    return statement.order_by(_c.updated_at, _c.id).limit(bindparam("limit", type_=Integer()))


def page_values(query: PageQuery, connection: dict[str, Any]) -> dict[str, Any]:
    """The values of a page's statement; `connection`: `connection_id` (the internal id), or
    the names of a `named` shape (`connection_select`)."""
    lower = _NO_LOWER_BOUND
    if query.modified_after is not None:
        lower = to_us(query.modified_after)
    values: dict[str, Any] = {**connection, "model": query.model}
    if query.cursor is not None:
        values["after"], values["after_id"] = decode_cursor(query.cursor)
        lower = max(lower, values["after"])
    values["lower"] = lower
    values["limit"] = query.limit + 1
    if query.ids is not None:
        ids = RecordIds(connection["connection_id"], query.model)
        for index, external_id in enumerate(query.ids):
            values[f"id_{index}"] = ids.of(external_id.replace("\x00", ""))
    return values


def page_statement(connection_id: int, query: PageQuery, *, as_bytes: bool = False) -> Select[Any]:
    """The SELECT of one page's bodies, its values bound (`as_bytes`: the bodies as BLOBs,
    which SQLite hands over without decoding them)."""
    shape = shape_of(query, as_bytes=as_bytes)
    return select_page(shape).params(page_values(query, {"connection_id": connection_id}))
