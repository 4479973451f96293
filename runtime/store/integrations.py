"""Integrations: a provider of the catalog configured in one environment under a unique key
(Nango's "provider config key"), with its OAuth client and, for self-hosted providers, a base
URL override. The client secret is encrypted."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from runtime.store.base import Part, check_name, lock_key, require_id
from runtime.store.errors import ConflictError, NotFoundError
from runtime.store.schema import environments, integrations
from runtime.store.timestamps import from_us, now_us

_SECRET_PURPOSE = "integration.oauth_client_secret"


class Unset(enum.Enum):
    """The value of an `update` argument that was not given (None means "set to null")."""

    UNSET = enum.auto()


UNSET = Unset.UNSET


@dataclass(frozen=True)
class Integration:
    id: int
    environment_id: int
    unique_key: str
    provider: str
    display_name: str | None
    oauth_client_id: str | None
    oauth_client_secret: str | None = field(repr=False)
    oauth_scopes: list[str]
    base_url_override: str | None
    forward_webhooks: bool
    custom: dict[str, Any] | None
    config: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


def _integration(row: Row[Any], secret: str | None) -> Integration:
    return Integration(
        id=row.id,
        environment_id=row.environment_id,
        unique_key=row.unique_key,
        provider=row.provider,
        display_name=row.display_name,
        oauth_client_id=row.oauth_client_id,
        oauth_client_secret=secret,
        oauth_scopes=list(row.oauth_scopes),
        base_url_override=row.base_url_override,
        forward_webhooks=bool(row.forward_webhooks),
        custom=row.custom,
        config=row.config,
        created_at=from_us(row.created_at),
        updated_at=from_us(row.updated_at),
    )


class Integrations(Part):
    """The integrations of each environment, by unique key."""

    def create(
        self,
        environment_id: int,
        unique_key: str,
        provider: str,
        *,
        display_name: str | None = None,
        oauth_client_id: str | None = None,
        oauth_client_secret: str | None = None,
        oauth_scopes: list[str] | None = None,
        base_url_override: str | None = None,
        forward_webhooks: bool = True,
        custom: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
    ) -> Integration:
        """A new integration; `ConflictError` when the key is taken in this environment."""
        check_name(unique_key, "integration unique key")
        check_name(provider, "provider")
        now = now_us()
        values = {
            "environment_id": environment_id,
            "unique_key": unique_key,
            "provider": provider,
            "display_name": display_name,
            "oauth_client_id": oauth_client_id,
            "oauth_client_secret_encrypted": self._seal(oauth_client_secret),
            "oauth_scopes": list(oauth_scopes or []),
            "base_url_override": base_url_override,
            "forward_webhooks": forward_webhooks,
            "custom": custom,
            "config": config,
            "created_at": now,
            "updated_at": now,
        }
        with self._db.write() as connection:
            require_id(connection, environments, environment_id, "environment")
            self._db.advisory_lock(connection, lock_key("integration", environment_id, unique_key))
            if self._row(connection, environment_id, unique_key) is not None:
                raise ConflictError("Unique key already exists")
            try:
                connection.execute(insert(integrations).values(**values))
            except IntegrityError as exc:  # a writer that did not take the lock
                raise ConflictError("Unique key already exists") from exc
            return self._require(connection, environment_id, unique_key)

    def get(self, environment_id: int, unique_key: str) -> Integration | None:
        with self._db.read() as connection:
            row = self._row(connection, environment_id, unique_key)
        return None if row is None else self._build(row)

    def get_by_id(self, integration_id: int) -> Integration | None:
        query = select(integrations).where(integrations.c.id == integration_id)
        with self._db.read() as connection:
            row = connection.execute(query).first()
        return None if row is None else self._build(row)

    def list_all(self, environment_id: int) -> list[Integration]:
        query = (
            select(integrations)
            .where(integrations.c.environment_id == environment_id)
            .order_by(integrations.c.id)
        )
        with self._db.read() as connection:
            rows = connection.execute(query).all()
        return [self._build(row) for row in rows]

    def update(
        self,
        environment_id: int,
        unique_key: str,
        *,
        display_name: str | Unset | None = UNSET,
        oauth_client_id: str | Unset | None = UNSET,
        oauth_client_secret: str | Unset | None = UNSET,
        oauth_scopes: list[str] | Unset = UNSET,
        base_url_override: str | Unset | None = UNSET,
        forward_webhooks: bool | Unset = UNSET,
        custom: dict[str, Any] | Unset | None = UNSET,
        config: dict[str, Any] | Unset | None = UNSET,
    ) -> Integration:
        """Change the given fields only; `NotFoundError` for an unknown key."""
        given: dict[str, Any] = {
            "display_name": display_name,
            "oauth_client_id": oauth_client_id,
            "oauth_scopes": oauth_scopes,
            "base_url_override": base_url_override,
            "forward_webhooks": forward_webhooks,
            "custom": custom,
            "config": config,
        }
        values = {name: value for name, value in given.items() if value is not UNSET}
        if not isinstance(oauth_client_secret, Unset):
            values["oauth_client_secret_encrypted"] = self._seal(oauth_client_secret)
        values["updated_at"] = now_us()
        with self._db.write() as connection:
            row = self._require_row(connection, environment_id, unique_key)
            connection.execute(
                update(integrations).where(integrations.c.id == row.id).values(**values)
            )
            return self._require(connection, environment_id, unique_key)

    def delete(self, environment_id: int, unique_key: str) -> bool:
        """Delete the integration with its connections, their records and checkpoints."""
        statement = delete(integrations).where(
            integrations.c.environment_id == environment_id,
            integrations.c.unique_key == unique_key,
        )
        with self._db.write() as connection:
            return connection.execute(statement).rowcount > 0

    def _build(self, row: Row[Any]) -> Integration:
        blob = row.oauth_client_secret_encrypted
        secret = None if blob is None else self._cipher.decrypt_text(blob, purpose=_SECRET_PURPOSE)
        return _integration(row, secret)

    def _seal(self, secret: str | None) -> bytes | None:
        return (
            None if secret is None else self._cipher.encrypt_text(secret, purpose=_SECRET_PURPOSE)
        )

    def _row(self, connection: Connection, environment_id: int, key: str) -> Row[Any] | None:
        query = select(integrations).where(
            integrations.c.environment_id == environment_id, integrations.c.unique_key == key
        )
        return connection.execute(query).first()

    def _require_row(self, connection: Connection, environment_id: int, key: str) -> Row[Any]:
        row = self._row(connection, environment_id, key)
        if row is None:
            raise NotFoundError(f'Integration "{key}" does not exist', kind="integration", key=key)
        return row

    def _require(self, connection: Connection, environment_id: int, key: str) -> Integration:
        return self._build(self._require_row(connection, environment_id, key))
