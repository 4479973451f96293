"""Integrations: create (catalog providers, OAuth clients), list, get with include, patch,
delete; and Nango's errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime.server.conftest import ApiClient

OAUTH = {"type": "OAUTH2", "client_id": "cid", "client_secret": "csecret-77", "scopes": "repo,user"}


def create(client: ApiClient, **body: Any) -> Any:
    return client.post("/integrations", json={"provider": "github", "unique_key": "gh", **body})


def test_create_list_get_delete(client: ApiClient) -> None:
    created = create(client, credentials=OAUTH, display_name="GitHub (acme)")
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert data["unique_key"] == "gh"
    assert data["provider"] == "github"
    assert data["display_name"] == "GitHub (acme)"
    assert data["logo"] == "https://app.nango.dev/images/template-logos/github.svg"
    assert data["forward_webhooks"] is True
    assert data["created_at"].endswith("Z")
    assert "credentials" not in data or data["credentials"] is None
    listed = client.get("/integrations").json()["data"]
    assert [i["unique_key"] for i in listed] == ["gh"]
    one = client.get("/integrations/gh").json()["data"]
    assert one["unique_key"] == "gh"
    assert "csecret-77" not in client.get("/integrations/gh").text
    deleted = client.delete("/integrations/gh")
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True}
    assert client.get("/integrations").json() == {"data": []}


def test_include_credentials_and_webhook(client: ApiClient) -> None:
    create(client, credentials=OAUTH)
    shown = client.get("/integrations/gh", params={"include": "credentials"}).json()["data"]
    assert shown["credentials"] == {
        "type": "OAUTH2",
        "client_id": "cid",
        "client_secret": "csecret-77",
        "scopes": "repo,user",
    }
    both = client.get("/integrations/gh", params={"include": ["webhook", "credentials"]})
    assert both.json()["data"]["webhook_url"].endswith("/webhook/dev/gh")
    bad = client.get("/integrations/gh", params={"include": "everything"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_query_params"


def test_display_name_defaults_to_the_providers(client: ApiClient) -> None:
    data = create(client, credentials=OAUTH).json()["data"]
    assert data["display_name"] == "GitHub (User OAuth)"


def test_an_api_key_provider_needs_no_client_and_keeps_a_base_url_override(
    client: ApiClient,
) -> None:
    answer = client.post(
        "/integrations",
        json={
            "provider": "algolia",
            "unique_key": "local",
            "base_url_override": "http://127.0.0.1:9999/api",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["base_url_override"] == "http://127.0.0.1:9999/api"


def test_patch_changes_the_given_fields(client: ApiClient) -> None:
    create(client, credentials=OAUTH)
    changed = client.patch(
        "/integrations/gh",
        json={"display_name": "Renamed", "base_url_override": "https://ghe.example.com/api/v3"},
    )
    assert changed.status_code == 200, changed.text
    data = changed.json()["data"]
    assert (data["display_name"], data["base_url_override"]) == (
        "Renamed",
        "https://ghe.example.com/api/v3",
    )
    cleared = client.patch("/integrations/gh", json={"base_url_override": None}).json()["data"]
    assert cleared["base_url_override"] is None
    assert cleared["display_name"] == "Renamed"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"provider": "no-such-provider", "unique_key": "x"}, "Invalid provider"),
        ({"provider": "github", "unique_key": "x"}, "Missing credentials"),
        (
            {"provider": "github", "unique_key": "x", "credentials": {**OAUTH, "type": "OAUTH1"}},
            "incompatible credentials auth type and provider auth",
        ),
    ],
)
def test_creation_errors_are_invalid_body(
    client: ApiClient, body: dict[str, Any], expected: str
) -> None:
    answer = client.post("/integrations", json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_body"
    assert expected in str(error)


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "github"},
        {"provider": "git hub", "unique_key": "x"},
        {"provider": "github", "unique_key": "a/b"},
        {"provider": "github", "unique_key": "x", "extra": 1},
        {"provider": "github", "unique_key": "x", "credentials": {"type": "OAUTH2"}},
        {"provider": "github", "unique_key": "x", "credentials": {**OAUTH, "scopes": "a b"}},
    ],
)
def test_malformed_bodies_are_invalid_body_with_errors(
    client: ApiClient, body: dict[str, Any]
) -> None:
    answer = client.post("/integrations", json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_body"
    assert error["errors"] and {"code", "message", "path"} <= set(error["errors"][0])


def test_a_duplicate_key_is_refused(client: ApiClient) -> None:
    create(client, credentials=OAUTH)
    again = create(client, credentials=OAUTH)
    assert again.status_code == 400
    assert again.json()["error"] == {
        "code": "invalid_body",
        "errors": [
            {
                "code": "invalid_string",
                "message": "Unique key already exists",
                "path": ["uniqueKey"],
            }
        ],
    }


def test_unknown_integrations_are_404(client: ApiClient) -> None:
    for answer in (
        client.get("/integrations/nope"),
        client.delete("/integrations/nope"),
        client.patch("/integrations/nope", json={}),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"] == {
            "code": "not_found",
            "message": 'Integration "nope" does not exist',
        }


def test_an_unparsable_body_is_invalid_body(client: ApiClient) -> None:
    answer = client.post(
        "/integrations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_body"
