"""The live HTTP stack of a run: one client and the proxy engine over it, opened on the run's
own event loop (`start`) and closed there (`stop`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from runtime.http.client import AnyClient, build_client, close
from runtime.http.providers import Provider
from runtime.http.proxy import Attempt, ProxyEngine
from runtime.http.request import ProxyCall
from runtime.sdk.types import Connection, ProxyResponse

__all__ = ["LiveHttp"]


class LiveHttp:
    """Sends a run's requests to the provider's API with the connection's credentials."""

    def __init__(
        self,
        *,
        provider: Provider,
        connection: Connection,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        on_secret: Callable[[str], None] | None = None,
        refresh_connection: Callable[[], Awaitable[Connection]] | None = None,
    ) -> None:
        self._provider = provider
        self._connection = connection
        self._transport = transport
        self._on_attempt = on_attempt
        self._on_secret = on_secret
        self._refresh = refresh_connection
        self._client: AnyClient | None = None
        self._engine: ProxyEngine | None = None

    async def start(self) -> None:
        self._client = build_client(transport=self._transport)
        self._engine = ProxyEngine(
            client=self._client,
            provider=self._provider,
            connection=self._connection,
            on_attempt=self._on_attempt,
            on_secret=self._on_secret,
            refresh_connection=self._refresh,
        )

    async def stop(self) -> None:
        if self._client is not None:
            await close(self._client)
            self._client = self._engine = None

    async def send(self, call: ProxyCall) -> ProxyResponse:
        if self._engine is None:
            await self.start()
        assert self._engine is not None
        return await self._engine.send(call)
