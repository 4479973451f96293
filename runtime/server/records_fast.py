"""The hot path of `GET /records`: a plain ASGI layer that answers the common, well-formed
request (a known key, `model` with `limit`, `cursor` and `variant`) without FastAPI's routing,
dependency solving and validation, which cost more than reading a page of records.

It is conservative: any request it is not sure about (another parameter, a repeated one, a
value it would have to coerce, a key not in the authentication cache, a body, an error from the
store) goes on to the FastAPI route, which is the reference: it validates and answers exactly
as before, errors included. Both call the same store method and send the same bytes, headers
included (`tests/runtime/server/test_records_fast_path.py` compares them).
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from runtime.server.auth import cached_environment
from runtime.server.wire import (
    CONNECTION_ID_PATTERN,
    MODEL_PATTERN,
    PROVIDER_CONFIG_KEY_PATTERN,
    VARIANT_PATTERN,
)
from runtime.store import Store

__all__ = ["RecordsFastPath"]

_PATHS = frozenset({"/records", "/records/"})
_MAX = 255
_MODEL = re.compile(MODEL_PATTERN)
_VARIANT = re.compile(VARIANT_PATTERN)
_CONNECTION_ID = re.compile(CONNECTION_ID_PATTERN)
_PROVIDER_CONFIG_KEY = re.compile(PROVIDER_CONFIG_KEY_PATTERN)
_LIMIT = re.compile(r"[1-9][0-9]{0,4}")  # what FastAPI reads as the same int, nothing to coerce
_HEADERS = {b"authorization", b"connection-id", b"provider-config-key"}
_NO_BODY = {b"content-length": b"0"}


class RecordsFastPath:
    """ASGI middleware: answers `GET /records` when it can, hands on everything else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in _PATHS:
            request = _request_of(scope)
            if request is not None:
                body = await _page(scope, request)
                if body is not None:
                    await _send_json(send, body)
                    return
        await self.app(scope, receive, send)


def _request_of(scope: Scope) -> dict[str, Any] | None:
    """The request's values when they are all plainly valid; None otherwise."""
    headers: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _HEADERS:
            if name in headers:
                return None
            headers[name] = value.decode("latin-1")
        elif name in (b"content-length", b"transfer-encoding") and _NO_BODY.get(name) != value:
            return None
    query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    values = dict(query)
    if len(values) != len(query) or not values.keys() <= {"model", "limit", "cursor", "variant"}:
        return None
    model, limit = values.get("model", ""), values.get("limit", "100")
    cursor, variant = values.get("cursor"), values.get("variant")
    connection_id = headers.get(b"connection-id", "")
    provider_config_key = headers.get(b"provider-config-key", "")
    checks = (
        _valid(_MODEL, model),
        _valid(_CONNECTION_ID, connection_id),
        _valid(_PROVIDER_CONFIG_KEY, provider_config_key),
        variant is None or _valid(_VARIANT, variant),
        cursor is None or 1 <= len(cursor) <= 1000,
        _LIMIT.fullmatch(limit) is not None and int(limit) <= 10_000,
    )
    if not all(checks):
        return None
    return {
        "authorization": headers.get(b"authorization"),
        "integration_key": provider_config_key,
        "connection_id": connection_id,
        "model": model,
        "variant": variant,
        "limit": int(limit),
        "cursor": cursor,
    }


def _valid(pattern: re.Pattern[str], value: str) -> bool:
    return len(value) <= _MAX and pattern.fullmatch(value) is not None


async def _page(scope: Scope, request: dict[str, Any]) -> bytes | None:
    """The page's body, or None to let the FastAPI route answer (an unknown key or
    connection, a bad cursor, a failing database: its answers are the reference)."""
    state = scope["app"].state
    environment = cached_environment(state, request.pop("authorization"))
    if environment is None:
        return None
    store: Store = state.store
    read = partial(store.records.list_page_json_of, environment.id, **request)
    try:
        return await anyio.to_thread.run_sync(read)
    except Exception:  # the route runs it again and answers as it answers every error
        return None


async def _send_json(send: Send, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
