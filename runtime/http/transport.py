"""httpx's async transport over httpcore's connection pool, with sockets from asyncio itself.

httpx's own `AsyncHTTPTransport` reaches the network through anyio, whose streams, cancel scopes
and task-group checks cost about a third more CPU per request than the sync client on a dry run
paging through 100 pages. Here, httpcore's public pool (`httpcore.AsyncConnectionPool`) runs on
a network backend of asyncio streams (`httpcore.AsyncNetworkBackend`), and `AsyncioTransport`
(an `httpx.AsyncBaseTransport`) translates requests, responses and errors as httpx's transport
does. Timeouts (connect, read, write, pool) are httpx's, per operation; cancellation (the
deadline of a whole response, a run's time limit, Ctrl-C) is asyncio's own.

Proxies from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`) need httpx's transport:
`runtime.http.client.build_client` uses this one only when none is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator

import httpcore
import httpx

__all__ = ["AsyncioBackend", "AsyncioTransport", "TLSSettings"]

TLSSettings = ssl.SSLContext | Callable[[], ssl.SSLContext]
"""A TLS context, or a function that makes it when the first TLS connection opens: loading the
root certificates costs ~25 ms of CPU, which a run that only talks plain HTTP (or replays
fixtures) need not pay."""

_SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

# httpcore's errors and httpx's of the same meaning, subclasses before their bases.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for theirs, ours in _ERRORS:
            if isinstance(exc, theirs):
                raise ours(str(exc), request=request) from exc
        raise


class _Stream(httpcore.AsyncNetworkStream):
    """One connection, as asyncio's stream reader and writer."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tls: Callable[[ssl.SSLContext], ssl.SSLContext],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._tls = tls

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout(f"no data within {timeout:g} s") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout(f"could not write within {timeout:g} s") from None
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        if self._writer.get_extra_info("ssl_object") is not None:
            # No TLS close_notify exchange: a server that never answers it would hold the
            # socket (asyncio waits up to 30 s) past the end of the run's event loop.
            self._writer.transport.abort()
        else:
            self._writer.close()
        await asyncio.sleep(0)  # the socket is released on the loop's next turn

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            ssl_context = self._tls(ssl_context)
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout(f"no TLS handshake within {timeout:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":  # asked of an idle connection: did the server close it?
            return self._reader.at_eof() or self._reader.exception() is not None
        names = {"client_addr": "sockname", "server_addr": "peername"}
        return self._writer.get_extra_info(names.get(info, info))


def _apply(writer: asyncio.StreamWriter, options: Iterable[_SocketOption] | None) -> None:
    sock = writer.get_extra_info("socket")
    for option in options or ():
        sock.setsockopt(*option)


async def _connected(
    opening: Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
    timeout: float | None,
    socket_options: Iterable[_SocketOption] | None,
    tls: Callable[[ssl.SSLContext], ssl.SSLContext],
) -> httpcore.AsyncNetworkStream:
    """The stream `opening` opens, within `timeout`; failures as httpcore's errors."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await opening
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"no connection within {timeout:g} s") from None
    except OSError as exc:
        raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
    _apply(writer, socket_options)
    return _Stream(reader, writer, tls)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network operations with asyncio streams. With `deferred_tls` (a stand-in
    context given to the pool, and the function making the real one), the real context is made
    when a connection first starts TLS with the stand-in."""

    def __init__(
        self, deferred_tls: tuple[ssl.SSLContext, Callable[[], ssl.SSLContext]] | None = None
    ) -> None:
        self._deferred_tls = deferred_tls
        self._made_tls: ssl.SSLContext | None = None

    def _tls(self, given: ssl.SSLContext) -> ssl.SSLContext:
        if self._deferred_tls is None or given is not self._deferred_tls[0]:
            return given
        if self._made_tls is None:
            self._made_tls = self._deferred_tls[1]()
        # What httpcore just set on the stand-in: the pool speaks HTTP/1.1 only.
        self._made_tls.set_alpn_protocols(["http/1.1"])
        return self._made_tls

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = None if local_address is None else (local_address, 0)
        opening = asyncio.open_connection(host, port, local_addr=local)
        return await _connected(opening, timeout, socket_options, self._tls)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        opening = asyncio.open_unix_connection(path)
        return await _connected(opening, timeout, socket_options, self._tls)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: typing.AsyncIterable[bytes], request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            with _as_httpx_errors(self._request):
                await close()


class AsyncioTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with httpx's default pool limits, TLS with `ssl_context` (see `TLSSettings`)."""

    def __init__(self, *, ssl_context: TLSSettings, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        if isinstance(ssl_context, ssl.SSLContext):
            backend, pool_context = AsyncioBackend(), ssl_context
        else:
            pool_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # never used to connect
            backend = AsyncioBackend(deferred_tls=(pool_context, ssl_context))
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=pool_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=typing.cast(typing.AsyncIterable[bytes], request.stream),
            extensions=request.extensions,
        )
        with _as_httpx_errors(request):
            response = await self._pool.handle_async_request(core_request)
        stream = typing.cast(typing.AsyncIterable[bytes], response.stream)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(stream, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
