"""Tasks: the work handed out through the database (a sync run, an action, an on-event script, a
webhook handler), with leases and fencing.

States: CREATED -> STARTED (claimed) -> SUCCEEDED | FAILED; CREATED -> EXPIRED (never claimed in
time); CREATED/STARTED -> CANCELLED (its sync removed). At most one CREATED or STARTED task per
sync schedule (a partial unique index): never two runs of one (connection, sync, variant).

- `claim` moves CREATED tasks to STARTED in one statement (PostgreSQL: `FOR UPDATE SKIP LOCKED`;
  SQLite: the single writer), each with a fresh random lease token and `lease_expires_at`.
- `heartbeat` renews a lease only while the token still holds it; False means it is lost.
- Every write of a run goes through `Store.fenced(task_id, token)`: a transaction that first
  checks the token (`check_lease`; PostgreSQL: `FOR SHARE`, so the expiring pass cannot fail
  the task between the check and the commit) and raises `LeaseLostError` otherwise.
- `expire` (the expiring pass, any worker): STARTED past its lease or its time limit -> FAILED,
  CREATED past its start limit -> EXPIRED. Expiry is decided here, never by a writer's clock.
- `create_due_sync_tasks` (the due pass): a task for every started schedule whose `next_run_at`
  has come and that has no active task; its `next_run_at` moves to the next grid point.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from runtime.store.base import Part
from runtime.store.claims import claim_rows
from runtime.store.errors import LeaseLostError
from runtime.store.schema import connections, counters, integrations, scripts, syncs, tasks
from runtime.store.syncs import grid_after
from runtime.store.timestamps import from_us, now_us, optional_from_us

TaskKind = Literal["sync", "action", "on-event", "webhook"]
TaskState = Literal["CREATED", "STARTED", "SUCCEEDED", "FAILED", "EXPIRED", "CANCELLED"]
ACTIVE_STATES = ("CREATED", "STARTED")
DONE_STATES = ("SUCCEEDED", "FAILED", "EXPIRED", "CANCELLED")
_GENERATION = "generation"
_c = tasks.c


@dataclass(frozen=True)
class Task:
    id: str
    environment_id: int
    kind: TaskKind
    group_key: str
    connection_id: int | None
    sync_id: int | None
    script_id: int | None
    name: str
    payload: dict[str, Any]
    state: TaskState
    run_type: str | None
    attempt: int
    max_retries: int
    created_to_started_ms: int
    started_to_completed_ms: int
    created_at: datetime
    starts_after: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lease_token: str | None = field(repr=False)
    lease_expires_at: datetime | None
    heartbeat_at: datetime | None
    owner: str | None
    output: Any
    error: dict[str, Any] | None
    counts: dict[str, Any] | None
    generation: int | None

    @property
    def is_done(self) -> bool:
        return self.state in DONE_STATES

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def _task(row: Row[Any]) -> Task:
    return Task(
        id=row.id,
        environment_id=row.environment_id,
        kind=row.kind,
        group_key=row.group_key,
        connection_id=row.connection_id,
        sync_id=row.sync_id,
        script_id=row.script_id,
        name=row.name,
        payload=dict(row.payload),
        state=row.state,
        run_type=row.run_type,
        attempt=row.attempt,
        max_retries=row.max_retries,
        created_to_started_ms=row.created_to_started_ms,
        started_to_completed_ms=row.started_to_completed_ms,
        created_at=from_us(row.created_at),
        starts_after=from_us(row.starts_after),
        started_at=optional_from_us(row.started_at),
        finished_at=optional_from_us(row.finished_at),
        lease_token=row.lease_token,
        lease_expires_at=optional_from_us(row.lease_expires_at),
        heartbeat_at=optional_from_us(row.heartbeat_at),
        owner=row.owner,
        output=row.output,
        error=row.error,
        counts=row.counts,
        generation=row.generation,
    )


@dataclass(frozen=True)
class Timeouts:
    """Limits of a task: from creation to its start, and from its start to its end."""

    created_to_started_ms: int
    started_to_completed_ms: int


@dataclass(frozen=True)
class NewTask:
    environment_id: int
    kind: TaskKind
    name: str
    payload: Mapping[str, Any]
    timeouts: Timeouts
    connection_id: int | None = None
    sync_id: int | None = None
    script_id: int | None = None
    run_type: str | None = None
    max_retries: int = 0
    starts_after: int | None = None


def group_key(kind: str, environment_id: int) -> str:
    """Tasks of one kind in one environment share a group (per-environment caps)."""
    return f"{kind}:env:{environment_id}"


def new_task_id() -> str:
    return str(uuid.uuid4())


def _insert_ignoring_conflicts(is_postgresql: bool) -> Any:
    dialect = postgresql if is_postgresql else sqlite
    return dialect.insert(tasks).on_conflict_do_nothing().returning(tasks.c.id)


class Tasks(Part):
    """Tasks, their leases and the scheduler's passes over them."""

    def create(self, new: NewTask, *, now: int | None = None) -> Task | None:
        """Add a task; None when it is a sync run and that sync already has an active one."""
        at = now_us() if now is None else now
        with self._db.write() as connection:
            task = self._insert(connection, new, at)
            if task is not None and new.sync_id is not None:
                connection.execute(
                    update(syncs).where(syncs.c.id == new.sync_id).values(last_task_id=task.id)
                )
        return task

    def get(self, task_id: str) -> Task | None:
        with self._db.read() as connection:
            row = connection.execute(select(tasks).where(_c.id == task_id)).first()
        return None if row is None else _task(row)

    def active_for_sync(self, sync_id: int) -> Task | None:
        query = select(tasks).where(_c.sync_id == sync_id, _c.state.in_(ACTIVE_STATES))
        with self._db.read() as connection:
            row = connection.execute(query).first()
        return None if row is None else _task(row)

    # --- leases ------------------------------------------------------------------------------

    def claim(
        self,
        owner: str,
        *,
        limit: int,
        lease_seconds: float,
        kinds: Sequence[str] | None = None,
        caps: Mapping[str, int] | None = None,
        now: int | None = None,
    ) -> list[Task]:
        """Start up to `limit` due CREATED tasks (of these `kinds`) for `owner`, each under a
        new lease: dealt fairly over environments, at most `caps[kind]` running per environment
        (0 or absent: no cap), oldest first within one (`runtime.store.claims`). Two workers
        never claim the same task."""
        if limit <= 0:
            return []
        at = now_us() if now is None else now
        rows = claim_rows(
            self._db,
            owner=owner,
            limit=limit,
            lease_us=int(lease_seconds * 1_000_000),
            kinds=kinds,
            caps=caps,
            at=at,
        )
        return sorted((_task(row) for row in rows), key=lambda t: (t.starts_after, t.created_at))

    def heartbeat(
        self, task_id: str, lease_token: str, *, lease_seconds: float, now: int | None = None
    ) -> bool:
        """Renew the lease; False when the token no longer holds it (the run must stop)."""
        at = now_us() if now is None else now
        statement = (
            update(tasks)
            .where(_c.id == task_id, _c.lease_token == lease_token, _c.state == "STARTED")
            .values(heartbeat_at=at, lease_expires_at=at + int(lease_seconds * 1_000_000))
        )
        with self._db.write() as connection:
            return connection.execute(statement).rowcount > 0

    def check_lease(self, task_id: str, lease_token: str) -> None:
        """`LeaseLostError` unless the token holds the task's lease (see `Store.fenced`)."""
        query = select(_c.id).where(
            _c.id == task_id, _c.lease_token == lease_token, _c.state == "STARTED"
        )
        if self._db.is_postgresql:
            query = query.with_for_update(read=True)
        with self._db.write() as connection:
            if connection.execute(query).first() is None:
                raise LeaseLostError(f"The run {task_id} no longer holds its lease")

    def assign_generation(self, task_id: str, lease_token: str) -> int:
        """The run's generation (a number larger than any before it), assigned once."""
        with self._db.write() as connection:
            task = connection.execute(
                select(_c.generation, _c.lease_token, _c.state).where(_c.id == task_id)
            ).first()
            if task is None or task.lease_token != lease_token or task.state != "STARTED":
                raise LeaseLostError(f"The run {task_id} no longer holds its lease")
            if task.generation is not None:
                return int(task.generation)
            generation = self._next_counter(connection, _GENERATION)
            connection.execute(update(tasks).where(_c.id == task_id).values(generation=generation))
        return generation

    def _next_counter(self, connection: Any, name: str) -> int:
        dialect = postgresql if self._db.is_postgresql else sqlite
        upsert = dialect.insert(counters).values(name=name, value=1)
        upsert = upsert.on_conflict_do_update(
            index_elements=["name"], set_={"value": counters.c.value + 1}
        ).returning(counters.c.value)
        return int(connection.execute(upsert).scalar_one())

    def update_counts(self, task_id: str, counts: Mapping[str, Any]) -> None:
        """The run's counts so far (call inside `Store.fenced`)."""
        with self._db.write() as connection:
            connection.execute(update(tasks).where(_c.id == task_id).values(counts=dict(counts)))

    def set_run_type(self, task_id: str, run_type: str) -> None:
        with self._db.write() as connection:
            connection.execute(update(tasks).where(_c.id == task_id).values(run_type=run_type))

    def finish(
        self,
        task_id: str,
        lease_token: str,
        state: TaskState,
        *,
        output: Any = None,
        error: Mapping[str, Any] | None = None,
        counts: Mapping[str, Any] | None = None,
        now: int | None = None,
    ) -> None:
        """End a run (`LeaseLostError` when the token no longer holds it: nothing changes)."""
        values: dict[str, Any] = {"state": state, "finished_at": now_us() if now is None else now}
        values["output"] = output
        values["error"] = None if error is None else dict(error)
        if counts is not None:
            values["counts"] = dict(counts)
        statement = (
            update(tasks)
            .where(_c.id == task_id, _c.lease_token == lease_token, _c.state == "STARTED")
            .values(**values)
        )
        with self._db.write() as connection:
            if connection.execute(statement).rowcount == 0:
                raise LeaseLostError(f"The run {task_id} no longer holds its lease")

    def fail(self, task_id: str, lease_token: str, error: Mapping[str, Any]) -> bool:
        """Fail a run whose process ended without an outcome; False if it had one already."""
        try:
            self.finish(task_id, lease_token, "FAILED", error=error)
        except LeaseLostError:
            return False
        return True

    def release(self, task_id: str, lease_token: str, *, now: int | None = None) -> bool:
        """Hand a run back to the queue (a stopping worker's): CREATED again, without a lease,
        so any worker claims it at once (a sync resumes from its checkpoint). False when the
        token no longer held it."""
        at = now_us() if now is None else now
        statement = (
            update(tasks)
            .where(_c.id == task_id, _c.lease_token == lease_token, _c.state == "STARTED")
            .values(
                state="CREATED",
                lease_token=None,
                lease_expires_at=None,
                heartbeat_at=None,
                started_at=None,
                owner=None,
                starts_after=at,
            )
        )
        with self._db.write() as connection:
            return connection.execute(statement).rowcount > 0

    def cancel_for_syncs(self, sync_ids: Sequence[int], *, reason: str) -> int:
        """Cancel the active runs of these syncs (removed): their next fenced write fails."""
        if not sync_ids:
            return 0
        statement = (
            update(tasks)
            .where(_c.sync_id.in_(list(sync_ids)), _c.state.in_(ACTIVE_STATES))
            .values(
                state="CANCELLED",
                finished_at=now_us(),
                error={"type": "cancelled", "message": reason},
            )
        )
        with self._db.write() as connection:
            return connection.execute(statement).rowcount

    # --- the scheduler's passes --------------------------------------------------------------

    def expire(self, *, now: int | None = None) -> list[Task]:
        """The expiring pass: STARTED tasks past their lease or time limit fail, CREATED tasks
        never started in time expire. Returns the tasks it ended."""
        at = now_us() if now is None else now
        started_limit = _c.started_at + _c.started_to_completed_ms * 1000
        passes: list[tuple[Any, TaskState, dict[str, str]]] = [
            (
                (_c.state == "STARTED") & (_c.lease_expires_at < at),
                "FAILED",
                {
                    "type": "lease_expired",
                    "message": "lease expired: the worker running it stopped (crash, kill, "
                    "lost database connection) and it was not renewed in time",
                },
            ),
            (
                (_c.state == "STARTED") & (started_limit < at),
                "FAILED",
                {
                    "type": "timeout",
                    "message": "the run did not finish within its time limit (the script's "
                    "limit plus a margin for its process to start and report) and was failed",
                },
            ),
            (
                (_c.state == "CREATED") & (_c.created_at + _c.created_to_started_ms * 1000 < at),
                "EXPIRED",
                {"type": "expired", "message": "no worker started the run in time"},
            ),
        ]
        ended: list[Task] = []
        with self._db.write() as connection:
            for condition, state, error in passes:
                if self._db.is_postgresql:
                    # Rows a fenced write holds (FOR SHARE) or another worker's pass is ending
                    # are skipped, not waited for: the next pass sees them again. Two passes
                    # at once can then never deadlock on each other's rows.
                    held = select(_c.id).where(condition).with_for_update(skip_locked=True)
                    condition = _c.id.in_(held.scalar_subquery()) & condition
                statement = (
                    update(tasks)
                    .where(condition)
                    .values(state=state, finished_at=at, error=error)
                    .returning(*tasks.c)
                )
                ended.extend(_task(row) for row in connection.execute(statement))
        return ended

    def create_due_sync_tasks(
        self, timeouts: Timeouts, *, limit: int = 500, now: int | None = None
    ) -> list[Task]:
        """The due pass (one transaction): a run for each started schedule that is due and has
        no active run; each schedule's `next_run_at` moves to its next grid point."""
        at = now_us() if now is None else now
        created: list[Task] = []
        with self._db.write() as connection:
            for row in connection.execute(self._due_query(at, limit)).all():
                task = self._create_sync_run(connection, row, timeouts, at)
                next_run = grid_after(row.anchor_at, row.frequency_ms, at)
                values: dict[str, Any] = {"next_run_at": next_run, "updated_at": at}
                if task is not None:
                    values["last_task_id"] = task.id
                    created.append(task)
                connection.execute(update(syncs).where(syncs.c.id == row.sync_id).values(**values))
        return created

    def _due_query(self, at: int, limit: int) -> Select[Any]:
        running = select(_c.id).where(_c.sync_id == syncs.c.id, _c.state.in_(ACTIVE_STATES))
        query = (
            select(
                syncs.c.id.label("sync_id"),
                syncs.c.connection_id,
                syncs.c.name,
                syncs.c.variant,
                syncs.c.anchor_at,
                syncs.c.frequency_ms,
                syncs.c.last_sync_date,
                connections.c.environment_id,
                connections.c.connection_id.label("connection_name"),
                integrations.c.unique_key.label("integration_key"),
                scripts.c.id.label("script_id"),
            )
            .join(connections, connections.c.id == syncs.c.connection_id)
            .join(integrations, integrations.c.id == connections.c.integration_id)
            .join(
                scripts,
                (scripts.c.integration_id == connections.c.integration_id)
                & (scripts.c.type == "sync")
                & (scripts.c.name == syncs.c.name)
                & scripts.c.active.is_(True),
            )
            .where(syncs.c.state == "STARTED", syncs.c.next_run_at <= at, ~running.exists())
            .order_by(syncs.c.next_run_at, syncs.c.id)
            .limit(limit)
        )
        if self._db.is_postgresql:
            query = query.with_for_update(of=syncs, skip_locked=True)
        return query

    def _create_sync_run(
        self, connection: Any, row: Row[Any], timeouts: Timeouts, at: int
    ) -> Task | None:
        new = sync_run(
            environment_id=row.environment_id,
            connection_id=row.connection_id,
            connection_name=row.connection_name,
            integration_key=row.integration_key,
            sync_id=row.sync_id,
            script_id=row.script_id,
            name=row.name,
            variant=row.variant,
            run_type="INITIAL" if row.last_sync_date is None else "INCREMENTAL",
            timeouts=timeouts,
            trigger="schedule",
        )
        return self._insert(connection, new, at)

    def _insert(self, connection: Any, new: NewTask, at: int) -> Task | None:
        task_id = new_task_id()
        row = {
            "id": task_id,
            "environment_id": new.environment_id,
            "kind": new.kind,
            "group_key": group_key(new.kind, new.environment_id),
            "connection_id": new.connection_id,
            "sync_id": new.sync_id,
            "script_id": new.script_id,
            "name": new.name,
            "payload": dict(new.payload),
            "state": "CREATED",
            "run_type": new.run_type,
            "attempt": 0,
            "max_retries": new.max_retries,
            "created_to_started_ms": new.timeouts.created_to_started_ms,
            "started_to_completed_ms": new.timeouts.started_to_completed_ms,
            "created_at": at,
            "starts_after": at if new.starts_after is None else new.starts_after,
        }
        statement = _insert_ignoring_conflicts(self._db.is_postgresql)
        if connection.execute(statement, row).first() is None:
            return None
        return _task(connection.execute(select(tasks).where(_c.id == task_id)).one())

    # --- reading runs ------------------------------------------------------------------------

    def list_runs(
        self,
        environment_id: int,
        *,
        connection_id: int | None = None,
        connection_ids: Sequence[int] | None = None,
        name: str | None = None,
        kinds: Sequence[str] | None = None,
        limit: int = 50,
    ) -> list[Task]:
        """Runs of an environment, newest first."""
        query = select(tasks).where(_c.environment_id == environment_id)
        if connection_id is not None:
            query = query.where(_c.connection_id == connection_id)
        if connection_ids is not None:
            query = query.where(_c.connection_id.in_(list(connection_ids)))
        if name is not None:
            query = query.where(_c.name == name)
        if kinds is not None:
            query = query.where(_c.kind.in_(list(kinds)))
        query = query.order_by(_c.created_at.desc(), _c.id.desc()).limit(max(1, limit))
        with self._db.read() as connection:
            return [_task(row) for row in connection.execute(query)]

    def count_by_state(self, environment_id: int | None = None) -> dict[str, int]:
        query = select(_c.state, func.count()).group_by(_c.state)
        if environment_id is not None:
            query = query.where(_c.environment_id == environment_id)
        with self._db.read() as connection:
            return {str(state): int(count) for state, count in connection.execute(query)}


def sync_run(
    *,
    environment_id: int,
    connection_id: int,
    connection_name: str,
    integration_key: str,
    sync_id: int,
    script_id: int,
    name: str,
    variant: str,
    run_type: str,
    timeouts: Timeouts,
    trigger: str,
    reset: bool = False,
    empty_cache: bool = False,
) -> NewTask:
    """A run of a sync, as the due pass, a trigger or a deploy creates it."""
    payload = {
        "connection_id": connection_name,
        "integration": integration_key,
        "sync": name,
        "variant": variant,
        "trigger": trigger,
        "reset": reset,
        "empty_cache": empty_cache,
    }
    return NewTask(
        environment_id=environment_id,
        kind="sync",
        name=name,
        payload=payload,
        timeouts=timeouts,
        connection_id=connection_id,
        sync_id=sync_id,
        script_id=script_id,
        run_type=run_type,
    )


__all__ = [
    "ACTIVE_STATES",
    "DONE_STATES",
    "NewTask",
    "Task",
    "TaskKind",
    "TaskState",
    "Tasks",
    "Timeouts",
    "group_key",
    "sync_run",
]
