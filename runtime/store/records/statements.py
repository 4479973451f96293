"""The set-based statements behind record writes, one shape per database.

SQLite runs in-process: an `executemany` of one prepared statement costs little per row (the
rows go to the driver as plain tuples, past SQLAlchemy's per-row parameter handling), and
lists of ids are bound as `IN (?, ?, ...)`. PostgreSQL pays per statement (a round trip and
psycopg's per-row work), so there a whole chunk is one statement: rows arrive as arrays that
`unnest` turns back into rows, lists of ids as one array (`= ANY(:ids)`), and the query text
never changes, so it is parsed and planned once.

Every statement is a constant; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, TextClause, any_, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.types import Text

from runtime.store import jsontext
from runtime.store.records.bodies import Bodies, Stamps, start_in
from runtime.store.schema import records, records_seen

_c = records.c

# Kinds of change to existing records (all rows of one write get the same `now`):
CHANGE = "change"  # a new payload: updated_at = now
UNDELETE = "undelete"  # saved again after a delete: created_at = updated_at = now, live again
RESTORE = "restore"  # the payload of a pruned record put back, timestamps kept

_SQLITE_INSERT = (
    "INSERT INTO records (id, external_id, data_hash, body, connection_id, model, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_UPDATES = {
    CHANGE: (
        "UPDATE records SET data_hash = ?, body = ?, updated_at = ?, pruned_at = NULL WHERE id = ?"
    ),
    UNDELETE: (
        "UPDATE records SET data_hash = ?, body = ?, created_at = ?, updated_at = ?, "
        "deleted_at = NULL, pruned_at = NULL WHERE id = ?"
    ),
    RESTORE: "UPDATE records SET data_hash = ?, body = ?, pruned_at = NULL WHERE id = ?",
}
_SQLITE_NOW_COUNT = {CHANGE: 1, UNDELETE: 2, RESTORE: 0}
_SQLITE_DELETE = "UPDATE records SET body = ?, deleted_at = ?, updated_at = ? WHERE id = ?"

_POSTGRES_INSERT = text(
    "INSERT INTO records (id, connection_id, model, external_id, data_hash, body, "
    "created_at, updated_at) "
    "SELECT u.id, :connection_id, :model, u.external_id, u.data_hash, u.body, :now, :now "
    "FROM unnest(CAST(:ids AS TEXT[]), CAST(:external_ids AS TEXT[]), "
    "CAST(:hashes AS TEXT[]), CAST(:bodies AS TEXT[])) "
    "AS u(id, external_id, data_hash, body)"
)
_POSTGRES_FROM = (
    "FROM unnest(CAST(:ids AS TEXT[]), CAST(:hashes AS TEXT[]), CAST(:bodies AS TEXT[])) "
    "AS u(id, data_hash, body) WHERE r.id = u.id"
)
_POSTGRES_UPDATES: dict[str, TextClause] = {
    CHANGE: text(
        "UPDATE records AS r SET body = u.body, data_hash = u.data_hash, "
        "updated_at = :now, pruned_at = NULL " + _POSTGRES_FROM
    ),
    UNDELETE: text(
        "UPDATE records AS r SET body = u.body, data_hash = u.data_hash, "
        "created_at = :now, updated_at = :now, deleted_at = NULL, pruned_at = NULL "
        + _POSTGRES_FROM
    ),
    RESTORE: text(
        "UPDATE records AS r SET body = u.body, data_hash = u.data_hash, "
        "pruned_at = NULL " + _POSTGRES_FROM
    ),
}
_POSTGRES_DELETE = text(
    "UPDATE records AS r SET body = u.body, deleted_at = :now, updated_at = :now "
    "FROM unnest(CAST(:ids AS TEXT[]), CAST(:bodies AS TEXT[])) AS u(id, body) "
    "WHERE r.id = u.id"
)


def is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def id_in(connection: Connection, ids: Sequence[str]) -> ColumnElement[bool]:
    """`records.id` is one of `ids` (bound as one parameter)."""
    return id_in_parameter(is_postgresql(connection), ids_value(connection, ids))


def id_in_parameter(postgresql: bool, value: Any = None) -> ColumnElement[bool]:
    """`records.id` is one of the ids of the parameter `id_list` (`ids_value`): one array on
    PostgreSQL, one JSON array on SQLite (`json_each`), so the statement is the same whatever
    the number of ids, and each id is a lookup in the primary key."""
    if postgresql:
        return _c.id == any_(bindparam("id_list", value, type_=ARRAY(Text())))
    listed = func.json_each(bindparam("id_list", value, type_=Text())).table_valued("value")
    return _c.id.in_(select(listed.c.value))


def ids_value(connection: Connection, ids: Sequence[str]) -> Any:
    """The value of the parameter `id_list` of `id_in_parameter`."""
    return list(ids) if is_postgresql(connection) else jsontext.dumps_text(list(ids))


def _columns(rows: Sequence[tuple[str, ...]]) -> list[list[str]]:
    return [list(column) for column in zip(*rows, strict=True)]


def insert_rows(
    connection: Connection,
    rows: Sequence[tuple[str, str, str, str]],
    *,
    connection_id: int,
    model: str,
    now: int,
) -> None:
    """New records, from (id, external id, hash, body) tuples."""
    if not rows:
        return
    if is_postgresql(connection):
        ids, external_ids, hashes, bodies = _columns(rows)
        parameters: dict[str, Any] = {
            "connection_id": connection_id,
            "model": model,
            "now": now,
            "ids": ids,
            "external_ids": external_ids,
            "hashes": hashes,
            "bodies": bodies,
        }
        connection.execute(_POSTGRES_INSERT, parameters)
        return
    fixed = (connection_id, model, now, now)
    connection.exec_driver_sql(_SQLITE_INSERT, [row + fixed for row in rows])


def update_rows(
    connection: Connection, kind: str, rows: Sequence[tuple[str, str, str]], *, now: int
) -> None:
    """Give existing records new bodies, from (id, hash, body) tuples."""
    if not rows:
        return
    if is_postgresql(connection):
        ids, hashes, bodies = _columns(rows)
        parameters = {"ids": ids, "hashes": hashes, "bodies": bodies, "now": now}
        connection.execute(_POSTGRES_UPDATES[kind], parameters)
        return
    nows = (now,) * _SQLITE_NOW_COUNT[kind]
    connection.exec_driver_sql(_SQLITE_UPDATES[kind], [(h, p, *nows, i) for i, h, p in rows])


def mark_seen(
    connection: Connection, ids: Sequence[str], *, connection_id: int, model: str, generation: int
) -> None:
    """Remember that the run `generation` saw these records (one row, whatever their number)."""
    if ids:
        row = {
            "connection_id": connection_id,
            "model": model,
            "generation": generation,
            "record_ids": jsontext.dumps_text(list(ids)),
        }
        connection.execute(insert(records_seen).values(**row))


def soft_delete(connection: Connection, ids: Sequence[str], now: int) -> int:
    """Mark the live records among `ids` deleted at `now` (their payloads kept, their bodies
    rebuilt); returns how many."""
    query = select(_c.id, _c.body, _c.created_at, _c.pruned_at).where(
        id_in(connection, ids), _c.deleted_at.is_(None)
    )
    bodies = Bodies()
    rows = [
        (record_id, bodies.build(record_id, start_in(body), Stamps(created, now, now, pruned)))
        for record_id, body, created, pruned in connection.execute(query)
    ]
    if not rows:
        return 0
    if is_postgresql(connection):
        found, new_bodies = _columns(rows)
        parameters = {"ids": found, "bodies": new_bodies, "now": now}
        connection.execute(_POSTGRES_DELETE, parameters)
    else:
        connection.exec_driver_sql(_SQLITE_DELETE, [(b, now, now, i) for i, b in rows])
    return len(rows)
