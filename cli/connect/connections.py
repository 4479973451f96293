"""Create (import, or connect in a browser through OAuth), list and delete connections."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cli.client import RuntimeClient
from runtime.errors import RuntimeAPIError, UserError

__all__ = [
    "ConnectLink",
    "connect_in_browser",
    "create_connection",
    "delete_connection",
    "import_connection",
    "list_connections",
]

_TIMEOUT_HINT = "The link stays valid for 15 minutes; run the command again for a new one."


@dataclass(frozen=True)
class ConnectLink:
    """The URL that connects the account in a browser, and until when it works."""

    url: str
    token: str
    expires_at: str


def _credentials_type(client: RuntimeClient, integration: str) -> str:
    """The auth mode of an integration's provider (the `type` imported credentials need)."""
    from runtime.http.providers import get_provider

    found = client.get(f"/integrations/{quote(integration, safe='')}")
    provider = (found or {}).get("data", {}).get("provider") if isinstance(found, dict) else None
    if not isinstance(provider, str):
        raise UserError(
            f"Cannot tell the auth mode of integration {integration!r}",
            hint='Give the credentials a "type" (OAUTH2, API_KEY, BASIC, ...).',
        )
    return get_provider(provider).auth_mode


def import_connection(
    client: RuntimeClient,
    integration: str,
    connection_id: str,
    *,
    credentials: Mapping[str, Any],
    metadata: Mapping[str, Any] | None = None,
    connection_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Create the connection (or replace its credentials) with credentials obtained elsewhere;
    without a `type`, the integration's auth mode is used."""
    given = dict(credentials)
    if "type" not in given:
        given["type"] = _credentials_type(client, integration)
    body: dict[str, Any] = {
        "provider_config_key": integration,
        "connection_id": connection_id,
        "credentials": given,
    }
    if metadata is not None:
        body["metadata"] = dict(metadata)
    if connection_config is not None:
        body["connection_config"] = dict(connection_config)
    created: dict[str, Any] = client.post("/connections", json=body)
    return created


def connect_in_browser(
    client: RuntimeClient,
    integration: str,
    connection_id: str,
    *,
    metadata: Mapping[str, Any] | None = None,
    connection_config: Mapping[str, Any] | None = None,
    on_link: Callable[[ConnectLink], None],
    timeout: float = 300.0,
    poll_every: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Ask the runtime for a connect link, hand it to `on_link` (which opens a browser or shows
    it), and wait until the account is connected; the runtime's message. A refusal, an
    expired link or `timeout` seconds without an answer is a `UserError`."""
    body: dict[str, Any] = {"provider_config_key": integration, "connection_id": connection_id}
    if metadata is not None:
        body["metadata"] = dict(metadata)
    if connection_config is not None:
        body["connection_config"] = dict(connection_config)
    made = client.post("/oauth/connect-link", json=body)
    link = ConnectLink(made["url"], made["link"], made["expires_at"])
    on_link(link)
    deadline = clock() + timeout
    while True:
        status = client.get(f"/oauth/connect-link/{quote(link.token, safe='')}")
        outcome = _outcome(status, integration, connection_id)
        if outcome is not None:
            return outcome
        if clock() >= deadline:
            raise UserError(
                f"No connection after {timeout:g} s: the browser flow was not completed",
                hint=_TIMEOUT_HINT,
            )
        sleep(poll_every)


def create_connection(
    client: RuntimeClient,
    integration: str,
    connection_id: str,
    *,
    credentials: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    connection_config: Mapping[str, Any] | None,
    on_link: Callable[[ConnectLink], None],
    timeout: float,
) -> str:
    """`nango connection create`: import `credentials` when given, else connect in a browser;
    what happened, in a sentence."""
    if credentials is not None:
        import_connection(
            client,
            integration,
            connection_id,
            credentials=credentials,
            metadata=metadata,
            connection_config=connection_config,
        )
        return f"Connection {connection_id!r} of {integration!r} imported."
    return connect_in_browser(
        client,
        integration,
        connection_id,
        metadata=metadata,
        connection_config=connection_config,
        on_link=on_link,
        timeout=timeout,
    )


def _outcome(status: Mapping[str, Any], integration: str, connection_id: str) -> str | None:
    state = status.get("status")
    message = status.get("message") or ""
    if state == "SUCCESS":
        return str(message or f"Connection {connection_id!r} of {integration!r} was created.")
    if state == "ERROR":
        raise UserError(f"The connection failed: {message}", hint=_TIMEOUT_HINT)
    if state == "EXPIRED":
        raise UserError("The connect link expired before it was used", hint=_TIMEOUT_HINT)
    return None


def list_connections(client: RuntimeClient, *, integration: str | None = None) -> list[Any]:
    """The environment's connections (newest first), without credentials."""
    params = {} if integration is None else {"integrationId": integration}
    found = client.get("/connections", params=params)
    connections = found.get("connections") if isinstance(found, dict) else None
    if not isinstance(connections, list):
        raise RuntimeAPIError("The runtime answered GET /connections without a list")
    return connections


def delete_connection(client: RuntimeClient, integration: str, connection_id: str) -> None:
    """Delete the connection with its records."""
    path = f"/connections/{quote(connection_id, safe='')}"
    try:
        client.delete(path, params={"provider_config_key": integration})
    except RuntimeAPIError as exc:
        if exc.code == "unknown_connection":
            raise UserError(
                f"No connection {connection_id!r} in integration {integration!r}",
                hint="`nango connection list` shows the connections.",
            ) from None
        raise
