"""Saving records: Nango's classification (ADDED / UPDATED / unchanged), hashes, undelete."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from runtime.store.errors import InvalidRecordError, NotFoundError
from runtime.store.records.bodies import payload_in
from runtime.store.schema import records
from tests.runtime.store.conftest import World

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rows(world: World) -> list[Any]:
    """Every stored row of the world's connection, with PostgreSQL's row version when there."""
    store = world.store
    columns = [records.c.external_id, records.c.data_hash, records.c.body, records.c.created_at]
    columns += [records.c.updated_at, records.c.deleted_at]
    query = select(*columns).order_by(records.c.model, records.c.external_id)
    with store.database.read() as connection:
        found = [tuple(row) for row in connection.execute(query)]
        if store.backend == "postgresql":
            versions = connection.execute(
                text("SELECT xmin::text FROM records ORDER BY model, external_id")
            )
            found = [
                (*row, version) for row, version in zip(found, versions.scalars(), strict=True)
            ]
    return found


def metadata_of(world: World, model: str = "Issue") -> dict[str, dict[str, Any]]:
    page = world.store.records.list_page(world.connection_id, model, limit=10_000)
    return {r["id"]: r["_nango_metadata"] for r in page.records}


def test_new_records_are_added_with_created_equal_updated(world: World, make_records) -> None:
    counts = world.store.records.save(world.connection_id, "Issue", make_records(3), now=T0)
    assert (counts.added, counts.updated, counts.unchanged) == (3, 0, 0)
    for meta in metadata_of(world).values():
        assert meta["last_action"] == "ADDED"
        assert (
            meta["first_seen_at"] == meta["last_modified_at"] == "2024-05-01T12:00:00.123456+00:00"
        )
        assert meta["deleted_at"] is None and meta["pruned_at"] is None


@pytest.mark.parametrize("generation", [None, 2])
def test_a_save_that_changes_nothing_writes_nothing(
    world: World, make_records, generation: int | None
) -> None:
    world.store.records.save(world.connection_id, "Issue", make_records(50), generation=1, now=T0)
    before = rows(world)
    counts = world.store.records.save(
        world.connection_id, "Issue", make_records(50), generation=generation, now=at(60)
    )
    assert (counts.added, counts.updated, counts.unchanged) == (0, 0, 50)
    assert rows(world) == before  # not a timestamp moved (nor, on PostgreSQL, a row version)


def test_a_changed_record_is_updated_and_only_it(world: World, make_records) -> None:
    world.store.records.save(world.connection_id, "Issue", make_records(3), now=T0)
    changed = make_records(3)
    changed[1]["title"] = "renamed"
    counts = world.store.records.save(world.connection_id, "Issue", changed, now=at(5))
    assert (counts.added, counts.updated, counts.unchanged) == (0, 1, 2)
    meta = metadata_of(world)
    assert meta["2"]["last_action"] == "UPDATED"
    assert meta["2"]["first_seen_at"] == "2024-05-01T12:00:00.123456+00:00"
    assert meta["2"]["last_modified_at"] == "2024-05-01T12:00:05.123456+00:00"
    assert meta["1"]["last_action"] == meta["3"]["last_action"] == "ADDED"
    assert meta["1"]["last_modified_at"] == "2024-05-01T12:00:00.123456+00:00"


def test_key_order_is_part_of_the_payload(world: World) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", [{"id": "a", "x": 1, "y": 2}], now=T0)
    counts = store.records.save(conn, "Issue", [{"y": 2, "id": "a", "x": 1}], now=at(1))
    assert counts.updated == 1
    page = store.records.list_page(conn, "Issue")
    assert list(page.records[0]) == ["y", "id", "x", "_nango_metadata"]


def test_a_deleted_record_saved_again_reads_as_added(world: World, make_records) -> None:
    store, conn = world.store, world.connection_id
    store.records.save(conn, "Issue", make_records(2), now=T0)
    store.records.delete(conn, "Issue", [{"id": 1}], now=at(10))
    assert metadata_of(world)["1"]["last_action"] == "DELETED"
    counts = store.records.save(conn, "Issue", make_records(2), now=at(20))
    assert (counts.added, counts.updated, counts.unchanged) == (1, 0, 1)
    meta = metadata_of(world)["1"]
    assert meta["last_action"] == "ADDED"
    assert meta["first_seen_at"] == meta["last_modified_at"] == "2024-05-01T12:00:20.123456+00:00"
    assert meta["deleted_at"] is None


def test_payload_is_stored_as_given_and_hashed_with_md5(world: World) -> None:
    record = {"name": "Zoë ✓", "id": 18, "nested": {"b": [1, 2.5, None], "a": True}, "n": 1e21}
    world.store.records.save(world.connection_id, "Issue", [record])
    ((external_id, data_hash, body, *_rest),) = rows(world)
    payload = payload_in(body)  # the body is the payload, `_nango_metadata` appended
    assert external_id == "18"
    # as given, but for `id`: the external id string, in its place (as Nango reads it back)
    assert payload == '{"name":"Zoë ✓","id":"18","nested":{"b":[1,2.5,null],"a":true},"n":1e+21}'
    assert data_hash == hashlib.md5(payload.encode()).hexdigest()
    (listed,) = world.store.records.list_page(world.connection_id, "Issue").records
    assert list(listed) == ["name", "id", "nested", "n", "_nango_metadata"]
    assert listed["nested"] == {"b": [1, 2.5, None], "a": True}


@pytest.mark.parametrize(
    ("given", "external"),
    [
        (18, "18"),
        (18.0, "18"),
        (1.5, "1.5"),
        ("a\x00b", "ab"),
        (True, "true"),
        (10**30, "1000000000000000000000000000000"),
    ],
)
def test_external_ids_are_strings_as_javascript_writes_them(
    world: World, given: object, external: str
) -> None:
    world.store.records.save(world.connection_id, "Issue", [{"id": given}])
    assert list(world.store.records.get_by_ids(world.connection_id, "Issue", [external])) == [
        external
    ]


def test_internal_ids_are_nango_uuid5s(world: World) -> None:
    world.store.records.save(world.connection_id, "Issue::v2", [{"id": "abc"}])
    (record,) = world.store.records.list_page(world.connection_id, "Issue", variant="v2").records
    cursor = record["_nango_metadata"]["cursor"]
    internal = __import__("base64").b64decode(cursor).decode().split("||")[1]
    prefix = f"{world.connection_id}Issue::v2"
    namespace = uuid.uuid5(uuid.UUID(int=0), prefix)
    assert internal == str(uuid.uuid5(namespace, prefix + "abc"))


@pytest.mark.parametrize("bad_id", [None, "", 0, False, "\x00"])
def test_a_record_without_id_is_refused_and_nothing_is_saved(world: World, bad_id: object) -> None:
    batch = [{"id": 1}, {"id": bad_id, "x": 1}]
    with pytest.raises(InvalidRecordError, match="Missing id field"):
        world.store.records.save(world.connection_id, "Issue", batch)
    assert rows(world) == []


@pytest.mark.parametrize("bad", [["id", 1], "text", {"id": {"nested": 1}}, {"id": [1]}])
def test_records_must_be_objects_with_scalar_ids(world: World, bad: object) -> None:
    with pytest.raises(InvalidRecordError):
        world.store.records.save(world.connection_id, "Issue", [bad])


def test_duplicates_in_a_batch_keep_the_first_and_are_reported(world: World) -> None:
    batch = [
        {"id": 1, "v": "first"},
        {"id": 2},
        {"id": 1, "v": "second"},
        {"id": "1", "v": "third"},
    ]
    counts = world.store.records.save(world.connection_id, "Issue", batch)
    assert counts.added == 2
    assert counts.duplicate_ids == ["1", "1"]
    assert world.store.records.get_by_ids(world.connection_id, "Issue", ["1"])["1"]["v"] == "first"


def test_values_only_javascript_writes_are_kept(world: World) -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    world.store.records.save(
        world.connection_id, "Issue", [{"id": 1, "at": when, "big": 2**70, 3: "x"}]
    )
    stored = world.store.records.get_by_ids(world.connection_id, "Issue", ["1"])["1"]
    assert stored == {"id": "1", "at": "2024-01-02T03:04:05.678Z", "big": 2**70, "3": "x"}


def test_deeply_nested_records_fail_clearly(world: World) -> None:
    deep: dict[str, Any] = {"id": 1}
    cursor = deep
    for _ in range(5000):
        cursor["x"] = {}
        cursor = cursor["x"]
    with pytest.raises(InvalidRecordError, match="nested too deeply"):
        world.store.records.save(world.connection_id, "Issue", [deep])


def test_saving_for_an_unknown_connection_is_not_found(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.store.records.save(world.connection_id + 999, "Issue", [{"id": 1}])


def test_models_and_connections_are_kept_apart(world: World) -> None:
    other = world.add_connection("other")
    store = world.store
    store.records.save(world.connection_id, "Issue", [{"id": 1, "v": "a"}])
    store.records.save(world.connection_id, "Issue::fork", [{"id": 1, "v": "b"}])
    store.records.save(other, "Issue", [{"id": 1, "v": "c"}])
    store.records.save(world.connection_id, "Comment", [{"id": 1, "v": "d"}])
    assert store.records.get_by_ids(world.connection_id, "Issue", ["1"])["1"]["v"] == "a"
    assert store.records.get_by_ids(world.connection_id, "Issue::fork", ["1"])["1"]["v"] == "b"
    assert store.records.get_by_ids(other, "Issue", ["1"])["1"]["v"] == "c"
    assert store.records.count_live(world.connection_id) == {
        "Comment": 1,
        "Issue": 1,
        "Issue::fork": 1,
    }


def test_large_batches_are_saved_in_one_call(world: World, make_records) -> None:
    counts = world.store.records.save(world.connection_id, "Issue", make_records(5000), now=T0)
    assert counts.added == 5000
    changed = make_records(5000)
    for record in changed[::7]:
        record["title"] = "changed"
    counts = world.store.records.save(world.connection_id, "Issue", changed, now=at(1))
    assert (counts.updated, counts.unchanged) == (715, 4285)
    assert world.store.records.count_live(world.connection_id, ["Issue"]) == {"Issue": 5000}


def test_empty_batches_do_nothing(world: World) -> None:
    counts = world.store.records.save(world.connection_id, "Issue", [])
    assert (counts.added, counts.updated, counts.unchanged) == (0, 0, 0)
    assert world.store.records.delete(world.connection_id, "Issue", []).deleted == 0
    assert world.store.records.update(world.connection_id, "Issue", []).updated == 0
