"""The one place the API reads a connection with its credentials: through
`runtime.credentials.fresh_connection`, so that expired OAuth tokens are refreshed (one refresh
at a time per connection) before a request uses them."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from runtime.credentials import fresh_connection
from runtime.server.errors import ApiError
from runtime.settings import RuntimeSettings
from runtime.store import Connection, Environment, Store
from runtime.store.errors import NotFoundError

__all__ = ["load_connection"]


async def load_connection(
    store: Store,
    settings: RuntimeSettings,
    environment: Environment,
    integration_key: str,
    connection_id: str,
) -> Connection | None:
    """The connection with usable credentials, or None when there is no such connection; a
    400 `invalid_credentials` when its token expired and cannot be refreshed."""
    from runtime.credentials.errors import RefreshFailedError

    try:
        return await run_in_threadpool(
            fresh_connection, store, settings, environment, integration_key, connection_id
        )
    except NotFoundError:
        return None
    except RefreshFailedError as exc:
        raise ApiError(400, "invalid_credentials", exc.message) from exc
