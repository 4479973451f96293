"""Connections: `GET /connections`, `GET` / `DELETE /connections/:id`, `POST /connections`.

Answers and errors are Nango's (reference §11). Credentials are read through
`runtime.credentials.fresh_connection`: refreshed when they expire (or on `force_refresh`), a
failed refresh answered as Nango does (400 `invalid_credentials`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, ValidationError

from runtime.credentials import RefreshFailedError, fresh_connection
from runtime.credentials.events import before_connection_deleted, on_connection_created
from runtime.credentials.shapes import mismatch_message, stored_credentials
from runtime.errors import UserError
from runtime.http.providers import get_provider
from runtime.server.auth import CurrentEnvironment, store_of
from runtime.server.connection_wire import (
    CONNECTION_ID_PATTERN,
    ApiConnectionFull,
    ConnectionList,
    ImportConnectionBody,
    ProviderConfigKey,
    StringBool,
    Tags,
    full_connection,
    listed_connection,
)
from runtime.server.errors import ApiError
from runtime.server.query_checks import (
    bracketed,
    check_known_keys,
    check_no_nul,
    invalid_query,
    validation_details,
)
from runtime.server.wire import ERROR_RESPONSES
from runtime.settings import RuntimeSettings
from runtime.store import ConnectionFilter, Store
from runtime.store.errors import NotFoundError

router = APIRouter(tags=["connections"], responses=ERROR_RESPONSES)

ConnectionIdPath = Annotated[
    str, Path(alias="connection_id", pattern=CONNECTION_ID_PATTERN, max_length=255)
]
_LIST_KEYS = (
    "connectionId",
    "search",
    "endUserId",
    "endUserOrganizationId",
    "integrationId",
    "limit",
    "page",
)
_DEFAULT_LIMIT = 10_000
_MAX_PAGE = 1_000_000  # page x limit stays a 64-bit offset


class _ListTags(BaseModel):
    tags: Tags


class ConnectionQuery(BaseModel):
    """The query of `GET /connections/:id` (`token_name` and the GitHub App flag are accepted
    and have no effect here)."""

    model_config = ConfigDict(extra="forbid")

    provider_config_key: ProviderConfigKey
    refresh_token: StringBool = False
    force_refresh: StringBool = False
    refresh_github_app_jwt_token: StringBool = False
    token_name: str | None = None


class DeleteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider_config_key: ProviderConfigKey


class Success(BaseModel):
    success: bool = True


def _settings(request: Request) -> RuntimeSettings:
    settings: RuntimeSettings = request.app.state.settings
    return settings


def _list_tags(request: Request) -> dict[str, str] | None:
    given = bracketed(request.query_params, "tags")
    if given is None:
        return None
    try:
        return _ListTags(tags=given).tags
    except ValidationError as exc:
        raise invalid_query(validation_details(exc)) from None


_TAGS_PARAMETER = {
    "name": "tags",
    "in": "query",
    "style": "deepObject",
    "explode": True,
    "description": "tags[key]=value: connections holding every given tag (keys any case)",
    "schema": {"type": "object", "additionalProperties": {"type": "string"}},
}


@router.get(
    "/connections",
    response_model=ConnectionList,
    openapi_extra={"parameters": [_TAGS_PARAMETER]},
)
def list_connections(
    request: Request,
    environment: CurrentEnvironment,
    connection_id: Annotated[
        str | None, Query(alias="connectionId", min_length=1, max_length=255)
    ] = None,
    search: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    end_user_id: Annotated[
        str | None, Query(alias="endUserId", min_length=1, max_length=255)
    ] = None,
    end_user_organization_id: Annotated[
        str | None, Query(alias="endUserOrganizationId", min_length=1, max_length=255)
    ] = None,
    integration_id: Annotated[str | None, Query(alias="integrationId", min_length=1)] = None,
    limit: Annotated[int | None, Query(ge=1, le=2000)] = None,
    page: Annotated[int | None, Query(ge=0, le=_MAX_PAGE)] = None,
) -> ConnectionList:
    """The environment's connections, newest first, without credentials. Filters: `connectionId`,
    `search` (in the connection id), `integrationId` (comma-separated), `endUserId`,
    `endUserOrganizationId`, `tags[key]=value`; `limit` (1 to 2000) and `page` (from 0)."""
    check_known_keys(request.query_params, _LIST_KEYS, bracketed_names=("tags",))
    check_no_nul(request.query_params)
    where = ConnectionFilter(
        integration_keys=None
        if integration_id is None
        else [key.strip() for key in integration_id.split(",")],
        connection_id=connection_id,
        search=search,
        end_user_id=end_user_id,
        end_user_organization_id=end_user_organization_id,
        tags=_list_tags(request),
    )
    size = limit or _DEFAULT_LIMIT
    offset = (page or 0) * size if limit else 0
    store = store_of(request)
    found = store.connections.list_all(
        environment.id, where, limit=size, offset=offset, newest_first=True
    )
    return ConnectionList(connections=[listed_connection(c) for c in found])


def _require_integration(store: Store, environment_id: int, key: str) -> None:
    if store.integrations.get(environment_id, key) is None:
        raise ApiError(400, "unknown_provider_config", "Provider does not exists")


@router.get("/connections/{connection_id:path}", response_model=ApiConnectionFull)
def get_connection(
    request: Request,
    environment: CurrentEnvironment,
    connection_id: ConnectionIdPath,
    query: Annotated[ConnectionQuery, Query()],
) -> ApiConnectionFull:
    """A connection with its credentials, refreshed when they expire (or with
    `force_refresh=true`); the OAuth2 refresh token only with `refresh_token=true`."""
    store = store_of(request)
    key = query.provider_config_key
    _require_integration(store, environment.id, key)
    settings = _settings(request)
    try:
        connection = fresh_connection(
            store, settings, environment, key, connection_id, force=query.force_refresh
        )
    except NotFoundError:
        raise ApiError(404, "not_found", "Failed to find connection") from None
    except RefreshFailedError as exc:
        current = store.connections.get(environment.id, key, connection_id)
        shown = None if current is None else full_connection(current, with_credentials=False)
        payload: dict[str, Any] = dict(exc.details)
        if shown is not None:
            payload["connection"] = shown.model_dump(mode="json")
        raise ApiError(400, "invalid_credentials", exc.message, payload=payload) from None
    fetched_at = datetime.now(UTC)
    store.connections.mark_fetched(connection.id, at=fetched_at)
    return full_connection(
        connection, include_refresh_token=query.refresh_token, last_fetched_at=fetched_at
    )


@router.delete("/connections/{connection_id:path}", response_model=Success)
def delete_connection(
    request: Request,
    environment: CurrentEnvironment,
    connection_id: ConnectionIdPath,
    query: Annotated[DeleteQuery, Query()],
) -> Success:
    """Delete a connection with its records; an unknown one is 400 `unknown_connection`."""
    store = store_of(request)
    key = query.provider_config_key
    connection = store.connections.get(environment.id, key, connection_id, with_credentials=False)
    if connection is None:
        raise ApiError(400, "unknown_connection")
    before_connection_deleted(store, connection, settings=request.app.state.settings)
    if not store.connections.delete(environment.id, key, connection_id):
        raise ApiError(400, "unknown_connection")
    return Success()


@router.post("/connections", response_model=ApiConnectionFull, status_code=201)
def import_connection(
    request: Request, environment: CurrentEnvironment, body: ImportConnectionBody
) -> ApiConnectionFull:
    """Create a connection (or replace one's credentials) from credentials obtained elsewhere,
    of the integration's auth mode: OAUTH2, OAUTH2_CC, API_KEY, BASIC, NONE, APP, JWT,
    TWO_STEP. Answers 201 with the connection and its credentials."""
    check_known_keys(request.query_params, ())
    store = store_of(request)
    key = body.provider_config_key
    integration = store.integrations.get(environment.id, key)
    if integration is None:
        raise ApiError(404, "not_found", "Integration does not exist")
    try:
        provider = get_provider(integration.provider)
    except UserError as exc:
        raise ApiError(400, "invalid_body", exc.message) from None
    refusal = mismatch_message(provider.auth_mode, body.credentials.type)
    if refusal is not None:
        raise ApiError(400, "invalid_body", refusal)
    credentials, expires_at = stored_credentials(body.credentials)
    connection, created = store.connections.upsert(
        environment.id,
        key,
        body.connection_id or str(uuid.uuid4()),
        credentials=credentials,
        credentials_expires_at=expires_at,
        connection_config=body.connection_config,
        metadata=body.metadata,
        tags=body.tags,
        end_user=None if body.end_user is None else body.end_user.model_dump(exclude_none=True),
    )
    settings = request.app.state.settings
    on_connection_created(store, connection, created=created, settings=settings)
    return full_connection(connection)
