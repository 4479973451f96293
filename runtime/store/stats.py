"""Figures read at scrape time for `/metrics` (`runtime.observability`): the task queue by kind
and the outgoing webhook deliveries by state. Global: every process sharing the database reads
the same numbers.

Cheap by construction: the queue query reads only CREATED and STARTED tasks (a range of the
`(state, starts_after)` index; finished tasks are never scanned), the deliveries query groups
the deliveries table by state and kind (an index scan on `(state, next_attempt_at)`; callers
cache the answer for a few seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, case, func, select

from runtime.store.base import Part
from runtime.store.schema import tasks, webhook_deliveries
from runtime.store.timestamps import now_us

__all__ = ["KindQueue", "Stats", "StatsSnapshot"]


@dataclass(frozen=True)
class KindQueue:
    """The tasks of one kind now: `waiting` (CREATED and due), `oldest_due_at` (when the
    longest-waiting of them became due, microseconds), `scheduled` (CREATED, not yet due),
    `running` (STARTED)."""

    kind: str
    waiting: int = 0
    oldest_due_at: int | None = None
    scheduled: int = 0
    running: int = 0


@dataclass(frozen=True)
class StatsSnapshot:
    taken_at: int
    queues: dict[str, KindQueue]
    webhook_deliveries: dict[tuple[str, str], int]
    """Rows of `webhook_deliveries` by (kind, state)."""


class Stats(Part):
    """The figures of `/metrics` that come from the database."""

    def snapshot(self, *, now: int | None = None) -> StatsSnapshot:
        at = now_us() if now is None else now
        with self._db.read() as connection:
            queue_rows = connection.execute(self._queue_query(at)).all()
            delivery_rows = connection.execute(self._deliveries_query()).all()
        queues: dict[str, KindQueue] = {}
        for row in queue_rows:
            found = queues.get(row.kind) or KindQueue(kind=str(row.kind))
            if row.state == "STARTED":
                found = replace(found, running=int(row.total))
            else:
                due = int(row.due or 0)
                oldest = None if due == 0 else int(row.oldest)
                found = replace(
                    found, waiting=due, oldest_due_at=oldest, scheduled=int(row.total) - due
                )
            queues[found.kind] = found
        deliveries = {(str(r.kind), str(r.state)): int(r.total) for r in delivery_rows}
        return StatsSnapshot(taken_at=at, queues=queues, webhook_deliveries=deliveries)

    @staticmethod
    def _queue_query(at: int) -> Select[Any]:
        c = tasks.c
        is_due = case((c.starts_after <= at, 1), else_=0)
        return (
            select(
                c.kind,
                c.state,
                func.count().label("total"),
                func.sum(is_due).label("due"),
                func.min(c.starts_after).label("oldest"),
            )
            .where(c.state.in_(("CREATED", "STARTED")))
            .group_by(c.kind, c.state)
        )

    @staticmethod
    def _deliveries_query() -> Select[Any]:
        c = webhook_deliveries.c
        return select(c.kind, c.state, func.count().label("total")).group_by(c.kind, c.state)
