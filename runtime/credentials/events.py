"""Where connection events are announced, and what they start.

`on_connection_created` runs after a connection is created or its credentials replaced (an
import with `POST /connections`, or the OAuth callback): the integration's deployed syncs get
their schedules for it (started, and due at once, iff `auto_start`), and on creation its
post-connection-creation scripts are queued. `before_connection_deleted` runs just before
`DELETE /connections/:id` deletes one: its pre-connection-deletion scripts run first, waited for
a few seconds at most (the deletion goes on whatever they do). Each event also queues Nango's
`auth` webhook (operation `creation`, `override` or `deletion`) to the environment's URLs.
"""

from __future__ import annotations

from runtime.settings import RuntimeSettings
from runtime.store import Connection, Store

__all__ = ["before_connection_deleted", "on_connection_created"]


def on_connection_created(
    store: Store,
    connection: Connection,
    *,
    created: bool,
    settings: RuntimeSettings | None = None,
) -> None:
    """A connection was created (`created`) or got new credentials."""
    from runtime.scheduler import control
    from runtime.webhooks.outgoing import queue_connection_event

    settings = settings or RuntimeSettings()
    if created:
        control.on_connection_created(store, settings, connection)
    else:
        control.ensure_schedules(store, connection)
    queue_connection_event(store, settings, connection, "creation" if created else "override")


def before_connection_deleted(
    store: Store, connection: Connection, *, settings: RuntimeSettings | None = None
) -> None:
    """A connection is about to be deleted."""
    from runtime.scheduler import control
    from runtime.webhooks.outgoing import queue_connection_event

    settings = settings or RuntimeSettings()
    control.before_connection_deleted(store, settings, connection)
    queue_connection_event(store, settings, connection, "deletion")
