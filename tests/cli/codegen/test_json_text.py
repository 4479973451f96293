"""Generated JSON files are written as `JSON.stringify(value, null, 2)`: strict JSON, JS numbers."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from cli.codegen.json_text import js_json_text


def strict(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_layout_is_javascripts() -> None:
    value = {"a": [1, {"b": None, "c": True}, [], {}], "d": "é", "": False}
    assert js_json_text(value) == (
        '{\n  "a": [\n    1,\n    {\n      "b": null,\n      "c": true\n    },\n    [],\n'
        '    {}\n  ],\n  "d": "é",\n  "": false\n}'
    )
    assert js_json_text([]) == "[]" and js_json_text("x") == '"x"'


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (18, "18"),
        (2.5, "2.5"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (1e16, "10000000000000000"),
        (2**60, "1152921504606847000"),
        (-(10**400), "null"),
        (math.inf, "null"),
        (-math.inf, "null"),
        (math.nan, "null"),
    ],
)
def test_numbers_are_written_as_javascript_writes_them(number: float, text: str) -> None:
    assert js_json_text({"n": number}) == '{\n  "n": ' + text + "\n}"


def test_strings_escape_what_json_must_and_stay_encodable() -> None:
    text = js_json_text({"s": 'q"b\\n\nnul\x00 esc\x1b del\x7f \u2028 \ud800'})
    assert text == '{\n  "s": "q\\"b\\\\n\\nnul\\u0000 esc\\u001b del\x7f \u2028 \\ud800"\n}'
    text.encode("utf-8")
    assert strict(text)["s"].startswith('q"b')
