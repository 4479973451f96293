"""The proxy engine builds the provider's URL, auth, headers and body, and parses the response."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from runtime import __version__
from runtime.errors import UserError
from runtime.http.client import build_client
from runtime.http.providers import Provider, get_provider
from runtime.http.proxy import Attempt, ProxyCall, ProxyEngine
from runtime.sdk.nango import Connection, ProxyResponse
from runtime.sdk.types import NetworkError

Handler = Callable[[httpx.Request], httpx.Response]


def provider(**fields: Any) -> Provider:
    base = {"key": "acme", "display_name": "Acme", "auth_mode": "NONE"}
    base.setdefault("base_url", "https://api.acme.test/v1")
    return Provider.model_validate({**base, **fields})


def connection(credentials: dict[str, Any] | None = None, **config: Any) -> Connection:
    return Connection(
        connection_id="conn-1",
        provider_config_key="acme",
        provider="acme",
        connection_config=config,
        credentials=credentials or {"type": "NONE"},
    )


class Api:
    """A fake API: records every request and answers with `handler` (default: 200 `{}`)."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.handler = handler or (lambda _request: httpx.Response(200, json={}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def send(
    call: ProxyCall,
    *,
    api: Api | None = None,
    prov: Provider | None = None,
    conn: Connection | None = None,
    **options: Any,
) -> ProxyResponse:

    async def run() -> ProxyResponse:
        async with build_client(transport=httpx.MockTransport(api or Api())) as client:
            engine = ProxyEngine(
                client=client,
                provider=prov or provider(),
                connection=conn or connection(),
                **options,
            )
            return await engine.send(call)

    return asyncio.run(run())


# --- URL -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "endpoint", "expected"),
    [
        ("https://api.acme.test/v1", "/users", "https://api.acme.test/v1/users"),
        ("https://api.acme.test/v1/", "users", "https://api.acme.test/v1/users"),
        ("https://api.acme.test/v1/", "//users", "https://api.acme.test/v1/users"),
        (
            "https://api.acme.test/v1",
            "https://api.acme.test/v1/users",
            "https://api.acme.test/v1/users",
        ),
        ("https://api.acme.test/v1", "https://files.acme.test/x", "https://files.acme.test/x"),
        ("https://api.acme.test/v1", "", "https://api.acme.test/v1"),
    ],
)
def test_url_joins_base_and_endpoint_with_one_slash(
    base_url: str, endpoint: str, expected: str
) -> None:
    api = Api()
    send(ProxyCall(endpoint=endpoint), api=api, prov=provider(base_url=base_url))
    assert str(api.last.url) == expected


def test_base_url_interpolates_connection_config() -> None:
    api = Api()
    prov = provider(base_url="https://${connectionConfig.subdomain}.acme.test/api")
    send(ProxyCall(endpoint="/tickets"), api=api, prov=prov, conn=connection(subdomain="shop"))
    assert str(api.last.url) == "https://shop.acme.test/api/tickets"


def test_missing_connection_config_value_names_the_key_and_where_to_set_it() -> None:
    prov = provider(base_url="https://${connectionConfig.subdomain}.acme.test/api")
    with pytest.raises(UserError) as caught:
        send(ProxyCall(endpoint="/tickets"), prov=prov)
    assert "connection_config['subdomain']" in str(caught.value)
    assert "base URL" in str(caught.value)
    assert "conn-1" in str(caught.value)
    assert caught.value.hint is not None and "connection_config" in caught.value.hint


def test_base_url_override_wins_and_is_interpolated_too() -> None:
    api = Api()
    call = ProxyCall(endpoint="/x", base_url_override="https://${connectionConfig.host}/api")
    send(call, api=api, conn=connection(host="eu.acme.test"))
    assert str(api.last.url) == "https://eu.acme.test/api/x"


