"""`LiveHttp`: a run's requests sent to the provider's API with the connection's credentials,
through one client opened by `start` and closed by `stop` (here over `httpx.MockTransport`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from runtime import __version__
from runtime.backends.live import LiveHttp
from runtime.errors import HttpError
from runtime.http.providers import Provider
from runtime.http.proxy import Attempt
from runtime.http.request import ProxyCall
from runtime.sdk.types import Connection
from tests.helpers import TOKEN, FakeApi, ok

T = TypeVar("T")
Handler = Callable[[httpx.Request], httpx.Response]


def provider(**fields: Any) -> Provider:
    base = {"key": "acme", "display_name": "Acme", "auth_mode": "OAUTH2"}
    base["base_url"] = "https://api.acme.test/v1"
    return Provider.model_validate({**base, **fields})


def connection(token: str = "tok-1") -> Connection:
    return Connection(
        connection_id="conn-1",
        provider_config_key="acme",
        provider="acme",
        credentials={"type": "OAUTH2", "access_token": token},
    )


class Api:
    def __init__(self, handler: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.handler = handler or (lambda request: httpx.Response(200, json={"ok": True}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def run(body: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await body()

    return asyncio.run(main())


def test_a_request_goes_to_the_provider_with_the_connections_credentials() -> None:
    api = Api()
    attempts: list[Attempt] = []
    secrets: list[str] = []
    http = LiveHttp(
        provider=provider(headers={"X-Team": "core"}),
        connection=connection(),
        transport=httpx.MockTransport(api),
        on_attempt=attempts.append,
        on_secret=secrets.append,
    )

    async def session() -> Any:
        await http.start()
        try:
            return await http.send(ProxyCall("/items", params={"page": 2}))
        finally:
            await http.stop()

    response = run(session)
    assert (response.status, response.data) == (200, {"ok": True})
    [request] = api.requests
    assert str(request.url) == "https://api.acme.test/v1/items?page=2"
    assert request.headers["authorization"] == "Bearer tok-1"
    assert request.headers["x-team"] == "core"
    assert request.headers["user-agent"] == f"nango-py/{__version__}"
    assert [(a.method, a.status, a.attempt) for a in attempts] == [("GET", 200, 1)]
    assert "Bearer tok-1" in secrets


def test_an_error_status_is_raised_with_the_upstream_answer() -> None:
    api = Api(lambda request: httpx.Response(404, json={"message": "no"}))
    http = LiveHttp(
        provider=provider(), connection=connection(), transport=httpx.MockTransport(api)
    )
    with pytest.raises(HttpError) as caught:
        run(lambda: http.send(ProxyCall("/missing", retries=0)))
    assert caught.value.status == 404
    assert caught.value.body == {"message": "no"}
    assert caught.value.url.endswith("/v1/missing")


def test_send_before_start_opens_the_client_and_stop_closes_it() -> None:
    api = Api()
    http = LiveHttp(
        provider=provider(), connection=connection(), transport=httpx.MockTransport(api)
    )

    async def session() -> tuple[bool, bool]:
        await http.send(ProxyCall("/a"))
        client = http._client
        assert client is not None
        await http.stop()
        await http.stop()  # twice is harmless
        open_again = http._client is None
        await http.send(ProxyCall("/b"))  # opened again
        await http.stop()
        return client.is_closed, open_again

    closed, reset = run(session)
    assert closed and reset
    assert [r.url.path for r in api.requests] == ["/v1/a", "/v1/b"]


def test_a_401_is_retried_once_with_refreshed_credentials() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer old":
            return httpx.Response(401, json={"message": "expired"})
        return httpx.Response(200, json={"fresh": True})

    refreshed: list[str] = []

    async def refresh() -> Connection:
        refreshed.append("yes")
        return connection("new")

    api = Api(handler)
    http = LiveHttp(
        provider=provider(),
        connection=connection("old"),
        transport=httpx.MockTransport(api),
        refresh_connection=refresh,
    )
    response = run(lambda: http.send(ProxyCall("/me")))
    assert response.data == {"fresh": True}
    assert refreshed == ["yes"]
    assert [r.headers["authorization"] for r in api.requests] == ["Bearer old", "Bearer new"]


def test_a_sync_transport_works_too() -> None:
    class SyncTransport(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"sync": True}, request=request)

    http = LiveHttp(provider=provider(), connection=connection(), transport=SyncTransport())

    async def session() -> Any:
        try:
            return await http.send(ProxyCall("/x"))
        finally:
            await http.stop()

    assert run(session).data == {"sync": True}


def test_without_a_transport_requests_go_over_a_real_connection() -> None:
    api = FakeApi()
    api.route("/v2/items", ok([{"id": 1}], X_Next="none"))
    api.start()
    try:
        http = LiveHttp(
            provider=provider(base_url=f"{api.url}/v2", auth_mode="API_KEY"),
            connection=Connection(
                "conn-1", "acme", "acme", credentials={"type": "API_KEY", "apiKey": TOKEN}
            ),
        )

        async def session() -> Any:
            try:
                return await http.send(ProxyCall("/items", params={"q": "a b"}))
            finally:
                await http.stop()

        response = run(session)
    finally:
        api.stop()
    assert response.data == [{"id": 1}]
    assert response.headers["x-next"] == "none"
    [received] = api.hits("/v2/items")
    assert received.query == {"q": ["a b"]}
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
