"""Reading pages of records as the records API sends them: each a statement compiled once per
shape (`compiled.fetch_all`), its rows the stored bodies (`bodies`), joined as they are.

A page of a connection named as the API names it is one statement: the connection is found by
a subquery that both databases run once, before walking the ordering index. Only when that
finds no record at all is the connection looked up on its own, to tell an empty page from an
unknown connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from runtime.store.records.bodies import cursor_in
from runtime.store.records.compiled import fetch_all
from runtime.store.records.pages import (
    PageQuery,
    connection_select,
    page_values,
    select_page,
    shape_of,
)

EMPTY_PAGE = b'{"records":[],"next_cursor":null}'


def connection_key(
    connection: Connection, environment_id: int, integration_key: str, connection_name: str
) -> int | None:
    """The internal id of a connection named as the API names it (None: there is none)."""
    values = _names(environment_id, integration_key, connection_name)
    rows = fetch_all(connection, "connection key", connection_select, values)
    return int(rows[0][0]) if rows else None


def read_page_json(connection: Connection, connection_id: int, query: PageQuery) -> bytes:
    """The page as the JSON body of `GET /records`: `{"records": [...], "next_cursor": ...}`.
    Its records are the stored bodies joined: nothing is parsed or encoded per record."""
    as_bytes = connection.dialect.name == "sqlite"
    shape = shape_of(query, as_bytes=as_bytes)
    values = page_values(query, {"connection_id": connection_id})
    rows = fetch_all(connection, shape, lambda: select_page(shape), values)
    return _page(rows, query.limit, as_bytes) or EMPTY_PAGE


def read_named_page_json(
    connection: Connection,
    environment_id: int,
    integration_key: str,
    connection_name: str,
    query: PageQuery,
) -> bytes | None:
    """`read_page_json` of a connection named as the API names it; None when there is no such
    connection."""
    if query.ids is None:
        as_bytes = connection.dialect.name == "sqlite"
        shape = shape_of(query, as_bytes=as_bytes, named=True)
        values = page_values(query, _names(environment_id, integration_key, connection_name))
        rows = fetch_all(connection, shape, lambda: select_page(shape), values)
        body = _page(rows, query.limit, as_bytes)
        if body is not None:
            return body
    found = connection_key(connection, environment_id, integration_key, connection_name)
    return None if found is None else read_page_json(connection, found, query)


def _names(environment_id: int, integration_key: str, connection_name: str) -> dict[str, Any]:
    return {
        "environment_id": environment_id,
        "integration_key": integration_key,
        "connection_name": connection_name,
    }


def _page(rows: Sequence[Any], limit: int, as_bytes: bool) -> bytes | None:
    """The page's JSON from its rows (one more than `limit` when more follow); None when
    there are none."""
    has_more = len(rows) > limit
    bodies = [row[0] for row in (rows[:limit] if has_more else rows)]
    if not bodies:
        return None
    if not as_bytes:
        bodies = [body.encode() for body in bodies]
    next_cursor = b'"' + cursor_in(bodies[-1]).encode() + b'"' if has_more else b"null"
    # One copy of a page that runs to megabytes: the framing joins with the first and last.
    bodies[0] = b'{"records":[' + bodies[0]
    bodies[-1] += b'],"next_cursor":' + next_cursor + b"}"
    return b",".join(bodies)
