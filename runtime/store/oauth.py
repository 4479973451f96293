"""OAuth connect sessions: one attempt to connect an account through a provider's consent page.

A session is created when the connect flow starts (or when a connect link is made), found again
by its `state` when the provider sends the browser back, claimed once for the code exchange
(PENDING -> EXCHANGING, one statement, so a replayed callback cannot exchange twice), and closed
with its outcome (SUCCESS or ERROR, with a message and no secret). The PKCE code verifier is
encrypted. Sessions expired for a day are purged whenever a new one is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Row

from runtime.store.base import Part, check_name
from runtime.store.errors import NotFoundError
from runtime.store.schema import integrations, oauth_sessions
from runtime.store.timestamps import from_us, now_us, to_us

__all__ = ["EXCHANGING", "FAILED", "PENDING", "SUCCEEDED", "OAuthSession", "OAuthSessions"]

PENDING = "PENDING"
EXCHANGING = "EXCHANGING"
SUCCEEDED = "SUCCESS"
FAILED = "ERROR"

_VERIFIER_PURPOSE = "oauth_session.code_verifier"
_KEPT_AFTER_EXPIRY_US = int(timedelta(days=1) / timedelta(microseconds=1))
_KEY = integrations.c.unique_key.label("integration_key")


@dataclass(frozen=True)
class OAuthSession:
    state: str = field(repr=False)
    environment_id: int
    integration_id: int
    integration_key: str
    connection_id: str
    status: str
    code_verifier: str | None = field(repr=False)
    scopes: list[str]
    connection_config: dict[str, Any]
    metadata: dict[str, Any] | None
    redirect_uri: str
    result: dict[str, Any] | None
    created_at: datetime
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def _integration_id(connection: DbConnection, environment_id: int, key: str) -> int:
    found = connection.execute(
        select(integrations.c.id).where(
            integrations.c.environment_id == environment_id, integrations.c.unique_key == key
        )
    ).scalar()
    if found is None:
        raise NotFoundError(f'Integration "{key}" does not exist', kind="integration", key=key)
    return int(found)


class OAuthSessions(Part):
    """Connect sessions by state, or by the hash of their connect link's token."""

    def create(
        self,
        environment_id: int,
        integration_key: str,
        connection_id: str,
        *,
        state: str,
        expires_at: datetime,
        redirect_uri: str,
        scopes: list[str],
        code_verifier: str | None = None,
        link_hash: str | None = None,
        connection_config: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> OAuthSession:
        """A new PENDING session (sessions expired for a day are purged on the way)."""
        check_name(connection_id, "connection id")
        now = now_us()
        sealed = None
        if code_verifier is not None:
            sealed = self._cipher.encrypt_text(code_verifier, purpose=_VERIFIER_PURPOSE)
        values = {
            "state": state,
            "environment_id": environment_id,
            "connection_id": connection_id,
            "link_hash": link_hash,
            "status": PENDING,
            "code_verifier_encrypted": sealed,
            "scopes": list(scopes),
            "connection_config": dict(connection_config or {}),
            "metadata": None if metadata is None else dict(metadata),
            "redirect_uri": redirect_uri,
            "result": None,
            "created_at": now,
            "expires_at": to_us(expires_at),
        }
        with self._db.write() as connection:
            stale = oauth_sessions.c.expires_at < now - _KEPT_AFTER_EXPIRY_US
            connection.execute(delete(oauth_sessions).where(stale))
            values["integration_id"] = _integration_id(connection, environment_id, integration_key)
            connection.execute(insert(oauth_sessions).values(**values))
        found = self.get(state)
        assert found is not None
        return found

    def get(self, state: str) -> OAuthSession | None:
        return self._one(oauth_sessions.c.state == state)

    def get_by_link(self, link_hash: str) -> OAuthSession | None:
        return self._one(oauth_sessions.c.link_hash == link_hash)

    def claim(self, state: str) -> bool:
        """Move a PENDING, unexpired session to EXCHANGING; False when another caller did, or
        when it is no longer pending or has expired."""
        statement = (
            update(oauth_sessions)
            .where(
                oauth_sessions.c.state == state,
                oauth_sessions.c.status == PENDING,
                oauth_sessions.c.expires_at > now_us(),
            )
            .values(status=EXCHANGING)
        )
        with self._db.write() as connection:
            return connection.execute(statement).rowcount == 1

    def finish(self, state: str, *, succeeded: bool, result: Mapping[str, Any]) -> None:
        """Close the session with its outcome (`result` must hold no secret)."""
        statement = (
            update(oauth_sessions)
            .where(oauth_sessions.c.state == state)
            .values(status=SUCCEEDED if succeeded else FAILED, result=dict(result))
        )
        with self._db.write() as connection:
            connection.execute(statement)

    def _one(self, condition: Any) -> OAuthSession | None:
        query = (
            select(oauth_sessions, _KEY)
            .join(integrations, integrations.c.id == oauth_sessions.c.integration_id)
            .where(condition)
        )
        with self._db.read() as connection:
            row = connection.execute(query).first()
        return None if row is None else self._build(row)

    def _build(self, row: Row[Any]) -> OAuthSession:
        verifier = None
        if row.code_verifier_encrypted is not None:
            verifier = self._cipher.decrypt_text(
                row.code_verifier_encrypted, purpose=_VERIFIER_PURPOSE
            )
        return OAuthSession(
            state=row.state,
            environment_id=row.environment_id,
            integration_id=row.integration_id,
            integration_key=row.integration_key,
            connection_id=row.connection_id,
            status=row.status,
            code_verifier=verifier,
            scopes=list(row.scopes),
            connection_config=dict(row.connection_config),
            metadata=row.metadata,
            redirect_uri=row.redirect_uri,
            result=row.result,
            created_at=from_us(row.created_at),
            expires_at=from_us(row.expires_at),
        )
