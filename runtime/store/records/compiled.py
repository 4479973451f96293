"""Statements of the hot read paths run as the driver's own SQL, compiled once per shape.

SQLAlchemy builds, hashes and compiles a Core statement on every execution (its cache saves
the compiling, not the rest), which costs more than a small indexed query itself. Here a
statement is built once with every value a named `bindparam`, compiled for the connection's
dialect, and then each call is one driver call with plain values, returning plain tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Connection

__all__ = ["fetch_all"]


@dataclass(frozen=True)
class _DriverStatement:
    sql: str
    positions: tuple[str, ...] | None  # the parameters' order, for a positional paramstyle
    fixed: dict[str, Any]  # values SQLAlchemy adds itself (SQLite's `OFFSET 0`)

    def parameters(self, values: dict[str, Any]) -> Any:
        if self.positions is None:
            return values
        fixed = self.fixed
        return tuple(values[name] if name in values else fixed[name] for name in self.positions)


_compiled: dict[tuple[str, Hashable], _DriverStatement] = {}


def _statement(
    connection: Connection, key: Hashable, build: Callable[[], Select[Any]]
) -> _DriverStatement:
    cache_key = (connection.dialect.name, key)
    found = _compiled.get(cache_key)
    if found is None:
        compiled = build().compile(dialect=connection.dialect)
        positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        binds = compiled.binds.items()
        fixed = {name: bind.value for name, bind in binds if bind.value is not None}
        found = _compiled[cache_key] = _DriverStatement(compiled.string, positions, fixed)
    return found


def fetch_all(
    connection: Connection,
    key: Hashable,
    build: Callable[[], Select[Any]],
    values: dict[str, Any],
) -> Sequence[Any]:
    """The rows (plain tuples) of `build()` run with `values`; `key` names the statement's
    shape: the same key must always build the same statement."""
    statement = _statement(connection, key, build)
    result = connection.exec_driver_sql(statement.sql, statement.parameters(values))
    return result.cursor.fetchall()
