"""Fresh credentials: the one way every reader of a connection's credentials gets them (the
API's getConnection, the proxy, the workers' backend).

- An OAUTH2 access token is refreshed when it expires within the margin (15 minutes, or half
  the token's lifetime when that is shorter), and whenever the caller forces it. A refresh
  token the provider rotates is kept; one it does not rotate stays.
- An OAUTH2_CC connection gets a client-credentials token the same way (fetched when it has
  none), kept in its credentials until it nears its expiry.
- One refresh at a time per connection, across threads and processes: the refresh runs in a
  store transaction holding the connection's refresh lock (a PostgreSQL advisory lock; on
  SQLite the transaction is the database's single writer). A caller that waited finds the
  credentials another caller just got (or the failure it just recorded) and uses them instead
  of asking the provider again.
- A failed refresh is recorded on the connection (its error, one more attempt, when to retry:
  30 s doubling up to 30 min). Until then callers get the still-valid token, or a
  `RefreshFailedError` once it has expired, without asking the provider again; a forced refresh
  asks at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from runtime.credentials.errors import CredentialsError, RefreshFailedError, TokenError
from runtime.credentials.shapes import expiry_of
from runtime.credentials.tokens import TokenEndpoint, TokenGrant, build_token_client
from runtime.errors import UserError
from runtime.http.providers import get_provider
from runtime.settings import RuntimeSettings
from runtime.store import Connection, Environment, Store
from runtime.store.errors import NotFoundError

__all__ = [
    "FIRST_RETRY_DELAY",
    "MAX_RETRY_DELAY",
    "REFRESH_FAILED_MESSAGE",
    "REFRESH_MARGIN",
    "ensure_fresh",
    "fresh_connection",
    "retry_delay",
]

REFRESH_MARGIN = timedelta(minutes=15)
FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(minutes=30)
REFRESH_FAILED_MESSAGE = (
    "The external API returned an error when trying to refresh the access token. "
    "Please try again later."
)

Clock = Callable[[], float]


def fresh_connection(
    store: Store,
    settings: RuntimeSettings,
    environment: Environment | int,
    key: str,
    connection_id: str,
    *,
    force: bool = False,
    http: httpx.Client | None = None,
    clock: Clock = time.time,
) -> Connection:
    """The connection with credentials that are valid now (refreshed when needed or forced).

    Raises `NotFoundError` (kind "connection") for an unknown connection and
    `RefreshFailedError` when the token is expired (or a refresh was forced) and cannot be
    refreshed. `http` is the client for the provider's token endpoint (one is made when None).
    """
    environment_id = environment if isinstance(environment, int) else environment.id
    connection = store.connections.get(environment_id, key, connection_id)
    if connection is None:
        raise NotFoundError("Failed to find connection", kind="connection", key=connection_id)
    return ensure_fresh(store, settings, connection, force=force, http=http, clock=clock)


def ensure_fresh(
    store: Store,
    settings: RuntimeSettings,
    connection: Connection,
    *,
    force: bool = False,
    http: httpx.Client | None = None,
    clock: Clock = time.time,
) -> Connection:
    """`fresh_connection` for a connection already read (with its credentials)."""
    now = datetime.fromtimestamp(clock(), UTC)
    if not _can_refresh(connection):
        return connection
    if not force and not _is_due(connection, now):
        return connection
    if not force and _waiting_to_retry(connection, now):
        return _usable_or_failure(connection, now)
    outcome = _refresh_once(store, settings, connection, force=force, http=http, clock=clock)
    if outcome.failure is None:
        return outcome.connection
    if force:
        raise outcome.failure
    return _usable_or_failure(outcome.connection, now, outcome.failure)


# --- when ----------------------------------------------------------------------------------------


def _credentials(connection: Connection) -> dict[str, Any]:
    return connection.credentials or {}


def _can_refresh(connection: Connection) -> bool:
    credentials = _credentials(connection)
    kind = credentials.get("type")
    if kind == "OAUTH2":
        return bool(credentials.get("refresh_token"))
    return kind == "OAUTH2_CC"


def _margin(credentials: dict[str, Any]) -> timedelta:
    raw = credentials.get("raw")
    lifetime = raw.get("expires_in") if isinstance(raw, dict) else None
    if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0:
        return min(REFRESH_MARGIN, timedelta(seconds=lifetime / 2))
    return REFRESH_MARGIN


def _is_due(connection: Connection, now: datetime) -> bool:
    credentials = _credentials(connection)
    if credentials.get("type") == "OAUTH2_CC" and not credentials.get("token"):
        return True
    expires_at = expiry_of(credentials)
    return expires_at is not None and expires_at - _margin(credentials) <= now


def _is_usable(connection: Connection, now: datetime) -> bool:
    credentials = _credentials(connection)
    if credentials.get("type") == "OAUTH2_CC" and not credentials.get("token"):
        return False
    expires_at = expiry_of(credentials)
    return expires_at is None or expires_at > now


def _waiting_to_retry(connection: Connection, now: datetime) -> bool:
    retry_at = connection.refresh_next_at
    return bool(connection.refresh_error) and retry_at is not None and now < retry_at


def _recorded_failure(connection: Connection) -> RefreshFailedError:
    said = connection.refresh_error or "the last refresh failed"
    return RefreshFailedError(f"{REFRESH_FAILED_MESSAGE} ({said})", details={"error": said})


def _usable_or_failure(
    connection: Connection, now: datetime, failure: RefreshFailedError | None = None
) -> Connection:
    if _is_usable(connection, now):
        return connection
    raise failure or _recorded_failure(connection)


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failure in a row a refresh is tried again."""
    doubled: timedelta = FIRST_RETRY_DELAY * (2 ** min(max(attempts - 1, 0), 20))
    return min(doubled, MAX_RETRY_DELAY)


