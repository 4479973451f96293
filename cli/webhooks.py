"""`nango webhooks`: the runtime's outgoing webhook deliveries (`GET /webhooks/deliveries`) and
an environment's webhook settings (`GET` / `PUT /webhooks/settings`). Nothing here prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cli.client import RuntimeClient

__all__ = ["list_deliveries", "read_settings", "write_settings"]


def list_deliveries(
    client: RuntimeClient,
    *,
    limit: int = 20,
    states: Sequence[str] = (),
    kinds: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The deliveries, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if states:
        params["state"] = [s.upper() for s in states]
    if kinds:
        params["kind"] = list(kinds)
    answer = client.get("/webhooks/deliveries", params=params)
    found: list[dict[str, Any]] = (answer or {}).get("deliveries", [])
    return found


def read_settings(client: RuntimeClient) -> dict[str, Any]:
    """The environment's webhook settings in effect."""
    found: dict[str, Any] = client.get("/webhooks/settings") or {}
    return found


def write_settings(client: RuntimeClient, changes: dict[str, Any]) -> dict[str, Any]:
    """Store the given settings (URLs, toggles); the settings then in effect."""
    found: dict[str, Any] = client.put("/webhooks/settings", json=changes) or {}
    return found
