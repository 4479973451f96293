"""Sync frequencies (`runs: every 30min`), parsed as Nango's parser and scheduler do.

Named phrases (`every half hour`, `every day`...) map to fixed intervals; anything else has its
first `every ` removed and is read like the `ms` library reads durations (`30min`, `1.5 hours`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAMED_INTERVALS: dict[str, str] = {
    "every half day": "12h",
    "every half hour": "30m",
    "every quarter hour": "15m",
    "every hour": "1h",
    "every day": "1d",
    "every month": "30d",
    "every week": "1w",
}

_SECOND = 1000.0
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_UNITS: dict[str, float] = {}
for _names, _factor in (
    ("years year yrs yr y", 365.25 * _DAY),
    ("weeks week w", 7 * _DAY),
    ("days day d", _DAY),
    ("hours hour hrs hr h", _HOUR),
    ("minutes minute mins min m", _MINUTE),
    ("seconds second secs sec s", _SECOND),
    ("milliseconds millisecond msecs msec ms", 1.0),
):
    _UNITS.update(dict.fromkeys(_names.split(), _factor))

_DURATION = re.compile(
    r"^(-?(?:\d+)?\.?\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h"
    r"|days?|d|weeks?|w|years?|yrs?|y)?\Z",
    re.IGNORECASE | re.ASCII,
)
MIN_INTERVAL_MS = 30 * _SECOND


@dataclass(frozen=True)
class Frequency:
    """A parsed `runs` value: the interval text Nango keeps and its length in milliseconds."""

    interval: str
    milliseconds: float


class FrequencyError(ValueError):
    """`code` is Nango's: `sync_interval_invalid` or `sync_interval_too_short`."""

    def __init__(self, code: str, runs: str) -> None:
        super().__init__(code)
        self.code = code
        self.runs = runs


def duration_ms(text: str) -> float | None:
    """Milliseconds in a duration such as `30min`, `2 days` or `1.5h`; None if unreadable."""
    if not text or len(text) > 100:
        return None
    match = _DURATION.match(text)
    if not match:
        return None
    unit = (match.group(2) or "ms").lower()
    return float(match.group(1)) * _UNITS[unit]


def parse_frequency(runs: str) -> Frequency:
    """Parse a `runs` string; raises `FrequencyError` when it is unreadable or under 30 seconds."""
    named = NAMED_INTERVALS.get(runs)
    if named:
        value = duration_ms(named)
        assert value is not None
        return Frequency(named, value)
    interval = runs.replace("every ", "", 1)
    value = duration_ms(interval)
    if not value:
        raise FrequencyError("sync_interval_invalid", runs)
    if value < MIN_INTERVAL_MS:
        raise FrequencyError("sync_interval_too_short", runs)
    return Frequency(interval, value)
