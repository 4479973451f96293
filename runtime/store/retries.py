"""Retries of async actions (`X-Max-Retries`, 0 to 5): a FAILED action run with attempts left
goes back to CREATED under the same id (its caller polls `GET /action/:id`), after a backoff.

Found by the `(state, starts_after)` index, over the runs of the last `window` only, so the
pass stays cheap however long the history is. `attempt` counts claims: a run may be claimed
`max_retries + 1` times.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from runtime.store.base import Part
from runtime.store.schema import tasks
from runtime.store.timestamps import now_us

__all__ = ["RETRY_WINDOW_S", "TaskRetries"]

RETRY_WINDOW_S = 3 * 24 * 3600
_c = tasks.c


class TaskRetries(Part):
    """Failed action runs with retries left, back in the queue."""

    def _retryable(self, at: int) -> Any:
        return (
            (_c.state == "FAILED")
            & (_c.starts_after >= at - RETRY_WINDOW_S * 1_000_000)
            & (_c.kind == "action")
            & (_c.max_retries > 0)
            & (_c.attempt <= _c.max_retries)
        )

    def requeue_failed(self, *, backoff_s: float, now: int | None = None) -> list[str]:
        """Requeue every retryable failed action run (due after `backoff_s` times 2 to the
        power of the attempts made so far); their ids."""
        at = now_us() if now is None else now
        with self._db.write() as connection:
            rows = connection.execute(
                select(_c.id, _c.attempt).where(self._retryable(at)).limit(500)
            ).all()
            for row in rows:
                delay = int(backoff_s * 1_000_000) * 2 ** max(0, int(row.attempt) - 1)
                connection.execute(
                    update(tasks)
                    .where(_c.id == row.id, _c.state == "FAILED")
                    .values(
                        state="CREATED",
                        starts_after=at + delay,
                        started_at=None,
                        finished_at=None,
                        lease_token=None,
                        lease_expires_at=None,
                        heartbeat_at=None,
                        owner=None,
                    )
                )
        return [str(row.id) for row in rows]

    def will_retry(self, task_id: str, *, now: int | None = None) -> bool:
        """Whether this failed run is about to be requeued (it then reads as not finished)."""
        at = now_us() if now is None else now
        query = select(_c.id).where(_c.id == task_id, self._retryable(at))
        with self._db.read() as connection:
            return connection.execute(query).first() is not None
