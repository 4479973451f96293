"""Connections: one account of a provider, under an integration, with its credentials (an
encrypted JSON blob), configuration, metadata, tags, end user and refresh state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Row

from runtime.store.base import Part, check_name, lock_key
from runtime.store.errors import InvalidValueError, NotFoundError
from runtime.store.schema import connections, integrations
from runtime.store.timestamps import from_us, now_us, optional_from_us, to_us

_CREDENTIALS_PURPOSE = "connection.credentials"
_KEY = integrations.c.unique_key.label("provider_config_key")


@dataclass(frozen=True)
class Connection:
    """A connection; `credentials` is None when it was read without them (lists)."""

    id: int
    environment_id: int
    integration_id: int
    provider_config_key: str
    connection_id: str
    provider: str
    credentials: dict[str, Any] | None = field(repr=False)
    credentials_expires_at: datetime | None
    connection_config: dict[str, Any]
    metadata: dict[str, Any] | None
    tags: dict[str, str]
    end_user: dict[str, Any] | None
    refresh_error: str | None
    refresh_attempts: int
    refresh_next_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_fetched_at: datetime | None


@dataclass(frozen=True)
class ConnectionFilter:
    """What `list_all` keeps (every given condition must hold)."""

    integration_keys: Sequence[str] | None = None
    connection_id: str | None = None
    search: str | None = None
    end_user_id: str | None = None
    end_user_organization_id: str | None = None
    tags: Mapping[str, str] | None = None


def _connection(row: Row[Any], credentials: dict[str, Any] | None) -> Connection:
    return Connection(
        id=row.id,
        environment_id=row.environment_id,
        integration_id=row.integration_id,
        provider_config_key=row.provider_config_key,
        connection_id=row.connection_id,
        provider=row.provider,
        credentials=credentials,
        credentials_expires_at=optional_from_us(row.credentials_expires_at),
        connection_config=dict(row.connection_config),
        metadata=row.metadata,
        tags=dict(row.tags),
        end_user=row.end_user,
        refresh_error=row.refresh_error,
        refresh_attempts=row.refresh_attempts,
        refresh_next_at=optional_from_us(row.refresh_next_at),
        created_at=from_us(row.created_at),
        updated_at=from_us(row.updated_at),
        last_fetched_at=optional_from_us(row.last_fetched_at),
    )


def _base_query() -> Select[Any]:
    return select(connections, _KEY).join(
        integrations, integrations.c.id == connections.c.integration_id
    )


def _end_user_ids(end_user: Mapping[str, Any] | None) -> dict[str, Any]:
    if end_user is None:
        return {"end_user": None, "end_user_id": None, "end_user_organization_id": None}
    organization = end_user.get("organization")
    organization_id = organization.get("id") if isinstance(organization, Mapping) else None
    user_id = end_user.get("id")
    return {
        "end_user": dict(end_user),
        "end_user_id": None if user_id is None else str(user_id),
        "end_user_organization_id": None if organization_id is None else str(organization_id),
    }


def _check_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidValueError(f"The {what} must be a JSON object")
    return dict(value)


class Connections(Part):
    """Connections by (environment, integration key, connection id) or by numeric id."""

    def upsert(
        self,
        environment_id: int,
        integration_key: str,
        connection_id: str,
        *,
        credentials: Mapping[str, Any],
        credentials_expires_at: datetime | None = None,
        connection_config: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        end_user: Mapping[str, Any] | None = None,
    ) -> tuple[Connection, bool]:
        """Create the connection, or give an existing one these credentials (and the other
        fields that are not None). Returns it and whether it was created. Refresh errors are
        cleared either way."""
        check_name(connection_id, "connection id")
        now = now_us()
        values = self._credential_values(credentials, credentials_expires_at, now)
        given = {"connection_config": connection_config, "metadata": metadata, "tags": tags}
        for name, value in given.items():
            if value is not None:
                values[name] = _check_object(value, name.replace("_", " "))
        if end_user is not None:
            values.update(_end_user_ids(_check_object(end_user, "end user")))
        with self._db.write() as connection:
            integration = self._integration(connection, environment_id, integration_key)
            key = lock_key("connection", integration.id, connection_id)
            self._db.advisory_lock(connection, key)
            existing = self._row(connection, environment_id, integration_key, connection_id)
            if existing is None:
                self._insert(connection, integration, connection_id, values, now)
            else:
                statement = update(connections).where(connections.c.id == existing.id)
                connection.execute(statement.values(**values))
            row = self._row(connection, environment_id, integration_key, connection_id)
        assert row is not None
        return self._build(row, with_credentials=True), existing is None

    def get(
        self,
        environment_id: int,
        integration_key: str,
        connection_id: str,
        *,
        with_credentials: bool = True,
    ) -> Connection | None:
        with self._db.read() as connection:
            row = self._row(connection, environment_id, integration_key, connection_id)
        return None if row is None else self._build(row, with_credentials=with_credentials)

    def get_by_id(self, connection_id: int, *, with_credentials: bool = True) -> Connection | None:
        query = _base_query().where(connections.c.id == connection_id)
        with self._db.read() as connection:
            row = connection.execute(query).first()
        return None if row is None else self._build(row, with_credentials=with_credentials)

    def list_all(
        self,
        environment_id: int,
        where: ConnectionFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[Connection]:
        """Connections of an environment, oldest first (or newest first, as Nango's API lists
        them), without their credentials."""
        where = where or ConnectionFilter()
        query = _filtered(
            _base_query().where(connections.c.environment_id == environment_id), where
        )
        query = query.order_by(connections.c.id.desc() if newest_first else connections.c.id)
        if where.tags is None:
            query = query.offset(offset).limit(limit)
        with self._db.read() as connection:
            rows = connection.execute(query).all()
        found = [self._build(row, with_credentials=False) for row in rows]
        if where.tags is not None:
            wanted = dict(where.tags)
            found = [c for c in found if all(c.tags.get(k) == v for k, v in wanted.items())]
            found = found[offset:] if limit is None else found[offset : offset + limit]
        return found

    def delete(self, environment_id: int, integration_key: str, connection_id: str) -> bool:
        """Delete the connection with its records and checkpoints."""
        with self._db.write() as connection:
            row = self._row(connection, environment_id, integration_key, connection_id)
            if row is None:
                return False
            connection.execute(delete(connections).where(connections.c.id == row.id))
        return True

    def lock_for_refresh(self, connection_id: int) -> None:
        """Within `Store.transaction()`: wait until no other transaction (of any process) holds
        the refresh lock of this connection, then hold it until this one ends. PostgreSQL: an
        advisory lock; SQLite: the transaction is already the database's only writer."""
        with self._db.write() as connection:
            self._db.advisory_lock(connection, lock_key("connection-refresh", connection_id))

    def save_credentials(
        self,
        connection_id: int,
        credentials: Mapping[str, Any],
        *,
        expires_at: datetime | None,
    ) -> None:
        """New credentials (after a refresh): the refresh error state is cleared."""
        self._update(connection_id, self._credential_values(credentials, expires_at, now_us()))

    def record_refresh_failure(
        self, connection_id: int, error: str, *, next_retry_at: datetime | None
    ) -> None:
        """A failed refresh: its error, one more attempt, and when to try again."""
        values = {
            "refresh_error": error,
            "refresh_attempts": connections.c.refresh_attempts + 1,
            "refresh_next_at": _optional_us(next_retry_at),
            "updated_at": now_us(),
        }
        self._update(connection_id, values)

    def mark_fetched(self, connection_id: int, *, at: datetime | None = None) -> None:
        """`last_fetched_at` (set when the API hands out the credentials)."""
        self._update(connection_id, {"last_fetched_at": now_us() if at is None else to_us(at)})

    def set_metadata(
        self,
        environment_id: int,
        integration_key: str,
        connection_ids: Sequence[str],
        metadata: Mapping[str, Any],
    ) -> None:
        """Replace the metadata of every named connection, all or none."""
        new = _check_object(metadata, "metadata")
        self._write_metadata(environment_id, integration_key, connection_ids, lambda _old: new)

    def update_metadata(
        self,
        environment_id: int,
        integration_key: str,
        connection_ids: Sequence[str],
        metadata: Mapping[str, Any],
    ) -> None:
        """Merge `metadata` into each named connection's (top-level keys), all or none."""
        new = _check_object(metadata, "metadata")
        self._write_metadata(
            environment_id, integration_key, connection_ids, lambda old: {**(old or {}), **new}
        )

    def _write_metadata(
        self,
        environment_id: int,
        integration_key: str,
        connection_ids: Sequence[str],
        change: Callable[[dict[str, Any] | None], dict[str, Any]],
    ) -> None:
        wanted = list(dict.fromkeys(connection_ids))
        # Rows locked in id order: concurrent merges wait for each other (no lost update) and
        # two calls naming the same connections in another order cannot deadlock.
        query = (
            _base_query()
            .where(
                connections.c.environment_id == environment_id,
                integrations.c.unique_key == integration_key,
                connections.c.connection_id.in_(wanted),
            )
            .order_by(connections.c.id)
            .with_for_update(of=connections)
        )
        with self._db.write() as connection:
            rows = connection.execute(query).all()
            found = {row.connection_id for row in rows}
            missing = [name for name in wanted if name not in found]
            if missing:
                raise NotFoundError(
                    f"Connection with connection id {missing[0]} and provider config key "
                    f"{integration_key} not found. Please make sure the connection exists in "
                    "the Nango dashboard",
                    kind="connection",
                    key=missing[0],
                )
            now = now_us()
            for row in rows:
                statement = update(connections).where(connections.c.id == row.id)
                connection.execute(statement.values(metadata=change(row.metadata), updated_at=now))

    def _update(self, connection_id: int, values: Mapping[str, Any]) -> None:
        statement = update(connections).where(connections.c.id == connection_id).values(**values)
        with self._db.write() as connection:
            if connection.execute(statement).rowcount == 0:
                raise NotFoundError(
                    f"No connection with id {connection_id}",
                    kind="connection",
                    key=str(connection_id),
                )

    def _insert(
        self,
        connection: DbConnection,
        integration: Row[Any],
        connection_id: str,
        values: dict[str, Any],
        now: int,
    ) -> None:
        row = {
            "environment_id": integration.environment_id,
            "integration_id": integration.id,
            "connection_id": connection_id,
            "provider": integration.provider,
            "connection_config": {},
            "metadata": None,
            "tags": {},
            **_end_user_ids(None),
            **values,
            "created_at": now,
        }
        connection.execute(insert(connections).values(**row))

    def _integration(self, connection: DbConnection, environment_id: int, key: str) -> Row[Any]:
        query = select(integrations).where(
            integrations.c.environment_id == environment_id, integrations.c.unique_key == key
        )
        row = connection.execute(query).first()
        if row is None:
            raise NotFoundError(f'Integration "{key}" does not exist', kind="integration", key=key)
        return row

    def _row(
        self, connection: DbConnection, environment_id: int, key: str, connection_id: str
    ) -> Row[Any] | None:
        query = _base_query().where(
            connections.c.environment_id == environment_id,
            integrations.c.unique_key == key,
            connections.c.connection_id == connection_id,
        )
        return connection.execute(query).first()

    def _build(self, row: Row[Any], *, with_credentials: bool) -> Connection:
        credentials = None
        if with_credentials:
            credentials = self._cipher.decrypt_json(
                row.credentials_encrypted, purpose=_CREDENTIALS_PURPOSE
            )
        return _connection(row, credentials)

    def _credential_values(
        self, credentials: Mapping[str, Any], expires_at: datetime | None, now: int
    ) -> dict[str, Any]:
        """The columns of new credentials: sealed, with their expiry, refresh state cleared."""
        return {
            "credentials_encrypted": self._seal(_check_object(credentials, "credentials")),
            "credentials_expires_at": _optional_us(expires_at),
            "refresh_error": None,
            "refresh_attempts": 0,
            "refresh_next_at": None,
            "updated_at": now,
        }

    def _seal(self, credentials: dict[str, Any]) -> bytes:
        return self._cipher.encrypt_json(credentials, purpose=_CREDENTIALS_PURPOSE)


def _optional_us(value: datetime | None) -> int | None:
    return None if value is None else to_us(value)


def _filtered(query: Select[Any], where: ConnectionFilter) -> Select[Any]:
    if where.integration_keys is not None:
        query = query.where(integrations.c.unique_key.in_(list(where.integration_keys)))
    if where.connection_id is not None:
        query = query.where(connections.c.connection_id == where.connection_id)
    if where.search:
        pattern = where.search.lower()
        query = query.where(
            func.lower(connections.c.connection_id).contains(pattern, autoescape=True)
        )
    if where.end_user_id is not None:
        query = query.where(connections.c.end_user_id == where.end_user_id)
    if where.end_user_organization_id is not None:
        organization = connections.c.end_user_organization_id
        query = query.where(organization == where.end_user_organization_id)
    return query
