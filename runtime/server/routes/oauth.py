"""The OAuth2 connect flow: `GET /oauth/connect/:integration` (redirects to the provider's
consent page), `GET /oauth/callback` (where the provider sends the browser back), and, ours,
`POST /oauth/connect-link` / `GET /oauth/connect-link/:link` (a link to open in a browser
without the secret key, and what became of it).

`/oauth/connect` is authorized by the environment's secret key (`Authorization: Bearer`) or by
the token of a connect link (`link=`); `/oauth/callback` by the session's `state`. Both answer
a browser: a redirect, or a small page saying what went wrong, never a JSON error or a 500.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from runtime.credentials.connect import (
    authorization_url,
    create_link,
    finish,
    link_status,
    session_for_link,
    start_session,
)
from runtime.credentials.errors import ConnectError
from runtime.server.auth import CurrentEnvironment, environment_for_key, store_of
from runtime.server.connection_wire import (
    CONNECTION_ID_PATTERN,
    PROVIDER_CONFIG_KEY_PATTERN,
    ConnectLinkBody,
    ConnectLinkCreated,
    ConnectLinkStatus,
    iso,
)
from runtime.server.errors import ApiError
from runtime.server.pages import page
from runtime.server.query_checks import bracketed
from runtime.server.wire import ERROR_RESPONSES
from runtime.settings import RuntimeSettings
from runtime.store import OAuthSession

router = APIRouter(tags=["oauth"], responses=ERROR_RESPONSES)

_CONNECTION_ID = re.compile(CONNECTION_ID_PATTERN)
_INTEGRATION = re.compile(PROVIDER_CONFIG_KEY_PATTERN)


def _settings(request: Request) -> RuntimeSettings:
    settings: RuntimeSettings = request.app.state.settings
    return settings


@router.post("/oauth/connect-link", response_model=ConnectLinkCreated, status_code=201)
def create_connect_link(
    request: Request, environment: CurrentEnvironment, body: ConnectLinkBody
) -> ConnectLinkCreated:
    """A link that starts the OAuth flow of `provider_config_key` for `connection_id` in a
    browser, valid 15 minutes; `link` is its token, for `GET /oauth/connect-link/:link`."""
    try:
        link = create_link(
            store_of(request),
            _settings(request),
            environment.id,
            body.provider_config_key,
            body.connection_id,
            connection_config=body.connection_config,
            metadata=body.metadata,
        )
    except ConnectError as exc:
        code = "unknown_provider_config" if exc.status == 404 else "invalid_body"
        message = exc.message if exc.hint is None else f"{exc.message}. {exc.hint}"
        raise ApiError(exc.status, code, message) from None
    return ConnectLinkCreated(url=link.url, link=link.token, expires_at=iso(link.expires_at))


@router.get("/oauth/connect-link/{link}", response_model=ConnectLinkStatus)
def connect_link_status(
    request: Request,
    environment: CurrentEnvironment,
    link: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]+$", max_length=200)],
) -> ConnectLinkStatus:
    """What became of a connect link: PENDING (not used yet), EXCHANGING, SUCCESS, ERROR (with
    the message the page showed) or EXPIRED."""
    found = link_status(store_of(request), environment.id, link)
    if found is None:
        raise ApiError(404, "not_found", "Unknown connect link")
    return ConnectLinkStatus(**{**found, "expires_at": iso(found["expires_at"])})


def _problem(exc: ConnectError) -> HTMLResponse:
    detail = exc.message if exc.hint is None else f"{exc.message}. {exc.hint}"
    return page("Cannot connect", detail, status=exc.status)


def _session(
    request: Request, integration: str, connection_id: str, authorization: str | None
) -> OAuthSession:
    store = store_of(request)
    link = request.query_params.get("link")
    if link:
        return session_for_link(store, integration, connection_id, link)
    try:
        environment = environment_for_key(store, authorization)
    except ApiError as exc:
        raise ConnectError(
            "This page needs a connect link, or the environment's secret key",
            status=exc.status,
            hint="Run `nango connection create INTEGRATION CONNECTION_ID` to get a link.",
        ) from None
    return start_session(
        store,
        _settings(request),
        environment.id,
        integration,
        connection_id,
        connection_config=bracketed(request.query_params, "params"),
    )


_PAGES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"text/html": {}}}
    for status, description in {
        400: "A page saying what is wrong with the request",
        401: "A page saying the link or key is not valid",
        404: "A page saying the integration does not exist",
        500: "A page saying something went wrong",
        502: "A page saying the provider could not be reached",
    }.items()
}


@router.get(
    "/oauth/connect/{integration}",
    response_model=None,
    status_code=302,
    responses={302: {"description": "To the provider's consent page"}, **_PAGES},
)
def connect(
    request: Request,
    integration: str,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Redirect to the provider's consent page for `connection_id` (query), authorized by a
    connect link (`link=`) or the secret key; `params[name]=value` give the connection config
    the provider's URLs need (with the key)."""
    connection_id = request.query_params.get("connection_id") or ""
    if not _CONNECTION_ID.match(connection_id) or len(connection_id) > 255:
        return page("Cannot connect", "A valid connection_id is required", status=400)
    if not _INTEGRATION.match(integration) or len(integration) > 255:
        return page("Cannot connect", f'Integration "{integration}" does not exist', status=404)
    try:
        session = _session(request, integration, connection_id, authorization)
        target = authorization_url(store_of(request), session)
    except ConnectError as exc:
        return _problem(exc)
    return RedirectResponse(target, status_code=302, headers={"cache-control": "no-store"})


@router.get("/oauth/callback", response_class=HTMLResponse, responses=_PAGES)
def callback(request: Request) -> HTMLResponse:
    """Where the provider sends the browser back: the code is exchanged, the connection stored,
    and a page says what happened."""
    params = {key: value for key, value in request.query_params.items() if len(value) <= 4096}
    outcome = finish(store_of(request), _settings(request), params)
    return page(outcome.title, outcome.detail, status=outcome.status, succeeded=outcome.succeeded)
