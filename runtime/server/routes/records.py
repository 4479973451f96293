"""`GET /records` (and `/records/`, which Nango's Node client calls): one page of a
connection's records of a model, as Nango's `getRecords` answers it.

The page's JSON is built by the store without parsing a record (`list_page_json`) and sent as
is: this is the hot path of every backend reading synced data.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import StringConstraints

from runtime.server.auth import CurrentEnvironment, CurrentStore, current_environment
from runtime.server.errors import ApiError
from runtime.server.validation import invalid, only_query
from runtime.server.wire import (
    CONNECTION_ID_PATTERN,
    ERROR_RESPONSES,
    MODEL_PATTERN,
    PROVIDER_CONFIG_KEY_PATTERN,
    VARIANT_PATTERN,
    RecordsPage,
)

router = APIRouter(
    tags=["records"],
    dependencies=[Depends(current_environment)],
    responses=ERROR_RESPONSES,
)

_QUERY = ("model", "variant", "delta", "modified_after", "limit", "filter", "cursor", "ids")
_FILTERS = {"added", "updated", "deleted", "ADDED", "UPDATED", "DELETED"}
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_LOOKBACK = timedelta(days=365)

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def _modified_after(name: str, value: str | None) -> datetime | None:
    """An ISO 8601 date-time within the last 12 months (Nango's lookback)."""
    if value is None:
        return None
    moment: datetime | None = None
    if _ISO_DATETIME.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        raise invalid("invalid_query_params", name, "Invalid datetime", kind="invalid_string")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment < datetime.now(UTC) - _LOOKBACK:
        raise invalid("invalid_query_params", name, "must be within the last 12 months")
    return moment


def _filter(value: str | None) -> str | None:
    if value is None:
        return None
    for part in value.split(","):
        if part not in _FILTERS:
            raise invalid(
                "invalid_query_params",
                "filter",
                "Invalid enum value. Expected 'added' | 'updated' | 'deleted' (or upper case)",
                kind="invalid_enum_value",
            )
    return value


@router.get(
    "/records",
    response_model=RecordsPage,
    response_class=Response,
    responses={200: {"model": RecordsPage, "content": {"application/json": {}}}},
    dependencies=[Depends(only_query(*_QUERY))],
)
@router.get("/records/", include_in_schema=False, dependencies=[Depends(only_query(*_QUERY))])
def list_records(
    environment: CurrentEnvironment,
    store: CurrentStore,
    model: Annotated[str, Query(pattern=MODEL_PATTERN, max_length=255)],
    connection_id: Annotated[
        str, Header(alias="Connection-Id", pattern=CONNECTION_ID_PATTERN, max_length=255)
    ],
    provider_config_key: Annotated[
        str,
        Header(alias="Provider-Config-Key", pattern=PROVIDER_CONFIG_KEY_PATTERN, max_length=255),
    ],
    variant: Annotated[str | None, Query(pattern=VARIANT_PATTERN, max_length=255)] = None,
    delta: Annotated[str | None, Query(description="Alias of modified_after")] = None,
    modified_after: Annotated[
        str | None, Query(description="ISO 8601 date-time, within the last 12 months")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    filter: Annotated[
        str | None, Query(description="Comma list of added, updated, deleted")
    ] = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1000)] = None,
    ids: Annotated[list[ExternalId] | None, Query(max_length=100)] = None,
) -> Response:
    """One page of records, ordered by (last modified, internal id); `next_cursor` is set when
    more records follow."""
    since = _modified_after("delta", delta) or _modified_after("modified_after", modified_after)
    actions = _filter(filter)
    body = store.records.list_page_json_of(
        environment.id,
        provider_config_key,
        connection_id,
        model,
        variant=variant,
        modified_after=since,
        limit=limit,
        filter=actions,
        cursor=cursor,
        ids=ids,
    )
    if body is None:
        raise ApiError(
            400,
            "unknown_connection",
            "Provided ConnectionId and ProviderConfigKey does not match a valid connection",
        )
    return Response(body, media_type="application/json")
