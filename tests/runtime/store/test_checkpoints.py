"""Checkpoints: flat objects per (connection, key), versions, clearing, resets."""

from __future__ import annotations

import math

import pytest

from runtime.store.errors import ConflictError, InvalidValueError, NotFoundError
from tests.runtime.store.conftest import World

KEY = "sync:issues"


def test_no_checkpoint_reads_as_none_version_zero(world: World) -> None:
    found = world.store.checkpoints.get(world.connection_id, KEY)
    assert (found.value, found.version) == (None, 0)


def test_save_and_get_round_trip_with_key_order(world: World) -> None:
    value = {"z": "2024-01-01T00:00:00Z", "page": 3, "ratio": 0.5, "done": False}
    saved = world.store.checkpoints.save(world.connection_id, KEY, value)
    assert (saved.value, saved.version) == (value, 1)
    found = world.store.checkpoints.get(world.connection_id, KEY)
    assert found.value == value and list(found.value) == ["z", "page", "ratio", "done"]  # type: ignore[arg-type]
    assert world.store.checkpoints.save(world.connection_id, KEY, {"page": 4}).version == 2


def test_expected_version_guards_against_concurrent_writers(world: World) -> None:
    checkpoints = world.store.checkpoints
    read = checkpoints.get(world.connection_id, KEY)
    checkpoints.save(world.connection_id, KEY, {"page": 1}, expected_version=read.version)
    with pytest.raises(ConflictError, match="version 1, expected 0"):
        checkpoints.save(world.connection_id, KEY, {"page": 99}, expected_version=read.version)
    assert checkpoints.get(world.connection_id, KEY).value == {"page": 1}


def test_cleared_checkpoint_reads_as_none_and_keeps_counting(world: World) -> None:
    checkpoints = world.store.checkpoints
    checkpoints.save(world.connection_id, KEY, {"page": 1})
    cleared = checkpoints.clear(world.connection_id, KEY, expected_version=1)
    assert (cleared.value, cleared.version) == (None, 2)
    assert checkpoints.get(world.connection_id, KEY) == cleared
    with pytest.raises(ConflictError):
        checkpoints.save(world.connection_id, KEY, {"page": 5}, expected_version=1)
    assert checkpoints.save(world.connection_id, KEY, {"page": 0}, expected_version=2).version == 3


def test_clearing_a_missing_checkpoint_is_fine(world: World) -> None:
    assert world.store.checkpoints.clear(world.connection_id, KEY).value is None


@pytest.mark.parametrize(
    "bad",
    [
        {"nested": {"a": 1}},
        {"list": [1]},
        {"none": None},
        {"nan": math.nan},
        {"inf": math.inf},
        {1: "x"},
        ["a"],
    ],
)
def test_checkpoints_must_be_flat_objects(world: World, bad: object) -> None:
    with pytest.raises(InvalidValueError):
        world.store.checkpoints.save(world.connection_id, KEY, bad)  # type: ignore[arg-type]
    assert world.store.checkpoints.get(world.connection_id, KEY).version == 0


def test_keys_are_per_connection_and_per_key(world: World) -> None:
    checkpoints = world.store.checkpoints
    other = world.add_connection("other")
    checkpoints.save(world.connection_id, KEY, {"who": "acme"})
    checkpoints.save(other, KEY, {"who": "other"})
    checkpoints.save(world.connection_id, KEY + ":eu", {"who": "variant"})
    assert checkpoints.get(other, KEY).value == {"who": "other"}
    assert checkpoints.get(world.connection_id, KEY + ":eu").value == {"who": "variant"}


def test_clear_prefix_resets_a_sync_and_its_markers_only(world: World) -> None:
    checkpoints, conn = world.store.checkpoints, world.connection_id
    for key in (
        KEY,
        KEY + ":trackDeletes:Issue",
        "sync:issues_extra",
        "sync:issuesx",
        "action:issues",
    ):
        checkpoints.save(conn, key, {"k": key})
    assert checkpoints.clear_prefix(conn, KEY) == 2
    remaining = {
        key: checkpoints.get(conn, key).value
        for key in ("sync:issues_extra", "sync:issuesx", "action:issues")
    }
    assert all(value is not None for value in remaining.values())
    assert checkpoints.get(conn, KEY).value is None
    assert checkpoints.get(conn, KEY + ":trackDeletes:Issue").value is None


def test_checkpoints_need_an_existing_connection(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.store.checkpoints.save(world.connection_id + 50, KEY, {"a": 1})
