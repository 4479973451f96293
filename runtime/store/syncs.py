"""Sync schedules: one row per (connection, sync, variant).

A schedule runs on a fixed grid anchored at its creation: `anchor_at + k * frequency_ms`
(reference §8.2). `next_run_at` is when the due pass next creates a run of it (set to now by a
trigger or a first start); `state` STARTED or PAUSED; `last_sync_date` the start of its last
successful run. Rows are created for every connection of an integration when a sync is deployed
(STARTED iff `auto_start`), and for connections made later (`ensure_missing`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection as DbConnection
from sqlalchemy.engine import Row

from runtime.store.base import Part, check_name
from runtime.store.errors import InvalidValueError
from runtime.store.schema import connections, scripts, syncs
from runtime.store.timestamps import from_us, now_us, optional_from_us, to_us

SyncState = Literal["STARTED", "PAUSED"]
BASE_VARIANT = "base"


@dataclass(frozen=True)
class SyncSchedule:
    id: int
    connection_id: int
    name: str
    variant: str
    state: SyncState
    frequency_ms: int
    anchor_at: datetime
    next_run_at: datetime | None
    last_sync_date: datetime | None
    last_task_id: str | None
    last_result: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


def _schedule(row: Row[Any]) -> SyncSchedule:
    return SyncSchedule(
        id=row.id,
        connection_id=row.connection_id,
        name=row.name,
        variant=row.variant,
        state=row.state,
        frequency_ms=row.frequency_ms,
        anchor_at=from_us(row.anchor_at),
        next_run_at=optional_from_us(row.next_run_at),
        last_sync_date=optional_from_us(row.last_sync_date),
        last_task_id=row.last_task_id,
        last_result=row.last_result,
        created_at=from_us(row.created_at),
        updated_at=from_us(row.updated_at),
    )


def grid_after(anchor_us: int, frequency_ms: int, now: int) -> int:
    """The first point of the grid strictly after `now`."""
    step = max(1, frequency_ms) * 1000
    if now < anchor_us:
        return anchor_us
    return anchor_us + ((now - anchor_us) // step + 1) * step


def grid_at_or_after(anchor_us: int, frequency_ms: int, now: int) -> int:
    """The first point of the grid at or after `now` (`anchor + ceil((now - anchor) / f) * f`)."""
    step = max(1, frequency_ms) * 1000
    if now <= anchor_us:
        return anchor_us
    return anchor_us + -(-(now - anchor_us) // step) * step


def _check_frequency(frequency_ms: int) -> int:
    if not isinstance(frequency_ms, int) or isinstance(frequency_ms, bool) or frequency_ms <= 0:
        raise InvalidValueError("A sync's frequency must be a positive number of milliseconds")
    return frequency_ms


@dataclass(frozen=True)
class SyncSpec:
    """What a new schedule row needs: the sync's name, frequency and whether it starts."""

    name: str
    frequency_ms: int
    started: bool