def test_base_url_fallback_alternative_is_used_when_the_first_cannot_be_filled() -> None:
    api = Api()
    prov = provider(base_url="${connectionConfig.api_url} || https://default.acme.test")
    send(ProxyCall(endpoint="/x"), api=api, prov=prov)
    assert str(api.last.url) == "https://default.acme.test/x"


def test_url_without_a_scheme_is_a_user_error() -> None:
    prov = provider(base_url="${connectionConfig.instance_url}")
    with pytest.raises(UserError, match="must start with http"):
        send(ProxyCall(endpoint="/x"), prov=prov, conn=connection(instance_url="acme.test"))


def test_params_are_written_as_javascript_would() -> None:
    api = Api()
    params = {"limit": 100, "ratio": 1.5, "archived": False, "ids": [1, "b"], "skip": None}
    send(ProxyCall(endpoint="/items", params=params), api=api)
    assert api.last.url.query == b"limit=100&ratio=1.5&archived=false&ids=1%2Cb"


def test_endpoint_query_is_kept_and_params_replace_same_names() -> None:
    api = Api()
    call = ProxyCall(endpoint="/items?state=all&page=1", params={"page": 2})
    send(call, api=api)
    assert api.last.url.query == b"state=all&page=2"


def test_string_params_are_appended_as_written() -> None:
    api = Api()
    send(ProxyCall(endpoint="/items?a=1", params="?b=2&c=x%20y"), api=api)
    assert api.last.url.query == b"a=1&b=2&c=x%20y"


# --- auth and headers ----------------------------------------------------------------------------


def test_api_key_in_a_header_template() -> None:
    api = Api()
    prov = provider(auth_mode="API_KEY", headers={"X-Api-Key": "${apiKey}"})
    conn = connection({"type": "API_KEY", "apiKey": "k-123"})
    send(ProxyCall(endpoint="/me"), api=api, prov=prov, conn=conn)
    assert api.last.headers["x-api-key"] == "k-123"
    assert "authorization" not in api.last.headers


def test_api_key_in_the_query_is_sent_but_redacted_in_reports() -> None:
    api, attempts = Api(), list[Attempt]()
    prov = provider(auth_mode="API_KEY", query={"api_key": "${apiKey}", "format": "json"})
    conn = connection({"type": "API_KEY", "apiKey": "k-123"})
    call = ProxyCall(endpoint="/me", params={"q": "x"})
    send(call, api=api, prov=prov, conn=conn, on_attempt=attempts.append)
    assert api.last.url.query == b"q=x&api_key=k-123&format=json"
    assert attempts[0].url == "https://api.acme.test/v1/me?q=x&api_key=***&format=json"


def test_api_key_without_any_template_is_sent_as_bearer() -> None:
    api = Api()
    prov = Provider.model_construct(
        key="acme", display_name="Acme", auth_mode="API_KEY", base_url="https://api.acme.test",
        headers={}, query={}, token_url=None, paginate=None, retry=None, alias=None,
    )  # fmt: skip
    send(ProxyCall(endpoint="/me"), api=api, prov=prov, conn=connection({"apiKey": "k-1"}))
    assert api.last.headers["authorization"] == "Bearer k-1"


def test_missing_api_key_is_a_user_error() -> None:
    prov = provider(auth_mode="API_KEY", headers={"x-api-key": "${apiKey}"})
    with pytest.raises(UserError, match="apiKey"):
        send(ProxyCall(endpoint="/me"), prov=prov, conn=connection({"type": "API_KEY"}))


