"""`GET /records`' fast path answers exactly as the FastAPI route does, and hands on whatever
it is not sure about."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from runtime.server import records_fast
from runtime.server.auth import KeyCache
from tests.runtime.server.conftest import ApiClient, World, headers

Request = tuple[str, list[tuple[str, str]], list[tuple[str, str]]]


@pytest.fixture
def fast_answers(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the fast path sent, in order."""
    sent: list[bytes] = []
    original = records_fast._send_json

    async def spy(send: Any, body: bytes) -> None:
        sent.append(body)
        await original(send, body)

    monkeypatch.setattr(records_fast, "_send_json", spy)
    return sent


def _both_ways(app: FastAPI, client: ApiClient, request: Request) -> tuple[Any, Any]:
    """The answer of the route (the key not yet cached), then of the fast path (cached)."""
    path, query, extra = request
    app.state.key_cache = KeyCache()
    route = client.get(path, params=query, headers=extra)
    again = client.get(path, params=query, headers=extra)
    return route, again


def _same(route: Any, fast: Any) -> None:
    assert fast.status_code == route.status_code
    assert fast.headers.multi_items() == route.headers.multi_items()
    assert fast.content == route.content


def _save(world: World, count: int, model: str = "Issue") -> None:
    # a nested `_nango_metadata` key: the stored body must keep it as given
    batch = [{"id": i, "n": {"_nango_metadata": i}} for i in range(1, count + 1)]
    world.store.records.save(world.connection_pk, model, batch)


def test_pages_are_the_routes_answers_byte_for_byte(
    app: FastAPI, client: ApiClient, world: World, fast_answers: list[bytes]
) -> None:
    _save(world, 25)
    _save(world, 3, model="Issue::v2")
    base = list(headers(world).items())
    cursor = client.get("/records", params={"model": "Issue", "limit": 10}, headers=base)
    requests: list[Request] = [
        ("/records", [("model", "Issue")], base),
        ("/records/", [("model", "Issue"), ("limit", "10")], base),
        ("/records", [("model", "Issue"), ("limit", "10000")], base),
        ("/records", [("model", "Issue"), ("cursor", cursor.json()["next_cursor"])], base),
        ("/records", [("model", "Issue"), ("variant", "v2"), ("limit", "2")], base),
        ("/records", [("model", "Issue"), ("variant", "base")], base),
        ("/records", [("model", "Nothing")], base),
    ]
    for request in requests:
        route, fast = _both_ways(app, client, request)
        assert route.status_code == 200, route.text
        _same(route, fast)
    assert len(fast_answers) == len(requests)


def test_what_it_is_not_sure_about_goes_to_the_route(
    app: FastAPI, client: ApiClient, world: World, fast_answers: list[bytes]
) -> None:
    _save(world, 3)
    base = list(headers(world).items())
    model = [("model", "Issue")]
    requests: list[Request] = [
        ("/records", [("model", "Issue"), ("filter", "added")], base),
        ("/records", [("model", "Issue"), ("ids", "1")], base),
        ("/records", [("model", "Issue"), ("delta", "2099-01-01T00:00:00Z")], base),
        ("/records", [("model", "Issue"), ("model", "Issue")], base),
        ("/records", [("model", "Issue"), ("limit", "0")], base),
        ("/records", [("model", "Issue"), ("limit", "10001")], base),
        ("/records", [("model", "Issue"), ("limit", "05")], base),
        ("/records", [("model", "Issue"), ("limit", " 5")], base),
        ("/records", [("model", "Issue"), ("cursor", "not a cursor")], base),
        ("/records", [("model", "Issue"), ("cursor", "")], base),
        ("/records", [("model", "issue")], base),
        ("/records", [("model", "Issue\n")], base),
        ("/records", [("model", "Issue"), ("variant", "a b")], base),
        ("/records", [("model", "Issue"), ("other", "1")], base),
        ("/records", [], base),
        ("/records", model, [("Connection-Id", "nobody"), ("Provider-Config-Key", world.key)]),
        ("/records", model, [("Connection-Id", "a\tb"), ("Provider-Config-Key", world.key)]),
        ("/records", model, [*base, ("Connection-Id", "acme")]),
        ("/records", model, [("Provider-Config-Key", world.key)]),
        ("/records", model, [*base, ("Authorization", "Bearer nope")]),
        ("/records", model, [*base, ("Content-Length", "2")]),
    ]
    for request in requests:
        route, fast = _both_ways(app, client, request)
        _same(route, fast)
    assert fast_answers == []


def test_a_key_it_has_not_seen_is_checked_by_the_route(
    app: FastAPI, client: ApiClient, world: World, fast_answers: list[bytes]
) -> None:
    query = {"model": "Issue"}
    app.state.key_cache = KeyCache()
    wrong = "Bearer 00000000-0000-4000-8000-000000000000"
    answer = client.get(
        "/records", params=query, headers={**headers(world), "Authorization": wrong}
    )
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unknown_account"
    answer = client.get("/records", params=query, headers=headers(world))
    assert answer.status_code == 200 and fast_answers == []  # the route, which caches the key
    assert client.get("/records", params=query, headers=headers(world)).status_code == 200
    assert len(fast_answers) == 1
