"""`/proxy/...`: credentials injected, Nango-Proxy-* forwarded, nothing of ours upstream, the
provider's answer passed back, retries, and the Base-Url-Override denylist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.server.app import create_app
from runtime.server.denylist import canonical_host, denylist, is_denied
from runtime.settings import RuntimeSettings
from runtime.store import Store
from tests.helpers import FakeApi, Reply, closed_port_url
from tests.runtime.server.conftest import DEV_KEY, ApiClient, World, api_client, headers

TOKEN = "gho_secret_token_51f"


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()
    api.start()
    yield api
    api.stop()


@pytest.fixture
def proxied(world: World, fake_api: FakeApi) -> World:
    """`github` pointed at the fake API through its base URL override."""
    world.store.integrations.update(world.environment_id, "github", base_url_override=fake_api.url)
    return world


def test_a_get_carries_the_connections_token_and_only_the_forwarded_headers(
    client: ApiClient, proxied: World, fake_api: FakeApi
) -> None:
    fake_api.route("/repos/acme/issues", Reply(200, [{"id": 1}], {"X-Request-Id": "r-1"}))
    answer = client.get(
        "/proxy/repos/acme/issues?state=open&page=2",
        headers=headers(proxied, **{"Nango-Proxy-X-Custom": "yes", "Accept": "text/html"}),
    )
    assert answer.status_code == 200
    assert answer.json() == [{"id": 1}]
    assert answer.headers["x-request-id"] == "r-1"
    (received,) = fake_api.hits("/repos/acme/issues")
    assert received.query == {"state": ["open"], "page": ["2"]}
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
    assert received.headers["x-custom"] == "yes"
    sent = " ".join(f"{k}: {v}" for k, v in received.headers.items()).lower()
    for ours in (DEV_KEY, "connection-id", "provider-config-key", "nango-proxy", "acme"):
        assert ours.lower() not in sent


def test_a_post_body_and_its_content_type_go_upstream(
    client: ApiClient, proxied: World, fake_api: FakeApi
) -> None:
    fake_api.route("/issues", Reply(201, {"created": True}))
    answer = client.post("/proxy/issues", json={"title": "hi"}, headers=headers(proxied))
    assert (answer.status_code, answer.json()) == (201, {"created": True})
    (received,) = fake_api.hits("/issues")
    assert received.json() == {"title": "hi"}
    assert received.headers["content-type"] == "application/json"


def test_an_upstream_error_is_passed_back_as_is(
    client: ApiClient, proxied: World, fake_api: FakeApi
) -> None:
    fake_api.route("/missing", Reply(404, {"message": "Not Found"}, {"X-Internal": "hidden"}))
    answer = client.get("/proxy/missing", headers=headers(proxied))
    assert answer.status_code == 404
    assert answer.json() == {"message": "Not Found"}
    assert "x-internal" not in answer.headers


def test_retries_and_retry_on(client: ApiClient, proxied: World, fake_api: FakeApi) -> None:
    fake_api.route("/flaky", Reply(409, {"busy": True}), Reply(200, {"ok": True}))
    once = client.get("/proxy/flaky", headers=headers(proxied))
    assert once.status_code == 409
    fake_api.route("/flaky", Reply(409, {"busy": True}), Reply(200, {"ok": True}))
    retried = client.get(
        "/proxy/flaky", headers=headers(proxied, Retries="2", **{"Retry-On": "409,429"})
    )
    assert (retried.status_code, retried.json()) == (200, {"ok": True})


def test_a_204_has_no_body(client: ApiClient, proxied: World, fake_api: FakeApi) -> None:
    fake_api.route("/gone", Reply(204, None))
    answer = client.delete("/proxy/gone", headers=headers(proxied))
    assert (answer.status_code, answer.content) == (204, b"")


@pytest.mark.parametrize(
    "override",
    [
        "http://localhost:8080/",
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9000",
        "http://0x7f.1/",
        "http://2130706433/",
        "http://METADATA.google.internal./",
    ],
)
def test_denied_base_url_overrides_are_refused_first(client: ApiClient, override: str) -> None:
    answer = client.get(
        "/proxy/x",
        headers={
            "Connection-Id": "ghost",
            "Provider-Config-Key": "none",
            "Base-Url-Override": override,
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "base_url_override_not_allowed",
        "message": "This base URL override is not allowed by server configuration.",
    }


def test_an_empty_denylist_lets_the_override_through(
    api_store: Store, tmp_path: object, world: World, fake_api: FakeApi
) -> None:
    settings = RuntimeSettings(proxy_base_url_override_denylist=[])
    fake_api.route("/here", Reply(200, {"here": True}))
    with api_client(create_app(settings, api_store)) as client:
        answer = client.get(
            "/proxy/here", headers=headers(world, **{"Base-Url-Override": fake_api.url})
        )
    assert answer.json() == {"here": True}


def test_the_denylist_is_nangos() -> None:
    defaults = denylist(None)
    assert {"localhost", "127.0.0.1", "::1", "169.254.169.254"} <= defaults
    assert denylist([]) == frozenset()
    extended = denylist(["https://internal.example.com:8443/x", "10.0.0.1"])
    assert {"internal.example.com", "10.0.0.1", "localhost"} <= extended
    assert is_denied("not a url", defaults)
    assert not is_denied("https://api.github.com", defaults)
    assert canonical_host("[::ffff:127.0.0.1]") == canonical_host("::ffff:7f00:1")


def test_unknown_integration_and_connection(client: ApiClient, world: World) -> None:
    unknown_integration = client.get(
        "/proxy/x", headers={"Connection-Id": "acme", "Provider-Config-Key": "nope"}
    )
    assert unknown_integration.status_code == 404
    assert unknown_integration.json()["error"]["code"] == "unknown_provider_config"
    unknown_connection = client.get(
        "/proxy/x", headers={"Connection-Id": "ghost", "Provider-Config-Key": "github"}
    )
    assert unknown_connection.status_code == 400
    assert unknown_connection.json()["error"] == {
        "code": "server_error",
        "message": "Failed to get connection",
    }


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"Retries": "many"},
        {"Retry-On": "5xx"},
        {"Base-Url-Override": "not a url"},
        {"Decompress": "maybe"},
    ],
)
def test_bad_proxy_headers_are_invalid_headers(
    client: ApiClient, world: World, extra: dict[str, str]
) -> None:
    base = headers(world) if extra else {}
    answer = client.get("/proxy/x", headers={**base, **extra})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_headers"


def test_an_unreachable_provider_is_a_clear_502(client: ApiClient, world: World) -> None:
    world.store.integrations.update(
        world.environment_id, "github", base_url_override=closed_port_url()
    )
    answer = client.get("/proxy/x", headers=headers(world))
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "proxy_network_error"
    assert TOKEN not in answer.text


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_method_is_proxied(
    client: ApiClient, proxied: World, fake_api: FakeApi, method: str
) -> None:
    fake_api.route("/thing", Reply(200, {"method": method}))
    answer = client.request(method, "/proxy/thing", content=b"raw", headers=headers(proxied))
    assert answer.json() == {"method": method}
    (received,) = fake_api.hits("/thing")
    assert (received.method, received.body) == (method, b"raw")