def test_basic_auth() -> None:
    api = Api()
    conn = connection({"type": "BASIC", "username": "ann", "password": "pä ss"})
    send(ProxyCall(endpoint="/me"), api=api, prov=provider(auth_mode="BASIC"), conn=conn)
    expected = base64.b64encode("ann:pä ss".encode()).decode()
    assert api.last.headers["authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(
    ("mode", "credentials"),
    [
        ("OAUTH2", {"type": "OAUTH2", "access_token": "tok"}),
        ("APP", {"type": "APP", "access_token": "tok"}),
        ("JWT", {"type": "JWT", "token": "tok"}),
        ("TWO_STEP", {"type": "TWO_STEP", "token": "tok"}),
    ],
)
def test_bearer_modes(mode: str, credentials: dict[str, Any]) -> None:
    api = Api()
    send(
        ProxyCall(endpoint="/me"),
        api=api,
        prov=provider(auth_mode=mode),
        conn=connection(credentials),
    )
    assert api.last.headers["authorization"] == "Bearer tok"


def test_oauth2_without_an_access_token_is_a_user_error() -> None:
    with pytest.raises(UserError, match="accessToken"):
        send(ProxyCall(endpoint="/me"), prov=provider(auth_mode="OAUTH2"), conn=connection({}))


def test_none_mode_sends_no_authorization() -> None:
    api = Api()
    send(ProxyCall(endpoint="/me"), api=api)
    assert "authorization" not in api.last.headers


def test_provider_header_templates_and_call_headers_override_case_insensitively() -> None:
    api = Api()
    prov = provider(
        auth_mode="OAUTH2",
        headers={"Notion-Version": "2022-06-28", "X-Tenant": "${connectionConfig.tenant}"},
    )
    conn = connection({"type": "OAUTH2", "access_token": "tok"}, tenant="t1")
    headers = {"notion-version": "2023-01-01", "AUTHORIZATION": "Bearer mine", "X-Tenant": None}
    send(ProxyCall(endpoint="/me", headers=headers), api=api, prov=prov, conn=conn)
    assert api.last.headers["notion-version"] == "2023-01-01"
    assert api.last.headers["authorization"] == "Bearer mine"
    assert "x-tenant" not in api.last.headers


def test_header_templates_use_access_token_and_credentials() -> None:
    api = Api()
    prov = provider(
        auth_mode="OAUTH2",
        headers={"x-shopify-access-token": "${accessToken}", "x-user": "${credentials.user_id}"},
    )
    conn = connection({"type": "OAUTH2", "access_token": "tok", "user_id": 42})
    send(ProxyCall(endpoint="/me"), api=api, prov=prov, conn=conn)
    assert api.last.headers["x-shopify-access-token"] == "tok"
    assert api.last.headers["x-user"] == "42"


def test_header_template_falls_back_to_its_second_alternative() -> None:
    api = Api()
    prov = provider(headers={"x-app": "${connectionConfig.appDetails} || App (dev@acme.test)"})
    send(ProxyCall(endpoint="/me"), api=api, prov=prov)
    assert api.last.headers["x-app"] == "App (dev@acme.test)"
    send(ProxyCall(endpoint="/me"), api=api, prov=prov, conn=connection(appDetails="Mine"))
    assert api.last.headers["x-app"] == "Mine"


def test_a_computed_header_the_sdk_cannot_fill_is_a_clear_user_error() -> None:
    prov = get_provider("aws-iam")
    conn = connection({"type": "BASIC", "username": "AKIA", "password": "secret"})
    with pytest.raises(UserError) as caught:
        send(ProxyCall(endpoint="/"), prov=prov, conn=conn)
    message = str(caught.value)
    assert "header 'authorization' of provider 'aws-iam'" in message
    assert "${awsSigV4(${credentials.username}, ${credentials.password}, us-east-1, iam)}" in (
        message
    )
    assert caught.value.hint is not None and "headers=" in caught.value.hint
    assert "secret" not in message


def test_a_call_header_replaces_a_computed_provider_header() -> None:
    api = Api()
    prov = provider(headers={"x-signature": "${base64(${apiKey})}", "x-static": "1"})
    send(ProxyCall(endpoint="/me", headers={"X-Signature": "given"}), api=api, prov=prov)
    assert api.last.headers["x-signature"] == "given"
    assert api.last.headers["x-static"] == "1"


