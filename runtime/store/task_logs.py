"""The log lines of each run (`nango logs`), numbered from 1 in the order they were written.

Callers redact secrets before a line gets here; a line is kept at most `MAX_MESSAGE_CHARS` long
(Nango's limit), and a run keeps at most `MAX_LINES_PER_RUN` lines (then one line says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from runtime.store.base import Part, lock_key
from runtime.store.schema import task_logs
from runtime.store.timestamps import from_us, now_us

MAX_MESSAGE_CHARS = 99_000
MAX_LINES_PER_RUN = 20_000
TRUNCATED = " ... (truncated, payload was too large)"
_c = task_logs.c


@dataclass(frozen=True)
class LogLine:
    seq: int
    level: str
    message: str
    created_at: datetime


def _clipped(message: str) -> str:
    text = message.replace("\x00", "")
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[: MAX_MESSAGE_CHARS - len(TRUNCATED)] + TRUNCATED


class TaskLogs(Part):
    """Log lines per task."""

    def append(
        self, task_id: str, lines: Sequence[tuple[str, str]], *, now: int | None = None
    ) -> int:
        """Add `(level, message)` lines after the run's last one; how many were kept."""
        if not lines:
            return 0
        at = now_us() if now is None else now
        with self._db.write() as connection:
            self._db.advisory_lock(connection, lock_key("task_logs", task_id))
            last = connection.execute(
                select(func.max(_c.seq)).where(_c.task_id == task_id)
            ).scalar()
            seq = int(last or 0)
            room = MAX_LINES_PER_RUN - seq
            if room <= 0:
                return 0
            kept = list(lines[:room])
            if len(lines) > room:
                kept[-1] = ("warn", f"more than {MAX_LINES_PER_RUN} log lines: the rest dropped")
            rows = [
                {
                    "task_id": task_id,
                    "seq": seq + index,
                    "level": level,
                    "message": _clipped(message),
                    "created_at": at,
                }
                for index, (level, message) in enumerate(kept, start=1)
            ]
            connection.execute(insert(task_logs), rows)
        return len(rows)

    def list(self, task_id: str, *, after: int = 0, limit: int = 1000) -> list[LogLine]:
        """Lines after number `after`, in order (at most `limit`)."""
        query = (
            select(_c.seq, _c.level, _c.message, _c.created_at)
            .where(_c.task_id == task_id, _c.seq > after)
            .order_by(_c.seq)
            .limit(max(1, limit))
        )
        with self._db.read() as connection:
            return [
                LogLine(row.seq, row.level, row.message, from_us(row.created_at))
                for row in connection.execute(query)
            ]
