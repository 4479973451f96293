"""How `nango webhooks` prints: a table of deliveries, or the settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cli.terminal import console as output
from cli.terminal.runs_report import when_text

_STATE_STYLE = {
    "DELIVERED": "green",
    "FAILED": "red",
    "PENDING": "yellow",
    "SENDING": "cyan",
    "WAITING": "dim",
}


def _what(delivery: dict[str, Any]) -> str:
    body = delivery.get("body") if isinstance(delivery.get("body"), dict) else {}
    assert isinstance(body, dict)
    if delivery["kind"] == "sync":
        return f"{body.get('syncName')} {body.get('model')} ({body.get('connectionId')})"
    if delivery["kind"] == "auth":
        return f"{body.get('operation')} ({body.get('connectionId')})"
    if delivery["kind"] == "async_action":
        return str((body.get("payload") or {}).get("id", ""))
    return str(body.get("providerConfigKey", ""))


def render_deliveries(deliveries: Sequence[dict[str, Any]]) -> None:
    if not deliveries:
        output.info("No webhook deliveries yet.")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for title in ("ID", "KIND", "WHAT", "URL", "STATE", "ATTEMPTS", "LAST ANSWER", "WHEN"):
        table.add_column(title)
    for delivery in deliveries:
        state = delivery["state"]
        style = _STATE_STYLE.get(state, "")
        last = delivery.get("last_error") or (
            str(delivery["last_status"]) if delivery.get("last_status") else ""
        )
        table.add_row(
            str(delivery["id"]),
            output.esc(delivery["kind"]),
            output.esc(_what(delivery)),
            output.esc(delivery["url"]),
            f"[{style}]{state}[/{style}]" if style else output.esc(state),
            str(delivery["attempts"]),
            output.esc(last),
            when_text(delivery.get("created_at")),
        )
    output.stdout().print(table)


def render_settings(settings: dict[str, Any]) -> None:
    urls = settings.get("webhook_urls") or []
    output.result("webhook URLs: " + (", ".join(output.esc(u) for u in urls) or "none"))
    for name, value in settings.items():
        if name != "webhook_urls":
            output.result(f"{name}: {str(value).lower()}")
