"""`RecordStream`: the records of one model, the first held, all spooled as their JSON arrays."""

from __future__ import annotations

from typing import Any

import orjson

from runtime.backends.capture import Capture, RecordStream
from runtime.sdk.values import encode


def add(stream: RecordStream, records: list[Any]) -> None:
    stream.add(records, encode(records))


def test_every_record_comes_back_in_order_across_batches() -> None:
    stream = RecordStream(keep_first=3, keep_all=True)
    batches = [[{"id": str(i + 10 * b), "n": i} for i in range(b + 1)] for b in range(5)]
    for batch in batches:
        add(stream, batch)
    expected = [record for batch in batches for record in batch]

    assert stream.count == 15
    assert stream.first == expected[:3]
    assert list(stream.all()) == expected
    assert orjson.loads(b"[" + b",".join(stream.joined()) + b"]") == expected
    stream.close()


def test_text_that_looks_like_lines_and_long_integers_survive_the_spool() -> None:
    stream = RecordStream(keep_first=0, keep_all=True)
    records = [{"id": "1", "t": "a\nb\r\u2028c\u2029]\n["}, {"id": "2", "big": 2**80 + 1}]
    add(stream, records)
    add(stream, [{"id": "3"}])

    assert list(stream.all()) == [*records, {"id": "3"}]
    stream.close()


def test_an_empty_batch_adds_nothing_and_reading_can_be_repeated() -> None:
    stream = RecordStream(keep_first=10, keep_all=True)
    add(stream, [])
    assert list(stream.joined()) == []
    add(stream, [{"id": "1"}])
    assert list(stream.all()) == [{"id": "1"}]
    add(stream, [{"id": "2"}])

    assert list(stream.joined()) == [b'{"id":"1"}', b'{"id":"2"}']
    assert list(stream.all()) == [{"id": "1"}, {"id": "2"}]
    stream.close()


def test_without_keep_all_only_the_first_records_are_held() -> None:
    stream = RecordStream(keep_first=2, keep_all=False)
    add(stream, [{"id": "1"}, {"id": "2"}, {"id": "3"}])

    assert stream.count == 3
    assert list(stream.joined()) == [b'{"id":"1"},{"id":"2"}']
    assert list(stream.all()) == [{"id": "1"}, {"id": "2"}]


def test_capture_counts_records_by_kind_and_model() -> None:
    capture = Capture(keep_all=True)
    capture.add_records("save", "A", [{"id": "1"}], b'[{"id":"1"}]')
    capture.add_records("save", "B", [{"id": "2"}, {"id": "3"}], b'[{"id":"2"},{"id":"3"}]')
    capture.add_records("delete", "A", [{"id": "1"}], b'[{"id":"1"}]')

    assert capture.record_count("save") == 3
    assert capture.record_count("delete") == 1
    assert list(capture.models("save")["B"].all()) == [{"id": "2"}, {"id": "3"}]
    capture.close()


def test_a_batch_added_after_a_reading_stopped_early_is_kept_whole() -> None:
    stream = RecordStream(keep_first=0, keep_all=True)
    add(stream, [{"id": "1"}])
    add(stream, [{"id": "2"}])
    reading = stream.joined()
    assert next(reading) == b'{"id":"1"}'
    reading.close()
    add(stream, [{"id": "3"}])

    assert list(stream.all()) == [{"id": "1"}, {"id": "2"}, {"id": "3"}]
    stream.close()
