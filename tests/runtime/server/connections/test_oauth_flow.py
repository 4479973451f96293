"""The OAuth2 connect flow end to end against a fake OAuth provider on 127.0.0.1: consent page,
callback, code exchange, credentials stored encrypted, refreshed when expired, a rotated
refresh token kept, a failed refresh shown; and every way the flow can go wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from runtime.credentials.shapes import js_iso
from runtime.store import Connection
from tests.helpers import closed_port_url
from tests.runtime.credentials.conftest import database_bytes
from tests.runtime.credentials.fake_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeOAuth,
    FakeOAuthServer,
)
from tests.runtime.server.connections.conftest import Api

RUNTIME = "http://runtime.test"


def browse(api: Api, url: str, *, key: str | None = None) -> httpx.Response:
    """Follow redirects as a browser would, between the runtime (in-process) and the provider
    (a real server); the secret key only on the first request, when given."""
    for _ in range(10):
        if url.startswith(RUNTIME):
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            response = api.get(path, key=key)
        else:
            response = httpx.get(url, follow_redirects=False)
        key = None
        if response.status_code not in (301, 302, 303, 307, 308):
            return response
        url = response.headers["location"]
    raise AssertionError("too many redirects")


def _connect(api: Api, path: str = "/oauth/connect/fake?connection_id=acme") -> httpx.Response:
    return browse(api, RUNTIME + path, key="")


def _stored(api: Api, key: str = "fake", name: str = "acme") -> Connection:
    found = api.env.store.connections.get(api.env.id, key, name)
    assert found is not None
    return found


def _expire(api: Api, key: str = "fake", name: str = "acme") -> dict[str, Any]:
    connection = _stored(api, key, name)
    past = datetime.now(UTC) - timedelta(minutes=1)
    credentials = {**(connection.credentials or {}), "expires_at": js_iso(past)}
    api.env.store.connections.save_credentials(connection.id, credentials, expires_at=past)
    return credentials


def test_connect_store_encrypted_refresh_rotate_and_fail(api: Api, oauth: FakeOAuth) -> None:
    # the consent page gets what the provider needs
    first = api.get("/oauth/connect/fake?connection_id=acme")
    assert first.status_code == 302
    location = urlsplit(first.headers["location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.path == "/authorize"
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{RUNTIME}/oauth/callback"
    assert query["scope"] == "offline read write"  # the provider's defaults, then the integration's
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert (query["prompt"], query["access_type"]) == ("consent", "offline")
    assert len(query["state"]) >= 40

    # connect: the page says so, the connection holds the provider's tokens
    page = _connect(api)
    assert page.status_code == 200 and "Connected" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    connection = _stored(api)
    credentials = connection.credentials or {}
    assert credentials["access_token"].startswith("at-")
    original_refresh = credentials["refresh_token"]
    assert connection.connection_config == {"instance_url": "https://acme.example.com"}
    assert connection.credentials_expires_at is not None
    assert oauth.token_requests[-1]["code_verifier"]  # PKCE verifier sent with the code

    # stored encrypted: no token, verifier or client secret in the database in clear
    raw = database_bytes(api.env.store)
    assert b"acme.example.com" in raw  # the reading sees what is stored in clear
    for secret in [*oauth.issued, CLIENT_SECRET, oauth.token_requests[-1]["code_verifier"]]:
        assert secret.encode() not in raw, secret

    # expired: refreshed on read, the rotated refresh token kept
    _expire(api)
    fetched = api.get("/connections/acme?provider_config_key=fake&refresh_token=true").json()
    assert oauth.counts["refresh"] == 1
    assert fetched["credentials"]["access_token"] != credentials["access_token"]
    rotated = fetched["credentials"]["refresh_token"]
    assert rotated != original_refresh
    assert (_stored(api).credentials or {})["refresh_token"] == rotated
    _expire(api)
    api.get("/connections/acme?provider_config_key=fake")  # the rotated one works
    assert oauth.counts["refresh"] == 2

    # a failed refresh: answered, and shown in the list
    oauth.refresh_fails = True
    _expire(api)
    response = api.get("/connections/acme?provider_config_key=fake")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    listed = api.get("/connections").json()["connections"]
    assert listed[0]["errors"][0]["type"] == "auth"
    assert "invalid_grant" in listed[0]["errors"][0]["message"]


def test_a_connect_link_works_without_the_key_once(api: Api, oauth: FakeOAuth) -> None:
    body = {
        "provider_config_key": "fake",
        "connection_id": "acme",
        "metadata": {"plan": "pro"},
        "connection_config": {"region": "eu"},
    }
    created = api.post("/oauth/connect-link", json=body)
    assert created.status_code == 201, created.text
    link = created.json()
    assert link["url"].startswith(f"{RUNTIME}/oauth/connect/fake?connection_id=acme&link=")
    status = api.get(f"/oauth/connect-link/{link['link']}").json()
    assert (status["status"], status["succeeded"]) == ("PENDING", False)

    page = browse(api, link["url"])  # no key: the link is the authorization
    assert page.status_code == 200 and "Connected" in page.text
    connection = _stored(api)
    assert connection.metadata == {"plan": "pro"}
    assert connection.connection_config == {
        "region": "eu",
        "instance_url": "https://acme.example.com",
    }
    status = api.get(f"/oauth/connect-link/{link['link']}").json()
    assert (status["status"], status["succeeded"]) == ("SUCCESS", True)
    assert "created" in status["message"]

    again = browse(api, link["url"])
    assert again.status_code == 400 and "already used" in again.text
    assert oauth.counts["code"] == 1


def test_reconnecting_updates_the_connection(api: Api, oauth: FakeOAuth) -> None:
    _connect(api)
    first = _stored(api)
    page = _connect(api)
    assert "was updated" in page.text
    second = _stored(api)
    assert second.id == first.id and second.credentials != first.credentials


def test_a_provider_without_pkce_a_basic_client_and_json_bodies(
    api: Api, oauth: FakeOAuth, oauth_server: FakeOAuthServer
) -> None:
    host = oauth_server.url.removeprefix("http://")
    first = api.get(f"/oauth/connect/plain?connection_id=acme&params[host]={host}")
    query = parse_qs(urlsplit(first.headers["location"]).query)
    assert "code_challenge" not in query
    assert query["scope"] == ["read,write,offline"]  # the provider's separator
    page = _connect(api, f"/oauth/connect/plain?connection_id=acme&params[host]={host}")
    assert page.status_code == 200, page.text
    request = oauth.token_requests[-1]
    assert request["basic"] == (CLIENT_ID, CLIENT_SECRET)
    assert "client_secret" not in request and "code_verifier" not in request
    assert _stored(api, "plain").connection_config["host"] == host


def test_the_provider_refusing_is_shown_escaped(api: Api, oauth: FakeOAuth) -> None:
    oauth.deny = True
    link = api.post(
        "/oauth/connect-link", json={"provider_config_key": "fake", "connection_id": "acme"}
    ).json()
    page = browse(api, link["url"])
    assert page.status_code == 400
    assert "access_denied" in page.text
    assert "&lt;b&gt;User&lt;/b&gt;" in page.text and "<b>User" not in page.text
    assert api.env.store.connections.get(api.env.id, "fake", "acme") is None
    status = api.get(f"/oauth/connect-link/{link['link']}").json()
    assert status["status"] == "ERROR" and "access_denied" in status["message"]


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("", "unknown or has expired"),
        ("?state=nope&code=x", "unknown or has expired"),
        ("?state=&code=x", "unknown or has expired"),
    ],
)
def test_an_unknown_state_is_a_clear_page(api: Api, query: str, said: str) -> None:
    page = api.get(f"/oauth/callback{query}", key=None)
    assert page.status_code == 400 and said in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_a_replayed_callback_exchanges_once(api: Api, oauth: FakeOAuth) -> None:
    first = api.get("/oauth/connect/fake?connection_id=acme")
    back = httpx.get(first.headers["location"], follow_redirects=False).headers["location"]
    path = back.removeprefix(RUNTIME)
    assert api.get(path, key=None).status_code == 200
    again = api.get(path, key=None)
    assert again.status_code == 400 and "already completed" in again.text
    assert oauth.counts["code"] == 1


def test_an_expired_session_is_refused(api: Api, oauth: FakeOAuth) -> None:
    api.env.store.oauth.create(
        api.env.id,
        "fake",
        "acme",
        state="old-state",
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
        redirect_uri=f"{RUNTIME}/oauth/callback",
        scopes=[],
    )
    page = api.get("/oauth/callback?state=old-state&code=x", key=None)
    assert page.status_code == 400 and "expired" in page.text
    assert oauth.counts["code"] == 0


def test_a_token_endpoint_that_is_down_is_a_clear_page(
    api: Api, oauth_server: FakeOAuthServer
) -> None:
    first = api.get("/oauth/connect/fake?connection_id=acme")
    back = httpx.get(first.headers["location"], follow_redirects=False).headers["location"]
    oauth_server.stop()
    page = api.get(back.removeprefix(RUNTIME), key=None)
    assert page.status_code == 502 and "could not be reached" in page.text
    assert api.env.store.connections.get(api.env.id, "fake", "acme") is None


def test_a_token_endpoint_refusal_is_shown_without_secrets(api: Api, oauth: FakeOAuth) -> None:
    api.env.store.integrations.update(api.env.id, "fake", oauth_client_secret="wrong-secret-1")
    page = _connect(api)
    assert page.status_code == 502 and "invalid_client" in page.text
    assert "wrong-secret-1" not in page.text


@pytest.mark.parametrize(
    ("path", "status", "said"),
    [
        ("/oauth/connect/fake", 400, "connection_id"),
        ("/oauth/connect/fake?connection_id=a%3Cb", 400, "connection_id"),
        ("/oauth/connect/nope?connection_id=acme", 404, "does not exist"),
        ("/oauth/connect/plain?connection_id=acme", 400, "connection setting &#x27;host&#x27;"),
        ("/oauth/connect/cc?connection_id=acme", 400, "not obtained through an OAuth"),
    ],
)
def test_a_connect_that_cannot_start_is_a_clear_page(
    api: Api, path: str, status: int, said: str
) -> None:
    page = api.get(path)
    assert page.status_code == status, page.text
    assert said in page.text


def test_connect_needs_the_key_or_a_valid_link(api: Api) -> None:
    page = api.get("/oauth/connect/fake?connection_id=acme", key=None)
    assert page.status_code == 401 and "connect link" in page.text
    page = api.get("/oauth/connect/fake?connection_id=acme&link=forged", key=None)
    assert page.status_code == 404 and "not valid" in page.text
    link = api.post(
        "/oauth/connect-link", json={"provider_config_key": "fake", "connection_id": "acme"}
    ).json()
    token = link["link"]
    page = api.get(f"/oauth/connect/fake?connection_id=other&link={token}", key=None)
    assert page.status_code == 404


def test_an_integration_without_client_id_cannot_connect(api: Api) -> None:
    api.env.store.integrations.update(api.env.id, "fake", oauth_client_id=None)
    page = api.get("/oauth/connect/fake?connection_id=acme")
    assert page.status_code == 400 and "no OAuth client id" in page.text
    response = api.post(
        "/oauth/connect-link", json={"provider_config_key": "fake", "connection_id": "acme"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


def test_connect_link_errors(api: Api) -> None:
    body = {"provider_config_key": "nope", "connection_id": "acme"}
    response = api.post("/oauth/connect-link", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (
        404,
        "unknown_provider_config",
    )
    assert api.post("/oauth/connect-link", json=body, key=None).status_code == 401
    bad = api.post("/oauth/connect-link", json={"provider_config_key": "fake"})
    assert bad.json()["error"]["code"] == "invalid_body"
    assert api.get("/oauth/connect-link/unknown").status_code == 404
    other = api.get("/oauth/connect-link/x", key=None)
    assert other.status_code == 401


def test_events_are_announced(api: Api, oauth: FakeOAuth, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str, bool | None]] = []

    def created(_store: Any, connection: Connection, *, created: bool, settings: Any) -> None:
        assert settings is not None
        seen.append(("created", connection.connection_id, created))

    def deleting(_store: Any, connection: Connection, *, settings: Any) -> None:
        seen.append(("deleting", connection.connection_id, None))

    monkeypatch.setattr("runtime.credentials.connect.on_connection_created", created)
    monkeypatch.setattr("runtime.server.routes.connections.on_connection_created", created)
    monkeypatch.setattr("runtime.server.routes.connections.before_connection_deleted", deleting)
    _connect(api)
    _connect(api)
    credentials = {"type": "OAUTH2", "access_token": "x"}
    api.post(
        "/connections",
        json={"provider_config_key": "fake", "connection_id": "b", "credentials": credentials},
    )
    api.delete("/connections/acme?provider_config_key=fake")
    assert seen == [
        ("created", "acme", True),
        ("created", "acme", False),
        ("created", "b", True),
        ("deleting", "acme", None),
    ]


def test_a_closed_port_helper_is_closed() -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(closed_port_url(), timeout=2)
