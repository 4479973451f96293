"""`parse_body`: a JSON response body reaches the script exactly as `json` reads it."""

from __future__ import annotations

import math

import httpx

from runtime.http.request import parse_body


def body(content: bytes, content_type: str = "application/json") -> httpx.Response:
    return httpx.Response(200, content=content, headers={"content-type": content_type})


def test_json_keeps_long_integers_exact_and_key_order() -> None:
    parsed = parse_body(body(b'{"z": 12345678901234567890123, "a": [1, 2.0, null]}'), "json")

    assert parsed == {"z": 12345678901234567890123, "a": [1, 2.0, None]}
    assert list(parsed) == ["z", "a"]
    assert [type(v) for v in parsed["a"]] == [int, float, type(None)]


def test_json_reads_what_only_the_standard_library_reads() -> None:
    parsed = parse_body(body(b'{"n": NaN, "s": "\\ud800"}'), "json")

    assert math.isnan(parsed["n"])
    assert parsed["s"] == "\ud800"


def test_a_body_that_is_not_json_is_its_text_and_an_empty_one_none() -> None:
    assert parse_body(body(b"<html>hi</html>", "text/html"), "json") == "<html>hi</html>"
    assert parse_body(body(b"caf\xe9", "text/plain; charset=latin-1"), "json") == "café"
    assert parse_body(body(b"  \n"), "json") is None