# --- one refresh at a time -----------------------------------------------------------------------


@dataclass
class _Outcome:
    connection: Connection = field(repr=False)
    failure: RefreshFailedError | None = None


def _refresh_once(
    store: Store,
    settings: RuntimeSettings,
    before: Connection,
    *,
    force: bool,
    http: httpx.Client | None,
    clock: Clock,
) -> _Outcome:
    """Refresh under the connection's lock, unless another caller did while this one waited.
    Everything is decided inside the transaction and raised after it commits."""
    with store.transaction() as tx:
        tx.connections.lock_for_refresh(before.id)
        current = tx.connections.get_by_id(before.id)
        if current is None:
            raise NotFoundError(
                "Failed to find connection", kind="connection", key=before.connection_id
            )
        if current.credentials != before.credentials:
            return _Outcome(current)  # refreshed (or replaced) by another caller meanwhile
        if current.refresh_attempts > before.refresh_attempts:
            return _Outcome(current, _recorded_failure(current))  # it failed meanwhile
        if not force and not _is_due(current, datetime.fromtimestamp(clock(), UTC)):
            return _Outcome(current)
        try:
            grant = _ask_provider(tx, settings, current, http, clock)
        except CredentialsError as exc:
            failure = _record_failure(tx, settings, current, exc, clock)
            refreshed = tx.connections.get_by_id(current.id) or current
            return _Outcome(refreshed, failure)
        tx.connections.save_credentials(current.id, grant.credentials, expires_at=grant.expires_at)
        saved = tx.connections.get_by_id(current.id)
    assert saved is not None
    return _Outcome(saved)


def _record_failure(
    tx: Store,
    settings: RuntimeSettings,
    connection: Connection,
    error: CredentialsError,
    clock: Clock,
) -> RefreshFailedError:
    from runtime.webhooks.outgoing import queue_connection_event

    attempts = connection.refresh_attempts + 1
    retry_at = datetime.fromtimestamp(clock(), UTC) + retry_delay(attempts)
    tx.connections.record_refresh_failure(connection.id, error.message, next_retry_at=retry_at)
    if attempts == 1:  # the first failure of a series, not every retry of it
        queue_connection_event(tx, settings, connection, "refresh", error=error.message)
    details = error.details if isinstance(error, TokenError) else {}
    return RefreshFailedError(
        f"{REFRESH_FAILED_MESSAGE} ({error.message})", details=details or {"error": error.message}
    )


def _ask_provider(
    tx: Store,
    settings: RuntimeSettings,
    connection: Connection,
    http: httpx.Client | None,
    clock: Clock,
) -> TokenGrant:
    try:
        provider = get_provider(connection.provider)
    except UserError as exc:
        raise CredentialsError(exc.message) from exc
    client = http or build_token_client(timeout=settings.token_timeout_s)
    try:
        endpoint = TokenEndpoint(
            provider, client, connection_config=connection.connection_config, clock=clock
        )
        credentials = _credentials(connection)
        if credentials.get("type") == "OAUTH2_CC":
            return endpoint.client_credentials(credentials)
        client_id, client_secret = _oauth_client(tx, connection)
        return endpoint.refresh(credentials, client_id=client_id, client_secret=client_secret)
    finally:
        if http is None:
            client.close()


def _oauth_client(tx: Store, connection: Connection) -> tuple[str, str | None]:
    """The OAuth client of a refresh: the connection's `config_override`, else the
    integration's."""
    override = _credentials(connection).get("config_override") or {}
    integration = tx.integrations.get_by_id(connection.integration_id)
    client_id = override.get("client_id") or (integration and integration.oauth_client_id)
    client_secret = override.get("client_secret") or (
        integration and integration.oauth_client_secret
    )
    if not client_id:
        raise CredentialsError(
            f"The integration {connection.provider_config_key!r} has no OAuth client id to "
            "refresh tokens with"
        )
    return str(client_id), None if not client_secret else str(client_secret)
