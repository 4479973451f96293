"""Claiming tasks: which due CREATED tasks a worker starts, fairly and within the caps.

One claim, one write transaction:

1. the due groups (a group is one kind of task in one environment: `tasks.group_key`) of the
   wanted kinds, the longest-waiting first, with how many due tasks each has;
2. on PostgreSQL, a transaction-level advisory lock on each capped group (in a fixed order, so
   two claims never wait on each other in a circle): two workers claiming at once cannot
   together pass a cap (SQLite: the single writer already serialises claims);
3. how many tasks of each group already run (STARTED), and the claim's `limit` dealt one slot
   per group per round over the groups with room under their cap: an environment with thousands
   of due syncs gets one slot a round like every other, so it never starves the others;
4. per group, one UPDATE of its oldest due tasks, picked `FOR UPDATE SKIP LOCKED` on PostgreSQL
   (two workers never claim the same task, and never wait for each other's rows), each with a
   fresh random lease token.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Row

from runtime.store.base import lock_key
from runtime.store.database import Database
from runtime.store.schema import tasks

__all__ = ["claim_rows", "deal"]

_c = tasks.c


@dataclass
class _Group:
    key: str
    kind: str
    due: int
    cap: int | None
    running: int = 0

    @property
    def room(self) -> int:
        if self.cap is None:
            return self.due
        return max(0, min(self.due, self.cap - self.running))


def deal(rooms: Sequence[int], limit: int) -> list[int]:
    """`limit` slots dealt one per group per round, each group taking at most its room."""
    given = [0] * len(rooms)
    while limit > 0:
        dealt = False
        for index, room in enumerate(rooms):
            if limit > 0 and given[index] < room:
                given[index] += 1
                limit -= 1
                dealt = True
        if not dealt:
            break
    return given


def claim_rows(
    database: Database,
    *,
    owner: str,
    limit: int,
    lease_us: int,
    kinds: Sequence[str] | None,
    caps: Mapping[str, int] | None,
    at: int,
) -> list[Row[Any]]:
    """Start up to `limit` due tasks for `owner` (see the module docstring); their rows."""
    with database.write() as connection:
        groups = _due_groups(connection, kinds, caps or {}, at)
        capped = sorted(group.key for group in groups if group.cap is not None)
        for key in capped:
            database.advisory_lock(connection, lock_key("tasks.claim", key))
        _count_running(connection, [group for group in groups if group.cap is not None])
        lease: dict[str, Any] = {"owner": owner, "lease_us": lease_us, "at": at}
        rows: list[Row[Any]] = []
        for group, count in zip(groups, deal([g.room for g in groups], limit), strict=True):
            if count > 0:
                rows.extend(_claim_group(database, connection, group.key, count, **lease))
    return rows


def _due_groups(
    connection: Connection, kinds: Sequence[str] | None, caps: Mapping[str, int], at: int
) -> list[_Group]:
    query = (
        select(_c.group_key, _c.kind, func.count(), func.min(_c.starts_after))
        .where(_c.state == "CREATED", _c.starts_after <= at)
        .group_by(_c.group_key, _c.kind)
    )
    if kinds is not None:
        query = query.where(_c.kind.in_(list(kinds)))
    found = sorted(connection.execute(query).all(), key=lambda row: (row[3], row[0]))
    return [
        _Group(key, kind, int(due), caps.get(kind) if caps.get(kind, 0) > 0 else None)
        for key, kind, due, _oldest in found
    ]


def _count_running(connection: Connection, groups: Sequence[_Group]) -> None:
    if not groups:
        return
    by_key = {group.key: group for group in groups}
    query = (
        select(_c.group_key, func.count())
        .where(_c.state == "STARTED", _c.group_key.in_(list(by_key)))
        .group_by(_c.group_key)
    )
    for key, running in connection.execute(query):
        by_key[key].running = int(running)


def _claim_group(
    database: Database,
    connection: Connection,
    key: str,
    count: int,
    *,
    owner: str,
    lease_us: int,
    at: int,
) -> list[Row[Any]]:
    due = (
        select(_c.id)
        .where(_c.state == "CREATED", _c.group_key == key, _c.starts_after <= at)
        .order_by(_c.starts_after, _c.created_at)
        .limit(count)
        .with_for_update(skip_locked=True)
    )
    # PostgreSQL: the locked rows picked once, in a CTE (a LIMIT subquery under IN may be
    # evaluated again by the planner, and then picks more rows).
    picked = (
        _c.id == due.cte("due").c.id if database.is_postgresql else _c.id.in_(due.scalar_subquery())
    )
    statement = (
        update(tasks)
        .where(picked, _c.state == "CREATED")
        .values(
            state="STARTED",
            lease_token=secrets.token_urlsafe(24),
            lease_expires_at=at + lease_us,
            heartbeat_at=at,
            started_at=at,
            owner=owner,
            attempt=_c.attempt + 1,
        )
        .returning(*tasks.c)
    )
    return list(connection.execute(statement).all())
