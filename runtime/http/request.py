"""Building the HTTP request of one SDK call: URL and query, credentials by auth mode, body
encoding, and the OAuth2 client-credentials token; and reading a response body."""

from __future__ import annotations

import base64
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote_plus, unquote_plus, urlencode

import httpx

from runtime import jsjson
from runtime.errors import UserError
from runtime.http.client import AnyClient, send
from runtime.http.providers import Provider, unfillable_placeholder
from runtime.redaction import is_secret_name
from runtime.sdk.types import Connection, HttpError, NetworkError
from runtime.sdk.values import decode as decode_json

ResponseType = Literal["json", "text", "arraybuffer", "stream"]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BEARER_MODES = frozenset({"OAUTH2", "OAUTH2_CC", "APP", "JWT", "TWO_STEP", "CUSTOM"})
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_SECRET_PLACEHOLDERS = ("${apiKey}", "${accessToken}", "${credentials.")
_CONFIG_PLACEHOLDER = re.compile(r"\$\{connectionConfig\.([^}]+)\}")
_REDACTED = "***"
_TOKEN_MARGIN_S = 60.0


@dataclass
class ProxyCall:
    """One SDK HTTP call, as a script made it."""

    endpoint: str
    method: str = "GET"
    params: dict[str, Any] | str | None = None
    data: Any = None
    headers: dict[str, Any] | None = None
    retries: int | None = None
    retry_on: list[int] | None = None
    base_url_override: str | None = None
    response_type: ResponseType = "json"
    decompress: bool = False


def parse_body(response: httpx.Response, response_type: ResponseType) -> Any:
    """The body as the SDK returns it: JSON (text when it is not JSON, None when empty), text or
    bytes (`arraybuffer`; `stream` too, the body being read in full)."""
    if response_type in ("arraybuffer", "stream"):
        return response.content
    if response_type == "text":
        return response.text
    content = response.content
    if not content or content.isspace():
        return None
    try:
        return decode_json(content)
    except ValueError:  # not JSON (or not UTF-8 JSON): the text, decoded by its charset
        return response.text


# --- building requests ----------------------------------------------------------------------------


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return jsjson.js_number(value)
    if isinstance(value, list | tuple):
        return ",".join(_query_text(item) for item in value)
    return str(value)


def _segment_name(segment: str) -> str:
    return unquote_plus(segment.partition("=")[0])


def _param_segments(params: Mapping[str, Any] | str | None) -> list[str]:
    if isinstance(params, str):
        return [part for part in params.lstrip("?").split("&") if part]
    items = (params or {}).items()
    return [urlencode([(name, _query_text(v))]) for name, v in items if v is not None]


def _merge_query(url: str, params: Mapping[str, Any] | str | None, extra: list[str]) -> str:
    """Call params replace same-named endpoint query params; `extra` fills names still absent."""
    base, _, query = url.partition("?")
    own = _param_segments(params)
    replaced = {_segment_name(s) for s in own}
    segments = [s for s in query.split("&") if s and _segment_name(s) not in replaced] + own
    present = {_segment_name(s) for s in segments}
    segments += [s for s in extra if _segment_name(s) not in present]
    return f"{base}?{'&'.join(segments)}" if segments else base


def _join_url(base: str, endpoint: str) -> str:
    if endpoint.startswith(("http://", "https://")) or (base and endpoint.startswith(base)):
        return endpoint
    base = base.rstrip("/")
    return f"{base}/{endpoint.lstrip('/')}" if endpoint else base


def _encode_body(method: str, data: Any, headers: dict[str, str]) -> dict[str, Any]:
    """`httpx.Client.build_request` keyword arguments for the body; may edit `headers`."""
    if method not in BODY_METHODS or data is None:
        return {}
    if isinstance(data, bytes | bytearray):
        return {"content": bytes(data)}
    if isinstance(data, str):
        return {"content": data.encode()}
    content_type = headers.get("content-type", "").lower()
    if isinstance(data, Mapping) and "application/x-www-form-urlencoded" in content_type:
        return {"content": "&".join(_param_segments(data)).encode()}
    if isinstance(data, Mapping) and "multipart/form-data" in content_type:
        del headers["content-type"]  # httpx writes it again with the boundary
        return {"files": [(name, _form_part(name, value)) for name, value in data.items()]}
    headers.setdefault("content-type", "application/json")
    return {"content": jsjson.stringify(data).encode()}


def _form_part(name: str, value: Any) -> Any:
    if isinstance(value, tuple):
        return value  # (filename, content[, content type]) as the caller wrote it
    if isinstance(value, bytes | bytearray):
        return (name, bytes(value), "application/octet-stream")
    if isinstance(value, Mapping | list):
        return (None, jsjson.stringify(value))
    return (None, _query_text(value))


