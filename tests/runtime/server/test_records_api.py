"""`GET /records` and `/records/`: Nango's query, headers, answers and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.runtime.server.conftest import ApiClient, World, headers


def save(world: World, count: int, *, model: str = "Issue", start: int = 1) -> None:
    batch = [{"id": i, "title": f"issue {i}"} for i in range(start, start + count)]
    world.store.records.save(world.connection_pk, model, batch)


def page(client: ApiClient, world: World, **query: Any) -> dict[str, Any]:
    answer = client.get("/records/", params={"model": "Issue", **query}, headers=headers(world))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    return body


def error_of(answer: Any) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()["error"]
    return body


def test_records_page_through_with_cursor_and_limit(client: ApiClient, world: World) -> None:
    save(world, 25)
    seen, cursor, pages = [], None, 0
    while True:
        body = page(client, world, limit=10, **({"cursor": cursor} if cursor else {}))
        seen += [r["id"] for r in body["records"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen, key=int) == [str(i) for i in range(1, 26)]
    assert len(set(seen)) == 25


def test_a_record_has_its_payload_a_string_id_and_nango_metadata(
    client: ApiClient, world: World
) -> None:
    save(world, 1)
    record = page(client, world)["records"][0]
    assert record["id"] == "1"
    assert record["title"] == "issue 1"
    metadata = record["_nango_metadata"]
    assert metadata["last_action"] == "ADDED"
    assert metadata["deleted_at"] is None
    assert metadata["first_seen_at"].endswith("+00:00")
    assert set(metadata) == {
        "first_seen_at",
        "last_modified_at",
        "last_action",
        "deleted_at",
        "pruned_at",
        "cursor",
    }


def test_records_without_trailing_slash_answer_the_same(client: ApiClient, world: World) -> None:
    save(world, 3)
    one = client.get("/records", params={"model": "Issue"}, headers=headers(world)).json()
    assert one == page(client, world)


def test_filter_ids_variant_and_modified_after(client: ApiClient, world: World) -> None:
    save(world, 5)
    world.store.records.delete(world.connection_pk, "Issue", [{"id": 2}])
    world.store.records.save(world.connection_pk, "Issue", [{"id": 3, "title": "changed"}])
    world.store.records.save(world.connection_pk, "Issue::v2", [{"id": 9}])
    actions = lambda body: {r["id"]: r["_nango_metadata"]["last_action"] for r in body["records"]}  # noqa: E731
    assert actions(page(client, world, filter="deleted")) == {"2": "DELETED"}
    assert actions(page(client, world, filter="ADDED,UPDATED")) == {
        "1": "ADDED",
        "4": "ADDED",
        "5": "ADDED",
        "3": "UPDATED",
    }
    assert sorted(r["id"] for r in page(client, world, ids=["4", "1"])["records"]) == ["1", "4"]
    assert [r["id"] for r in page(client, world, variant="v2")["records"]] == ["9"]
    assert len(page(client, world, variant="base")["records"]) == 5
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert page(client, world, modified_after=future)["records"] == []
    assert page(client, world, delta=future)["records"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "model"),
        ({"model": "issue"}, "model"),
        ({"model": "Issue", "limit": "0"}, "limit"),
        ({"model": "Issue", "limit": "10001"}, "limit"),
        ({"model": "Issue", "limit": "ten"}, "limit"),
        ({"model": "Issue", "filter": "added,gone"}, "filter"),
        ({"model": "Issue", "cursor": ""}, "cursor"),
        ({"model": "Issue", "cursor": "x" * 1001}, "cursor"),
        ({"model": "Issue", "modified_after": "yesterday"}, "modified_after"),
        ({"model": "Issue", "modified_after": "2001-01-01T00:00:00Z"}, "modified_after"),
        ({"model": "Issue", "ids": ["x" * 257]}, "ids"),
        ({"model": "Issue", "variant": "no spaces"}, "variant"),
    ],
)
def test_bad_queries_are_invalid_query_params(
    client: ApiClient, world: World, query: dict[str, Any], field: str
) -> None:
    answer = client.get("/records", params=query, headers=headers(world))
    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == "invalid_query_params"
    assert any(field in e["path"] for e in error["errors"]), error


def test_more_than_100_ids_and_unknown_parameters_are_refused(
    client: ApiClient, world: World
) -> None:
    many = client.get(
        "/records",
        params={"model": "Issue", "ids": [str(i) for i in range(101)]},
        headers=headers(world),
    )
    assert error_of(many)["code"] == "invalid_query_params"
    unknown = client.get("/records", params={"model": "Issue", "sort": "x"}, headers=headers(world))
    assert unknown.status_code == 400
    assert error_of(unknown)["errors"][0]["code"] == "unrecognized_keys"


def test_a_forged_cursor_is_invalid_query_params(client: ApiClient, world: World) -> None:
    answer = client.get(
        "/records", params={"model": "Issue", "cursor": "bm90IGEgY3Vyc29y"}, headers=headers(world)
    )
    assert answer.status_code == 400
    assert error_of(answer)["code"] == "invalid_query_params"


def test_missing_or_bad_headers_are_invalid_headers(client: ApiClient, world: World) -> None:
    missing = client.get("/records", params={"model": "Issue"})
    assert missing.status_code == 400
    assert error_of(missing)["code"] == "invalid_headers"
    bad = client.get(
        "/records",
        params={"model": "Issue"},
        headers={"Connection-Id": "acme", "Provider-Config-Key": "git/hub"},
    )
    assert error_of(bad)["code"] == "invalid_headers"


def test_query_errors_come_before_header_errors(client: ApiClient, world: World) -> None:
    answer = client.get("/records", params={"limit": "0"})
    error = error_of(answer)
    assert error["code"] == "invalid_query_params"
    assert {tuple(e["path"]) for e in error["errors"]} == {("model",), ("limit",)}


def test_unknown_connection_is_400_unknown_connection(client: ApiClient, world: World) -> None:
    answer = client.get(
        "/records",
        params={"model": "Issue"},
        headers={"Connection-Id": "nobody", "Provider-Config-Key": "github"},
    )
    assert answer.status_code == 400
    assert error_of(answer) == {
        "code": "unknown_connection",
        "message": "Provided ConnectionId and ProviderConfigKey does not match a valid connection",
    }


def test_a_key_sees_only_its_own_environment(client: ApiClient, world: World) -> None:
    from tests.runtime.server.conftest import PROD_KEY

    save(world, 2)
    answer = client.get(
        "/records",
        params={"model": "Issue"},
        headers={**headers(world), "Authorization": f"Bearer {PROD_KEY}"},
    )
    assert error_of(answer)["code"] == "unknown_connection"
