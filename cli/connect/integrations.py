"""Create and list the integrations of an environment on the runtime."""

from __future__ import annotations

from typing import Any

from cli.client import RuntimeClient
from runtime.errors import RuntimeAPIError

__all__ = ["create_integration", "integration_body", "list_integrations"]


def integration_body(
    key: str,
    provider: str,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    scopes: list[str] | None = None,
    base_url: str | None = None,
    display_name: str | None = None,
) -> dict[str, Any]:
    """The `POST /integrations` body: Nango's (`unique_key`, `provider`, `display_name`,
    `credentials: {type: OAUTH2, client_id, client_secret, scopes: "a,b"}`), plus ours,
    `base_url_override`, for self-hosted providers."""
    body: dict[str, Any] = {"unique_key": key, "provider": provider}
    if display_name:
        body["display_name"] = display_name
    if client_id or client_secret or scopes:
        credentials: dict[str, Any] = {"type": "OAUTH2"}
        if client_id:
            credentials["client_id"] = client_id
        if client_secret:
            credentials["client_secret"] = client_secret
        if scopes:
            credentials["scopes"] = ",".join(scopes)
        body["credentials"] = credentials
    if base_url:
        body["base_url_override"] = base_url
    return body


def create_integration(client: RuntimeClient, body: dict[str, Any]) -> dict[str, Any]:
    """Create the integration; the runtime's view of it."""
    created = client.post("/integrations", json=body)
    data = created.get("data") if isinstance(created, dict) else None
    return data if isinstance(data, dict) else body


def list_integrations(client: RuntimeClient) -> list[Any]:
    found = client.get("/integrations")
    data = found.get("data") if isinstance(found, dict) else None
    if not isinstance(data, list):
        raise RuntimeAPIError("The runtime answered GET /integrations without a list")
    return data
