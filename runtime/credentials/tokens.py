"""A provider's OAuth2 token endpoint: the authorization-code exchange, the refresh of an access
token, and client-credentials tokens.

Requests follow the provider's catalog entry as Nango's do: `token_params` / `refresh_params`
over the standard ones, the client authenticated in the body or with HTTP Basic
(`authorization_method: header`, `token_request_auth_method: basic`), a form body unless
`body_format: json`, `refresh_url` when the provider has one. Answers are JSON (or a form, as
some providers still send); an error answer becomes a `TokenError` carrying only the provider's
`error` and `error_description`, with the request's secrets masked.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import httpx

from runtime.credentials.errors import TokenError, describe_details, provider_details
from runtime.credentials.shapes import js_iso
from runtime.credentials.templates import fill
from runtime.http.client import USER_AGENT
from runtime.http.providers import Provider

__all__ = ["TokenEndpoint", "TokenGrant", "build_token_client"]


@dataclass(frozen=True)
class TokenGrant:
    """New credentials (in the stored shape), when they expire, and the values of the answer
    the provider's `token_response_metadata` names (they go into the connection config)."""

    credentials: dict[str, Any] = field(repr=False)
    expires_at: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)


def build_token_client(
    *, timeout: float = 20.0, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The client token requests go through: no redirects (a token request is a POST with
    secrets), our user agent, `timeout` seconds at most per phase."""
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
    )


def _dotted(body: Mapping[str, Any], path: str) -> Any:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _parse(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        text = response.text
        if "=" in text and "<" not in text:
            return dict(parse_qsl(text.strip(), keep_blank_values=True))
        return text


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class TokenEndpoint:
    """The token requests of one provider for one connection (its configuration fills the
    `${connectionConfig.*}` of the URLs and params)."""

    def __init__(
        self,
        provider: Provider,
        http: httpx.Client,
        *,
        connection_config: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._provider = provider
        self._http = http
        self._config = dict(connection_config or {})
        self._clock = clock

    def exchange_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None,
        client_id: str,
        client_secret: str | None,
    ) -> TokenGrant:
        """Trade an authorization code for OAUTH2 credentials."""
        params: dict[str, Any] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        }
        params.update(self._params(self._provider.token_params, {}))
        if code_verifier:
            params["code_verifier"] = code_verifier
        body = self._post(
            self._url("OAUTH2", refresh=False, credentials={}),
            params,
            client=(client_id, client_secret),
            as_header=self._provider.authorization_method == "header",
            secrets=[code, code_verifier, client_secret],
        )
        return self._oauth2_grant(body)

    def refresh(
        self, credentials: Mapping[str, Any], *, client_id: str, client_secret: str | None
    ) -> TokenGrant:
        """New OAUTH2 credentials from the refresh token; a refresh token the provider does not
        rotate is kept."""
        refresh_token = str(credentials["refresh_token"])
        params: dict[str, Any] = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        params.update(self._params(self._provider.refresh_params, credentials))
        body = self._post(
            self._url("OAUTH2", refresh=True, credentials=credentials),
            params,
            client=(client_id, client_secret),
            as_header=self._provider.authorization_method == "header",
            secrets=[refresh_token, client_secret],
        )
        grant = self._oauth2_grant(body)
        if not grant.credentials.get("refresh_token"):
            grant.credentials["refresh_token"] = refresh_token
        return grant

    def client_credentials(self, credentials: Mapping[str, Any]) -> TokenGrant:
        """A new client-credentials token, in OAUTH2_CC credentials that keep the client."""
        client_id = str(credentials.get("client_id") or "")
        client_secret = str(credentials.get("client_secret") or "")
        params: dict[str, Any] = {"grant_type": "client_credentials"}
        params.update(self._params(self._provider.token_params, credentials))
        body = self._post(
            self._url("OAUTH2_CC", refresh=False, credentials=credentials),
            params,
            client=(client_id, client_secret),
            as_header=self._provider.token_request_auth_method == "basic",
            secrets=[client_secret],
        )
        token, expires_at = self._token_of(body)
        kept = {
            name: value
            for name, value in credentials.items()
            if name not in ("token", "expires_at", "raw")
        }
        fresh: dict[str, Any] = {**kept, "type": "OAUTH2_CC", "token": token, "raw": body}
        if expires_at is not None:
            fresh["expires_at"] = js_iso(expires_at)
        return TokenGrant(fresh, expires_at, self._metadata(body))

    # --- requests -----------------------------------------------------------------------------

    def _url(self, auth_mode: str, *, refresh: bool, credentials: Mapping[str, Any]) -> str:
        template = (self._provider.refresh_url if refresh else None) or (
            self._provider.token_url_for(auth_mode)
        )
        if not template:
            raise TokenError(f"Provider {self._provider.key!r} has no token URL")
        return fill(template, self._config, what="token URL", credentials=credentials)

    def _params(self, given: Mapping[str, Any], credentials: Mapping[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, value in given.items():
            if isinstance(value, str) and "${" in value:
                what = f"token parameter {name!r}"
                value = fill(value, self._config, what=what, credentials=credentials)
            params[name] = value
        return params

    def _headers(self) -> dict[str, str]:
        headers = {"accept": "application/json"}
        for name, value in self._provider.token_headers.items():
            headers[name.lower()] = fill(value, self._config, what=f"token header {name!r}")
        return headers

    def _post(
        self,
        url: str,
        params: dict[str, Any],
        *,
        client: tuple[str, str | None],
        as_header: bool,
        secrets: list[str | None],
    ) -> Any:
        client_id, client_secret = client
        headers = self._headers()
        if as_header:
            pair = f"{quote_plus(client_id)}:{quote_plus(client_secret or '')}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            params["client_id"] = client_id
            if client_secret:
                params["client_secret"] = client_secret
        if self._provider.body_format == "json":
            headers["content-type"] = "application/json"
            content = json.dumps(params).encode()
        else:
            headers["content-type"] = "application/x-www-form-urlencoded"
            pairs = (f"{quote_plus(k)}={quote_plus(_text(v))}" for k, v in params.items())
            content = "&".join(pairs).encode()
        return self._send(url, headers, content, secrets)

    def _send(self, url: str, headers: dict[str, str], content: bytes, secrets: list[Any]) -> Any:
        try:
            response = self._http.post(url, headers=headers, content=content)
        except httpx.RequestError as exc:
            raise TokenError(
                f"The token endpoint {_where(url)} could not be reached ({type(exc).__name__})"
            ) from exc
        body = _parse(response)
        if response.is_success and not (isinstance(body, Mapping) and _is_error(body)):
            return body
        details = provider_details(body, secrets)
        said = describe_details(details)
        raise TokenError(
            f"The token endpoint {_where(url)} answered {response.status_code}"
            + (f": {said}" if said else ""),
            status=response.status_code,
            details=details,
        )

    # --- answers ------------------------------------------------------------------------------

    def _token_of(self, body: Any) -> tuple[str, datetime | None]:
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise TokenError("The token endpoint answered without an access_token")
        return token, self._expiry(body)

    def _expiry(self, body: Mapping[str, Any]) -> datetime | None:
        lifetime = _number(body.get("expires_in"))
        if lifetime is not None and lifetime > 0:
            return datetime.fromtimestamp(self._clock() + lifetime, UTC)
        at = _number(body.get("expires_at"))
        if at is not None and at > 0:
            return datetime.fromtimestamp(at / 1000 if at > 1e11 else at, UTC)
        return None

    def _oauth2_grant(self, body: Any) -> TokenGrant:
        token, expires_at = self._token_of(body)
        fresh: dict[str, Any] = {"type": "OAUTH2", "access_token": token}
        refresh_token = body.get("refresh_token")
        if isinstance(refresh_token, str) and refresh_token:
            fresh["refresh_token"] = refresh_token
        if expires_at is not None:
            fresh["expires_at"] = js_iso(expires_at)
        fresh["raw"] = body
        return TokenGrant(fresh, expires_at, self._metadata(body))

    def _metadata(self, body: Mapping[str, Any]) -> dict[str, Any]:
        found = {}
        for path in self._provider.token_response_metadata:
            value = _dotted(body, path)
            if value is not None:
                found[path] = value
        return found


def _is_error(body: Mapping[str, Any]) -> bool:
    # GitHub answers a bad code with 200 and {"error": ...}: no token means it failed.
    return "access_token" not in body and bool(body.get("error"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    return str(value)
