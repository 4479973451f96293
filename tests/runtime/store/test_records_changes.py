"""Deleting, merging, reading by id, delete detection, purging and counting records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from runtime.store.schema import records_seen
from tests.runtime.store.conftest import World

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def listed(world: World, model: str = "Issue", **options: Any) -> dict[str, dict[str, Any]]:
    page = world.store.records.list_page(world.connection_id, model, limit=10_000, **options)
    return {r["id"]: r for r in page.records}


def test_delete_soft_deletes_live_records_only(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(3), now=at(0))
    counts = store.records.delete(conn, "Issue", [{"id": 1}, {"id": 1}, {"id": "404"}], now=at(5))
    assert counts.deleted == 1
    again = store.records.delete(conn, "Issue", [{"id": 1}], now=at(9))
    assert again.deleted == 0
    record = listed(world)["1"]
    meta = record["_nango_metadata"]
    assert meta["last_action"] == "DELETED"
    assert meta["deleted_at"] == meta["last_modified_at"] == "2024-05-01T12:00:05+00:00"
    assert record["title"] == "item 1"  # the payload is kept
    assert "404" not in listed(world)
    assert store.records.count_live(conn, ["Issue"]) == {"Issue": 2}
    assert store.records.get_by_ids(conn, "Issue", ["1", "2"]).keys() == {"2"}


def test_update_deep_merges_into_the_stored_record(world: World) -> None:
    store, conn = world.store, world.connection_id
    stored = {
        "id": "a",
        "title": "old",
        "owner": {"name": "Ann", "address": {"city": "Paris", "zip": "75001"}},
        "labels": ["x", "y", "z"],
        "keep": 1,
    }
    store.records.save(conn, "Issue", [stored], now=at(0))
    change = {
        "id": "a",
        "title": "new",
        "owner": {"address": {"city": "Lyon"}},
        "labels": ["q"],
        "extra": None,
    }
    counts = store.records.update(
        conn, "Issue", [change, {"id": "unknown", "title": "x"}], now=at(3)
    )
    assert counts.updated == 1
    record = listed(world)["a"]
    meta = record.pop("_nango_metadata")
    assert record == {
        "id": "a",
        "title": "new",
        "owner": {"name": "Ann", "address": {"city": "Lyon", "zip": "75001"}},
        "labels": ["q"],
        "keep": 1,
        "extra": None,
    }
    assert meta["last_action"] == "UPDATED"
    assert meta["last_modified_at"] == "2024-05-01T12:00:03+00:00"
    assert "unknown" not in listed(world)


def test_update_that_changes_nothing_writes_nothing(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": "a", "owner": {"name": "Ann"}}], now=at(0))
    counts = store.records.update(conn, "Issue", [{"id": "a", "owner": {"name": "Ann"}}], now=at(3))
    assert counts.updated == 0
    assert listed(world)["a"]["_nango_metadata"]["last_action"] == "ADDED"


def test_update_ignores_deleted_records(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": "a", "v": 1}], now=at(0))
    store.records.delete(conn, "Issue", [{"id": "a"}], now=at(1))
    assert store.records.update(conn, "Issue", [{"id": "a", "v": 2}], now=at(2)).updated == 0
    assert listed(world)["a"]["v"] == 1


def test_a_full_save_after_update_compares_with_the_merged_record(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": "a", "v": 1, "w": 1}], now=at(0))
    store.records.update(conn, "Issue", [{"id": "a", "v": 2}], now=at(1))
    counts = store.records.save(conn, "Issue", [{"id": "a", "v": 2, "w": 1}], now=at(2))
    assert counts.unchanged == 1


def test_get_by_ids_returns_live_payloads_in_the_order_asked(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(5))
    store.records.delete(conn, "Issue", [{"id": 4}])
    found = store.records.get_by_ids(conn, "Issue", ["5", "4", "1", "missing", "5"])
    assert list(found) == ["5", "1"]
    assert found["5"] == {"id": "5", "title": "item 5", "n": 5}  # ids read back as strings
    many = store.records.get_by_ids(conn, "Issue", [str(i) for i in range(3000)])
    assert sorted(many) == ["1", "2", "3", "5"]


def test_delete_unseen_removes_what_the_run_did_not_see(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(10), generation=1, now=at(0))
    # Run 2 sees records 1-6 (1-3 unchanged, 4-6 changed) and a new one, 11.
    store.records.save(conn, "Issue", make_records(3), generation=2, now=at(10))
    store.records.save(
        conn, "Issue", make_records(3, start=4, title="changed"), generation=2, now=at(11)
    )
    store.records.save(conn, "Issue", make_records(1, start=11), generation=2, now=at(12))
    assert store.records.delete_unseen(conn, "Issue", 2, now=at(20)) == 4
    state = {i: r["_nango_metadata"]["last_action"] for i, r in listed(world).items()}
    assert state == {
        **dict.fromkeys(["1", "2", "3", "11"], "ADDED"),
        **dict.fromkeys(["4", "5", "6"], "UPDATED"),
        **dict.fromkeys(["7", "8", "9", "10"], "DELETED"),
    }
    assert listed(world)["7"]["_nango_metadata"]["deleted_at"] == "2024-05-01T12:00:20+00:00"
    assert store.records.delete_unseen(conn, "Issue", 2) == 0


def test_unchanged_saves_still_count_as_seen(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(4), generation=1, now=at(0))
    before = listed(world)
    store.records.save(conn, "Issue", make_records(4), generation=2, now=at(5))
    assert listed(world) == before  # marking records seen moves no timestamp
    assert store.records.delete_unseen(conn, "Issue", 2) == 0


def test_resumed_runs_keep_the_starting_generation(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(6), generation=1)
    # Run 2 starts tracking, sees 1-2, is interrupted; run 3 resumes and sees 3-4.
    store.records.save(conn, "Issue", make_records(2), generation=2)
    store.records.save(conn, "Issue", make_records(2, start=3), generation=3)
    assert store.records.delete_unseen(conn, "Issue", 2) == 2
    assert store.records.count_live(conn, ["Issue"]) == {"Issue": 4}


def test_records_saved_without_generation_are_unseen(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(3))
    store.records.save(conn, "Issue", make_records(1), generation=7)
    assert store.records.delete_unseen(conn, "Issue", 7) == 2


def test_delete_unseen_works_in_batches(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(25), generation=1)
    store.records.save(conn, "Issue", make_records(1, start=100), generation=2)
    assert store.records.delete_unseen(conn, "Issue", 2, batch_size=10) == 25
    assert store.records.count_live(conn, ["Issue"]) == {"Issue": 1}


def test_delete_unseen_leaves_other_models_and_variants(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    for model in ("Issue", "Issue::eu", "Comment"):
        store.records.save(conn, model, make_records(3), generation=1)
    store.records.delete_unseen(conn, "Issue", 2)
    assert store.records.count_live(conn) == {"Comment": 3, "Issue::eu": 3}


def test_delete_all_for_model_removes_the_model_and_its_variants(
    world: World, make_records
) -> None:
    store, conn = world.store, world.connection_id
    other = world.add_connection("other")
    for model in ("Issue", "Issue::eu", "Issue::us", "Issues", "Issue_x", "Comment"):
        store.records.save(conn, model, make_records(3))
    store.records.save(other, "Issue", make_records(2))
    assert store.records.delete_all_for_model(conn, "Issue", batch_size=2) == 9
    assert store.records.count_live(conn) == {"Comment": 3, "Issue_x": 3, "Issues": 3}
    assert listed(world, filter="deleted") == {}
    assert store.records.count_live(other) == {"Issue": 2}


def test_count_live_per_model(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(5))
    store.records.save(conn, "Comment", make_records(2))
    store.records.delete(conn, "Issue", [{"id": 1}, {"id": 2}])
    assert store.records.count_live(conn) == {"Comment": 2, "Issue": 3}
    assert store.records.count_live(conn, ["Issue", "Nothing"]) == {"Issue": 3, "Nothing": 0}


def test_deleting_the_connection_deletes_its_records(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(5))
    assert store.connections.delete(world.environment_id, "github", "acme")
    assert store.records.count_live(conn) == {}


@pytest.mark.parametrize("operation", ["delete", "update"])
def test_record_writes_refuse_records_without_id(world: World, operation: str) -> None:
    from runtime.store.errors import InvalidRecordError

    with pytest.raises(InvalidRecordError):
        getattr(world.store.records, operation)(world.connection_id, "Issue", [{"title": "x"}])


def seen_marks(world: World) -> list[tuple[str, int]]:
    query = select(records_seen.c.model, records_seen.c.generation).order_by(records_seen.c.id)
    with world.store.database.read() as connection:
        return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def test_seen_marks_are_one_row_per_chunk_and_pruned_by_delete_passes(
    world: World, make_records
) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(2500), generation=1)
    store.records.save(conn, "Issue", make_records(10), generation=2)
    store.records.update(conn, "Issue", [{"id": 1, "title": "x"}, {"id": 99999}], generation=3)
    assert seen_marks(world) == [("Issue", 1)] * 3 + [("Issue", 2), ("Issue", 3)]
    assert store.records.delete_unseen(conn, "Issue", 2) == 2490
    assert seen_marks(world) == [("Issue", 2), ("Issue", 3)]
    store.records.save(conn, "Issue::eu", make_records(1), generation=4)
    store.records.delete_all_for_model(conn, "Issue")
    assert seen_marks(world) == []


def test_records_merged_by_update_count_as_seen(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(3), generation=1)
    store.records.update(
        conn, "Issue", [{"id": 1, "title": "item 1"}, {"id": 2, "n": 0}], generation=2
    )
    assert store.records.delete_unseen(conn, "Issue", 2) == 1
    assert store.records.get_by_ids(conn, "Issue", ["1", "2", "3"]).keys() == {"1", "2"}
