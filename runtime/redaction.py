"""Secrets replaced by value wherever they appear in what a run writes or prints.

Header names say little (a token also comes back in a body, a query parameter, a log line, an
`ActionError` payload): every secret value a run knows (the connection's credentials, a client
secret, a token fetched during the run, an `Authorization` value built from them) is registered,
and each text on its way to a fixture file, a log or a report has every occurrence replaced, in
its plain, JSON-escaped, URL-encoded and Base64 forms.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "Redactor", "credential_secrets", "is_secret_name"]

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 4
"""Shorter values are not replaced: they would mangle ordinary text."""

_NOT_SECRET_KEYS = frozenset(
    {"type", "token_type", "expires_at", "expires_in", "scope", "scopes", "username", "user"}
)
_SECRET_KEY_PARTS = ("token", "secret", "key", "password", "pass", "signature", "private", "jwt")


class Redactor:
    """A set of secret values and a function that blanks them out of text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._given: set[str] = set()  # the values added, so that adding one again costs nothing
        self._pattern: re.Pattern[str] | None = None
        self._needles: tuple[bytes, ...] = ()
        self._lock = threading.Lock()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Register secret values (with their encoded forms); short or empty ones are ignored.
        A value already added is skipped at once (an `Authorization` value is added again with
        every request)."""
        fresh = {
            secret
            for secret in secrets
            if isinstance(secret, str)
            and len(secret) >= MIN_SECRET_LENGTH
            and secret not in self._given
        }
        if not fresh:
            return
        forms: set[str] = set()
        for secret in fresh:
            forms.update(_forms(secret))
        with self._lock:
            self._given |= fresh
            new = forms - self._secrets
            if not new:
                return
            self._secrets |= new
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
            self._needles = _needles(ordered)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)

    def redact_bytes(self, data: bytes) -> bytes:
        """`self(text)` for UTF-8 text given as bytes; `data` itself, never decoded, when no
        secret occurs in it (a plain substring search, much faster than the pattern on large
        text such as the records of a report)."""
        if not any(needle in data for needle in self._needles):
            return data
        return self(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string redacted (keys too)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def _needles(forms: list[str]) -> tuple[bytes, ...]:
    """The forms to look for to know whether any occurs: those holding no shorter form (when
    `gho_x` is absent, so is `Bearer gho_x`), as UTF-8."""
    found: list[bytes] = []
    for form in sorted(forms, key=len):
        encoded = form.encode("utf-8", "surrogateescape")
        if not any(shorter in encoded for shorter in found):
            found.append(encoded)
    return tuple(found)


def _forms(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
    forms.add(escaped)
    forms.add(json.dumps(secret)[1:-1])
    forms.add(base64.b64encode(secret.encode()).decode().rstrip("="))
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def credential_secrets(credentials: Mapping[str, Any]) -> list[str]:
    """The secret values of a connection's credentials (tokens, keys, passwords), nested too."""
    found: list[str] = []
    for key, value in credentials.items():
        name = str(key).lower()
        if isinstance(value, Mapping):
            found.extend(credential_secrets(value))
        elif isinstance(value, str) and is_secret_name(name):
            found.append(value)
    return found


def is_secret_name(name: str) -> bool:
    """Does a key's name say its value is a secret (`apiKey`, `client_secret`, `PASSWORD`)?"""
    name = name.lower()
    return name not in _NOT_SECRET_KEYS and any(part in name for part in _SECRET_KEY_PARTS)
