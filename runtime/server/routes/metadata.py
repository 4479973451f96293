"""Connection metadata: `POST /connections/metadata` replaces it, `PATCH` merges the given
keys into it (top level), for one connection id or a list of them: all change or none.

This router must come before the connections router, whose `/connections/{id}` routes would
otherwise take `/connections/metadata`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from runtime.server.auth import CurrentEnvironment, CurrentStore, current_environment
from runtime.server.errors import ApiError
from runtime.server.validation import only_query
from runtime.server.wire import ERROR_RESPONSES, MetadataBody
from runtime.store import Store
from runtime.store.environments import Environment
from runtime.store.errors import NotFoundError

router = APIRouter(
    tags=["connections"],
    dependencies=[Depends(current_environment), Depends(only_query())],
    responses=ERROR_RESPONSES,
)


def _write(store: Store, environment: Environment, body: MetadataBody, *, merge: bool) -> None:
    ids = [body.connection_id] if isinstance(body.connection_id, str) else body.connection_id
    write = store.connections.update_metadata if merge else store.connections.set_metadata
    try:
        write(environment.id, body.provider_config_key, ids, body.metadata)
    except NotFoundError as exc:
        message = (
            f"Connection with connection id {exc.key} and provider config key "
            f"{body.provider_config_key} not found. Please make sure the connection exists in "
            "the Nango dashboard"
        )
        if len(ids) > 1:
            message += (
                ". No actions were taken on any of the connections as a result of this failure."
            )
        raise ApiError(404, "unknown_connection", message) from exc


def _echo(body: MetadataBody, status: int) -> JSONResponse:
    content: dict[str, Any] = body.model_dump()
    return JSONResponse(content, status)


@router.post("/connections/metadata", status_code=201, response_model=MetadataBody)
def set_metadata(
    environment: CurrentEnvironment, store: CurrentStore, body: MetadataBody
) -> JSONResponse:
    """Replace the metadata of the connection(s); answers the request body (201)."""
    _write(store, environment, body, merge=False)
    return _echo(body, 201)


@router.patch("/connections/metadata", response_model=MetadataBody)
def update_metadata(
    environment: CurrentEnvironment, store: CurrentStore, body: MetadataBody
) -> JSONResponse:
    """Merge `metadata` into the connection(s)' (top-level keys); answers the request body."""
    _write(store, environment, body, merge=True)
    return _echo(body, 200)