def test_a_provider_without_a_base_url_needs_an_override() -> None:
    prov = provider(base_url=None)
    with pytest.raises(UserError, match="'acme' has no base URL") as caught:
        send(ProxyCall(endpoint="/me"), prov=prov)
    assert caught.value.hint is not None and "base_url_override" in caught.value.hint
    api = Api()
    send(ProxyCall(endpoint="/me", base_url_override="https://mcp.acme.test"), api=api, prov=prov)
    assert str(api.last.url) == "https://mcp.acme.test/me"


def test_user_agent_is_ours() -> None:
    api = Api()
    send(ProxyCall(endpoint="/me"), api=api)
    assert api.last.headers["user-agent"] == f"nango-py/{__version__}"


def test_catalog_provider_with_templates_end_to_end() -> None:
    api = Api()
    prov = get_provider("zendesk")
    conn = connection({"type": "OAUTH2", "access_token": "tok"}, subdomain="acme")
    send(ProxyCall(endpoint="/api/v2/tickets.json"), api=api, prov=prov, conn=conn)
    assert str(api.last.url) == "https://acme.zendesk.com/api/v2/tickets.json"
    assert api.last.headers["authorization"] == "Bearer tok"


# --- OAuth2 client credentials -------------------------------------------------------------------


class TokenServer:
    """Answers the token URL with numbered tokens and every other URL with the bearer it saw."""

    def __init__(self, expires_in: int | None = 3600) -> None:
        self.issued = 0
        self.forms: list[dict[str, str]] = []
        self.expires_in = expires_in

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.issued += 1
            self.forms.append(dict(httpx.QueryParams(request.content.decode())))
            body: dict[str, Any] = {"access_token": f"cc-{self.issued}", "token_type": "bearer"}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"auth": request.headers.get("authorization")})


def cc_engine(
    server: TokenServer,
    clock: list[float],
    token_client: httpx.AsyncClient | None = None,
    token_url: str | dict[str, str] = "https://auth.acme.test/oauth/token",
    **credentials: Any,
) -> ProxyEngine:
    prov = provider(auth_mode="OAUTH2_CC", token_url=token_url)
    creds = {"type": "OAUTH2_CC", "client_id": "id", "client_secret": "secret", **credentials}
    return ProxyEngine(
        client=build_client(transport=httpx.MockTransport(server)),
        provider=prov,
        connection=connection(creds),
        now=lambda: clock[0],
        token_client=token_client,
    )


def test_client_credentials_token_is_fetched_once_cached_and_refetched_after_expiry() -> None:
    server, clock = TokenServer(expires_in=3600), [1_000.0]
    engine = cc_engine(server, clock)

    async def run() -> list[Any]:
        seen = []
        for moment in (1_000.0, 4_000.0, 4_600.0, 8_000.0):
            clock[0] = moment
            seen.append((await engine.send(ProxyCall(endpoint="/me"))).data["auth"])
        return seen

    assert asyncio.run(run()) == ["Bearer cc-1", "Bearer cc-1", "Bearer cc-2", "Bearer cc-2"]
    assert server.forms[0] == {
        "grant_type": "client_credentials",
        "client_id": "id",
        "client_secret": "secret",
    }


def test_client_credentials_token_without_expiry_is_kept() -> None:
    server, clock = TokenServer(expires_in=None), [0.0]
    engine = cc_engine(server, clock)
    for moment in (0.0, 1e9):
        clock[0] = moment
        asyncio.run(engine.send(ProxyCall(endpoint="/me")))
    assert server.issued == 1


def test_client_credentials_token_from_the_connection_is_reused_until_it_expires() -> None:
    server, clock = TokenServer(), [1_700_000_000.0]
    engine = cc_engine(server, clock, token="given", expires_at="2023-11-14T22:43:20Z")
    first = asyncio.run(engine.send(ProxyCall(endpoint="/me")))
    assert first.data["auth"] == "Bearer given" and server.issued == 0
    clock[0] = 1_700_000_000.0 + 10_000
    second = asyncio.run(engine.send(ProxyCall(endpoint="/me")))
    assert second.data["auth"] == "Bearer cc-1"


