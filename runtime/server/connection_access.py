"""The one place the API reads a connection with its credentials.

When the credentials package is there, `runtime.credentials.fresh_connection(store, settings,
environment, key, connection_id)` gives the connection with credentials refreshed when they
expire (one refresh at a time per connection); until then the stored connection is used as is.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from starlette.concurrency import run_in_threadpool

from runtime.settings import RuntimeSettings
from runtime.store import Connection, Environment, Store

__all__ = ["load_connection"]


def _refresher() -> Any:
    try:
        credentials = importlib.import_module("runtime.credentials")
    except ImportError:
        return None
    return getattr(credentials, "fresh_connection", None)


async def load_connection(
    store: Store,
    settings: RuntimeSettings,
    environment: Environment,
    integration_key: str,
    connection_id: str,
) -> Connection | None:
    """The connection with usable credentials, or None when there is no such connection."""
    refresh = _refresher()
    if refresh is None:
        return await run_in_threadpool(
            store.connections.get, environment.id, integration_key, connection_id
        )
    if inspect.iscoroutinefunction(refresh):
        found = await refresh(store, settings, environment, integration_key, connection_id)
    else:
        found = await run_in_threadpool(
            refresh, store, settings, environment, integration_key, connection_id
        )
    result: Connection | None = found
    return result
