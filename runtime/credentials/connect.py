"""The OAuth2 authorization-code flow: from "connect this account" to a stored connection.

1. `start_session` (the API's `GET /oauth/connect/:integration` with the secret key) or
   `create_link` (a connect link for a browser, made by an authenticated call) records a
   PENDING session: a random `state`, a PKCE verifier (S256, unless the provider disables
   PKCE), the scopes (the provider's defaults, then the integration's), the connection config
   the URLs need, the redirect URI `<server URL>/oauth/callback`. `authorization_url` is where
   the browser goes: the provider's consent page with the client id, scopes, state, challenge
   and the provider's authorization params.
2. `finish` (the callback) finds the session by `state`, claims it once, trades the code at the
   token URL, stores the credentials (encrypted) on a new or existing connection, and says what
   happened. Unknown or expired state, a provider's refusal, a token endpoint that fails: an
   outcome that says so, never an exception.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from runtime.credentials.errors import ConnectError, TokenError, scrub
from runtime.credentials.events import on_connection_created
from runtime.credentials.templates import fill
from runtime.credentials.tokens import TokenEndpoint, TokenGrant, build_token_client
from runtime.errors import UserError
from runtime.http.providers import Provider, get_provider
from runtime.settings import RuntimeSettings
from runtime.store import Integration, OAuthSession, Store
from runtime.store.oauth import PENDING, SUCCEEDED

__all__ = [
    "SESSION_LIFETIME",
    "ConnectLink",
    "ConnectOutcome",
    "authorization_url",
    "create_link",
    "finish",
    "link_hash",
    "link_status",
    "session_for_link",
    "start_session",
]

SESSION_LIFETIME = timedelta(minutes=15)
_OAUTH_MODES = frozenset({"OAUTH2"})
# What `secrets.token_urlsafe` makes: states and link tokens are never anything else.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,200}$")


@dataclass(frozen=True)
class ConnectLink:
    """A connect link: `url` opens the flow in a browser, without the secret key; `token` is
    its random part (only its hash is stored)."""

    url: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class ConnectOutcome:
    """What the callback page says: `status` is its HTTP status, `title` and `detail` its text
    (plain text: the page escapes it)."""

    succeeded: bool
    status: int
    title: str
    detail: str
    connection_id: str | None = None
    integration_key: str | None = None


def link_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _oauth_setup(
    store: Store, environment_id: int, integration_key: str
) -> tuple[Integration, Provider]:
    """The integration and its provider, checked to be able to run the flow."""
    integration = store.integrations.get(environment_id, integration_key)
    if integration is None:
        raise ConnectError(f'Integration "{integration_key}" does not exist', status=404)
    try:
        provider = get_provider(integration.provider)
    except UserError as exc:
        raise ConnectError(exc.message, status=400) from exc
    if provider.auth_mode not in _OAUTH_MODES:
        raise ConnectError(
            f"Integration {integration_key!r} uses {provider.auth_mode} credentials, which are "
            "not obtained through an OAuth consent page",
            hint="Import them instead: `nango connection create INTEGRATION CONNECTION_ID "
            "--credentials '{...}'` (or POST /connections).",
        )
    if not integration.oauth_client_id:
        raise ConnectError(
            f"Integration {integration_key!r} has no OAuth client id",
            hint="Set it: `nango integration create KEY --provider P --client-id ... "
            "--client-secret ...`.",
        )
    if not provider.authorization_url:
        raise ConnectError(f"Provider {provider.key!r} has no authorization URL in the catalog")
    return integration, provider


def _scopes(provider: Provider, integration: Integration) -> list[str]:
    return list(dict.fromkeys([*provider.default_scopes, *integration.oauth_scopes]))


def start_session(
    store: Store,
    settings: RuntimeSettings,
    environment_id: int,
    integration_key: str,
    connection_id: str,
    *,
    connection_config: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    token: str | None = None,
) -> OAuthSession:
    """A new PENDING session (`token`: the random part of a connect link, stored hashed)."""
    integration, provider = _oauth_setup(store, environment_id, integration_key)
    config = dict(connection_config or {})
    fill(provider.authorization_url or "", config, what="authorization URL")  # fail early
    return store.oauth.create(
        environment_id,
        integration.unique_key,
        connection_id,
        state=secrets.token_urlsafe(32),
        expires_at=datetime.now(UTC) + SESSION_LIFETIME,
        redirect_uri=f"{settings.public_url}/oauth/callback",
        scopes=_scopes(provider, integration),
        code_verifier=None if provider.disable_pkce else secrets.token_urlsafe(64),
        link_hash=None if token is None else link_hash(token),
        connection_config=config,
        metadata=metadata,
    )


def create_link(
    store: Store,
    settings: RuntimeSettings,
    environment_id: int,
    integration_key: str,
    connection_id: str,
    *,
    connection_config: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ConnectLink:
    """A connect link for a browser, valid for `SESSION_LIFETIME`."""
    token = secrets.token_urlsafe(32)
    session = start_session(
        store,
        settings,
        environment_id,
        integration_key,
        connection_id,
        connection_config=connection_config,
        metadata=metadata,
        token=token,
    )
    query = urlencode({"connection_id": connection_id, "link": token}, quote_via=quote)
    url = f"{settings.public_url}/oauth/connect/{quote(integration_key, safe='')}?{query}"
    return ConnectLink(url=url, token=token, expires_at=session.expires_at)


def session_for_link(
    store: Store, integration_key: str, connection_id: str, token: str
) -> OAuthSession:
    """The pending session of a connect link; a `ConnectError` when the link is not (or no
    longer) valid for this integration and connection."""
    session = store.oauth.get_by_link(link_hash(token)) if _TOKEN.match(token) else None
    if (
        session is None
        or session.integration_key != integration_key
        or session.connection_id != connection_id
    ):
        raise ConnectError("This connect link is not valid", status=404)
    if session.is_expired(datetime.now(UTC)):
        raise ConnectError("This connect link has expired", hint="Ask for a new one.")
    if session.status != PENDING:
        raise ConnectError("This connect link was already used", hint="Ask for a new one.")
    return session


def authorization_url(store: Store, session: OAuthSession) -> str:
    """The provider's consent page for `session`."""
    integration, provider = _oauth_setup(store, session.environment_id, session.integration_key)
    template = provider.authorization_url or ""
    base = fill(template, session.connection_config, what="authorization URL")
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": integration.oauth_client_id or "",
        "redirect_uri": session.redirect_uri,
    }
    if session.scopes:
        params["scope"] = (provider.scope_separator or " ").join(session.scopes)
    params["state"] = session.state
    if session.code_verifier:
        params["code_challenge"] = _challenge(session.code_verifier)
        params["code_challenge_method"] = "S256"
    for name, value in provider.authorization_params.items():
        params[name] = _param_text(value)
    separator = "&" if "?" in base else "?"
    return base + separator + urlencode(params, quote_via=quote)


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the callback --------------------------------------------------------------------------------


