from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from runtime.jsjson import js_number, stringify


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (18, "18"),
        (18.0, "18"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (2.5e-5, "0.000025"),
        (123456789012345680000.0, "123456789012345680000"),
        (-1234.5, "-1234.5"),
        (float("nan"), "null"),
        (float("inf"), "null"),
    ],
)
def test_numbers_are_written_as_javascript_writes_them(value: float, text: str) -> None:
    assert js_number(value) == text


def test_objects_are_compact_keep_key_order_and_non_ascii() -> None:
    value = {"b": [1, 2.0, "é\n", None, True, False], "a": {"x": "ü", "y": "\u2028"}}
    assert stringify(value) == '{"b":[1,2,"é\\n",null,true,false],"a":{"x":"ü","y":"\u2028"}}'


def test_lone_surrogates_are_escaped() -> None:
    assert stringify("a\ud800b") == '"a\\ud800b"'


def test_dates_are_written_like_javascript_dates() -> None:
    moment = datetime(2024, 1, 31, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert stringify(moment) == '"2024-01-31T10:30:05.123Z"'
    assert stringify(datetime(2024, 1, 31, tzinfo=UTC)) == '"2024-01-31T00:00:00.000Z"'
    assert stringify(date(2024, 1, 31)) == '"2024-01-31T00:00:00.000Z"'


def test_model_instances_are_written_as_their_records() -> None:
    class Record:
        def to_record(self) -> dict[str, int]:
            return {"id": 1}

    assert stringify([Record()]) == '[{"id":1}]'


def test_other_objects_are_refused() -> None:
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        stringify(object())
