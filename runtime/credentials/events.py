"""Where connection events are announced: the lead wires the on-event scripts here.

`on_connection_created` runs after a connection is created or its credentials replaced (an
import with `POST /connections`, or the OAuth callback); `before_connection_deleted` runs just
before `DELETE /connections/:id` deletes one. Both do nothing yet.
"""

from __future__ import annotations

from runtime.store import Connection, Store

__all__ = ["before_connection_deleted", "on_connection_created"]


def on_connection_created(store: Store, connection: Connection, *, created: bool) -> None:
    """A connection was created (`created`) or got new credentials (post-connection-creation
    scripts run here once wired)."""


def before_connection_deleted(store: Store, connection: Connection) -> None:
    """A connection is about to be deleted (pre-connection-deletion scripts, awaited with a
    short limit, run here once wired)."""
