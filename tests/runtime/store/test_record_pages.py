"""Listing records as `GET /records` does: order, cursors, limit, filters, ids, variants."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from runtime.store.errors import InvalidCursorError, InvalidValueError
from runtime.store.records.bodies import Bodies, Stamps, pruned_start
from runtime.store.records.format import RecordIds
from runtime.store.records.pages import encode_cursor
from runtime.store.schema import records
from runtime.store.timestamps import to_us
from tests.runtime.store.conftest import World

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def at_us(seconds: float) -> int:
    return to_us(at(seconds))


def all_pages(world: World, model: str = "Issue", **options: Any) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        page = world.store.records.list_page(world.connection_id, model, cursor=cursor, **options)
        pages.append(page.records)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in records]


def test_records_are_ordered_by_last_modified_then_internal_id(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": i} for i in range(1, 6)], now=at(0))
    store.records.save(conn, "Issue", [{"id": 2, "x": 1}], now=at(1))
    store.records.save(conn, "Issue", [{"id": 0.5}], now=at(2))
    records = store.records.list_page(conn, "Issue").records
    keys = [
        (r["_nango_metadata"]["last_modified_at"], r["_nango_metadata"]["cursor"]) for r in records
    ]
    internal = [base64.b64decode(c).decode().split("||")[1] for _, c in keys]
    first_five = internal[:4]
    assert first_five == sorted(first_five)
    assert ids(records)[4:] == ["2", "0.5"]
    assert [k for k, _ in keys] == sorted(k for k, _ in keys)


def test_pages_follow_the_cursor_without_gaps_or_repeats(world: World, make_records) -> None:
    world.store.records.save(world.connection_id, "Issue", make_records(250), now=at(0))
    pages = all_pages(world, limit=100)
    assert [len(p) for p in pages] == [100, 100, 50]
    seen = [r["id"] for page in pages for r in page]
    assert sorted(seen, key=int) == [str(i) for i in range(1, 251)]


def test_next_cursor_only_when_more_rows_exist(world: World, make_records) -> None:
    world.store.records.save(world.connection_id, "Issue", make_records(10))
    exact = world.store.records.list_page(world.connection_id, "Issue", limit=10)
    assert len(exact.records) == 10 and exact.next_cursor is None
    short = world.store.records.list_page(world.connection_id, "Issue", limit=9)
    assert short.next_cursor == short.records[-1]["_nango_metadata"]["cursor"]
    empty = world.store.records.list_page(world.connection_id, "Nothing")
    assert empty.records == [] and empty.next_cursor is None


def test_default_limit_is_100(world: World, make_records) -> None:
    world.store.records.save(world.connection_id, "Issue", make_records(101))
    page = world.store.records.list_page(world.connection_id, "Issue")
    assert len(page.records) == 100 and page.next_cursor is not None


@pytest.mark.parametrize("limit", [0, -1, 10_001])
def test_limit_out_of_range_is_refused(world: World, limit: int) -> None:
    with pytest.raises(InvalidValueError):
        world.store.records.list_page(world.connection_id, "Issue", limit=limit)


def test_paging_is_stable_while_records_are_written(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(50), now=at(0))
    initial = ids(store.records.list_page(conn, "Issue", limit=50).records)
    first = store.records.list_page(conn, "Issue", limit=10)
    seen_changed, unseen_changed, unseen_deleted = initial[:3], initial[20], initial[30]
    # While the client pages: records it has seen and records it has not are changed, new
    # ones arrive, one it has not seen yet is deleted.
    store.records.save(conn, "Issue", [{"id": i, "v": 2} for i in seen_changed], now=at(1))
    store.records.save(conn, "Issue", [{"id": unseen_changed, "v": 2}], now=at(2))
    store.records.save(conn, "Issue", make_records(5, start=100), now=at(3))
    store.records.delete(conn, "Issue", [{"id": unseen_deleted}], now=at(4))
    rest, cursor = [], first.next_cursor
    while cursor is not None:
        page = store.records.list_page(conn, "Issue", limit=10, cursor=cursor)
        rest.extend(page.records)
        cursor = page.next_cursor
    untouched = [i for i in initial[10:] if i not in (unseen_changed, unseen_deleted)]
    assert ids(first.records) == initial[:10]
    assert ids(rest[:38]) == untouched
    assert set(ids(rest[38:41])) == set(seen_changed)
    assert ids(rest[41:42]) == [unseen_changed]
    assert set(ids(rest[42:47])) == {str(i) for i in range(100, 105)}
    assert [(r["id"], r["_nango_metadata"]["last_action"]) for r in rest[47:]] == [
        (unseen_deleted, "DELETED")
    ]


def test_modified_after_keeps_records_modified_at_or_after(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": 1}], now=at(0))
    store.records.save(conn, "Issue", [{"id": 2}], now=at(10))
    store.records.save(conn, "Issue", [{"id": 3}], now=at(20))
    page = store.records.list_page(conn, "Issue", modified_after=at(10))
    assert ids(page.records) == ["2", "3"]
    naive = store.records.list_page(
        conn, "Issue", modified_after=at(10.000001).replace(tzinfo=None)
    )
    assert ids(naive.records) == ["3"]


def _actions_world(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": i} for i in ("a", "u", "d", "r")], now=at(0))
    store.records.save(conn, "Issue", [{"id": "u", "x": 1}], now=at(1))
    store.records.delete(conn, "Issue", [{"id": "d"}], now=at(2))
    store.records.delete(conn, "Issue", [{"id": "r"}], now=at(3))
    store.records.save(conn, "Issue", [{"id": "r"}], now=at(4))  # undeleted: ADDED


@pytest.mark.parametrize(
    ("filter_value", "expected"),
    [
        (None, {"a", "u", "d", "r"}),
        ("added", {"a", "r"}),
        ("UPDATED", {"u"}),
        ("deleted", {"d"}),
        ("added,updated", {"a", "u", "r"}),
        ("updated,deleted", {"u", "d"}),
        ("Added,Deleted", {"a", "d", "r"}),
        ("added,updated,deleted", {"a", "u", "d", "r"}),
        (["ADDED", "DELETED"], {"a", "d", "r"}),
    ],
)
def test_filter_by_last_action(world: World, filter_value: Any, expected: set[str]) -> None:
    _actions_world(world)
    page = world.store.records.list_page(world.connection_id, "Issue", filter=filter_value)
    assert set(ids(page.records)) == expected


def test_unknown_filter_is_refused(world: World) -> None:
    with pytest.raises(InvalidValueError, match="Unknown record filter removed"):
        world.store.records.list_page(world.connection_id, "Issue", filter="added,removed")


def test_filters_combine_with_modified_after_ids_and_cursor(world: World) -> None:
    _actions_world(world)
    store, conn = world.store, world.connection_id
    page = store.records.list_page(conn, "Issue", filter="added,deleted", modified_after=at(2))
    assert ids(page.records) == ["d", "r"]
    page = store.records.list_page(conn, "Issue", filter="added,deleted", ids=["a", "d", "u"])
    assert ids(page.records) == ["a", "d"]
    first = store.records.list_page(conn, "Issue", filter="added,deleted", limit=1)
    second = store.records.list_page(
        conn, "Issue", filter="added,deleted", limit=5, cursor=first.next_cursor
    )
    assert ids(first.records) + ids(second.records) == ["a", "d", "r"]


def test_ids_select_records_by_external_id(world: World, make_records) -> None:
    world.store.records.save(world.connection_id, "Issue", make_records(20))
    page = world.store.records.list_page(
        world.connection_id, "Issue", ids=["3", "7", "nope", "1\x00"]
    )
    assert sorted(ids(page.records)) == ["1", "3", "7"]
    assert world.store.records.list_page(world.connection_id, "Issue", ids=[]).records == []


def test_variants_are_kept_apart(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": 1, "v": "base"}])
    store.records.save(conn, "Issue::eu", [{"id": 1, "v": "eu"}, {"id": 2, "v": "eu"}])
    assert ids(store.records.list_page(conn, "Issue").records) == ["1"]
    assert ids(store.records.list_page(conn, "Issue", variant="base").records) == ["1"]
    eu = store.records.list_page(conn, "Issue", variant="eu").records
    assert [r["v"] for r in eu] == ["eu", "eu"]
    assert store.records.list_page(conn, "Issue", variant="us").records == []


def test_each_record_carries_its_metadata(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": "x", "_keep": 1}], now=at(0))
    store.records.delete(conn, "Issue", [{"id": "x"}], now=at(0.5))
    (record,) = store.records.list_page(conn, "Issue").records
    meta = record.pop("_nango_metadata")
    assert record == {"id": "x", "_keep": 1}
    assert meta == {
        "first_seen_at": "2024-05-01T12:00:00+00:00",
        "last_modified_at": "2024-05-01T12:00:00.5+00:00",
        "last_action": "DELETED",
        "deleted_at": "2024-05-01T12:00:00.5+00:00",
        "pruned_at": None,
        "cursor": meta["cursor"],
    }
    decoded = base64.b64decode(meta["cursor"]).decode()
    assert decoded.startswith("2024-05-01T12:00:00.5+00:00||")


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.b64encode(b"no separator").decode(),
        base64.b64encode(b"2024-01-01T00:00:00+00:00||not-a-uuid").decode(),
        base64.b64encode(b"yesterday||00000000-0000-0000-0000-000000000000").decode(),
        base64.b64encode(b"2024-01-01T00:00:00||00000000-0000-0000-0000-000000000000").decode(),
        base64.b64encode(b"a||b||c").decode(),
        base64.b64encode("2024-01-01T00:00:00+00:00||é".encode()).decode(),
        "",
    ],
)
def test_cursors_not_made_here_are_refused(world: World, cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        world.store.records.list_page(world.connection_id, "Issue", cursor=cursor)


def test_cursor_with_another_offset_points_at_the_same_instant(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": 1}], now=at(0))
    store.records.save(conn, "Issue", [{"id": 2}], now=at(1))
    zero = "00000000-0000-0000-0000-000000000000"
    in_paris = encode_cursor("2024-05-01T14:00:00.000000+02:00", zero)
    assert ids(store.records.list_page(conn, "Issue", cursor=in_paris).records) == ["1", "2"]
    after_first = encode_cursor("2024-05-01T14:00:00.000001+02:00", zero)
    assert ids(store.records.list_page(conn, "Issue", cursor=after_first).records) == ["2"]


def test_the_json_page_is_the_api_body(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(
        conn, "Issue", [{"id": "q", "text": 'quote " and \\ and \u2028 and é'}], now=at(0)
    )
    store.records.save(conn, "Issue", make_records(3), now=at(1))
    store.records.delete(conn, "Issue", [{"id": 2}], now=at(2))
    body = store.records.list_page_json(conn, "Issue", limit=3)
    parsed = json.loads(body)
    page = store.records.list_page(conn, "Issue", limit=3)
    assert parsed == {"records": page.records, "next_cursor": page.next_cursor}
    assert parsed["records"][0]["text"] == 'quote " and \\ and \u2028 and é'
    assert parsed["next_cursor"] == parsed["records"][-1]["_nango_metadata"]["cursor"]
    last = json.loads(store.records.list_page_json(conn, "Issue", cursor=page.next_cursor))
    assert [r["id"] for r in last["records"]] == ["2"] and last["next_cursor"] is None
    assert json.loads(store.records.list_page_json(conn, "None")) == {
        "records": [],
        "next_cursor": None,
    }


def test_read_metadata_given_back_in_a_save_is_not_stored(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": "a", "v": 1}], now=at(0))
    (read,) = store.records.list_page(conn, "Issue").records
    assert store.records.save(conn, "Issue", [read], now=at(1)).unchanged == 1
    (again,) = store.records.list_page(conn, "Issue").records
    assert again == read


def test_a_pruned_record_reads_as_its_id_and_a_save_restores_it(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": 'p"x', "v": 1}], now=at(0))
    pruned_at = 1_714_564_805_000_000  # 2024-05-01T12:00:05Z
    with store.database.write() as connection:
        # What pruning writes: the body holds the id alone, its metadata shows `pruned_at`.
        stamps = Stamps(at_us(0), at_us(0), None, pruned_at)
        record_id = RecordIds(conn, "Issue").of('p"x')
        body = Bodies().build(record_id, pruned_start('p"x'), stamps)
        connection.execute(update(records).values(body=body, pruned_at=pruned_at))
    (record,) = store.records.list_page(conn, "Issue").records
    meta = record.pop("_nango_metadata")
    assert record == {"id": 'p"x'}
    assert meta["pruned_at"] == "2024-05-01T12:00:05+00:00" and meta["last_action"] == "ADDED"
    assert store.records.get_by_ids(conn, "Issue", ['p"x']) == {'p"x': {"id": 'p"x'}}
    assert store.records.save(conn, "Issue", [{"id": 'p"x', "v": 1}], now=at(9)).unchanged == 1
    (restored,) = store.records.list_page(conn, "Issue").records
    assert restored["v"] == 1 and restored["_nango_metadata"]["pruned_at"] is None
    assert restored["_nango_metadata"]["last_modified_at"] == "2024-05-01T12:00:00+00:00"
