"""`nango integration create|list`: the requests they make and how answers are shown (the
runtime's integration routes faked with respx)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
import respx

from tests.helpers import Cli

HOST = "http://runtime.test:3003"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("NANGO_HOSTPORT", HOST)
    monkeypatch.setenv("NANGO_SECRET_KEY_DEV", str(uuid.uuid4()))
    monkeypatch.chdir(str(tmp_path))
    with respx.mock(base_url=HOST, assert_all_called=False) as router:
        yield router


def test_create_sends_the_oauth_client_scopes_and_base_url(cli: Cli, api: respx.MockRouter) -> None:
    route = api.post("/integrations").mock(
        return_value=httpx.Response(200, json={"data": {"unique_key": "gh", "provider": "github"}})
    )
    result = cli(
        "integration", "create", "gh", "--provider", "github", "--client-id", "cid",
        "--client-secret", "-", "--scopes", "repo, user", "--base-url", "https://ghe.acme.dev/api",
        input="s3cret-client\n",
    )  # fmt: skip
    assert "Integration 'gh' (github) created" in result.stdout
    assert "s3cret-client" not in result.output
    assert json.loads(route.calls.last.request.content) == {
        "unique_key": "gh",
        "provider": "github",
        "credentials": {
            "type": "OAUTH2",
            "client_id": "cid",
            "client_secret": "s3cret-client",
            "scopes": "repo,user",
        },
        "base_url_override": "https://ghe.acme.dev/api",
    }


def test_create_without_client_sends_only_the_provider(cli: Cli, api: respx.MockRouter) -> None:
    route = api.post("/integrations").mock(return_value=httpx.Response(200, json={"data": {}}))
    cli("integration", "create", "stripe", "--provider", "stripe")
    assert json.loads(route.calls.last.request.content) == {
        "unique_key": "stripe",
        "provider": "stripe",
    }


def test_a_refusal_is_one_clear_line(cli: Cli, api: respx.MockRouter) -> None:
    refusal = {"error": {"code": "invalid_body", "message": "Unique key already exists"}}
    api.post("/integrations").mock(return_value=httpx.Response(400, json=refusal))
    result = cli("integration", "create", "gh", "--provider", "github", expect=1)
    assert "Unique key already exists" in result.stderr and "Traceback" not in result.output


def test_list_as_a_table_and_as_json(cli: Cli, api: respx.MockRouter) -> None:
    data = [
        {
            "unique_key": "gh",
            "provider": "github",
            "display_name": "GitHub",
            "logo": "x",
            "forward_webhooks": True,
            "created_at": "2025-01-01T00:00:00.000Z",
            "updated_at": "2025-01-01T00:00:00.000Z",
        }
    ]
    api.get("/integrations").mock(return_value=httpx.Response(200, json={"data": data}))
    table = cli("integration", "list").stdout
    assert "UNIQUE KEY" in table and "gh" in table and "github" in table
    assert json.loads(cli("integration", "list", "--json").stdout) == data
    api.get("/integrations").mock(return_value=httpx.Response(200, json={"data": []}))
    assert "No integrations" in cli("integration", "list").stderr


def test_imported_credentials_without_type_take_the_integration_auth_mode(
    cli: Cli, api: respx.MockRouter
) -> None:
    api.get("/integrations/anrok-key").mock(
        return_value=httpx.Response(200, json={"data": {"unique_key": "k", "provider": "anrok"}})
    )
    route = api.post("/connections").mock(return_value=httpx.Response(201, json={}))
    cli("connection", "create", "anrok-key", "acme", "--credentials", '{"apiKey": "k-1"}')
    assert json.loads(route.calls.last.request.content)["credentials"] == {
        "apiKey": "k-1",
        "type": "API_KEY",
    }
