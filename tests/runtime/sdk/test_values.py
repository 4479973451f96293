"""`runtime.sdk.values.decode`: JSON read with orjson where it gives what `json` gives, integers
exact however long, and everything `json` reads still read."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from runtime.sdk.values import decode, encode_plain


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": [1, 2.5, -0.0, 1e-7, 5e-324, 1.7976931348623157e308], "b": null, "c": "\\u00e9"}',
        b"18446744073709551615",  # the largest integer orjson reads exactly
        b"-9223372036854775808",
        b'{"id": 1234567890123456789012345}',
        b"[-123456789012345678901234567890, 99999999999999999999]",
        b'{"a": 1, "a": 2}',
        b'"\\ud83d\\ude00"',
        b"\xef\xbb\xbf[1]",  # a UTF-8 byte order mark
        '{"a": "é"}'.encode("utf-16"),
        b'"\\ud800 lone"',
        b'{"big": 1e400, "text": "1234567890123456789 in a string"}',
        b'  [ 1 , {"x" : [ ] } ]\n',
    ],
)
def test_decode_reads_what_json_reads(text: bytes) -> None:
    assert _same(decode(text), json.loads(text))


def test_long_integers_stay_integers() -> None:
    value = decode(b'{"id": 1180591620717411303425, "n": [-36893488147419103231]}')

    assert value == {"id": 2**70 + 1, "n": [-(2**65) + 1]}
    assert type(value["id"]) is int


@pytest.mark.parametrize("length", [18, 19, 20, 21])
@pytest.mark.parametrize("offset", range(8))
def test_integers_are_exact_wherever_they_start(length: int, offset: int) -> None:
    number = int("9" * length)
    text = b" " * offset + f"[{number}, {-number}]".encode()

    assert _same(decode(text), [number, -number])


def test_not_a_number_literals_are_read_as_json_reads_them() -> None:
    value = decode(b"[NaN, Infinity, -Infinity]")

    assert math.isnan(value[0])
    assert value[1:] == [math.inf, -math.inf]


@pytest.mark.parametrize("text", [b"", b"[1,]", b"{'a': 1}", b"<html>", b'"\xff"', b"01"])
def test_what_is_not_json_raises_a_value_error(text: bytes) -> None:
    with pytest.raises(ValueError):
        decode(text)


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def test_encode_plain_writes_keys_that_are_not_text_as_javascript_does() -> None:
    """Its fast path refuses such keys; the same call with them allowed writes them."""
    assert encode_plain([{"id": "1", "n": 2}]) == b'[{"id":"1","n":2}]'
    assert encode_plain({1: "a", "b": {2.5: True}}) == b'{"1":"a","b":{"2.5":true}}'
    assert encode_plain({"a": {1, 2}}) is None


def test_encode_plain_tries_once_what_is_not_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch with a date (a common case) is handed back after one orjson call, not two: only
    a key that is not text is worth the second try."""
    from datetime import datetime

    from runtime.sdk import values

    calls: list[int] = []
    real = values.orjson.dumps

    def counting(value: Any, option: int = 0) -> bytes:
        calls.append(option)
        return real(value, option=option)

    monkeypatch.setattr(values.orjson, "dumps", counting)
    assert encode_plain([{"id": "1", "at": datetime(2024, 1, 1)}]) is None
    assert len(calls) == 1
    calls.clear()
    assert encode_plain([{1: "a", "at": datetime(2024, 1, 1)}]) is None
    assert len(calls) == 2