class Syncs(Part):
    """Sync schedules of connections."""

    def ensure(
        self,
        connection_id: int,
        spec: SyncSpec,
        *,
        variant: str = BASE_VARIANT,
        now: int | None = None,
    ) -> tuple[SyncSchedule, bool]:
        """The schedule of (connection, sync, variant), created when missing (a started one is
        due at once). Returns it and whether it was created."""
        check_name(spec.name, "sync name")
        check_name(variant, "variant")
        at = now_us() if now is None else now
        with self._db.write() as connection:
            created = self._insert_missing(connection, [(connection_id, spec)], variant, at)
            row = connection.execute(
                select(syncs).where(
                    syncs.c.connection_id == connection_id,
                    syncs.c.name == spec.name,
                    syncs.c.variant == variant,
                )
            ).one()
        return _schedule(row), created > 0

    def ensure_for_integration(
        self, integration_id: int, spec: SyncSpec, *, now: int | None = None
    ) -> int:
        """A schedule of the sync for every connection of the integration (deploy of a new
        sync); how many were created."""
        at = now_us() if now is None else now
        query = select(connections.c.id).where(connections.c.integration_id == integration_id)
        with self._db.write() as connection:
            ids = list(connection.execute(query).scalars())
            return self._insert_missing(connection, [(i, spec) for i in ids], BASE_VARIANT, at)

    def ensure_missing(self, *, now: int | None = None) -> int:
        """A schedule for every (connection, active deployed sync) pair that has none: the
        connections made after a deploy. How many were created."""
        at = now_us() if now is None else now
        existing = select(syncs.c.id).where(
            syncs.c.connection_id == connections.c.id,
            syncs.c.name == scripts.c.name,
            syncs.c.variant == BASE_VARIANT,
        )
        query = (
            select(connections.c.id, scripts.c.name, scripts.c.config)
            .join(scripts, scripts.c.integration_id == connections.c.integration_id)
            .where(scripts.c.type == "sync", scripts.c.active.is_(True), ~existing.exists())
            .order_by(connections.c.id)
            .limit(10_000)
        )
        with self._db.write() as connection:
            pairs = [(row.id, spec_of(row.name, row.config)) for row in connection.execute(query)]
            return self._insert_missing(connection, pairs, BASE_VARIANT, at)

    def get(
        self, connection_id: int, name: str, variant: str = BASE_VARIANT
    ) -> SyncSchedule | None:
        query = select(syncs).where(
            syncs.c.connection_id == connection_id,
            syncs.c.name == name,
            syncs.c.variant == variant,
        )
        with self._db.read() as connection:
            row = connection.execute(query).first()
        return None if row is None else _schedule(row)

    def get_by_id(self, sync_id: int) -> SyncSchedule | None:
        with self._db.read() as connection:
            row = connection.execute(select(syncs).where(syncs.c.id == sync_id)).first()
        return None if row is None else _schedule(row)

    def list_for(
        self, connection_ids: Sequence[int], names: Sequence[str] | None = None
    ) -> list[SyncSchedule]:
        """The schedules of these connections (of these sync names), by connection and name."""
        query = select(syncs).where(syncs.c.connection_id.in_(list(connection_ids)))
        if names is not None:
            query = query.where(syncs.c.name.in_(list(names)))
        query = query.order_by(syncs.c.connection_id, syncs.c.name, syncs.c.variant)
        with self._db.read() as connection:
            return [_schedule(row) for row in connection.execute(query)]

    def of_integration(self, integration_id: int, name: str) -> list[SyncSchedule]:
        """Every schedule of one sync of an integration (all connections, all variants)."""
        query = (
            select(syncs)
            .join(connections, connections.c.id == syncs.c.connection_id)
            .where(connections.c.integration_id == integration_id, syncs.c.name == name)
            .order_by(syncs.c.id)
        )
        with self._db.read() as connection:
            return [_schedule(row) for row in connection.execute(query)]

    def remove(self, sync_ids: Sequence[int]) -> int:
        """Delete schedules (a removed sync); their runs stay, without a schedule."""
        if not sync_ids:
            return 0
        with self._db.write() as connection:
            statement = delete(syncs).where(syncs.c.id.in_(list(sync_ids)))
            return connection.execute(statement).rowcount

    def reschedule(
        self, sync_ids: Sequence[int], frequency_ms: int, *, now: int | None = None
    ) -> int:
        """A new frequency (a changed `runs`): same anchor, the next run on the new grid."""
        _check_frequency(frequency_ms)
        at = now_us() if now is None else now
        changed = 0
        with self._db.write() as connection:
            rows = connection.execute(select(syncs).where(syncs.c.id.in_(list(sync_ids)))).all()
            for row in rows:
                if row.frequency_ms == frequency_ms:
                    continue
                values: dict[str, Any] = {"frequency_ms": frequency_ms, "updated_at": at}
                if row.next_run_at is not None and row.next_run_at > at:
                    values["next_run_at"] = grid_at_or_after(row.anchor_at, frequency_ms, at)
                connection.execute(update(syncs).where(syncs.c.id == row.id).values(**values))
                changed += 1
        return changed

    def set_state(
        self, sync_ids: Sequence[int], state: SyncState, *, now: int | None = None
    ) -> int:
        """Start or pause schedules. A started one that never ran is due at once, else at the
        next point of its grid."""
        if state not in ("STARTED", "PAUSED"):
            raise InvalidValueError(f"Unknown sync state {state!r}")
        at = now_us() if now is None else now
        with self._db.write() as connection:
            rows = connection.execute(select(syncs).where(syncs.c.id.in_(list(sync_ids)))).all()
            for row in rows:
                values: dict[str, Any] = {"state": state, "updated_at": at}
                if state == "STARTED" and row.state != "STARTED":
                    first = row.last_task_id is None
                    grid = grid_at_or_after(row.anchor_at, row.frequency_ms, at)
                    values["next_run_at"] = at if first else grid
                connection.execute(update(syncs).where(syncs.c.id == row.id).values(**values))
            return len(rows)

    def request_run(self, sync_id: int, *, now: int | None = None) -> None:
        """Due at once (a trigger while a run is in progress: the next run follows it)."""
        at = now_us() if now is None else now
        statement = update(syncs).where(syncs.c.id == sync_id)
        with self._db.write() as connection:
            connection.execute(statement.values(next_run_at=at, updated_at=at))

    def record_success(
        self,
        sync_id: int,
        *,
        last_sync_date: datetime | int,
        result: Mapping[str, Any],
    ) -> None:
        """A successful run: its start becomes `last_sync_date`, its counts `last_result`."""
        at = last_sync_date if isinstance(last_sync_date, int) else to_us(last_sync_date)
        values = {"last_sync_date": at, "last_result": dict(result), "updated_at": now_us()}
        with self._db.write() as connection:
            connection.execute(update(syncs).where(syncs.c.id == sync_id).values(**values))

    def reset(self, sync_id: int) -> None:
        """Forget `last_sync_date` (a reset: the next run is a full one)."""
        values = {"last_sync_date": None, "updated_at": now_us()}
        with self._db.write() as connection:
            connection.execute(update(syncs).where(syncs.c.id == sync_id).values(**values))

    def _insert_missing(
        self,
        connection: DbConnection,
        pairs: Sequence[tuple[int, SyncSpec]],
        variant: str,
        now: int,
    ) -> int:
        if not pairs:
            return 0
        rows = [
            {
                "connection_id": connection_id,
                "name": spec.name,
                "variant": variant,
                "state": "STARTED" if spec.started else "PAUSED",
                "frequency_ms": _check_frequency(spec.frequency_ms),
                "anchor_at": now,
                "next_run_at": now if spec.started else None,
                "created_at": now,
                "updated_at": now,
            }
            for connection_id, spec in pairs
        ]
        dialect = postgresql if self._db.is_postgresql else sqlite
        statement = (
            dialect.insert(syncs)
            .on_conflict_do_nothing(index_elements=["connection_id", "name", "variant"])
            .returning(syncs.c.id)
        )
        # One row at a time: what a multi-row insert that skips some rows returns is not portable.
        return sum(len(connection.execute(statement, row).all()) for row in rows)


def spec_of(name: str, config: Mapping[str, Any]) -> SyncSpec:
    """The schedule settings of a deployed sync, from its stored config."""
    frequency = config.get("frequency_ms")
    frequency_ms = int(frequency) if isinstance(frequency, int | float) else 24 * 3600 * 1000
    return SyncSpec(name, max(frequency_ms, 1), bool(config.get("auto_start", True)))


__all__ = [
    "BASE_VARIANT",
    "SyncSchedule",
    "SyncSpec",
    "SyncState",
    "Syncs",
    "grid_after",
    "grid_at_or_after",
    "spec_of",
]