@pytest.mark.parametrize(
    "token_url",
    [
        "https://${connectionConfig.region}.acme.test/oauth/token || https://auth.acme.test/oauth/token",
        {
            "OAUTH2": "https://other.acme.test/authorize",
            "OAUTH2_CC": "https://auth.acme.test/oauth/token",
        },
    ],
)
def test_client_credentials_token_url_fallback_and_per_auth_mode(
    token_url: str | dict[str, str],
) -> None:
    auth = respx.MockRouter()  # a request to any other URL fails the test
    token = auth.post("https://auth.acme.test/oauth/token").respond(json={"access_token": "cc-1"})
    token_client = build_client(transport=httpx.MockTransport(auth.handler))
    engine = cc_engine(TokenServer(), [0.0], token_client, token_url)
    assert asyncio.run(engine.send(ProxyCall(endpoint="/me"))).data["auth"] == "Bearer cc-1"
    assert token.call_count == 1


def test_client_credentials_token_failure_raises_http_error() -> None:
    from runtime.sdk.nango import HttpError

    auth = respx.MockRouter()
    auth.post("https://auth.acme.test/oauth/token").respond(401, json={"error": "invalid_client"})
    token_client = build_client(transport=httpx.MockTransport(auth.handler))
    engine = cc_engine(TokenServer(), [0.0], token_client)
    with pytest.raises(HttpError) as caught:
        asyncio.run(engine.send(ProxyCall(endpoint="/me")))
    assert caught.value.status == 401
    assert caught.value.body == {"error": "invalid_client"}


# --- request bodies ------------------------------------------------------------------------------


def test_json_body_is_serialized_like_javascript() -> None:
    api = Api()
    data = {"zeta": 18, "alpha": 1.0, "name": "Zoë", "nested": {"b": [1, 2.5]}}
    send(ProxyCall(endpoint="/x", method="POST", data=data), api=api)
    assert api.last.content == '{"zeta":18,"alpha":1,"name":"Zoë","nested":{"b":[1,2.5]}}'.encode()
    assert api.last.headers["content-type"] == "application/json"


def test_json_body_keeps_a_caller_content_type() -> None:
    api = Api()
    call = ProxyCall(
        endpoint="/x", method="PUT", data=[1], headers={"Content-Type": "application/vnd.api+json"}
    )
    send(call, api=api)
    assert api.last.headers["content-type"] == "application/vnd.api+json"
    assert api.last.content == b"[1]"


def test_form_body() -> None:
    api = Api()
    headers = {"content-type": "application/x-www-form-urlencoded"}
    data = {"name": "a b", "count": 18, "flag": True}
    send(ProxyCall(endpoint="/x", method="POST", data=data, headers=headers), api=api)
    assert api.last.content == b"name=a+b&count=18&flag=true"


def test_multipart_body() -> None:
    api = Api()
    headers = {"Content-Type": "multipart/form-data"}
    data = {"title": "hi", "file": ("a.txt", b"hello", "text/plain"), "raw": b"\x00"}
    send(ProxyCall(endpoint="/x", method="POST", data=data, headers=headers), api=api)
    content_type = api.last.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    body = api.last.content
    assert b'name="title"\r\n\r\nhi' in body
    assert b'name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello' in body


def test_string_and_bytes_bodies_are_sent_as_is() -> None:
    api = Api()
    send(ProxyCall(endpoint="/x", method="POST", data="<xml/>"), api=api)
    assert api.last.content == b"<xml/>"
    send(ProxyCall(endpoint="/x", method="PATCH", data=b"\x01\x02"), api=api)
    assert api.last.content == b"\x01\x02"


