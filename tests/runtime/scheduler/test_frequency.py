"""`runs:` frequencies, checked against Nango's `helpers.unit.test` interval cases.

Nango's `getInterval` also returns a start offset computed from the clock; we do not schedule
that way, so only the interval text, its validity and the too-short check are ported. The extra
tables below were checked against `getInterval` from `@nangohq/nango-yaml` 0.71.10 (which reads
durations with `ms` 3.0.0-canary.1).
"""

from __future__ import annotations

import pytest

from runtime.scheduler.frequency import Frequency, FrequencyError, parse_frequency

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
YEAR = 365.25 * DAY


def error_code(runs: str) -> str:
    with pytest.raises(FrequencyError) as caught:
        parse_frequency(runs)
    assert caught.value.runs == runs
    return caught.value.code


# ----- Nango's "Nango Config Interval tests"


def test_throws_error_when_interval_is_less_than_30_seconds() -> None:
    assert error_code("every 20s") == "sync_interval_too_short"


def test_can_parse_every_half_day() -> None:
    assert parse_frequency("every half day").interval == "12h"


def test_can_parse_every_1_5_hours() -> None:
    assert parse_frequency("every 1.5 hours").interval == "1.5 hours"


def test_can_parse_every_day() -> None:
    assert parse_frequency("every day").interval == "1d"


def test_can_parse_every_5_minutes() -> None:
    assert parse_frequency("every 5m").interval == "5m"


def test_can_parse_every_10_minutes() -> None:
    assert parse_frequency("every 10m").interval == "10m"


def test_can_parse_every_week() -> None:
    assert parse_frequency("every week").interval == "1w"


def test_can_parse_every_month() -> None:
    assert parse_frequency("every month").interval == "30d"


def test_returns_error_for_unsupported_interval_format() -> None:
    assert error_code("every yearasdad") == "sync_interval_invalid"


def test_can_parse_intervals_with_different_starting_offset() -> None:
    # Upstream also checks the offset from 12:30 (30 minutes); offsets are not ours.
    assert parse_frequency("every 1h").interval == "1h"


def test_gives_back_a_correct_offset() -> None:
    assert parse_frequency("every 1h") == Frequency("1h", HOUR)


def test_gives_back_a_correct_offset_with_5_after_with_an_interval_of_30_minutes() -> None:
    assert parse_frequency("every 30m") == Frequency("30m", 30 * MINUTE)


# ----- the named phrases


@pytest.mark.parametrize(
    ("runs", "interval", "milliseconds"),
    [
        ("every half day", "12h", 12 * HOUR),
        ("every half hour", "30m", 30 * MINUTE),
        ("every quarter hour", "15m", 15 * MINUTE),
        ("every hour", "1h", HOUR),
        ("every day", "1d", DAY),
        ("every week", "1w", WEEK),
        ("every month", "30d", 30 * DAY),
    ],
)
def test_named_phrases(runs: str, interval: str, milliseconds: float) -> None:
    assert parse_frequency(runs) == Frequency(interval, milliseconds)


@pytest.mark.parametrize("runs", ["every Half Day", "every Day", "Every day", "every 1 month"])
def test_named_phrases_are_exact(runs: str) -> None:
    """Only the exact phrases are named; anything else must read as a duration."""
    assert error_code(runs) == "sync_interval_invalid"


# ----- durations and their units


@pytest.mark.parametrize(
    ("runs", "interval", "milliseconds"),
    [
        ("every 30min", "30min", 30 * MINUTE),
        ("every 2 days", "2 days", 2 * DAY),
        ("every 1.5 hours", "1.5 hours", 1.5 * HOUR),
        ("every 1 hour", "1 hour", HOUR),
        ("every 3 hrs", "3 hrs", 3 * HOUR),
        ("every 1hr", "1hr", HOUR),
        ("every 1 h", "1 h", HOUR),
        ("every 1H", "1H", HOUR),
        ("every 1.5 Hours", "1.5 Hours", 1.5 * HOUR),
        ("every .5h", ".5h", 0.5 * HOUR),
        ("every 1 minute", "1 minute", MINUTE),
        ("every 5 minutes", "5 minutes", 5 * MINUTE),
        ("every 5 Minutes", "5 Minutes", 5 * MINUTE),
        ("every 2 mins", "2 mins", 2 * MINUTE),
        ("every 0.5m", "0.5m", 30 * SECOND),
        ("every 30s", "30s", 30 * SECOND),
        ("every 45 secs", "45 secs", 45 * SECOND),
        ("every 31 seconds", "31 seconds", 31 * SECOND),
        ("every 30000", "30000", 30 * SECOND),
        ("every 30000ms", "30000ms", 30 * SECOND),
        ("every 100000 msec", "100000 msec", 100 * SECOND),
        ("every 1d", "1d", DAY),
        ("every 1w", "1w", WEEK),
        ("every 2 weeks", "2 weeks", 2 * WEEK),
        ("every 1y", "1y", YEAR),
        ("every 1 year", "1 year", YEAR),
        ("every 2 yrs", "2 yrs", 2 * YEAR),
        # Like Nango, `every ` is optional: only its first occurrence is removed.
        ("5m", "5m", 5 * MINUTE),
    ],
)
def test_durations(runs: str, interval: str, milliseconds: float) -> None:
    assert parse_frequency(runs) == Frequency(interval, milliseconds)


@pytest.mark.parametrize(
    "runs",
    [
        "every 20s",
        "every 29s",
        "every 29999ms",
        "every 1 second",
        "every 10 msecs",
        "every 1 millisecond",
        "every 0.4m",
        # A negative duration reads fine, and is then under the minimum.
        "every -1h",
    ],
)
def test_too_short(runs: str) -> None:
    assert error_code(runs) == "sync_interval_too_short"


@pytest.mark.parametrize(
    "runs",
    [
        "every 0m",
        "every yearasdad",
        "garbage",
        "Every 5m",
        "every  5m",
        "every every 5m",
        "every 2 hours ",
        "every 2 hours every",
        "every 1m30s",
        "every 1e3s",
        "every 5 fortnights",
        # `ms` reads ASCII digits only.
        "every \uff15m",
        "every \u0663h",
    ],
)
def test_invalid(runs: str) -> None:
    assert error_code(runs) == "sync_interval_invalid"


@pytest.mark.parametrize("runs", ["", "every ", f"every {'1' * 101}"])
def test_invalid_where_nango_throws(runs: str) -> None:
    """`ms` throws on an empty or over-100-character string (Nango's parser then crashes);
    ours reports the frequency as invalid."""
    assert error_code(runs) == "sync_interval_invalid"


def test_trailing_newline_is_invalid() -> None:
    """`runs: |` (a block scalar) gives `every 5m\\n`; `ms` anchors with JavaScript's `$`,
    which does not match before a final newline, so Nango rejects it."""
    assert error_code("every 5m\n") == "sync_interval_invalid"
