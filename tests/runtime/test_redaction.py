"""`Redactor.redact_bytes`: the same replacements as on text, and text holding no secret returned
as it is."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest

from runtime.redaction import REDACTED, Redactor

TOKEN = "tok/en+1234=é"
BEARER = f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "form",
    [
        TOKEN,
        BEARER,
        quote(BEARER, safe=""),
        quote_plus(BEARER),
        quote(TOKEN, safe=""),
        "tok/en+1234=\\u00e9",
        base64.b64encode(TOKEN.encode()).decode().rstrip("="),
        base64.b64encode(BEARER.encode()).decode().rstrip("="),
    ],
)
def test_every_form_of_every_secret_is_replaced_in_bytes_as_in_text(form: str) -> None:
    redactor = Redactor([TOKEN, BEARER])
    text = f'{{"a":"x{form}y","b":"{form}"}}'

    assert redactor.redact_bytes(text.encode()) == redactor(text).encode()
    assert form.encode() not in redactor.redact_bytes(text.encode())
    assert REDACTED in redactor(text)


def test_bytes_without_a_secret_are_returned_as_they_are() -> None:
    data = b'{"a":"tok/en+1234 almost"}'

    assert Redactor([TOKEN]).redact_bytes(data) is data
    assert Redactor().redact_bytes(data) is data


def test_a_secret_added_later_is_found_too() -> None:
    redactor = Redactor(["first-secret"])
    redactor.add("second-secret")

    assert redactor.redact_bytes(b"a second-secret b") == f"a {REDACTED} b".encode()


def test_adding_a_secret_again_changes_nothing_and_mixed_additions_still_count() -> None:
    redactor = Redactor([BEARER])
    redactor.add(BEARER)
    redactor.add(BEARER, "another-secret", "abc", None)  # type: ignore[arg-type]
    text = f"{BEARER} another-secret {quote_plus(BEARER)} abc"

    assert redactor(text) == f"{REDACTED} {REDACTED} {REDACTED} abc"
    assert redactor.redact_bytes(text.encode()) == redactor(text).encode()
