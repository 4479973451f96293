"""Environment variables (`GET /environment-variables`, `nango.get_environment_variables()`):
names in clear, values encrypted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from runtime.store.base import Part, check_name, lock_key, require_id
from runtime.store.errors import InvalidValueError
from runtime.store.schema import environment_variables, environments
from runtime.store.timestamps import now_us

_PURPOSE = "environment_variable.value"
_table = environment_variables


@dataclass(frozen=True)
class EnvironmentVariable:
    name: str
    value: str = field(repr=False)


class EnvironmentVariables(Part):
    """The variables of each environment, in the order they were first set."""

    def list_all(self, environment_id: int) -> list[EnvironmentVariable]:
        query = (
            select(_table.c.name, _table.c.value_encrypted)
            .where(_table.c.environment_id == environment_id)
            .order_by(_table.c.id)
        )
        with self._db.read() as connection:
            rows = connection.execute(query).all()
        return [
            EnvironmentVariable(name, self._cipher.decrypt_text(blob, purpose=_PURPOSE))
            for name, blob in rows
        ]

    def set(self, environment_id: int, name: str, value: str) -> None:
        """Create or replace one variable."""
        check_name(name, "variable name")
        with self._db.write() as connection:
            require_id(connection, environments, environment_id, "environment")
            self._db.advisory_lock(connection, lock_key("variables", environment_id))
            self._upsert(connection, environment_id, name, value)

    def replace_all(self, environment_id: int, variables: Mapping[str, str]) -> None:
        """Make the environment's variables exactly these (one transaction)."""
        for name in variables:
            check_name(name, "variable name")
        with self._db.write() as connection:
            require_id(connection, environments, environment_id, "environment")
            self._db.advisory_lock(connection, lock_key("variables", environment_id))
            stale = delete(_table).where(_table.c.environment_id == environment_id)
            if variables:
                stale = stale.where(_table.c.name.not_in(list(variables)))
            connection.execute(stale)
            for name, value in variables.items():
                self._upsert(connection, environment_id, name, value)

    def delete(self, environment_id: int, name: str) -> bool:
        statement = delete(_table).where(
            _table.c.environment_id == environment_id, _table.c.name == name
        )
        with self._db.write() as connection:
            return connection.execute(statement).rowcount > 0

    def _upsert(self, connection: Connection, environment_id: int, name: str, value: str) -> None:
        if not isinstance(value, str):
            raise InvalidValueError(f"The value of {name!r} must be a string")
        now = now_us()
        blob = self._cipher.encrypt_text(value, purpose=_PURPOSE)
        changed = connection.execute(
            update(_table)
            .where(_table.c.environment_id == environment_id, _table.c.name == name)
            .values(value_encrypted=blob, updated_at=now)
        ).rowcount
        if not changed:
            connection.execute(
                insert(_table).values(
                    environment_id=environment_id,
                    name=name,
                    value_encrypted=blob,
                    created_at=now,
                    updated_at=now,
                )
            )
