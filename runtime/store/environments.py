"""Environments (`dev`, `prod`): each with its secret key, kept as a SHA-256 hash for lookups.

A copy of the key is also kept encrypted, because Nango signs outgoing webhooks with the
environment's secret key (`X-Nango-Hmac-Sha256`) and its clients verify them with that key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from runtime.store.base import Part, check_name, lock_key
from runtime.store.errors import ConflictError, NotFoundError
from runtime.store.schema import environments
from runtime.store.timestamps import from_us, now_us

DEFAULT_ENVIRONMENTS = ("dev", "prod")
_SECRET_KEY_PURPOSE = "environment.secret_key"


def generate_secret_key() -> str:
    """A new environment secret key, in Nango's format (a UUID)."""
    return str(uuid.uuid4())


def hash_secret_key(secret_key: str) -> str:
    return hashlib.sha256(secret_key.encode()).hexdigest()


@dataclass(frozen=True)
class Environment:
    id: int
    name: str
    has_secret_key: bool
    webhook_urls: list[str]
    webhook_settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EnsuredEnvironment:
    """An environment after `ensure`; `generated_key` is set only when this call made the key
    (it is never readable again: show it once)."""

    environment: Environment
    generated_key: str | None = field(default=None, repr=False)


def _environment(row: Row[Any]) -> Environment:
    return Environment(
        id=row.id,
        name=row.name,
        has_secret_key=row.secret_key_hash is not None,
        webhook_urls=list(row.webhook_urls),
        webhook_settings=dict(row.webhook_settings),
        created_at=from_us(row.created_at),
        updated_at=from_us(row.updated_at),
    )


class Environments(Part):
    """Environments and their secret keys."""

    def ensure(self, name: str, *, secret_key: str | None = None) -> EnsuredEnvironment:
        """Create the environment if needed. A given key replaces the stored one; with none, a
        key is generated only if the environment has none yet (and returned once)."""
        check_name(name, "environment name")
        with self._db.write() as connection:
            self._db.advisory_lock(connection, lock_key("environment", name))
            row = self._row_by_name(connection, name) or self._insert(connection, name)
            generated: str | None = None
            if secret_key is not None:
                self._store_key(connection, row.id, secret_key)
            elif row.secret_key_hash is None:
                generated = generate_secret_key()
                self._store_key(connection, row.id, generated)
            found = self._row_by_name(connection, name)
        assert found is not None
        return EnsuredEnvironment(_environment(found), generated)

    def get(self, name: str) -> Environment | None:
        with self._db.read() as connection:
            row = self._row_by_name(connection, name)
        return None if row is None else _environment(row)

    def get_by_id(self, environment_id: int) -> Environment | None:
        query = select(environments).where(environments.c.id == environment_id)
        with self._db.read() as connection:
            row = connection.execute(query).first()
        return None if row is None else _environment(row)

    def list_all(self) -> list[Environment]:
        query = select(environments).order_by(environments.c.id)
        with self._db.read() as connection:
            return [_environment(row) for row in connection.execute(query)]

    def find_by_secret_key(self, secret_key: str) -> Environment | None:
        """The environment whose key this is (looked up by hash, compared in constant time)."""
        digest = hash_secret_key(secret_key)
        query = select(environments).where(environments.c.secret_key_hash == digest)
        with self._db.read() as connection:
            row = connection.execute(query).first()
        if row is None or not hmac.compare_digest(row.secret_key_hash, digest):
            return None
        return _environment(row)

    def set_secret_key(self, name: str, secret_key: str) -> None:
        with self._db.write() as connection:
            row = self._require(connection, name)
            self._store_key(connection, row.id, secret_key)

    def signing_key(self, environment_id: int) -> str | None:
        """The secret key in clear, for signing webhooks (None when the environment has none)."""
        query = select(environments.c.secret_key_encrypted).where(
            environments.c.id == environment_id
        )
        with self._db.read() as connection:
            blob = connection.execute(query).scalar()
        if blob is None:
            return None
        return self._cipher.decrypt_text(blob, purpose=_SECRET_KEY_PURPOSE)

    def set_webhooks(
        self, name: str, *, urls: list[str], settings: dict[str, Any] | None = None
    ) -> Environment:
        """Replace the environment's webhook URLs (and settings, when given)."""
        values: dict[str, Any] = {"webhook_urls": list(urls), "updated_at": now_us()}
        if settings is not None:
            values["webhook_settings"] = dict(settings)
        with self._db.write() as connection:
            row = self._require(connection, name)
            connection.execute(
                update(environments).where(environments.c.id == row.id).values(**values)
            )
            found = self._row_by_name(connection, name)
        assert found is not None
        return _environment(found)

    def _row_by_name(self, connection: Connection, name: str) -> Row[Any] | None:
        query = select(environments).where(environments.c.name == name)
        return connection.execute(query).first()

    def _require(self, connection: Connection, name: str) -> Row[Any]:
        row = self._row_by_name(connection, name)
        if row is None:
            raise NotFoundError(f"No environment {name!r}", kind="environment", key=name)
        return row

    def _insert(self, connection: Connection, name: str) -> Row[Any]:
        now = now_us()
        values = {"name": name, "webhook_urls": [], "webhook_settings": {}}
        connection.execute(insert(environments).values(**values, created_at=now, updated_at=now))
        row = self._row_by_name(connection, name)
        assert row is not None
        return row

    def _store_key(self, connection: Connection, environment_id: int, secret_key: str) -> None:
        check_name(secret_key, "secret key")
        values = {
            "secret_key_hash": hash_secret_key(secret_key),
            "secret_key_encrypted": self._cipher.encrypt_text(
                secret_key, purpose=_SECRET_KEY_PURPOSE
            ),
            "updated_at": now_us(),
        }
        statement = update(environments).where(environments.c.id == environment_id)
        try:
            connection.execute(statement.values(**values))
        except IntegrityError as exc:
            raise ConflictError("Another environment already uses this secret key") from exc
