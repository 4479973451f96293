"""Turning requests into runs: trigger, start and pause syncs, run an action and wait for it,
run on-event scripts. The API routes and the runtime's SDK backend (`trigger_action`) call
these; the passes (`runtime.scheduler.passes`) create the scheduled runs.

Limits of each kind of run (Nango's, reference §8.2; the run times from the settings):

| kind | created -> started | started -> completed (+ 10 s for the process itself) |
|---|---|---|
| sync | 1 h | `sync_timeout_s` (24 h) |
| action | 30 s | `action_timeout_s` (15 min) |
| on-event | 30 s | `on_event_timeout_s` (5 min) |
| webhook | 5 min | `webhook_timeout_s` (1 h) |
| async action (`X-Async`) | 24 h | `action_timeout_s`, retried up to `X-Max-Retries` times |
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.errors import UserError
from runtime.settings import RuntimeSettings
from runtime.store import Connection, Store
from runtime.store.syncs import BASE_VARIANT, spec_of
from runtime.store.tasks import NewTask, Task, Timeouts, sync_run

__all__ = [
    "ControlError",
    "SyncTarget",
    "before_connection_deleted",
    "enqueue_action",
    "enqueue_on_event",
    "ensure_schedules",
    "on_connection_created",
    "set_syncs_state",
    "timeouts_for",
    "trigger_syncs",
    "wait_for_task",
    "wait_for_task_blocking",
]

_CREATED_TO_STARTED_S = {"sync": 3600.0, "action": 30.0, "on-event": 30.0, "webhook": 300.0}
ASYNC_ACTION_CREATED_TO_STARTED_S = 24 * 3600.0
# The script's own time limit is the setting (its run reports "did not finish within N s");
# the task's limit adds this margin for the process to start and report, before it is failed.
RUN_MARGIN_S = 10.0


class ControlError(UserError):
    """A request that names something that does not exist: `status` and `code` are the API's
    answer (Nango's)."""

    def __init__(self, status: int, code: str, message: str, payload: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.payload = payload


@dataclass(frozen=True)
class SyncTarget:
    """A sync of a request (`{name, variant}` or a plain name)."""

    name: str
    variant: str = BASE_VARIANT


def timeouts_for(settings: RuntimeSettings, kind: str) -> Timeouts:
    run_s = {
        "sync": settings.sync_timeout_s,
        "action": settings.action_timeout_s,
        "on-event": settings.on_event_timeout_s,
        "webhook": settings.webhook_timeout_s,
    }[kind]
    created_ms = int(_CREATED_TO_STARTED_S[kind] * 1000)
    return Timeouts(created_ms, int((run_s + RUN_MARGIN_S) * 1000))


def enqueue_action(
    store: Store,
    settings: RuntimeSettings,
    connection: Connection,
    action_name: str,
    input: Any,
    *,
    has_input: bool = True,
    is_async: bool = False,
    max_retries: int = 0,
) -> Task:
    """A run of the active action `action_name` for `connection` (404 `not_found` when the
    environment has no such action). An async one (`X-Async`) may wait 24 h to start and is
    retried up to `max_retries` times when it fails."""
    script = store.scripts.active(
        connection.environment_id, connection.provider_config_key, "action", action_name
    )
    if script is None:
        raise ControlError(404, "not_found", "Action not found")
    payload = {
        "connection_id": connection.connection_id,
        "integration": connection.provider_config_key,
        "input": input,
        "has_input": has_input,
    }
    timeouts = timeouts_for(settings, "action")
    if is_async:
        payload["async"] = True
        created_ms = int(ASYNC_ACTION_CREATED_TO_STARTED_S * 1000)
        timeouts = Timeouts(created_ms, timeouts.started_to_completed_ms)
    new = NewTask(
        environment_id=connection.environment_id,
        kind="action",
        name=action_name,
        payload=payload,
        timeouts=timeouts,
        connection_id=connection.id,
        script_id=script.id,
        max_retries=max_retries if is_async else 0,
    )
    task = store.tasks.create(new)
    assert task is not None  # only sync runs can collide
    return task


async def wait_for_task(store: Store, task_id: str, *, timeout_s: float) -> Task:
    """The task once it ended, or as it is after `timeout_s` (polling its row). A task that
    is overdue (never started in time, or its lease expired) is ended by the expiring pass run
    from here, so a caller never waits on a worker that is gone or was never there."""
    deadline = time.monotonic() + timeout_s
    pause = 0.02
    while True:
        task = await asyncio.to_thread(store.tasks.get, task_id)
        if task is None:
            raise ControlError(500, "server_error", "The run disappeared")
        if not task.is_done and _is_overdue(task):
            await asyncio.to_thread(store.tasks.expire)
            continue
        if task.is_done or time.monotonic() >= deadline:
            return task
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, 0.5)


def _is_overdue(task: Task) -> bool:
    now = datetime.now(UTC)
    if task.state == "CREATED":
        return now > task.created_at + timedelta(milliseconds=task.created_to_started_ms)
    return task.lease_expires_at is not None and now > task.lease_expires_at


def wait_for_task_blocking(store: Store, task_id: str, *, timeout_s: float) -> Task:
    """`wait_for_task` for callers without an event loop."""
    return asyncio.run(wait_for_task(store, task_id, timeout_s=timeout_s))


def trigger_syncs(
    store: Store,
    settings: RuntimeSettings,
    connections: Sequence[Connection],
    targets: Sequence[SyncTarget],
    *,
    reset: bool = False,
    empty_cache: bool = False,
) -> list[Task]:
    """Run these syncs now for these connections. A sync already running runs again right
    after; one already waiting to start is left as it is. Returns the runs created."""
    created: list[Task] = []
    for connection in connections:
        for target in targets:
            task = _trigger_one(store, settings, connection, target, reset, empty_cache)
            if task is not None:
                created.append(task)
    return created


def _trigger_one(
    store: Store,
    settings: RuntimeSettings,
    connection: Connection,
    target: SyncTarget,
    reset: bool,
    empty_cache: bool,
) -> Task | None:
    script = store.scripts.active(
        connection.environment_id, connection.provider_config_key, "sync", target.name
    )
    if script is None:
        return None
    schedule, _ = store.syncs.ensure(
        connection.id, spec_of(script.name, script.config), variant=target.variant
    )
    new = sync_run(
        environment_id=connection.environment_id,
        connection_id=connection.id,
        connection_name=connection.connection_id,
        integration_key=connection.provider_config_key,
        sync_id=schedule.id,
        script_id=script.id,
        name=script.name,
        variant=target.variant,
        run_type="INITIAL" if schedule.last_sync_date is None or reset else "INCREMENTAL",
        timeouts=timeouts_for(settings, "sync"),
        trigger="api",
        reset=reset,
        empty_cache=empty_cache,
    )
    task = store.tasks.create(new)
    if task is None:
        active = store.tasks.active_for_sync(schedule.id)
        if active is not None and active.state == "STARTED" and schedule.state == "STARTED":
            store.syncs.request_run(schedule.id)
    return task


def set_syncs_state(
    store: Store, connections: Sequence[Connection], targets: Sequence[SyncTarget], state: str
) -> int:
    """Start or pause these syncs of these connections (schedules made when missing)."""
    ids: list[int] = []
    for connection in connections:
        for target in targets:
            script = store.scripts.active(
                connection.environment_id, connection.provider_config_key, "sync", target.name
            )
            if script is None:
                continue
            schedule, _ = store.syncs.ensure(
                connection.id, spec_of(script.name, script.config), variant=target.variant
            )
            ids.append(schedule.id)
    return store.syncs.set_state(ids, "STARTED" if state == "STARTED" else "PAUSED")


def enqueue_on_event(
    store: Store, connection: Connection, event: str, settings: RuntimeSettings | None = None
) -> list[Task]:
    """A run of each active on-event script of the connection's integration for `event`
    (`post-connection-creation`, `pre-connection-deletion`, `validate-connection`); the time
    limits from `settings` (the defaults when None)."""
    settings = settings or RuntimeSettings()
    scripts = store.scripts.list_active(
        connection.environment_id, integration_key=connection.provider_config_key, type="on-event"
    )
    created = []
    for script in scripts:
        if script.config.get("event") != event:
            continue
        new = NewTask(
            environment_id=connection.environment_id,
            kind="on-event",
            name=script.name,
            payload={
                "connection_id": connection.connection_id,
                "integration": connection.provider_config_key,
                "event": event,
            },
            timeouts=timeouts_for(settings, "on-event"),
            connection_id=connection.id,
            script_id=script.id,
        )
        task = store.tasks.create(new)
        if task is not None:
            created.append(task)
    return created


def ensure_schedules(store: Store, connection: Connection) -> None:
    """Schedules of the integration's deployed syncs for `connection` (started, and due at once,
    iff `auto_start`); existing ones are left as they are."""
    for script in store.scripts.list_active(
        connection.environment_id, integration_key=connection.provider_config_key, type="sync"
    ):
        store.syncs.ensure(connection.id, spec_of(script.name, script.config))


def on_connection_created(store: Store, settings: RuntimeSettings, connection: Connection) -> None:
    """A new connection: its schedules, and its post-connection-creation scripts."""
    ensure_schedules(store, connection)
    enqueue_on_event(store, connection, "post-connection-creation", settings)


def before_connection_deleted(
    store: Store, settings: RuntimeSettings, connection: Connection, *, wait_s: float = 10.0
) -> None:
    """Run the connection's pre-connection-deletion scripts, waiting at most `wait_s` for
    them (the deletion goes on whatever they do)."""
    deadline = time.monotonic() + wait_s
    for task in enqueue_on_event(store, connection, "pre-connection-deletion", settings):
        wait_for_task_blocking(store, task.id, timeout_s=max(0.0, deadline - time.monotonic()))