@pytest.mark.parametrize("method", ["GET", "get", "HEAD"])
def test_no_body_for_methods_without_one(method: str) -> None:
    api = Api()
    send(ProxyCall(endpoint="/x", method=method, data={"a": 1}), api=api)
    assert api.last.content == b""
    assert api.last.method == method.upper()


def test_delete_sends_a_body() -> None:
    api = Api()
    send(ProxyCall(endpoint="/x", method="DELETE", data={"ids": [1]}), api=api)
    assert api.last.content == b'{"ids":[1]}'


# --- responses -----------------------------------------------------------------------------------


def reply(status: int = 200, **kwargs: Any) -> Api:
    return Api(lambda _request: httpx.Response(status, **kwargs))


def test_json_response_keeps_integers() -> None:
    response = send(ProxyCall(endpoint="/x"), api=reply(content=b'{"n": 18, "f": 1.5}'))
    assert response.data == {"n": 18, "f": 1.5}
    assert isinstance(response.data["n"], int)
    assert response.status == 200


def test_non_json_body_is_returned_as_text() -> None:
    response = send(ProxyCall(endpoint="/x"), api=reply(text="<html>hi</html>"))
    assert response.data == "<html>hi</html>"


@pytest.mark.parametrize("content", [b"", b"  \n"])
def test_empty_body_is_none(content: bytes) -> None:
    assert send(ProxyCall(endpoint="/x"), api=reply(204, content=content)).data is None


def test_text_and_arraybuffer_response_types() -> None:
    api = reply(content=b'{"a": 1}')
    assert send(ProxyCall(endpoint="/x", response_type="text"), api=api).data == '{"a": 1}'
    assert send(ProxyCall(endpoint="/x", response_type="arraybuffer"), api=api).data == (
        b'{"a": 1}'
    )


def test_response_headers_are_a_lowercase_dict() -> None:
    api = reply(json=[], headers=[("X-Total", "3"), ("Link", "<a>"), ("link", "<b>")])
    headers = send(ProxyCall(endpoint="/x"), api=api).headers
    assert headers["x-total"] == "3"
    assert headers["link"] == "<a>, <b>"


def test_successful_attempt_is_reported() -> None:
    attempts: list[Attempt] = []
    send(ProxyCall(endpoint="/x", params={"a": 1}), on_attempt=attempts.append)
    [attempt] = attempts
    assert (attempt.method, attempt.url, attempt.status, attempt.attempt) == (
        "GET",
        "https://api.acme.test/v1/x?a=1",
        200,
        1,
    )
    assert attempt.error is None and attempt.wait_ms is None and attempt.duration_ms >= 0


def test_build_client_follows_redirects() -> None:
    api = respx.MockRouter(base_url="https://api.acme.test/v1")
    api.get("/old").respond(301, headers={"location": "https://api.acme.test/v1/new"})
    new = api.get("/new").respond(json={"moved": True})

    async def run() -> ProxyResponse:
        async with build_client(transport=httpx.MockTransport(api.handler)) as client:
            engine = ProxyEngine(client=client, provider=provider(), connection=connection())
            return await engine.send(ProxyCall(endpoint="/old"))

    assert asyncio.run(run()).data == {"moved": True}
    assert new.call_count == 1


def test_build_client_settings() -> None:
    client = build_client(timeout=5.0)
    assert client.timeout.read == 5.0 and client.timeout.connect == 5.0
    assert client.follow_redirects is True
    assert client.headers["user-agent"] == f"nango-py/{__version__}"


def test_an_invalid_url_is_a_user_error() -> None:
    with pytest.raises(UserError, match="Cannot call"):
        send(ProxyCall(endpoint="https://[::1/x"))


# --- redirects to another host -------------------------------------------------------------------


def redirecting_api(location: str) -> Api:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/old"):
            return httpx.Response(302, headers={"location": location})
        return httpx.Response(200, json={"moved": True})

    return Api(answer)


