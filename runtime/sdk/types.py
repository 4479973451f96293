"""The data types of the script SDK (shared by the SDK, the proxy engine and the executor)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

LogLevel = Literal["debug", "info", "warn", "error"]
JSONValue = Any
Checkpoint = dict[str, str | int | float | bool]

# What scripts use from `runtime.sdk`, re-exported by every generated models.py (listed here so
# that code generation needs no import of the SDK and its HTTP stack).
PUBLIC_TYPES = [
    "ActionError",
    "Connection",
    "HttpError",
    "NangoAction",
    "NangoSync",
    "NetworkError",
    "ProxyResponse",
]


class ActionError(Exception):
    """Raised by an action to fail with a payload; callers receive
    `{"error_type": "action_script_failure", "payload": payload}`."""

    def __init__(self, payload: JSONValue = None) -> None:
        super().__init__(payload if isinstance(payload, str) else "action failed")
        self.payload = payload


class HttpError(Exception):
    """A proxied request answered with a non-2xx status (after any retries)."""

    def __init__(self, status: int, body: JSONValue, headers: Mapping[str, str], url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.body = body
        self.headers = dict(headers)
        self.url = url


class NetworkError(Exception):
    """A proxied request never got an answer (connection, DNS, timeout...) after any retries."""

    def __init__(self, message: str, *, url: str, attempts: int) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.attempts = attempts


@dataclass
class ProxyResponse:
    """What `proxy` and the verb helpers return."""

    status: int
    data: JSONValue
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Connection:
    """What `get_connection()` returns."""

    connection_id: str
    provider_config_key: str
    provider: str
    connection_config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    credentials: dict[str, Any] = field(default_factory=dict)
