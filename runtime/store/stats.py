"""Figures read at scrape time for `/metrics` (`runtime.observability`): the task queue by kind
and the outgoing webhook deliveries. Global: every process sharing the database reads the same
numbers.

Cheap by construction, whatever the size of the history (each query reads an index range of the
rows it counts, never the finished past; the plans are asserted in the tests):
- the queue: only CREATED and STARTED tasks;
- deliveries in flight (PENDING, SENDING): the `(state, next_attempt_at)` index;
- deliveries of the last hour by state (their outcome): the `(environment_id, created_at)`
  index, one range per environment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, case, func, select

from runtime.store.base import Part
from runtime.store.schema import environments, tasks, webhook_deliveries
from runtime.store.timestamps import now_us

__all__ = [
    "DELIVERY_WINDOW_S",
    "IN_FLIGHT_DELIVERY_STATES",
    "InFlight",
    "KindQueue",
    "Stats",
    "StatsSnapshot",
]

DELIVERY_WINDOW_S = 3600
IN_FLIGHT_DELIVERY_STATES = ("PENDING", "SENDING")


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
class InFlight:
    """Deliveries of one kind not delivered nor given up yet; `oldest_at`: the creation of the
    oldest (microseconds)."""

    count: int
    oldest_at: int


@dataclass(frozen=True)
class StatsSnapshot:
    taken_at: int
    queues: dict[str, KindQueue]
    recent_deliveries: dict[tuple[str, str], int]
    """Deliveries created in the last `DELIVERY_WINDOW_S`, by (kind, state)."""
    deliveries_in_flight: dict[str, InFlight]


class Stats(Part):
    """The figures of `/metrics` that come from the database."""

    def snapshot(self, *, now: int | None = None) -> StatsSnapshot:
        at = now_us() if now is None else now
        with self._db.read() as connection:
            queue_rows = connection.execute(self._queue_query(at)).all()
            environment_ids = list(connection.execute(select(environments.c.id)).scalars())
            recent = connection.execute(self._recent_query(environment_ids, at)).all()
            in_flight = connection.execute(self._in_flight_query()).all()
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
        return StatsSnapshot(
            taken_at=at,
            queues=queues,
            recent_deliveries={(str(r.kind), str(r.state)): int(r.total) for r in recent},
            deliveries_in_flight={
                str(r.kind): InFlight(int(r.total), int(r.oldest)) for r in in_flight
            },
        )

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
    def _recent_query(environment_ids: list[int], at: int) -> Select[Any]:
        # The ids as a list (not a subquery): a planner without statistics still takes the index.
        c = webhook_deliveries.c
        return (
            select(c.kind, c.state, func.count().label("total"))
            .where(
                c.environment_id.in_(environment_ids),
                c.created_at >= at - DELIVERY_WINDOW_S * 1_000_000,
            )
            .group_by(c.kind, c.state)
        )

    @staticmethod
    def _in_flight_query() -> Select[Any]:
        c = webhook_deliveries.c
        return (
            select(c.kind, func.count().label("total"), func.min(c.created_at).label("oldest"))
            .where(c.state.in_(IN_FLIGHT_DELIVERY_STATES))
            .group_by(c.kind)
        )
