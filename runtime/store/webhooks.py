"""Outgoing webhook deliveries (a durable outbox), and the secrets providers sign incoming
webhooks with.

A delivery is one POST of one body to one URL. States:

    WAITING  -> PENDING   an async action's completion, released when the action ends for good
    PENDING  -> SENDING   claimed by a sender (any process) until `next_attempt_at` (its lease)
    SENDING  -> DELIVERED a 2xx answer
             -> PENDING   a failure with attempts left (`next_attempt_at` = the retry's time)
             -> FAILED    a failure with none left, or an answer that is not worth retrying

A sender that dies mid-send leaves its rows SENDING: they are claimed again once their lease
(`next_attempt_at`) has passed, so a delivery is never lost (at-least-once, like Nango's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from runtime.store.base import Part
from runtime.store.schema import integration_secrets, tasks, webhook_deliveries
from runtime.store.timestamps import from_us, now_us, optional_from_us

__all__ = ["Delivery", "DeliveryKind", "DeliveryState", "IntegrationSecrets", "WebhookDeliveries"]

DeliveryKind = Literal["sync", "auth", "async_action", "forward"]
DeliveryState = Literal["WAITING", "PENDING", "SENDING", "DELIVERED", "FAILED"]
_c = webhook_deliveries.c
_SECRET_PURPOSE = "integration.webhook_secret"


@dataclass(frozen=True)
class Delivery:
    id: int
    environment_id: int
    kind: str
    url: str
    body: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    task_id: str | None
    created_at: datetime
    delivered_at: datetime | None


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        environment_id=row.environment_id,
        kind=row.kind,
        url=row.url,
        body=row.body,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=optional_from_us(row.next_attempt_at),
        last_status=row.last_status,
        last_error=row.last_error,
        task_id=row.task_id,
        created_at=from_us(row.created_at),
        delivered_at=optional_from_us(row.delivered_at),
    )


class WebhookDeliveries(Part):
    """The outbox of outgoing webhooks (see the module docstring)."""

    def enqueue(
        self,
        environment_id: int,
        kind: DeliveryKind,
        urls: Sequence[str],
        body: str,
        *,
        task_id: str | None = None,
        waiting: bool = False,
        now: int | None = None,
    ) -> list[int]:
        """One delivery of `body` per URL, due now (or WAITING for its task to end)."""
        at = now_us() if now is None else now
        rows = [
            {
                "environment_id": environment_id,
                "kind": kind,
                "url": url,
                "body": body,
                "state": "WAITING" if waiting else "PENDING",
                "attempts": 0,
                "next_attempt_at": at,
                "task_id": task_id,
                "created_at": at,
            }
            for url in urls
        ]
        if not rows:
            return []
        statement = insert(webhook_deliveries).returning(_c.id)
        with self._db.write() as connection:
            return [int(connection.execute(statement, row).scalar_one()) for row in rows]

    def claim(self, *, limit: int, lease_seconds: float, now: int | None = None) -> list[Delivery]:
        """Up to `limit` due deliveries (PENDING, or SENDING past their lease) moved to SENDING
        until now + `lease_seconds`. One statement: two senders never claim the same row."""
        at = now_us() if now is None else now
        due = (
            select(_c.id)
            .where(_c.state.in_(("PENDING", "SENDING")), _c.next_attempt_at <= at)
            .order_by(_c.next_attempt_at, _c.id)
            .limit(max(1, limit))
            .with_for_update(skip_locked=True)
        )
        picked = (
            _c.id == due.cte("due").c.id
            if self._db.is_postgresql
            else _c.id.in_(due.scalar_subquery())
        )
        statement = (
            update(webhook_deliveries)
            .where(picked, _c.state.in_(("PENDING", "SENDING")))
            .values(state="SENDING", next_attempt_at=at + int(lease_seconds * 1_000_000))
            .returning(*webhook_deliveries.c)
        )
        with self._db.write() as connection:
            rows = connection.execute(statement).all()
        return sorted((_delivery(row) for row in rows), key=lambda d: d.id)

    def record_attempt(
        self,
        delivery_id: int,
        *,
        status: int | None,
        error: str | None,
        retry_at: int | None,
        now: int | None = None,
    ) -> None:
        """The outcome of one attempt: delivered (no `error`), retried at `retry_at`, or given
        up (`retry_at` None)."""
        at = now_us() if now is None else now
        values: dict[str, Any] = {
            "attempts": _c.attempts + 1,
            "last_status": status,
            "last_error": None if error is None else error[:2000],
        }
        if error is None:
            values.update(state="DELIVERED", delivered_at=at, next_attempt_at=None)
        elif retry_at is not None:
            values.update(state="PENDING", next_attempt_at=retry_at)
        else:
            values.update(state="FAILED", next_attempt_at=None)
        statement = (
            update(webhook_deliveries)
            .where(_c.id == delivery_id, _c.state == "SENDING")
            .values(**values)
        )
        with self._db.write() as connection:
            connection.execute(statement)

    def waiting_on_ended_tasks(self, *, limit: int = 100) -> list[tuple[Delivery, str]]:
        """WAITING deliveries whose task has ended, with the task's state (`DELETED` when the
        task is gone, with its connection)."""
        query = (
            select(webhook_deliveries, tasks.c.state.label("task_state"))
            .outerjoin(tasks, tasks.c.id == _c.task_id)
            .where(
                _c.state == "WAITING",
                tasks.c.state.in_(("SUCCEEDED", "FAILED", "EXPIRED", "CANCELLED"))
                | tasks.c.id.is_(None),
            )
            .order_by(_c.id)
            .limit(limit)
        )
        with self._db.read() as connection:
            rows = connection.execute(query).all()
        return [(_delivery(row), str(row.task_state or "DELETED")) for row in rows]

    def release(self, delivery_ids: Sequence[int], *, now: int | None = None) -> int:
        """WAITING -> PENDING, due now."""
        if not delivery_ids:
            return 0
        at = now_us() if now is None else now
        statement = (
            update(webhook_deliveries)
            .where(_c.id.in_(list(delivery_ids)), _c.state == "WAITING")
            .values(state="PENDING", next_attempt_at=at)
        )
        with self._db.write() as connection:
            return int(connection.execute(statement).rowcount)

    def get(self, delivery_id: int) -> Delivery | None:
        with self._db.read() as connection:
            row = connection.execute(select(webhook_deliveries).where(_c.id == delivery_id)).first()
        return None if row is None else _delivery(row)

    def list_recent(
        self,
        environment_id: int,
        *,
        limit: int = 50,
        states: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[Delivery]:
        """The environment's deliveries, newest first (the delivery log)."""
        query = select(webhook_deliveries).where(_c.environment_id == environment_id)
        if states:
            query = query.where(_c.state.in_(list(states)))
        if kinds:
            query = query.where(_c.kind.in_(list(kinds)))
        query = query.order_by(_c.created_at.desc(), _c.id.desc()).limit(max(1, limit))
        with self._db.read() as connection:
            return [_delivery(row) for row in connection.execute(query)]

    def for_task(self, task_id: str) -> list[Delivery]:
        query = select(webhook_deliveries).where(_c.task_id == task_id).order_by(_c.id)
        with self._db.read() as connection:
            return [_delivery(row) for row in connection.execute(query)]


