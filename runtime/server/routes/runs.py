"""Runs and their logs, for `nango runs` and `nango logs` (ours, not Nango's):

- `GET /runtime/runs?integration=&connection_id=&script=&kind=&limit=` -> `{"runs": [Run]}`,
  newest first;
- `GET /runtime/runs/{id}` -> `Run`;
- `GET /runtime/runs/{id}/logs?after=&limit=` -> `{"logs": [...], "next_after": n, "done": b}`:
  the lines after number `after` (follow a run by passing `next_after` back until `done`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from runtime.server.auth import CurrentEnvironment, get_store
from runtime.server.errors import ApiError
from runtime.server.sync_status import js_iso
from runtime.server.wire import ERROR_RESPONSES
from runtime.store import ConnectionFilter, Environment, Store
from runtime.store.tasks import Task

router = APIRouter(prefix="/runtime", tags=["runs"], responses=ERROR_RESPONSES)
StoreDep = Annotated[Store, Depends(get_store)]
Kind = Literal["sync", "action", "on-event", "webhook"]


class Run(BaseModel):
    id: str
    kind: str
    script: str
    integration: str | None
    connection_id: str | None
    variant: str | None
    status: str
    run_type: str | None
    trigger: str | None
    attempt: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_ms: int | None
    counts: dict[str, dict[str, int]]
    error: dict[str, Any] | None
    output: Any = None


class Runs(BaseModel):
    runs: list[Run]


class LogLineView(BaseModel):
    seq: int
    level: str
    message: str
    created_at: str | None


class Logs(BaseModel):
    logs: list[LogLineView]
    next_after: int
    done: bool


def run_view(task: Task) -> Run:
    duration = task.duration_s
    return Run(
        id=task.id,
        kind=task.kind,
        script=task.name,
        integration=task.payload.get("integration"),
        connection_id=task.payload.get("connection_id"),
        variant=task.payload.get("variant"),
        status=task.state,
        run_type=task.run_type,
        trigger=task.payload.get("trigger"),
        attempt=task.attempt,
        created_at=_iso(task.created_at),
        started_at=_iso(task.started_at),
        finished_at=_iso(task.finished_at),
        duration_ms=None if duration is None else round(duration * 1000),
        counts=task.counts or {},
        error=task.error,
        output=task.output if task.kind == "action" else None,
    )


def _iso(value: datetime | None) -> str | None:
    return js_iso(value)


def _connection_ids(
    store: Store, environment: Environment, integration: str | None, connection_id: str | None
) -> list[int] | None:
    if connection_id is None and integration is None:
        return None
    where = ConnectionFilter(
        integration_keys=[integration] if integration else None, connection_id=connection_id
    )
    return [c.id for c in store.connections.list_all(environment.id, where)]


@router.get("/runs", response_model=Runs)
def list_runs(
    environment: CurrentEnvironment,
    store: StoreDep,
    integration: Annotated[str | None, Query(max_length=255)] = None,
    connection_id: Annotated[str | None, Query(max_length=255)] = None,
    script: Annotated[str | None, Query(max_length=255)] = None,
    kind: Kind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Runs:
    """The environment's runs, newest first."""
    ids = _connection_ids(store, environment, integration, connection_id)
    if ids == []:
        return Runs(runs=[])
    tasks = store.tasks.list_runs(
        environment.id,
        connection_ids=ids,
        name=script,
        kinds=[kind] if kind else None,
        limit=limit,
    )
    return Runs(runs=[run_view(task) for task in tasks])


def _task(store: Store, environment: Environment, run_id: str) -> Task:
    task = store.tasks.get(run_id)
    if task is None or task.environment_id != environment.id:
        raise ApiError(404, "not_found", f"No run {run_id}")
    return task


@router.get("/runs/{run_id}", response_model=Run)
def get_run(run_id: str, environment: CurrentEnvironment, store: StoreDep) -> Run:
    """One run."""
    return run_view(_task(store, environment, run_id))


@router.get("/runs/{run_id}/logs", response_model=Logs)
def get_logs(
    run_id: str,
    environment: CurrentEnvironment,
    store: StoreDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Logs:
    """The run's log lines after number `after`; `done` once the run ended and every line
    was returned."""
    task = _task(store, environment, run_id)
    lines = store.logs.list(run_id, after=after, limit=limit)
    next_after = lines[-1].seq if lines else after
    return Logs(
        logs=[
            LogLineView(
                seq=line.seq,
                level=line.level,
                message=line.message,
                created_at=_iso(line.created_at),
            )
            for line in lines
        ],
        next_after=next_after,
        done=task.is_done and len(lines) < limit,
    )
