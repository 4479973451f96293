"""`/proxy/{endpoint}`, every method: the request sent to the provider with the connection's
credentials, through the SDK's proxy engine (`runtime.http.proxy`), and its answer passed back.

What goes upstream: the method, the endpoint with its query string, the body, the caller's
`Nango-Proxy-<Name>` headers as `<Name>`, and the Content-Type; never the runtime's own headers
(the secret key, Connection-Id...). What comes back: the status, the body, and the headers
Nango passes (content-type, x-request-id, x-correlation-id, mcp-session-id).
"""

from __future__ import annotations

import math
import re
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from runtime.errors import HttpError, NetworkError, UserError
from runtime.http.providers import get_provider
from runtime.http.proxy import ProxyCall, ProxyEngine
from runtime.sdk.types import Connection as SdkConnection
from runtime.server.auth import (
    CurrentEnvironment,
    CurrentSettings,
    CurrentStore,
    current_environment,
)
from runtime.server.connection_access import load_connection
from runtime.server.denylist import denylist, is_denied
from runtime.server.errors import ApiError
from runtime.server.validation import invalid
from runtime.server.wire import CONNECTION_ID_PATTERN, ERROR_RESPONSES, PROVIDER_CONFIG_KEY_PATTERN
from runtime.settings import RuntimeSettings
from runtime.store import Connection

router = APIRouter(
    tags=["proxy"],
    dependencies=[Depends(current_environment)],
    responses=ERROR_RESPONSES,
)

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
FORWARDED_PREFIX = "nango-proxy-"
# Never taken from Nango-Proxy-*: they describe this hop, and a forged length would desync
# the upstream connection.
NOT_FORWARDED = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
    }
)
PASSED_BACK = ("content-type", "x-request-id", "x-correlation-id", "mcp-session-id")
MAX_RETRIES = 10
_RETRY_ON = re.compile(r"^\d+(,\d+)*$")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s]+$")


def _retries(value: str | None) -> int:
    if value is None or value == "":
        return 0
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise invalid("invalid_headers", "retries", "Expected number", kind="invalid_type")
    return max(0, min(MAX_RETRIES, int(number)))


def _retry_on(value: str | None) -> list[int] | None:
    if not value:
        return None
    if not _RETRY_ON.match(value):
        raise invalid("invalid_headers", "retry-on", "Invalid", kind="invalid_string")
    return [int(code) for code in value.split(",")]


def _override(value: str | None, settings: RuntimeSettings) -> str | None:
    """The Base-Url-Override header: a URL, or "" for none; denied hosts refused first."""
    if not value:
        return None
    if not _URL.match(value):
        raise invalid("invalid_headers", "base-url-override", "Invalid url", kind="invalid_string")
    if is_denied(value, denylist(settings.proxy_base_url_override_denylist)):
        raise ApiError(
            400,
            "base_url_override_not_allowed",
            "This base URL override is not allowed by server configuration.",
        )
    return value


def _forwarded_headers(request: Request) -> dict[str, str]:
    headers = {
        name[len(FORWARDED_PREFIX) :]: value
        for name, value in request.headers.items()
        if name.startswith(FORWARDED_PREFIX)
        and name[len(FORWARDED_PREFIX) :] not in NOT_FORWARDED
        and len(name) > len(FORWARDED_PREFIX)
    }
    content_type = request.headers.get("content-type")
    if content_type and "content-type" not in headers:
        headers["content-type"] = content_type
    return headers


def _endpoint(request: Request, path: str) -> str:
    query = request.url.query
    return f"/{path}?{query}" if query else f"/{path}"


def _sdk_connection(connection: Connection) -> SdkConnection:
    return SdkConnection(
        connection_id=connection.connection_id,
        provider_config_key=connection.provider_config_key,
        provider=connection.provider,
        connection_config=dict(connection.connection_config),
        metadata=connection.metadata,
        credentials=dict(connection.credentials or {}),
    )


def _answer(status: int, body: bytes, headers: dict[str, str]) -> Response:
    if status == 204:
        return Response(status_code=204)
    lowered = {name.lower(): value for name, value in headers.items()}
    passed = {name: lowered[name] for name in PASSED_BACK if lowered.get(name)}
    return Response(body, status_code=status, headers=passed)


def _http_client(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.app.state.http_client
    return client


async def proxy(
    request: Request,
    path: str,
    environment: CurrentEnvironment,
    store: CurrentStore,
    settings: CurrentSettings,
    connection_id: Annotated[
        str, Header(alias="Connection-Id", pattern=CONNECTION_ID_PATTERN, max_length=255)
    ],
    provider_config_key: Annotated[
        str,
        Header(alias="Provider-Config-Key", pattern=PROVIDER_CONFIG_KEY_PATTERN, max_length=255),
    ],
    retries: Annotated[str | None, Header(alias="Retries")] = None,
    base_url_override: Annotated[str | None, Header(alias="Base-Url-Override")] = None,
    retry_on: Annotated[str | None, Header(alias="Retry-On")] = None,
    decompress: Annotated[str | None, Header(alias="Decompress", pattern="^(true|false)$")] = None,
) -> Response:
    """Call the provider's API as the connection: `METHOD /proxy/<endpoint>?<query>`."""
    override = _override(base_url_override, settings)
    call = ProxyCall(
        endpoint=_endpoint(request, path),
        method=request.method,
        headers=_forwarded_headers(request),
        retries=_retries(retries),
        retry_on=_retry_on(retry_on),
        response_type="arraybuffer",
        decompress=decompress == "true",
    )
    integration = await run_in_threadpool(
        store.integrations.get, environment.id, provider_config_key
    )
    if integration is None:
        raise ApiError(
            404,
            "unknown_provider_config",
            "Provider config not found for the given provider config key. Please make sure "
            "the provider config exists in the Nango dashboard.",
        )
    call.base_url_override = override or integration.base_url_override
    connection = await load_connection(
        store, settings, environment, provider_config_key, connection_id
    )
    if connection is None:
        raise ApiError(400, "server_error", "Failed to get connection")
    body = await request.body()
    call.data = body if body and request.method != "GET" else None
    return await _send(request, call, integration.provider, connection)


for _method in METHODS:
    router.add_api_route(
        "/proxy/{path:path}",
        proxy,
        methods=[_method],
        operation_id=f"proxy_{_method.lower()}",
        response_class=Response,
        responses={200: {"description": "The provider's answer, status and body as is"}},
    )


async def _send(
    request: Request, call: ProxyCall, provider_key: str, connection: Connection
) -> Response:
    try:
        provider = get_provider(provider_key)
        engine = ProxyEngine(
            client=_http_client(request),
            provider=provider,
            connection=_sdk_connection(connection),
        )
        answer = await engine.send(call)
    except HttpError as exc:
        return _answer(exc.status, _bytes(exc.body), exc.headers)
    except NetworkError as exc:
        raise ApiError(502, "proxy_network_error", exc.message) from exc
    except UserError as exc:
        raise ApiError(400, "invalid_proxy_configuration", exc.message) from exc
    return _answer(answer.status, _bytes(answer.data), answer.headers)


def _bytes(data: object) -> bytes:
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if data is None:
        return b""
    return str(data).encode()
