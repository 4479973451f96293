"""Time in the store: every timestamp column holds integer microseconds since the Unix epoch (UTC).

Integers compare exactly and identically on SQLite and PostgreSQL, sort without collation or
time-zone surprises, and keep the sub-millisecond precision that records' cursors rely on. They
are turned into aware `datetime`s or ISO 8601 strings at the edge.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)

_clock_lock = threading.Lock()
_last_now = 0


def now_us() -> int:
    """The current time, strictly increasing within this process (two calls never tie)."""
    global _last_now
    with _clock_lock:
        value = max(time.time_ns() // 1000, _last_now + 1)
        _last_now = value
    return value


def to_us(value: datetime) -> int:
    """Microseconds since the epoch of `value` (a naive datetime is read as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _ONE_MICROSECOND


def from_us(value: int) -> datetime:
    """The aware UTC datetime of a stored timestamp."""
    return EPOCH + timedelta(microseconds=value)


def optional_from_us(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


@lru_cache(maxsize=65536)
def iso_from_us(value: int) -> str:
    """ISO 8601 as PostgreSQL's `to_json(timestamptz)` writes it in UTC, which is what Nango's
    records API returns: `2024-05-01T10:00:00.5+00:00` (fraction without trailing zeros, none
    when zero). Such strings also sort in time order."""
    seconds, micros = divmod(value, 1_000_000)
    text = (EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if micros:
        text += f".{micros:06d}".rstrip("0")
    return text + "+00:00"


def us_from_iso(text: str) -> int:
    """Microseconds of an ISO 8601 timestamp (raises ValueError when it is not one)."""
    return to_us(datetime.fromisoformat(text))