def parse_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_date(text: str) -> float | None:
    """An HTTP date or an ISO 8601 timestamp as epoch seconds (naive means UTC)."""
    import email.utils  # only a response with a date to read needs it (~3 ms to import)

    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def describe_error(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float | None  # epoch seconds after which a new token is fetched; None: never


class RequestBuilder:
    """Turns calls into authenticated requests for one connection: URL, query, headers, body.

    Holds the connection in use and the cached OAuth2 client-credentials token."""

    def __init__(
        self,
        *,
        client: AnyClient,
        provider: Provider,
        connection: Connection,
        token_client: AnyClient | None = None,
        now: Callable[[], float] = time.time,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        self._client = client
        self._provider = provider
        self.connection = connection
        self._token_client = token_client or client
        self._now = now
        self._token: _Token | None = None
        self._on_secret = on_secret
        self.credential_headers: set[str] = set()
        """Names of the headers that carry credentials (dropped on a redirect to another host)."""

    async def credentials_changed(
        self, refresh: Callable[[], Awaitable[Connection]] | None
    ) -> bool:
        """After a 401: refresh the connection (and a client-credentials token); did anything
        the requests are signed with change?"""
        if refresh is not None:
            before = self.connection.credentials
            self.connection = await refresh()
            if self.connection.credentials != before:
                self._token = None
                return True
        if self._provider.auth_mode != "OAUTH2_CC":
            return False
        old = self._token.value if self._token else self.connection.credentials.get("token")
        return await self._client_credentials_token(force=True) != old

    async def build(self, call: ProxyCall, method: str) -> tuple[httpx.Request, str]:
        """The request, and its URL with credential values redacted (for logs and errors)."""
        token = await self._client_credentials_token() if self._is_client_credentials else None
        template = call.base_url_override or self._provider.base_url
        if template is None:
            raise UserError(
                f"Provider {self._provider.key!r} has no base URL.",
                hint="Pass base_url_override= to the call.",
            )
        url = _join_url(self._fill_first(template, "base URL", token), call.endpoint)
        if not url.startswith(("http://", "https://")):
            raise UserError(
                f"Cannot call {url!r}: the URL must start with http:// or https://.",
                hint="Check the endpoint, base_url_override and the connection_config values "
                "used in the provider's base URL.",
            )
        query, shown = [], []
        for name, value in self._provider.query.items():
            filled = self._fill(value, f"query parameter {name!r}", token)
            segment = urlencode([(name, filled)])
            query.append(segment)
            secret = _is_secret_template(value)
            if secret:
                self._secret(filled)
            shown.append(f"{quote_plus(name)}={_REDACTED}" if secret else segment)
        headers = self._headers(call, token)
        body = _encode_body(method, call.data, headers)
        full_url = _merge_query(url, call.params, query)
        shown_url = _merge_query(url, call.params, shown)
        try:
            request = self._client.build_request(method, full_url, headers=headers, **body)
        except httpx.InvalidURL as exc:
            raise UserError(f"Cannot call {shown_url!r}: {exc}") from exc
        return request, shown_url

    @property
    def _is_client_credentials(self) -> bool:
        return self._provider.auth_mode == "OAUTH2_CC"

    def _secret(self, value: str) -> None:
        if self._on_secret is not None:
            self._on_secret(value)

    def _headers(self, call: ProxyCall, token: str | None) -> dict[str, str]:
        overridden = {name.lower() for name in call.headers or {}}
        headers: dict[str, str] = {}
        for name, template in self._provider.headers.items():
            if name.lower() in overridden:
                continue
            headers[name.lower()] = value = self._fill_first(template, f"header {name!r}", token)
            if "${" in template:  # filled from the connection: never sent on to another host
                self.credential_headers.add(name.lower())
            if _is_secret_template(template) or (token is not None and token in value):
                self._secret(value)
        authorization = self._default_authorization(token)
        if authorization is not None and "authorization" not in headers:
            headers["authorization"] = authorization
            self.credential_headers.add("authorization")
            self._secret(authorization)
        for name, value in (call.headers or {}).items():
            if value is None:
                headers.pop(name.lower(), None)
            else:
                headers[name.lower()] = str(value)
        return headers

    def _default_authorization(self, token: str | None) -> str | None:
        mode, credentials = self._provider.auth_mode, self.connection.credentials
        if mode == "BASIC":
            pair = f"{credentials.get('username') or ''}:{credentials.get('password') or ''}"
            return "Basic " + base64.b64encode(pair.encode()).decode()
        if mode == "API_KEY":
            templates = [*self._provider.headers.values(), *self._provider.query.values()]
            if any("${apiKey}" in template for template in templates):
                return None
            return "Bearer " + self._fill("${apiKey}", "authorization header")
        if mode == "NONE":
            return None
        bearer = token or credentials.get("access_token") or credentials.get("token")
        if bearer:
            return f"Bearer {bearer}"
        if mode in _BEARER_MODES:
            self._fill("${accessToken}", "authorization header")
        return None

    def _fill_first(self, template: str, where: str, token: str | None) -> str:
        """Fill a template with `a || b` fallbacks: the first alternative that can be filled."""
        *alternatives, last = (part.strip() for part in template.split("||"))
        for alternative in alternatives:
            try:
                return self._fill(alternative, where, token)
            except UserError:
                continue
        return self._fill(last, where, token)

    def _fill(self, template: str, where: str, token: str | None = None) -> str:
        computed = unfillable_placeholder(template)
        if computed is not None:
            raise UserError(
                f"The {where} of provider {self._provider.key!r} uses {computed}, which "
                "nango-py cannot fill (it fills ${apiKey}, ${accessToken}, "
                "${connectionConfig.<name>} and ${credentials.<name>}).",
                hint="Pass that value yourself in the call (headers=..., params=... or "
                "base_url_override=...).",
            )

        def replace(match: re.Match[str]) -> str:
            value = self._placeholder_value(match.group(1), token)
            if value is None:
                raise self._missing_value(match.group(1), where)
            return value

        return _PLACEHOLDER.sub(replace, template)

    def _placeholder_value(self, name: str, token: str | None) -> str | None:
        credentials = self.connection.credentials
        if name == "apiKey":
            value = credentials.get("apiKey")
        elif name == "accessToken":
            value = token or credentials.get("access_token") or credentials.get("token")
        else:
            source, _, key = name.partition(".")
            values = self.connection.connection_config if source == "connectionConfig" else {}
            value = (credentials if source == "credentials" else values).get(key)
        return None if value is None or value == "" else _query_text(value)

    def _missing_value(self, name: str, where: str) -> UserError:
        provider, connection = self._provider.key, self.connection.connection_id
        source, _, key = name.partition(".")
        if source == "connectionConfig":
            return UserError(
                f"The {where} of provider {provider!r} needs connection_config[{key!r}], "
                f"but connection {connection!r} does not set it.",
                hint=f"Add {key!r} to the connection's connection_config where the connection is "
                "defined (the local connection settings, or the connection in the runtime).",
            )
        wanted = f"credentials[{key!r}]" if source == "credentials" else name
        kind = self.connection.credentials.get("type", "none")
        return UserError(
            f"The {where} of provider {provider!r} needs {wanted}, but the credentials of "
            f"connection {connection!r} (type {kind}) do not have it.",
            hint=f"Give the connection credentials of the kind its auth mode "
            f"({self._provider.auth_mode}) uses.",
        )

    # --- OAuth2 client credentials ---------------------------------------------------------------

    async def _client_credentials_token(self, *, force: bool = False) -> str:
        """A valid token: the cached one, the connection's own `token`, or a newly fetched one."""
        now = self._now()
        if not force and self._token and (self._token.refresh_at or math.inf) > now:
            return self._token.value
        credentials = self.connection.credentials
        given, expires_at = credentials.get("token"), credentials.get("expires_at")
        if not force and isinstance(given, str) and given:
            expiry = parse_date(str(expires_at)) if expires_at else math.inf
            if expiry is not None and expiry - _TOKEN_MARGIN_S > now:
                return given
        self._token = await self._fetch_client_credentials_token()
        self._secret(self._token.value)
        return self._token.value

    async def _fetch_client_credentials_token(self) -> _Token:
        template = self._provider.token_url_for("OAUTH2_CC")
        if not template:
            raise UserError(f"Provider {self._provider.key!r} has no token_url to fetch a token.")
        url = self._fill_first(template, "token URL", None)
        form = {"grant_type": "client_credentials"}
        for name in ("client_id", "client_secret"):
            form[name] = self._fill(f"${{credentials.{name}}}", "token request")
        try:
            request = self._token_client.build_request("POST", url, data=form)
            response = await send(self._token_client, request)
        except httpx.RequestError as exc:
            message = (
                f"Fetching a client-credentials token from {url} failed: {describe_error(exc)}"
            )
            raise NetworkError(message, url=url, attempts=1) from exc
        body = parse_body(response, "json")
        if not response.is_success:
            raise HttpError(response.status_code, body, dict(response.headers.items()), url)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise UserError(f"The token endpoint {url} answered without an access_token.")
        lifetime = parse_number(str(body.get("expires_in", "")))
        if not lifetime or lifetime <= 0:
            return _Token(token, None)
        return _Token(token, self._now() + lifetime - min(_TOKEN_MARGIN_S, lifetime / 2))


def _is_secret_template(template: str) -> bool:
    """Does a catalog template fill in a secret: the credentials, or a connection config value
    named like one (`${connectionConfig.API_PASSWORD}`, `${connectionConfig.appSecret}`)?"""
    if any(marker in template for marker in _SECRET_PLACEHOLDERS):
        return True
    return any(is_secret_name(key) for key in _CONFIG_PLACEHOLDER.findall(template))
