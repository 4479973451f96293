"""Environment variables and connection metadata."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime.server.conftest import PROD_KEY, ApiClient, World


def test_variables_start_empty_and_are_replaced_as_a_whole(client: ApiClient) -> None:
    assert client.get("/environment-variables").json() == []
    first = [{"name": "API_BASE", "value": "https://x"}, {"name": "TOKEN", "value": "s3cr3t"}]
    assert client.put("/environment-variables", json=first).json() == first
    assert client.get("/environment-variables").json() == first
    second = [{"name": "TOKEN", "value": "rotated"}]
    client.put("/environment-variables", json=second)
    assert client.get("/environment-variables").json() == second


def test_variables_belong_to_one_environment(client: ApiClient) -> None:
    client.put("/environment-variables", json=[{"name": "A", "value": "dev"}])
    other = client.get("/environment-variables", headers={"Authorization": f"Bearer {PROD_KEY}"})
    assert other.json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "A", "value": "x"},
        [{"name": "", "value": "x"}],
        [{"name": "A B", "value": "x"}],
        [{"name": "A", "value": 1}],
        [{"name": "A", "value": "x"}, {"name": "A", "value": "y"}],
        [{"name": "A"}],
    ],
)
def test_bad_variable_lists_are_invalid_body(client: ApiClient, body: Any) -> None:
    answer = client.put("/environment-variables", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_body"


def metadata_of(world: World, connection_id: str = "acme") -> Any:
    found = world.store.connections.get(
        world.environment_id, world.key, connection_id, with_credentials=False
    )
    assert found is not None
    return found.metadata


def test_set_replaces_and_update_merges(client: ApiClient, world: World) -> None:
    body = {"connection_id": "acme", "provider_config_key": "github", "metadata": {"a": 1, "b": 2}}
    answer = client.post("/connections/metadata", json=body)
    assert (answer.status_code, answer.json()) == (201, body)
    client.post("/connections/metadata", json={**body, "metadata": {"c": 3}})
    assert metadata_of(world) == {"c": 3}
    update = {**body, "metadata": {"d": {"deep": True}, "c": 4}}
    answer = client.patch("/connections/metadata", json=update)
    assert (answer.status_code, answer.json()) == (200, update)
    assert metadata_of(world) == {"c": 4, "d": {"deep": True}}


def test_a_list_of_connections_changes_all_or_none(client: ApiClient, world: World) -> None:
    world.store.connections.upsert(
        world.environment_id, "github", "beta", credentials={"type": "NONE"}
    )
    body = {
        "connection_id": ["acme", "beta"],
        "provider_config_key": "github",
        "metadata": {"x": 1},
    }
    assert client.post("/connections/metadata", json=body).status_code == 201
    assert metadata_of(world, "beta") == {"x": 1}
    missing = {**body, "connection_id": ["acme", "ghost"], "metadata": {"y": 2}}
    answer = client.patch("/connections/metadata", json=missing)
    assert answer.status_code == 404
    assert answer.json()["error"] == {
        "code": "unknown_connection",
        "message": "Connection with connection id ghost and provider config key github not "
        "found. Please make sure the connection exists in the Nango dashboard. No actions were "
        "taken on any of the connections as a result of this failure.",
    }
    assert metadata_of(world) == {"x": 1}


def test_one_unknown_connection_is_404(client: ApiClient, world: World) -> None:
    body = {"connection_id": "ghost", "provider_config_key": "github", "metadata": {}}
    answer = client.post("/connections/metadata", json=body)
    assert answer.status_code == 404
    assert answer.json()["error"]["message"].endswith("exists in the Nango dashboard")


@pytest.mark.parametrize(
    "body",
    [
        {"connection_id": "", "provider_config_key": "github", "metadata": {}},
        {"connection_id": "acme", "provider_config_key": "", "metadata": {}},
        {"connection_id": "acme", "provider_config_key": "github", "metadata": [1]},
        {"connection_id": "acme", "provider_config_key": "github"},
        {"connection_id": "acme", "provider_config_key": "github", "metadata": {}, "x": 1},
    ],
)
def test_bad_metadata_bodies_are_invalid_body(
    client: ApiClient, world: World, body: dict[str, Any]
) -> None:
    answer = client.post("/connections/metadata", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_body"


def test_metadata_json_cannot_hold_is_refused_not_a_crash(client: ApiClient, world: World) -> None:
    head = b'{"connection_id":"acme","provider_config_key":"github","metadata":{"n":'
    for value, status in (
        (b"NaN", 400),
        (b"1e999", 400),
        (b"[" * 5000 + b"]" * 5000, 400),
        (b"1" * 400, 201),  # kept as written (JavaScript would round it)
    ):
        answer = client.post(
            "/connections/metadata",
            content=head + value + b"}}",
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == status, (value[:20], answer.text)
        if status == 400:
            assert answer.json()["error"]["code"] == "invalid_body"
