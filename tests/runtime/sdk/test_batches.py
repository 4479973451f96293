"""`prepare_batch`: records kept as the script built them, checked, de-duplicated and encoded once
(the encoded form is the batch's JSON array, what the report, spool and recorder write)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from pydantic import StrictStr

from runtime.sdk.batches import prepare_batch
from runtime.sdk.models import NangoModel
from runtime.sdk.validation import ModelRegistry


class Issue(NangoModel):
    id: StrictStr
    title: StrictStr


REGISTRY = ModelRegistry({"Issue": Issue})


def test_plain_records_are_kept_as_the_same_objects_and_encoded_compactly() -> None:
    records = [{"id": "1", "title": "é ✓", "n": 18, "x": 2.5}, {"id": "2", "title": "b"}]

    batch = prepare_batch(records, "Issue", REGISTRY)

    assert all(kept is given for kept, given in zip(batch.records, records, strict=True))
    expected = '[{"id":"1","title":"é ✓","n":18,"x":2.5},{"id":"2","title":"b"}]'
    assert batch.encoded == expected.encode()
    assert batch.invalid == batch.not_json == batch.duplicate_ids == []


def test_dates_become_javascript_iso_text_in_the_records_and_their_json() -> None:
    plus_two = timezone(timedelta(hours=2))
    record = {
        "id": "1",
        "title": "a",
        "naive": datetime(2024, 1, 31, 12, 0, 0, 123456),
        "aware": datetime(2024, 1, 31, 12, tzinfo=plus_two),
        "day": date(2024, 1, 2),
        "list": [datetime(2024, 2, 1, tzinfo=UTC)],
    }

    batch = prepare_batch([{"id": "0", "title": "plain"}, record], "Issue", REGISTRY)

    expected = {
        "id": "1",
        "title": "a",
        "naive": "2024-01-31T12:00:00.123Z",
        "aware": "2024-01-31T10:00:00.000Z",
        "day": "2024-01-02T00:00:00.000Z",
        "list": ["2024-02-01T00:00:00.000Z"],
    }
    assert batch.records == [{"id": "0", "title": "plain"}, expected]
    assert orjson.loads(batch.encoded) == batch.records
    assert isinstance(record["naive"], datetime)  # the script's own dict is untouched


def test_not_a_number_is_written_as_null() -> None:
    batch = prepare_batch([{"id": "1", "title": "a", "n": float("nan")}], "Issue", REGISTRY)

    assert batch.encoded == b'[{"id":"1","title":"a","n":null}]'


def test_integers_beyond_64_bits_stay_exact_in_the_records_and_their_json() -> None:
    big = 2**70
    batch = prepare_batch([{"id": "1", "title": "a", "big": big, "neg": -big}], "Issue", REGISTRY)

    assert batch.encoded == f'[{{"id":"1","title":"a","big":{big},"neg":{-big}}}]'.encode()
    assert batch.records == [{"id": "1", "title": "a", "big": big, "neg": -big}]
    assert type(batch.records[0]["big"]) is int


@pytest.mark.parametrize(
    ("value", "path", "kind"),
    [
        ({1, 2}, "s", "a set"),
        ({"y": [1, b"z"]}, "s.y.1", "a bytes"),
        (Decimal("1.5"), "s", "a Decimal"),
        (object(), "s", "an object"),
    ],
)
def test_values_json_cannot_hold_are_refused_with_their_path(
    value: Any, path: str, kind: str
) -> None:
    good = {"id": "2", "title": "b"}

    batch = prepare_batch([{"id": "1", "title": "a", "s": value}, good], "Issue", REGISTRY)

    [refused] = batch.not_json
    assert [(e.path, e.message.split(" is not JSON")[0]) for e in refused.errors] == [(path, kind)]
    assert batch.records == [good]
    assert orjson.loads(batch.encoded) == [good]


def test_a_record_nested_too_deep_is_refused_not_crashed() -> None:
    deep: Any = "leaf"
    for _ in range(400):
        deep = [deep]

    batch = prepare_batch([{"id": "1", "title": "a", "deep": deep}], "Issue", REGISTRY)

    assert len(batch.not_json) == 1
    assert batch.records == []
    assert batch.encoded == b"[]"


def test_model_instances_are_their_records_nested_or_not() -> None:
    items = [{"id": "1", "title": "a", "m": Issue(id="3", title="c")}, Issue(id="2", title="b")]

    batch = prepare_batch(items, "Issue", REGISTRY)

    assert batch.records == [
        {"id": "1", "title": "a", "m": {"id": "3", "title": "c"}},
        {"id": "2", "title": "b"},
    ]
    assert orjson.loads(batch.encoded) == batch.records


def test_metadata_is_stripped_without_touching_the_scripts_dict() -> None:
    given = {"id": "1", "title": "a", "_nango_metadata": {"x": 1}}

    batch = prepare_batch([given], "Issue", REGISTRY)

    assert batch.encoded == b'[{"id":"1","title":"a"}]'
    assert given["_nango_metadata"] == {"x": 1}


def test_duplicate_ids_keep_the_last_in_its_place() -> None:
    items = [{"id": "1", "title": "a"}, {"id": "2", "title": "b"}, {"id": "1", "title": "c"}]

    batch = prepare_batch(items, "Issue", REGISTRY)

    assert batch.duplicate_ids == ["1"]
    assert orjson.loads(batch.encoded) == [{"id": "2", "title": "b"}, {"id": "1", "title": "c"}]


def test_invalid_records_are_listed_and_kept_unchanged() -> None:
    items = [{"id": 1, "title": "a"}, {"id": "2"}, {"id": "3", "title": "c"}]

    batch = prepare_batch(items, "Issue", REGISTRY)

    assert [(i.record, [e.path for e in i.errors]) for i in batch.invalid] == [
        ({"id": 1, "title": "a"}, ["id"]),
        ({"id": "2"}, ["title"]),
    ]
    assert batch.records == items
    assert orjson.loads(batch.encoded) == items


def test_without_validation_nothing_is_checked() -> None:
    batch = prepare_batch([{"id": 1}], "Issue", REGISTRY, validate=False)

    assert batch.invalid == []
    assert batch.encoded == b'[{"id":1}]'


def test_keys_that_are_not_text_are_written_as_javascript_writes_them() -> None:
    batch = prepare_batch([{"id": "1", "title": "a", 5: "five"}], "Issue", REGISTRY)

    assert batch.encoded == b'[{"id":"1","title":"a","5":"five"}]'


def test_a_key_that_is_not_text_makes_its_record_invalid() -> None:
    items = [{"id": "1", "title": "a"}, {"id": "2", "title": "b", 5: "five"}]

    batch = prepare_batch(items, "Issue", REGISTRY)

    assert [(i.record, [(e.path, e.message) for e in i.errors]) for i in batch.invalid] == [
        ({"id": "2", "title": "b", 5: "five"}, [("5", "Keys should be strings")])
    ]


class Owned(NangoModel):
    id: StrictStr
    owner: Issue


def test_a_model_instance_inside_a_record_is_valid_as_its_model() -> None:
    owned = ModelRegistry({"Owned": Owned})
    items = [{"id": "1", "owner": Issue(id="2", title="b")}, {"id": "3", "owner": {"id": "4"}}]

    batch = prepare_batch(items, "Owned", owned)

    assert [(i.record["id"], [e.path for e in i.errors]) for i in batch.invalid] == [
        ("3", ["owner.title"])
    ]


def test_an_empty_batch_is_an_empty_array() -> None:
    batch = prepare_batch([], "Issue", REGISTRY)

    assert batch.records == []
    assert batch.encoded == b"[]"


def test_a_lone_surrogate_is_escaped_as_javascript_writes_it() -> None:
    # `json` reads `"\ud800"` from an API body into a lone surrogate, which UTF-8 cannot hold
    record = {"id": "1", "title": "a\ud800b", "\udc00": ["\ud83d"]}

    batch = prepare_batch([record], "Issue", REGISTRY)

    assert batch.encoded == b'[{"id":"1","title":"a\\ud800b","\\udc00":["\\ud83d"]}]'
    assert batch.records == [record]


def test_an_invalid_record_after_valid_ones_is_listed_alone() -> None:
    items = [{"id": str(n), "title": "t"} for n in range(50)] + [{"id": "x"}]

    batch = prepare_batch(items, "Issue", REGISTRY)

    assert [(i.record, [e.path for e in i.errors]) for i in batch.invalid] == [
        ({"id": "x"}, ["title"])
    ]
    assert batch.records == items
