"""`GET /connections`, `GET` / `DELETE /connections/:id`, `POST /connections`: Nango's requests,
answers and errors (reference §11)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runtime.credentials.shapes import js_iso
from runtime.http.providers import get_provider
from runtime.http.request import ProxyCall, RequestBuilder
from runtime.sdk.types import Connection as SdkConnection
from tests.runtime.credentials.conftest import database_bytes
from tests.runtime.credentials.fake_oauth import CLIENT_SECRET, FakeOAuth
from tests.runtime.server.connections.conftest import Api

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")
LIST_KEYS = {
    "id",
    "connection_id",
    "provider_config_key",
    "provider",
    "errors",
    "end_user",
    "tags",
    "metadata",
    "created",
}
FULL_KEYS = {
    "id",
    "connection_id",
    "provider_config_key",
    "provider",
    "errors",
    "end_user",
    "tags",
    "metadata",
    "connection_config",
    "webhook_url_override",
    "created_at",
    "updated_at",
    "last_fetched_at",
    "credentials",
}


def _import(
    api: Api, key: str, connection_id: str | None, credentials: dict[str, Any], **more: Any
) -> Any:
    body: dict[str, Any] = {"provider_config_key": key, "credentials": credentials, **more}
    if connection_id is not None:
        body["connection_id"] = connection_id
    response = api.post("/connections", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _oauth2(oauth: FakeOAuth, *, expires_in_s: float = 3000) -> dict[str, Any]:
    tokens = oauth.issue_tokens()
    expires = datetime.now(UTC) + timedelta(seconds=expires_in_s)
    return {
        "type": "OAUTH2",
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": expires.isoformat(),
    }


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


# --- GET /connections ----------------------------------------------------------------------------


def test_the_list_is_newest_first_without_credentials(api: Api, oauth: FakeOAuth) -> None:
    assert api.get("/connections").json() == {"connections": []}
    _import(api, "fake", "first", _oauth2(oauth))
    _import(api, "fake", "second", _oauth2(oauth), metadata={"plan": "pro"})
    listed = api.get("/connections").json()["connections"]
    assert [c["connection_id"] for c in listed] == ["second", "first"]
    assert set(listed[0]) == LIST_KEYS
    assert listed[0]["provider_config_key"] == "fake"
    assert listed[0]["provider"] == "fake-oauth"
    assert listed[0]["errors"] == [] and listed[0]["end_user"] is None
    assert listed[0]["metadata"] == {"plan": "pro"} and listed[1]["metadata"] is None
    assert ISO.match(listed[0]["created"])
    assert "access_token" not in api.get("/connections").text


def test_the_list_filters(api: Api, oauth: FakeOAuth) -> None:
    _import(api, "fake", "acme-1", _oauth2(oauth), tags={"Team": "red"})
    _import(
        api,
        "plain",
        "Acme-2",
        _oauth2(oauth),
        end_user={"id": "u1", "organization": {"id": "o1"}},
    )
    _import(api, "cc", "other", {"type": "OAUTH2_CC", "client_id": "a", "client_secret": "b"})

    def ids(query: str) -> list[str]:
        response = api.get(f"/connections?{query}")
        assert response.status_code == 200, response.text
        return sorted(c["connection_id"] for c in response.json()["connections"])

    assert ids("connectionId=acme-1") == ["acme-1"]
    assert ids("search=ACME") == ["Acme-2", "acme-1"]
    assert ids("integrationId=fake,%20cc") == ["acme-1", "other"]
    assert ids("endUserId=u1") == ["Acme-2"]
    assert ids("endUserOrganizationId=o1") == ["Acme-2"]
    assert ids("tags[team]=red") == ["acme-1"]
    assert ids("tags[TEAM]=red&tags[other]=x") == []
    assert ids("limit=2") == ["Acme-2", "other"]
    assert ids("limit=2&page=1") == ["acme-1"]
    assert ids("search=nothing") == []


@pytest.mark.parametrize(
    "query",
    ["unknown=1", "limit=0", "limit=2001", "limit=ten", "page=-1", "search=", "tags[1bad]=x"],
)
def test_a_bad_list_query_is_refused(api: Api, query: str) -> None:
    error = _error(api.get(f"/connections?{query}"), 400, "invalid_query_params")
    assert error["errors"] and {"code", "message", "path"} <= set(error["errors"][0])


def test_an_unknown_query_key_is_named(api: Api) -> None:
    error = _error(api.get("/connections?foo=1&bar=2"), 400, "invalid_query_params")
    assert error["errors"][0]["message"] == "Unrecognized key(s) in object: 'foo', 'bar'"


def test_the_list_needs_the_key_and_shows_one_environment(api: Api, oauth: FakeOAuth) -> None:
    _import(api, "fake", "acme", _oauth2(oauth))
    _error(api.get("/connections", key=None), 401, "missing_auth_header")
    _error(api.get("/connections", key=str(uuid.uuid4())), 401, "unknown_account")
    other_key = str(uuid.uuid4())
    api.env.store.environments.ensure("prod", secret_key=other_key)
    assert api.get("/connections", key=other_key).json() == {"connections": []}
    response = api.get("/connections/acme?provider_config_key=fake", key=other_key)
    _error(response, 400, "unknown_provider_config")


# --- GET /connections/:id ------------------------------------------------------------------------


def test_get_connection_answers_nango_shape(api: Api, oauth: FakeOAuth) -> None:
    given = _oauth2(oauth)
    _import(api, "fake", "acme", given, connection_config={"region": "eu"}, tags={"a": "b"})
    # exactly the request Nango's Node client makes
    response = api.get(
        "/connections/acme?provider_config_key=fake&force_refresh=false&refresh_token=false"
        "&refresh_github_app_jwt_token=false",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == FULL_KEYS
    assert body["connection_config"] == {"region": "eu"}
    assert body["tags"] == {"a": "b"} and body["webhook_url_override"] is None
    assert ISO.match(body["created_at"]) and ISO.match(body["updated_at"])
    assert ISO.match(body["last_fetched_at"])
    credentials = body["credentials"]
    assert credentials["type"] == "OAUTH2"
    assert credentials["access_token"] == given["access_token"]
    assert "refresh_token" not in credentials and "refresh_token" not in credentials["raw"]
    assert re.match(r"^\d{4}-.*T.*\.\d{3}Z$", credentials["expires_at"])
    stored = api.env.store.connections.get(api.env.id, "fake", "acme")
    assert stored is not None and stored.last_fetched_at is not None
    with_refresh = api.get("/connections/acme?provider_config_key=fake&refresh_token=true").json()
    assert with_refresh["credentials"]["refresh_token"] == given["refresh_token"]


def test_get_connection_errors(api: Api, oauth: FakeOAuth) -> None:
    _import(api, "fake", "acme", _oauth2(oauth))
    error = _error(
        api.get("/connections/acme?provider_config_key=nope"), 400, "unknown_provider_config"
    )
    assert error["message"] == "Provider does not exists"
    error = _error(api.get("/connections/nobody?provider_config_key=fake"), 404, "not_found")
    assert error["message"] == "Failed to find connection"
    _error(api.get("/connections/acme"), 400, "invalid_query_params")
    _error(api.get("/connections/acme?provider_config_key=fake&x=1"), 400, "invalid_query_params")
    bad_bool = "/connections/acme?provider_config_key=fake&force_refresh=maybe"
    _error(api.get(bad_bool), 400, "invalid_query_params")
    _error(api.get("/connections/acme?provider_config_key=b%26d!"), 400, "invalid_query_params")
    _error(api.get(f"/connections/{'x' * 256}?provider_config_key=fake"), 400, "invalid_uri_params")
    _error(api.get("/connections/a%3Cb?provider_config_key=fake"), 400, "invalid_uri_params")


def test_odd_connection_ids_round_trip(api: Api, oauth: FakeOAuth) -> None:
    name = 'user@example.com/{"team": 1}|x'
    _import(api, "fake", name, _oauth2(oauth))
    from urllib.parse import quote

    response = api.get(f"/connections/{quote(name, safe='')}?provider_config_key=fake")
    assert response.status_code == 200, response.text
    assert response.json()["connection_id"] == name
    assert api.delete(f"/connections/{quote(name, safe='')}?provider_config_key=fake").json() == {
        "success": True
    }


def test_force_refresh_and_expiry_refresh_the_token(api: Api, oauth: FakeOAuth) -> None:
    given = _oauth2(oauth)
    _import(api, "fake", "acme", given)
    forced = api.get("/connections/acme?provider_config_key=fake&force_refresh=true").json()
    assert forced["credentials"]["access_token"] != given["access_token"]
    assert oauth.counts["refresh"] == 1
    _import(api, "fake", "soon", _oauth2(oauth, expires_in_s=30))
    soon = api.get("/connections/soon?provider_config_key=fake").json()
    assert oauth.counts["refresh"] == 2
    assert soon["credentials"]["access_token"].startswith("at-")


def test_a_failed_refresh_is_answered_and_listed(api: Api, oauth: FakeOAuth) -> None:
    given = _oauth2(oauth, expires_in_s=-10)
    _import(api, "fake", "acme", given)
    oauth.refresh_fails = True
    error = _error(
        api.get("/connections/acme?provider_config_key=fake"), 400, "invalid_credentials"
    )
    assert error["message"].startswith("The external API returned an error when trying to refresh")
    assert error["payload"]["error"] == "invalid_grant"
    shown = error["payload"]["connection"]
    assert shown["connection_id"] == "acme" and shown["credentials"] == {}
    assert shown["errors"][0]["type"] == "auth"
    listed = api.get("/connections").json()["connections"][0]
    assert listed["errors"][0]["type"] == "auth"
    assert "invalid_grant" in listed["errors"][0]["message"]
    response_text = api.get("/connections/acme?provider_config_key=fake").text
    for secret in (given["refresh_token"], given["access_token"], CLIENT_SECRET):
        assert secret not in response_text
    # a new import clears the failure
    _import(api, "fake", "acme", _oauth2(oauth))
    assert api.get("/connections").json()["connections"][0]["errors"] == []


# --- DELETE /connections/:id ---------------------------------------------------------------------


def test_delete_connection(api: Api, oauth: FakeOAuth) -> None:
    _import(api, "fake", "acme", _oauth2(oauth))
    response = api.delete("/connections/acme?provider_config_key=fake")
    assert (response.status_code, response.json()) == (200, {"success": True})
    _error(api.get("/connections/acme?provider_config_key=fake"), 404, "not_found")
    response = api.delete("/connections/acme?provider_config_key=fake")
    assert (response.status_code, response.json()) == (
        400,
        {"error": {"code": "unknown_connection"}},
    )
    response = api.delete("/connections/acme?provider_config_key=nope")
    assert response.json() == {"error": {"code": "unknown_connection"}}
    _error(api.delete("/connections/acme"), 400, "invalid_query_params")
    _error(
        api.delete("/connections/acme?provider_config_key=fake", key=None),
        401,
        "missing_auth_header",
    )


# --- POST /connections ---------------------------------------------------------------------------

_IMPORTS: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
    # (provider, credentials, the headers the SDK then sends)
    ("fake-api-key", "API_KEY", {"apiKey": "key-123456"}, {"x-api-key": "key-123456"}),
    (
        "fake-basic",
        "BASIC",
        {"username": "ann", "password": "pw-98765"},
        {"authorization": "Basic YW5uOnB3LTk4NzY1"},
    ),
    ("fake-none", "NONE", {}, {}),
    (
        "fake-app",
        "APP",
        {"access_token": "ghs_app12345", "app_id": "1"},
        {"authorization": "Bearer ghs_app12345"},
    ),
    (
        "fake-jwt",
        "JWT",
        {"token": "jwt-12345", "issuer": "me"},
        {"authorization": "Bearer jwt-12345"},
    ),
    ("fake-two-step", "TWO_STEP", {"token": "two-12345"}, {"authorization": "Bearer two-12345"}),
    (
        "fake-oauth",
        "OAUTH2",
        {"access_token": "at-import-1"},
        {"authorization": "Bearer at-import-1"},
    ),
    (
        "fake-cc",
        "OAUTH2_CC",
        {"token": "cc-import-1", "client_id": "a", "client_secret": "b"},
        {"authorization": "Bearer cc-import-1"},
    ),
]


@pytest.mark.parametrize(
    ("provider", "kind", "given", "sent"), _IMPORTS, ids=[i[1] for i in _IMPORTS]
)
def test_every_auth_mode_is_imported_and_used(
    api: Api, provider: str, kind: str, given: dict[str, Any], sent: dict[str, str]
) -> None:
    key = f"k-{kind.lower()}"
    api.env.store.integrations.create(api.env.id, key, provider)
    created = _import(api, key, "acme", {"type": kind, **given}, metadata={"m": 1})
    assert set(created) == FULL_KEYS
    assert created["credentials"]["type"] == kind
    fetched = api.get(f"/connections/acme?provider_config_key={key}").json()
    credentials = fetched["credentials"]
    for name, value in given.items():
        assert credentials[name] == value
    # what the SDK sends with them
    stored = api.env.store.connections.get(api.env.id, key, "acme")
    assert stored is not None
    connection = SdkConnection(
        connection_id="acme",
        provider_config_key=key,
        provider=provider,
        connection_config=stored.connection_config,
        credentials=stored.credentials or {},
    )
    builder = RequestBuilder(
        client=_NoClient(), provider=get_provider(provider), connection=connection
    )
    request, _ = asyncio.run(builder.build(ProxyCall(endpoint="/things"), "GET"))
    assert {name: request.headers.get(name) for name in sent} == sent
    if not sent:
        assert "authorization" not in request.headers


class _NoClient:
    """A client that only builds requests (the test never sends them)."""

    def build_request(self, method: str, url: str, **options: Any) -> Any:
        import httpx

        return httpx.Request(method, url, **options)


def test_an_imported_oauth2_connection_keeps_raw_and_expiry(api: Api) -> None:
    expires = datetime(2031, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    credentials = {
        "type": "OAUTH2",
        "access_token": "at-x",
        "refresh_token": "rt-x",
        "expires_at": expires.isoformat(),
    }
    created = _import(api, "fake", "acme", credentials)
    assert created["credentials"]["expires_at"] == "2031-01-02T03:04:05.678Z"
    assert created["credentials"]["refresh_token"] == "rt-x"
    assert created["credentials"]["raw"]["access_token"] == "at-x"
    stored = api.env.store.connections.get(api.env.id, "fake", "acme")
    assert stored is not None and stored.credentials_expires_at == expires


def test_a_client_credentials_connection_without_token_gets_one(api: Api, oauth: FakeOAuth) -> None:
    from tests.runtime.credentials.fake_oauth import CC_CLIENT_ID, CC_CLIENT_SECRET

    credentials = {
        "type": "OAUTH2_CC",
        "client_id": CC_CLIENT_ID,
        "client_secret": CC_CLIENT_SECRET,
    }
    _import(api, "cc", "svc", credentials)
    fetched = api.get("/connections/svc?provider_config_key=cc").json()
    assert fetched["credentials"]["token"].startswith("cc-")
    api.get("/connections/svc?provider_config_key=cc")
    assert oauth.counts["cc"] == 1


@pytest.mark.parametrize(
    ("credentials", "fragment"),
    [
        ({"type": "OAUTH2"}, "access_token"),
        ({"type": "OAUTH2", "access_token": "x", "unknown": 1}, "unknown"),
        ({"type": "OAUTH2", "access_token": ""}, "access_token"),
        ({"type": "OAUTH2", "access_token": "x", "expires_at": "soon"}, "expires_at"),
        ({"type": "OAUTH1", "oauth_token": "x", "oauth_token_secret": "y"}, "credentials"),
        ({"type": "MAGIC"}, "credentials"),
        ({"access_token": "x"}, "credentials"),
        ("x", "credentials"),
    ],
)
def test_invalid_credentials_are_refused_with_their_field(
    api: Api, credentials: Any, fragment: str
) -> None:
    body = {"provider_config_key": "fake", "connection_id": "acme", "credentials": credentials}
    error = _error(api.post("/connections", json=body), 400, "invalid_body")
    assert any(fragment in "/".join(e["path"]) for e in error["errors"]), error


def test_credentials_of_another_auth_mode_are_refused(api: Api) -> None:
    body = {
        "provider_config_key": "fake",
        "connection_id": "acme",
        "credentials": {"type": "API_KEY", "apiKey": "k"},
    }
    error = _error(api.post("/connections", json=body), 400, "invalid_body")
    assert error["message"] == "Provider OAUTH2 does not support API_KEY auth"


def test_import_errors(api: Api) -> None:
    credentials = {"type": "OAUTH2", "access_token": "x"}
    body = {"provider_config_key": "nope", "connection_id": "a", "credentials": credentials}
    error = _error(api.post("/connections", json=body), 404, "not_found")
    assert error["message"] == "Integration does not exist"
    body["provider_config_key"] = "fake"
    _error(api.post("/connections?x=1", json=body), 400, "invalid_query_params")
    _error(
        api.post(
            "/connections", content=b"{not json", headers={"content-type": "application/json"}
        ),
        400,
        "invalid_body",
    )
    _error(api.post("/connections", json={**body, "connection_id": "a<b"}), 400, "invalid_body")
    _error(api.post("/connections", json={**body, "tags": {"1x": "v"}}), 400, "invalid_body")
    _error(
        api.post("/connections", json={**body, "tags": {f"k{i}": "v" for i in range(11)}}),
        400,
        "invalid_body",
    )
    _error(api.post("/connections", json={**body, "metadata": [1]}), 400, "invalid_body")
    _error(api.post("/connections", json=body, key=None), 401, "missing_auth_header")


def test_import_without_connection_id_generates_one_and_keeps_tags_and_end_user(api: Api) -> None:
    created = _import(
        api,
        "fake",
        None,
        {"type": "OAUTH2", "access_token": "x"},
        tags={"Team": "Red"},
        end_user={"id": "u1", "email": "a@b.c", "organization": {"id": "o1", "display_name": "O"}},
    )
    uuid.UUID(created["connection_id"])
    assert created["tags"] == {"team": "Red"}
    assert created["end_user"] == {
        "id": "u1",
        "display_name": None,
        "email": "a@b.c",
        "tags": None,
        "organization": {"id": "o1", "display_name": "O"},
    }


def test_no_imported_secret_is_in_the_database_file_in_clear(api: Api, tmp_path: Path) -> None:
    secrets = {
        "fake": {
            "type": "OAUTH2",
            "access_token": "at-SECRET-111",
            "refresh_token": "rt-SECRET-222",
        },
        "cc": {
            "type": "OAUTH2_CC",
            "token": "cc-SECRET-333",
            "client_id": "c",
            "client_secret": "cs-SECRET-444",
        },
    }
    for key, credentials in secrets.items():
        _import(api, key, "acme", credentials)
    raw = database_bytes(api.env.store)
    for marker in (
        b"SECRET-111",
        b"SECRET-222",
        b"SECRET-333",
        b"SECRET-444",
        CLIENT_SECRET.encode(),
    ):
        assert marker not in raw


def test_expires_at_in_js_format(api: Api) -> None:
    moment = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert js_iso(moment) == "2030-05-06T07:08:09.000Z"


def test_openapi_describes_the_connection_and_oauth_endpoints(api: Api) -> None:
    spec = api.get("/openapi.json", key=None).json()
    paths = spec["paths"]
    assert set(paths["/connections"]) == {"get", "post"}
    assert set(paths["/connections/{connection_id}"]) == {"get", "delete"}
    for path in ("/oauth/connect/{integration}", "/oauth/callback", "/oauth/connect-link"):
        assert path in paths
    listed = [p["name"] for p in paths["/connections"]["get"]["parameters"]]
    assert {"connectionId", "integrationId", "tags", "limit", "page"} <= set(listed)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/connections?connectionId=a%00b", None),
        ("GET", "/connections?search=%00", None),
        ("GET", "/connections?integrationId=%00", None),
        ("GET", "/connections?endUserId=%00", None),
        ("GET", "/connections?endUserOrganizationId=x%00", None),
        ("GET", "/connections?tags[a]=%00", None),
        ("GET", "/connections?limit=5&page=100000000000000000000", None),
        ("GET", "/connections?limit=99999999999999999999999", None),
        ("GET", "/connections/a?provider_config_key=%00", None),
        ("GET", "/connections/%00?provider_config_key=fake", None),
        ("DELETE", "/connections/a%00?provider_config_key=fake", None),
        ("GET", "/oauth/callback?state=%00&code=x", None),
        ("GET", "/oauth/callback?state=" + "s" * 5000, None),
        ("GET", "/oauth/connect/fa%00ke?connection_id=a", None),
        ("GET", "/oauth/connect/fake?connection_id=a&link=%00", None),
        ("GET", "/oauth/connect/fake?connection_id=a&params[host]=%00", None),
        ("GET", "/oauth/connect-link/%00", None),
        (
            "POST",
            "/oauth/connect-link",
            {"provider_config_key": "fake", "connection_id": "a", "metadata": {"k": "\x00"}},
        ),
        (
            "POST",
            "/connections",
            {
                "provider_config_key": "fake",
                "connection_id": "a",
                "credentials": {"type": "OAUTH2", "access_token": "\x00"},
                "end_user": {"id": "\x00", "email": "\x00"},
                "tags": {"a": "\x00"},
                "metadata": {"\x00": "\x00"},
                "connection_config": {"k": "\x00"},
            },
        ),
        (
            "POST",
            "/connections",
            {
                "provider_config_key": "fake",
                "credentials": {
                    "type": "OAUTH2",
                    "access_token": "x",
                    "expires_at": "9999-12-31T23:59:59Z",
                },
            },
        ),
        (
            "POST",
            "/connections",
            {
                "provider_config_key": "fake",
                "credentials": {"type": "OAUTH2", "access_token": "x", "expires_at": 10**30},
            },
        ),
        (
            "POST",
            "/connections",
            {
                "provider_config_key": "fake",
                "credentials": {"type": "JWT", "token": "x", "deep": [[[[[[[[[[1]]]]]]]]]]},
            },
        ),
    ],
)
def test_hostile_input_is_never_a_server_error(api: Api, method: str, path: str, body: Any) -> None:
    response = api.call(method, path, json=body) if body is not None else api.call(method, path)
    assert response.status_code < 500, response.text
