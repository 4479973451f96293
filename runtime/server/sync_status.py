"""The answer of `GET /sync/status`, one entry per (connection, sync, variant) (reference §11):

`{id, connection_id, type: INITIAL|INCREMENTAL, finishedAt, nextScheduledSyncAt, name, variant,
status: RUNNING|SUCCESS|ERROR|PAUSED|STOPPED, frequency, latestResult, latestExecutionStatus,
recordCount, checkpoint}`. Dates as JavaScript's `toISOString()` writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from runtime.scheduler.control import SyncTarget
from runtime.store import Connection, Environment, Store, model_name
from runtime.store.scripts import Script
from runtime.store.syncs import SyncSchedule, spec_of
from runtime.store.tasks import Task

__all__ = ["SyncStatus", "js_iso", "sync_statuses"]

_EXECUTION = {
    "CREATED": "RUNNING",
    "STARTED": "RUNNING",
    "SUCCEEDED": "SUCCESS",
    "FAILED": "FAILED",
    "EXPIRED": "FAILED",
    "CANCELLED": "STOPPED",
}


class SyncStatus(BaseModel):
    id: str
    connection_id: str
    type: Literal["INITIAL", "INCREMENTAL"]
    finishedAt: str | None
    nextScheduledSyncAt: str | None
    name: str
    variant: str
    status: Literal["RUNNING", "SUCCESS", "ERROR", "PAUSED", "STOPPED"]
    frequency: str
    latestResult: dict[str, Any] | None
    latestExecutionStatus: str | None
    recordCount: dict[str, int]
    checkpoint: dict[str, Any] | None


def js_iso(value: datetime | None) -> str | None:
    """`2024-05-01T10:00:00.123Z` (JavaScript's `toISOString`)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def sync_statuses(
    store: Store,
    environment: Environment,
    key: str,
    connections: Sequence[Connection],
    targets: Sequence[SyncTarget] | None,
) -> list[dict[str, Any]]:
    """The status entries (deployed syncs only; a schedule is made when missing)."""
    deployed = {
        s.name: s
        for s in store.scripts.list_active(environment.id, integration_key=key, type="sync")
    }
    wanted = targets if targets is not None else [SyncTarget(name) for name in sorted(deployed)]
    found: list[dict[str, Any]] = []
    for connection in connections:
        for target in wanted:
            script = deployed.get(target.name)
            if script is None:
                continue
            schedule, _ = store.syncs.ensure(
                connection.id, spec_of(script.name, script.config), variant=target.variant
            )
            found.append(_status(store, connection, script, schedule).model_dump())
    return found


def _status(
    store: Store, connection: Connection, script: Script, schedule: SyncSchedule
) -> SyncStatus:
    last = store.tasks.get(schedule.last_task_id) if schedule.last_task_id else None
    models = [model_name(m, schedule.variant) for m in script.config.get("output") or []]
    counts = store.records.count_live(connection.id, models)
    key = f"sync:{script.name}" + ("" if schedule.variant == "base" else f":{schedule.variant}")
    checkpoint = store.checkpoints.get(connection.id, key).value
    return SyncStatus(
        id=str(schedule.id),
        connection_id=connection.connection_id,
        type="INCREMENTAL" if last is not None and last.run_type == "INCREMENTAL" else "INITIAL",
        finishedAt=js_iso(last.finished_at) if last is not None else None,
        nextScheduledSyncAt=(js_iso(schedule.next_run_at) if schedule.state == "STARTED" else None),
        name=script.name,
        variant=schedule.variant,
        status=_state(schedule, last),
        frequency=str(script.config.get("runs") or ""),
        latestResult=schedule.last_result,
        latestExecutionStatus=_EXECUTION.get(last.state) if last is not None else None,
        recordCount={name.split("::")[0]: count for name, count in counts.items()},
        checkpoint=dict(checkpoint) if checkpoint is not None else None,
    )


def _state(
    schedule: SyncSchedule, last: Task | None
) -> Literal["RUNNING", "SUCCESS", "ERROR", "PAUSED", "STOPPED"]:
    if last is not None and last.state in ("CREATED", "STARTED"):
        return "RUNNING"
    if schedule.state == "PAUSED":
        return "PAUSED"
    if last is not None and last.state in ("FAILED", "EXPIRED"):
        return "ERROR"
    if last is not None and last.state == "CANCELLED":
        return "STOPPED"
    return "SUCCESS"
