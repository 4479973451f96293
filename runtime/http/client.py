"""The one place HTTP clients are made: user agent, timeouts and redirects set once.

Functions that talk HTTP take a client (or a transport) as an argument, so tests inject
`httpx.MockTransport` or respx and the runtime can share one connection pool.

The client is httpx's async one, over `runtime.http.transport.AsyncioTransport` (httpcore's pool
on asyncio's own sockets rather than anyio's) unless the environment names a proxy; a sync
`httpx.Client` (with a sync transport) works too, driven from a worker thread by `send`.
(Measured on the dry-run benchmark, the thread hop costs more than httpx's async stack does, so
async is the default.)
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import urllib.request

import httpx

from runtime import __version__
from runtime.http.transport import AsyncioTransport

__all__ = [
    "CONNECT_TIMEOUT_S",
    "USER_AGENT",
    "AnyClient",
    "build_client",
    "close",
    "send",
    "tls_context",
]

USER_AGENT = f"nango-py/{__version__}"
CONNECT_TIMEOUT_S = 15.0
DEADLINE_FACTOR = 5
"""A response must be whole within this many read timeouts (5 minutes at the default 60 s)."""
AnyClient = httpx.Client | httpx.AsyncClient


def build_client(
    *,
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    timeout: float = 60.0,
) -> AnyClient:
    """A client with our user agent, a `timeout`-second budget per read/write/pool wait
    (connecting gets at most 15 s) and redirects followed."""
    timeouts = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S))
    headers = {"user-agent": USER_AGENT}
    if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
        return httpx.Client(
            transport=transport, timeout=timeouts, follow_redirects=True, headers=headers
        )
    if transport is None and not _proxies_from_environment():
        transport = AsyncioTransport(ssl_context=tls_context)  # made on first use
    verify = tls_context() if transport is None else True
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeouts,
        follow_redirects=True,
        headers=headers,
        verify=verify,
    )


def _proxies_from_environment() -> bool:
    """Does the environment name a proxy httpx would use (`HTTP_PROXY`, `HTTPS_PROXY`,
    `ALL_PROXY`, any case)? Then httpx's own transport is used, which routes through it."""
    return any(scheme in urllib.request.getproxies() for scheme in ("http", "https", "all"))


def tls_context() -> ssl.SSLContext:
    """The TLS settings httpx would build (certifi's roots, or `SSL_CERT_FILE`/`SSL_CERT_DIR`),
    made once per process and shared: loading the roots costs tens of milliseconds, which every
    dry run and every run of a worker would otherwise pay again."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    del cert_file, cert_dir  # the cache key: httpx reads them from the environment itself
    return httpx.create_ssl_context()


async def send(
    client: AnyClient, request: httpx.Request, *, follow_redirects: bool | None = None
) -> httpx.Response:
    """Send a built request with either kind of client (a sync one runs in a worker thread).
    `follow_redirects` None: the client's setting. An async client's whole response (headers
    and body) must arrive within `DEADLINE_FACTOR` times its read timeout: a body that drips a
    byte at a time never trips the read timeout, and would otherwise hold the run for hours."""
    follow = client.follow_redirects if follow_redirects is None else follow_redirects
    if isinstance(client, httpx.AsyncClient):
        deadline = _deadline_s(client)
        try:
            async with asyncio.timeout(deadline):
                return await client.send(request, follow_redirects=follow)
        except TimeoutError:
            message = f"no complete response within {deadline:g} s"
            raise httpx.ReadTimeout(message, request=request) from None
    return await asyncio.to_thread(lambda: client.send(request, follow_redirects=follow))


def _deadline_s(client: httpx.AsyncClient) -> float | None:
    read = client.timeout.read
    return None if read is None else read * DEADLINE_FACTOR


async def close(client: AnyClient) -> None:
    if isinstance(client, httpx.AsyncClient):
        await client.aclose()
    else:
        client.close()
