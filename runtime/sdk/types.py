"""The data types of the script SDK (shared by the SDK, the proxy engine and the executor)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from runtime.errors import ActionError as ActionError
from runtime.errors import HttpError as HttpError
from runtime.errors import NetworkError as NetworkError

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