CREDENTIAL_HEADERS = {
    "x-api-key": "${apiKey}",
    "x-api-password": "${connectionConfig.API_PASSWORD}",
    "x-firm": "${connectionConfig.firm}",
    "accept": "application/json",
}


def test_a_cross_host_redirect_drops_every_header_the_catalog_filled() -> None:
    """Whatever their names: the key, a password kept in the connection config, any filled
    template. A constant header of the catalog is not a credential and follows."""
    api = redirecting_api("https://elsewhere.test/new")
    prov = provider(auth_mode="API_KEY", headers=CREDENTIAL_HEADERS)
    conn = connection({"type": "API_KEY", "apiKey": "k-123"}, API_PASSWORD="pw-456", firm="f1")
    response = send(ProxyCall(endpoint="/old"), api=api, prov=prov, conn=conn)
    assert response.data == {"moved": True}
    first, landed = api.requests
    assert first.headers["x-api-key"] == "k-123" and first.headers["x-api-password"] == "pw-456"
    assert {"x-api-key", "x-api-password", "x-firm", "authorization"}.isdisjoint(landed.headers)
    assert landed.headers["accept"] == "application/json"


def test_a_same_host_redirect_keeps_the_credentials() -> None:
    api = redirecting_api("https://api.acme.test/v1/new")
    prov = provider(auth_mode="API_KEY", headers=CREDENTIAL_HEADERS)
    conn = connection({"type": "API_KEY", "apiKey": "k-123"}, API_PASSWORD="pw-456", firm="f1")
    send(ProxyCall(endpoint="/old"), api=api, prov=prov, conn=conn)
    assert api.last.headers["x-api-key"] == "k-123"
    assert api.last.headers["x-api-password"] == "pw-456"


def test_a_bearer_token_is_dropped_on_the_way_to_another_host() -> None:
    api = redirecting_api("https://elsewhere.test/new")
    conn = connection({"type": "OAUTH2", "access_token": "tok-1"})
    send(ProxyCall(endpoint="/old"), api=api, prov=provider(auth_mode="OAUTH2"), conn=conn)
    assert api.requests[0].headers["authorization"] == "Bearer tok-1"
    assert "authorization" not in api.last.headers


def test_secret_values_the_catalog_fills_in_are_reported_as_secrets() -> None:
    """A password kept in the connection config is as secret as the key (redacted by value)."""
    secrets: list[str] = []
    prov = provider(auth_mode="API_KEY", headers=CREDENTIAL_HEADERS)
    conn = connection({"type": "API_KEY", "apiKey": "k-123"}, API_PASSWORD="pw-456", firm="f1")
    send(ProxyCall(endpoint="/me"), prov=prov, conn=conn, on_secret=secrets.append)
    assert "k-123" in secrets and "pw-456" in secrets
    assert "f1" not in secrets


# --- a body that never ends ----------------------------------------------------------------------


class DrippingServer:
    """A real server on 127.0.0.1 whose answer announces 10,000 bytes and sends one every 50 ms:
    no single read ever waits long, so only a deadline on the whole response stops it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n")
            while not self.stopped.wait(0.05):
                try:
                    connection.sendall(b"x")
                except OSError:
                    return

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()
        self.thread.join(5)


def test_a_response_dripping_forever_fails_at_its_deadline_instead_of_hanging() -> None:
    server = DrippingServer()

    async def run() -> BaseException:
        async with build_client(timeout=0.4) as client:  # a deadline of 5 x 0.4 s in all
            engine = ProxyEngine(
                client=client,
                provider=provider(base_url=server.url),
                connection=connection(),
            )
            with pytest.raises(NetworkError) as caught:
                await asyncio.wait_for(engine.send(ProxyCall(endpoint="/drip", retries=0)), 60)
            return caught.value

    try:
        error = asyncio.run(run())
    finally:
        server.close()
    assert "no complete response within 2 s" in str(error)
