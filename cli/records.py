"""`nango records`: a connection's records of one model, read through `GET /records` as a
backend reads them (every page followed up to a limit). Nothing here prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli.client import RuntimeClient

__all__ = ["RecordQuery", "read_records"]

PAGE_LIMIT = 1000


@dataclass(frozen=True)
class RecordQuery:
    model: str
    integration: str
    connection_id: str
    limit: int = 100
    variant: str | None = None


def read_records(client: RuntimeClient, query: RecordQuery) -> tuple[list[dict[str, Any]], bool]:
    """Up to `query.limit` records, oldest change first; True when more are left."""
    headers = {"Connection-Id": query.connection_id, "Provider-Config-Key": query.integration}
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {
            "model": query.model,
            "limit": min(PAGE_LIMIT, query.limit - len(found) + 1),
        }
        if cursor:
            params["cursor"] = cursor
        if query.variant:
            params["variant"] = query.variant
        page = client.get("/records", params=params, headers=headers) or {}
        found.extend(page.get("records") or [])
        cursor = page.get("next_cursor")
        if len(found) > query.limit:
            return found[: query.limit], True
        if not cursor:
            return found, False
