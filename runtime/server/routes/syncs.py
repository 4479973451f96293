"""Syncs: `POST /sync/trigger`, `/sync/start`, `/sync/pause` and `GET /sync/status`, with
Nango's requests, answers and errors (reference §11)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from runtime.scheduler.control import SyncTarget, set_syncs_state, trigger_syncs
from runtime.server.auth import CurrentEnvironment, get_store
from runtime.server.errors import ApiError
from runtime.server.routes.actions import SettingsDep
from runtime.server.sync_status import SyncStatus, sync_statuses
from runtime.server.wire import ERROR_RESPONSES
from runtime.store import Connection, ConnectionFilter, Environment, Store

router = APIRouter(tags=["syncs"], responses=ERROR_RESPONSES)
StoreDep = Annotated[Store, Depends(get_store)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SyncName(_Strict):
    name: str = Field(min_length=1, max_length=255)
    variant: str = Field("base", min_length=1, max_length=255)


SyncRef = Annotated[str, Field(min_length=1, max_length=255)] | SyncName


class TriggerOptions(_Strict):
    reset: bool = False
    emptyCache: bool = False


class SyncsBody(_Strict):
    syncs: list[SyncRef] = Field(default_factory=list, max_length=100)
    provider_config_key: str = Field(min_length=1, max_length=255)
    connection_id: str | None = Field(default=None, min_length=1, max_length=255)


class TriggerBody(SyncsBody):
    opts: TriggerOptions | None = None
    sync_mode: (
        Literal["full_refresh", "incremental", "full_refresh_and_clear_cache"] | bool | None
    ) = None
    full_resync: bool | None = None


class Success(BaseModel):
    success: bool = True


class StatusAnswer(BaseModel):
    syncs: list[SyncStatus]


def _targets(syncs: list[SyncRef]) -> list[SyncTarget]:
    found: list[SyncTarget] = []
    for ref in syncs:
        if isinstance(ref, SyncName):
            found.append(SyncTarget(ref.name, ref.variant))
        else:
            name, _, variant = ref.partition("::")
            found.append(SyncTarget(name, variant or "base"))
    return found


def _connections(
    store: Store, environment: Environment, key: str, connection_id: str | None
) -> list[Connection]:
    """The connections a request names (all of the integration when none is named)."""
    if store.integrations.get(environment.id, key) is None:
        raise ApiError(400, "unknown_provider_config", f'Integration "{key}" does not exist')
    if connection_id is None:
        return store.connections.list_all(environment.id, ConnectionFilter(integration_keys=[key]))
    found = store.connections.get(environment.id, key, connection_id, with_credentials=False)
    if found is None:
        payload = {"connectionId": connection_id, "providerConfigKey": key}
        raise ApiError(404, "unknown_connection", "Connection not found", payload=payload)
    return [found]


def _known_targets(
    store: Store, environment: Environment, key: str, targets: list[SyncTarget]
) -> list[SyncTarget]:
    """The named syncs that are deployed (every deployed sync when none is named)."""
    deployed = {
        s.name for s in store.scripts.list_active(environment.id, integration_key=key, type="sync")
    }
    known = (
        [t for t in targets if t.name in deployed]
        if targets
        else [SyncTarget(n) for n in sorted(deployed)]
    )
    if not known:
        raise ApiError(400, "no_syncs_found", "No syncs found given the inputs.")
    return known


@router.post("/sync/trigger", response_model=Success)
def trigger(
    body: TriggerBody, environment: CurrentEnvironment, store: StoreDep, settings: SettingsDep
) -> Success:
    """Run syncs now. `opts.reset` forgets the checkpoint and `last_sync_date` (a full run),
    `opts.emptyCache` deletes the sync's records first; the legacy `sync_mode: full_refresh`
    (or `full_resync: true`) does both."""
    connections = _connections(store, environment, body.provider_config_key, body.connection_id)
    targets = _known_targets(store, environment, body.provider_config_key, _targets(body.syncs))
    opts = body.opts or TriggerOptions()
    full = (
        body.sync_mode in ("full_refresh", "full_refresh_and_clear_cache", True)
        or body.full_resync is True
    )
    trigger_syncs(
        store,
        settings,
        connections,
        targets,
        reset=opts.reset or full,
        empty_cache=opts.emptyCache or full,
    )
    return Success()


@router.post("/sync/start", response_model=Success)
def start(body: SyncsBody, environment: CurrentEnvironment, store: StoreDep) -> Success:
    """Start syncs on their schedule (one that never ran runs at once)."""
    return _set_state(body, environment, store, "STARTED")


@router.post("/sync/pause", response_model=Success)
def pause(body: SyncsBody, environment: CurrentEnvironment, store: StoreDep) -> Success:
    """Pause syncs (a run in progress finishes)."""
    return _set_state(body, environment, store, "PAUSED")


def _set_state(body: SyncsBody, environment: Environment, store: Store, state: str) -> Success:
    connections = _connections(store, environment, body.provider_config_key, body.connection_id)
    targets = _known_targets(store, environment, body.provider_config_key, _targets(body.syncs))
    set_syncs_state(store, connections, targets, state)
    return Success()


@router.get("/sync/status", response_model=StatusAnswer, response_model_exclude_none=False)
def status(
    environment: CurrentEnvironment,
    store: StoreDep,
    syncs: Annotated[str, Query(min_length=1, max_length=10_000)],
    provider_config_key: Annotated[str, Query(min_length=1, max_length=255)],
    connection_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
) -> dict[str, Any]:
    """The status of syncs (`syncs=a,b::variant`, or `*` for all) of one connection or of
    every connection of the integration; unknown syncs are left out."""
    key = provider_config_key
    if store.integrations.get(environment.id, key) is None:
        raise ApiError(400, "unknown_provider_config", f'Integration "{key}" does not exist')
    if connection_id is not None:
        found = store.connections.get(environment.id, key, connection_id, with_credentials=False)
        if found is None:
            raise ApiError(400, "invalid_body", "Connection not found")
        connections = [found]
    else:
        connections = _connections(store, environment, key, None)
    names = (
        None
        if syncs.strip() == "*"
        else _targets([s.strip() for s in syncs.split(",") if s.strip()])
    )
    return {"syncs": sync_statuses(store, environment, key, connections, names)}
