"""How records are turned into stored rows (no database): ids, payloads, merges, timestamps."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from runtime.store.errors import InvalidRecordError
from runtime.store.records.format import (
    MAX_ID_LENGTH,
    RecordIds,
    deep_merge,
    external_id_of,
    prepare,
)
from runtime.store.records.pages import model_name
from runtime.store.timestamps import iso_from_us, now_us, to_us, us_from_iso


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"id": "abc"}, "abc"),
        ({"id": 7}, "7"),
        ({"id": -3}, "-3"),
        ({"id": 7.0}, "7"),
        ({"id": 1e21}, "1e+21"),
        ({"id": 0.1}, "0.1"),
        ({"id": True}, "true"),
        ({"id": "a\x00b\x00"}, "ab"),
        ({"id": " spaced "}, " spaced "),
    ],
)
def test_external_ids(record: dict[str, Any], expected: str) -> None:
    assert external_id_of(record) == expected


def test_ids_longer_than_the_limit_are_refused() -> None:
    assert external_id_of({"id": "x" * MAX_ID_LENGTH}) == "x" * MAX_ID_LENGTH
    with pytest.raises(InvalidRecordError, match="longer than"):
        external_id_of({"id": "x" * (MAX_ID_LENGTH + 1)})
    with pytest.raises(InvalidRecordError, match="longer than"):
        external_id_of({"id": 10 ** (MAX_ID_LENGTH + 1)})


@pytest.mark.parametrize(
    "value",
    [10**5000, object(), {1, 2}, complex(1, 2)],
    ids=["huge int", "object", "set", "complex"],
)
def test_values_json_cannot_hold_are_refused_clearly(value: object) -> None:
    with pytest.raises(InvalidRecordError, match="cannot be written as JSON"):
        prepare([{"id": "1", "value": value}], RecordIds(1, "M"))


def test_the_error_shows_a_short_preview_of_the_record() -> None:
    with pytest.raises(InvalidRecordError) as caught:
        external_id_of({"title": "y" * 1000})
    assert str(caught.value).endswith("...") and len(str(caught.value)) < 300


def test_record_ids_are_uuid5_as_nango_computes_them() -> None:
    ids = RecordIds(42, "Contact::eu")
    namespace = uuid.uuid5(uuid.UUID(int=0), "42Contact::eu")
    for external in ("1", "é✓", "", "x" * 500):
        assert ids.of(external) == str(uuid.uuid5(namespace, "42Contact::eu" + external))


def test_prepare_normalises_id_and_metadata_but_nothing_else() -> None:
    records = [
        {"b": 1, "id": 5, "a": {"z": 1, "y": 2}},
        {"id": "s", "_nango_metadata": {"cursor": "x"}, "v": 1},
        {"id": "plain", "v": 2},
    ]
    prepared, duplicates = prepare(records, RecordIds(1, "M"))
    assert duplicates == []
    assert [p.payload for p in prepared] == [
        '{"b":1,"id":"5","a":{"z":1,"y":2}}',
        '{"id":"s","v":1}',
        '{"id":"plain","v":2}',
    ]
    assert prepared[2].record is records[2]  # nothing to change: not copied
    assert records[0]["id"] == 5  # the caller's record is left alone
    for item in prepared:
        assert item.data_hash == hashlib.md5(item.payload.encode()).hexdigest()


def test_deep_merge() -> None:
    stored = {"a": 1, "o": {"x": 1, "y": {"k": 1}}, "l": [1, 2, 3], "n": None}
    change = {"o": {"y": {"j": 2}, "z": 3}, "l": [9], "n": {"now": "object"}, "new": True}
    assert deep_merge(stored, change) == {
        "a": 1,
        "o": {"x": 1, "y": {"k": 1, "j": 2}, "z": 3},
        "l": [9],
        "n": {"now": "object"},
        "new": True,
    }
    assert stored["o"] == {"x": 1, "y": {"k": 1}}  # not modified in place
    assert deep_merge({"o": {"x": 1}}, {"o": None}) == {"o": None}
    assert deep_merge({"o": 1}, {"o": {"x": 1}}) == {"o": {"x": 1}}


def test_deep_merge_of_absurdly_deep_input_fails_clearly() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(10_000):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(InvalidRecordError, match="nested too deeply"):
        deep_merge(deep, deep)


@pytest.mark.parametrize(
    ("variant", "expected"),
    [(None, "Issue"), ("", "Issue"), ("base", "Issue"), ("eu", "Issue::eu")],
)
def test_model_names(variant: str | None, expected: str) -> None:
    assert model_name("Issue", variant) == expected


def test_timestamps_round_trip_at_microsecond_precision() -> None:
    moment = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    us = to_us(moment)
    assert iso_from_us(us) == "2024-02-29T23:59:59.999999+00:00"
    assert us_from_iso(iso_from_us(us)) == us
    assert iso_from_us(to_us(moment.replace(microsecond=500000))) == "2024-02-29T23:59:59.5+00:00"
    assert iso_from_us(to_us(moment.replace(microsecond=0))) == "2024-02-29T23:59:59+00:00"
    paris = moment.astimezone(timezone(timedelta(hours=1)))
    assert to_us(paris) == us and to_us(moment.replace(tzinfo=None)) == us
    assert iso_from_us(-1) == "1969-12-31T23:59:59.999999+00:00"


def test_iso_strings_sort_in_time_order() -> None:
    base = to_us(datetime(2024, 1, 1, tzinfo=UTC))
    values = [base + delta for delta in (0, 1, 10, 100_000, 500_000, 999_999, 1_000_000)]
    texts = [iso_from_us(v) for v in values]
    assert sorted(texts) == texts


def test_now_never_repeats() -> None:
    values = [now_us() for _ in range(1000)]
    assert values == sorted(set(values))