def finish(
    store: Store,
    settings: RuntimeSettings,
    params: Mapping[str, str],
    *,
    http: httpx.Client | None = None,
) -> ConnectOutcome:
    """Complete the flow from the callback's query (`state`, then `code`, or the provider's
    `error` and `error_description`)."""
    state = params.get("state") or ""
    session = store.oauth.get(state) if _TOKEN.match(state) else None
    refusal = _refusal(session, params)
    if refusal is not None:
        if session is not None and session.status == PENDING:
            store.oauth.finish(session.state, succeeded=False, result={"message": refusal.detail})
        return refusal
    assert session is not None
    if not store.oauth.claim(session.state):
        return _failed("This connection attempt was already completed", 400, session)
    try:
        connection_created = _exchange_and_store(store, settings, session, params["code"], http)
    except UserError as exc:
        message = scrub(exc.message, [params.get("code"), session.code_verifier])
        store.oauth.finish(session.state, succeeded=False, result={"message": message})
        return _failed(message, _status_of(exc), session)
    done = "created" if connection_created else "updated"
    detail = f"Connection {session.connection_id!r} of {session.integration_key!r} was {done}."
    store.oauth.finish(session.state, succeeded=True, result={"message": detail})
    closing = detail + " You can close this window."
    return ConnectOutcome(
        True, 200, "Connected", closing, session.connection_id, session.integration_key
    )


def _status_of(error: UserError) -> int:
    if isinstance(error, ConnectError):
        return error.status
    return 502 if isinstance(error, TokenError) else 400


def _failed(detail: str, status: int, session: OAuthSession | None) -> ConnectOutcome:
    return ConnectOutcome(
        False,
        status,
        "Connection failed",
        detail,
        None if session is None else session.connection_id,
        None if session is None else session.integration_key,
    )


def _refusal(session: OAuthSession | None, params: Mapping[str, str]) -> ConnectOutcome | None:
    """Why the callback cannot go on (None when it can)."""
    if session is None:
        return _failed(
            "This connection attempt is unknown or has expired. Start it again.", 400, None
        )
    if session.status != PENDING:
        return _failed("This connection attempt was already completed", 400, session)
    if session.is_expired(datetime.now(UTC)):
        return _failed("This connection attempt has expired. Start it again.", 400, session)
    if params.get("error"):
        said = params["error"]
        if params.get("error_description"):
            said += f": {params['error_description']}"
        return _failed(f"The provider refused the authorization ({said[:500]})", 400, session)
    if not params.get("code"):
        return _failed("The provider sent no authorization code", 400, session)
    return None


def _exchange_and_store(
    store: Store,
    settings: RuntimeSettings,
    session: OAuthSession,
    code: str,
    http: httpx.Client | None,
) -> bool:
    integration, provider = _oauth_setup(store, session.environment_id, session.integration_key)
    client = http or build_token_client(timeout=settings.token_timeout_s)
    try:
        endpoint = TokenEndpoint(provider, client, connection_config=session.connection_config)
        grant = endpoint.exchange_code(
            code=code,
            redirect_uri=session.redirect_uri,
            code_verifier=session.code_verifier,
            client_id=integration.oauth_client_id or "",
            client_secret=integration.oauth_client_secret,
        )
    finally:
        if http is None:
            client.close()
    return _store_grant(store, settings, session, grant)


def _store_grant(
    store: Store, settings: RuntimeSettings, session: OAuthSession, grant: TokenGrant
) -> bool:
    connection, created = store.connections.upsert(
        session.environment_id,
        session.integration_key,
        session.connection_id,
        credentials=grant.credentials,
        credentials_expires_at=grant.expires_at,
        connection_config={**session.connection_config, **grant.metadata},
        metadata=session.metadata,
    )
    on_connection_created(store, connection, created=created, settings=settings)
    return created


def link_status(store: Store, environment_id: int, token: str) -> dict[str, Any] | None:
    """What became of a connect link (None when it is unknown to this environment)."""
    session = store.oauth.get_by_link(link_hash(token))
    if session is None or session.environment_id != environment_id:
        return None
    status = session.status
    if status == PENDING and session.is_expired(datetime.now(UTC)):
        status = "EXPIRED"
    message = (session.result or {}).get("message")
    return {
        "status": status,
        "succeeded": status == SUCCEEDED,
        "message": message,
        "provider_config_key": session.integration_key,
        "connection_id": session.connection_id,
        "expires_at": session.expires_at,
    }