class IntegrationSecrets(Part):
    """The secret each integration's provider signs its webhooks with, encrypted."""

    def set(self, integration_id: int, secret: str | None) -> None:
        """Set (or, with None, remove) the integration's webhook secret."""
        c = integration_secrets.c
        with self._db.write() as connection:
            if secret is None:
                connection.execute(
                    delete(integration_secrets).where(c.integration_id == integration_id)
                )
                return
            values = {
                "integration_id": integration_id,
                "webhook_secret_encrypted": self._cipher.encrypt_text(
                    secret, purpose=_SECRET_PURPOSE
                ),
                "updated_at": now_us(),
            }
            dialect = postgresql if self._db.is_postgresql else sqlite
            upsert = dialect.insert(integration_secrets).values(**values)
            upsert = upsert.on_conflict_do_update(
                index_elements=["integration_id"],
                set_={k: v for k, v in values.items() if k != "integration_id"},
            )
            connection.execute(upsert)

    def get(self, integration_id: int) -> str | None:
        c = integration_secrets.c
        query = select(c.webhook_secret_encrypted).where(c.integration_id == integration_id)
        with self._db.read() as connection:
            blob = connection.execute(query).scalar()
        if blob is None:
            return None
        return self._cipher.decrypt_text(blob, purpose=_SECRET_PURPOSE)
