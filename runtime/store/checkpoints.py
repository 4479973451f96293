"""Checkpoints (`nango.get_checkpoint()` / `save_checkpoint()` / `clear_checkpoint()`): a flat
JSON object per (connection, key), the key being `<script type>:<script name>[:<variant>]`.

Every write bumps a version; a write that names the version it read (`expected_version`) fails
with a `ConflictError` when another writer got there first (optimistic locking). A cleared
checkpoint reads as None but keeps its version, so a stale writer still cannot resurrect it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from runtime.store import jsontext
from runtime.store.base import Part, check_name, lock_key, require_id
from runtime.store.errors import ConflictError, InvalidValueError
from runtime.store.schema import checkpoints, connections
from runtime.store.timestamps import now_us

CheckpointValue = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class Checkpoint:
    """`value` is None when there is no checkpoint (never saved, or cleared); `version` is 0
    when none was ever written."""

    value: CheckpointValue | None
    version: int


def check_checkpoint(value: Mapping[str, Any]) -> CheckpointValue:
    """A checkpoint must be a flat object of strings, numbers and booleans."""
    if not isinstance(value, Mapping):
        raise InvalidValueError("A checkpoint must be an object")
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidValueError("A checkpoint's keys must be strings")
        finite = not isinstance(item, float) or math.isfinite(item)
        if not isinstance(item, str | int | float | bool) or not finite:
            raise InvalidValueError(
                f"Invalid checkpoint: {key!r} must map to a string, number or boolean"
            )
    return dict(value)


class Checkpoints(Part):
    """Checkpoints per (connection, key)."""

    def get(self, connection_id: int, key: str) -> Checkpoint:
        query = select(checkpoints.c.value, checkpoints.c.version).where(
            checkpoints.c.connection_id == connection_id, checkpoints.c.key == key
        )
        with self._db.read() as connection:
            row = connection.execute(query).first()
        if row is None:
            return Checkpoint(None, 0)
        value = None if row.value is None else jsontext.loads(row.value)
        return Checkpoint(value, row.version)

    def save(
        self,
        connection_id: int,
        key: str,
        value: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> Checkpoint:
        """Store `value`; returns it with its new version."""
        checked = check_checkpoint(value)
        return self._write(connection_id, key, jsontext.dumps_text(checked), expected_version)

    def clear(
        self, connection_id: int, key: str, *, expected_version: int | None = None
    ) -> Checkpoint:
        """Make the checkpoint read as None (a new version)."""
        return self._write(connection_id, key, None, expected_version)

    def clear_prefix(self, connection_id: int, prefix: str) -> int:
        """Forget every checkpoint whose key is `prefix` or starts with `prefix:` (a sync
        reset: its checkpoint and its delete-tracking markers). Returns how many went."""
        key = checkpoints.c.key
        statement = delete(checkpoints).where(
            checkpoints.c.connection_id == connection_id,
            (key == prefix) | (func.substr(key, 1, len(prefix) + 1) == prefix + ":"),
        )
        with self._db.write() as connection:
            return connection.execute(statement).rowcount

    def _write(
        self, connection_id: int, key: str, text: str | None, expected_version: int | None
    ) -> Checkpoint:
        check_name(key, "checkpoint key")
        now = now_us()
        with self._db.write() as connection:
            self._db.advisory_lock(connection, lock_key("checkpoint", connection_id, key))
            current = self._current(connection, connection_id, key)
            version = 0 if current is None else current.version
            if expected_version is not None and expected_version != version:
                raise ConflictError(
                    f"The checkpoint {key!r} changed since it was read (version {version}, "
                    f"expected {expected_version})"
                )
            values = {"value": text, "version": version + 1, "updated_at": now}
            values["deleted_at"] = now if text is None else None
            if current is None:
                require_id(connection, connections, connection_id, "connection")
                row = {"connection_id": connection_id, "key": key, "created_at": now, **values}
                connection.execute(insert(checkpoints).values(**row))
            else:
                connection.execute(
                    update(checkpoints)
                    .where(checkpoints.c.connection_id == connection_id, checkpoints.c.key == key)
                    .values(**values)
                )
        value = None if text is None else jsontext.loads(text)
        return Checkpoint(value, version + 1)

    def _current(self, connection: Connection, connection_id: int, key: str) -> Row[Any] | None:
        query = select(checkpoints.c.version).where(
            checkpoints.c.connection_id == connection_id, checkpoints.c.key == key
        )
        return connection.execute(query).first()
