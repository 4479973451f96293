"""The one place HTTP clients are made: user agent, timeouts and redirects set once.

Functions that talk HTTP take a client (or a transport) as an argument, so tests inject
`httpx.MockTransport` or respx and the runtime can share one connection pool.
"""

from __future__ import annotations

import httpx

from runtime import __version__

__all__ = ["CONNECT_TIMEOUT_S", "USER_AGENT", "build_client"]

USER_AGENT = f"nango-py/{__version__}"
CONNECT_TIMEOUT_S = 15.0


def build_client(
    *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = 60.0
) -> httpx.AsyncClient:
    """An async client with our user agent, a `timeout`-second budget per read/write/pool wait
    (connecting gets at most 15 s) and redirects followed."""
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)),
        follow_redirects=True,
        headers={"user-agent": USER_AGENT},
    )
