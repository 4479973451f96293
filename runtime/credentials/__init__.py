"""Connections' credentials: imported, obtained through the OAuth flow, kept fresh.

```
shapes.py     the credentials of each auth mode: import checks, stored and public shapes
tokens.py     a provider's token endpoint: code exchange, refresh, client-credentials tokens
refresh.py    fresh_connection(): the one way to read credentials, refreshed when due
connect.py    the OAuth2 authorization-code flow (sessions, connect links, the callback)
templates.py  ${connectionConfig.x} / ${credentials.x} in OAuth URLs and params
events.py     on_connection_created / before_connection_deleted (call points of on-event scripts)
errors.py     CredentialsError and its branches (no secret in any message)
```

Every reader of a connection's credentials (the API's getConnection and proxy, the workers'
backend) calls `fresh_connection(store, settings, environment, key, connection_id, force=)`,
a synchronous call (from async code: `await asyncio.to_thread(fresh_connection, ...)`).
"""

from __future__ import annotations

from runtime.credentials.errors import (
    ConnectError,
    CredentialsError,
    InvalidCredentialsError,
    RefreshFailedError,
    TokenError,
)
from runtime.credentials.refresh import ensure_fresh, fresh_connection

__all__ = [
    "ConnectError",
    "CredentialsError",
    "InvalidCredentialsError",
    "RefreshFailedError",
    "TokenError",
    "ensure_fresh",
    "fresh_connection",
]
