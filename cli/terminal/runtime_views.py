"""What the runtime holds, shown: tables of connections and integrations (and their `--json`
form), and the connect link of the OAuth flow (shown, and opened in a browser)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cli.terminal import console as output

if TYPE_CHECKING:
    from cli.connect.connections import ConnectLink

__all__ = [
    "announce_link",
    "open_browser",
    "print_json",
    "render_connections",
    "render_integrations",
]


def open_browser(url: str) -> bool:
    """Open `url` in the user's browser when there is one to open (a terminal session with a
    desktop; never a text browser that would take over the terminal)."""
    if not sys.stdin.isatty() or not sys.stderr.isatty():
        return False
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    import webbrowser

    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False


def announce_link(link: ConnectLink, *, try_browser: bool) -> None:
    """Show the connect link (always: it can be opened on another machine) and open it."""
    opened = try_browser and open_browser(link.url)
    if opened:
        output.info("Opened your browser to connect the account. If it did not open, visit:")
    else:
        output.info("Open this link in a browser to connect the account:")
    output.stderr().print(output.esc(link.url), soft_wrap=True)
    output.info("[dim]Waiting for the connection... (Ctrl-C to stop)[/dim]")


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _table(columns: Sequence[str], rows: list[list[str]]) -> None:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(output.esc(cell) for cell in row))
    output.stdout().print(table)


def _errors(connection: dict[str, Any]) -> str:
    found = connection.get("errors") or []
    return "; ".join(str(e.get("message") or e.get("type")) for e in found if isinstance(e, dict))


def render_connections(connections: list[Any]) -> None:
    if not connections:
        output.info("No connections. Create one with `nango connection create INTEGRATION ID`.")
        return
    rows = [
        [
            str(c.get("connection_id", "")),
            str(c.get("provider_config_key", "")),
            str(c.get("provider", "")),
            str(c.get("created", "")),
            _errors(c) or "-",
        ]
        for c in connections
        if isinstance(c, dict)
    ]
    _table(["CONNECTION ID", "INTEGRATION", "PROVIDER", "CREATED", "ERRORS"], rows)


def render_integrations(integrations: list[Any]) -> None:
    if not integrations:
        output.info("No integrations. Create one with `nango integration create KEY --provider P`.")
        return
    rows = [
        [
            str(i.get("unique_key", "")),
            str(i.get("provider", "")),
            str(i.get("display_name") or ""),
            str(i.get("created_at", "")),
        ]
        for i in integrations
        if isinstance(i, dict)
    ]
    _table(["UNIQUE KEY", "PROVIDER", "DISPLAY NAME", "CREATED"], rows)
