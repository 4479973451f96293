"""What a dry run or a replay captured: records, logs, requests, metadata and checkpoint writes.

`Capture` is also the run's `RunHooks` (pages, pagination stops, invalid records, printed lines).
Memory stays bounded: of each model only the first records are held, the rest are counted (and,
when every record is wanted, spooled to a temporary file as the JSON they were encoded to: one line
per batch, the batch's JSON array).
"""

from __future__ import annotations

import tempfile
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from runtime.http.proxy import Attempt
from runtime.sdk import values
from runtime.sdk.types import LogLevel
from runtime.sdk.validation import ValidationSummary


@dataclass
class RequestEntry:
    method: str
    url: str
    status: int | None
    attempts: int
    duration_ms: float
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "attempts": self.attempts,
            "duration_ms": round(self.duration_ms, 1),
        }


@dataclass
class LogEntry:
    level: LogLevel
    message: str

    def to_json(self) -> dict[str, str]:
        return {"level": self.level, "message": self.message}


class RecordStream:
    """The records of one model written one way (saved, deleted or updated)."""

    def __init__(self, *, keep_first: int, keep_all: bool) -> None:
        self.count = 0
        self.first: list[Any] = []
        self._keep_first = keep_first
        # closed by close(): the spool lives as long as the report that reads it
        self._spool: IO[bytes] | None = (
            tempfile.TemporaryFile("w+b") if keep_all else None  # noqa: SIM115
        )
        # The length of each line of the spool (8 bytes a batch): reading a batch back is then
        # one read of its records' JSON, ~10x cheaper than splitting lines of ~0.3 MB.
        self._lines = array("Q")

    def add(self, records: list[Any], encoded: bytes) -> None:
        """Records and their JSON array (one line of the spool: compact JSON holds no newline)."""
        self.count += len(records)
        room = self._keep_first - len(self.first)
        if room > 0:
            self.first.extend(records[:room])
        if self._spool is not None and records:
            self._spool.write(encoded)
            self._spool.write(b"\n")
            self._lines.append(len(encoded) + 1)

    def joined(self) -> Iterator[bytes]:
        """Every record's JSON in order, comma-separated, a batch at a time: the inside of the
        JSON array of all of them (needs `keep_all`; else only the first records)."""
        if self._spool is None:
            if self.first:
                yield values.encode(self.first)[1:-1]
            return
        spool = self._spool
        spool.flush()
        spool.seek(0)
        try:
            for length in self._lines:  # each line: the batch's JSON array, then a newline
                spool.seek(1, 1)
                yield spool.read(length - 3)
                spool.seek(2, 1)
        finally:
            spool.seek(0, 2)  # where the next batch goes, even when reading stopped early

    def all(self) -> Iterator[Any]:
        """Every record, in order (needs `keep_all`)."""
        for part in self.joined():
            yield from values.decode(b"[" + part + b"]")

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


@dataclass
class Capture:
    """Everything a run produced, safe to read from another thread for a live status line."""

    keep_all: bool = False
    redact: Callable[[str], str] | None = None
    keep_first: int = 10
    max_entries: int = 10_000
    records: dict[tuple[str, str], RecordStream] = field(default_factory=dict)
    logs: list[LogEntry] = field(default_factory=list)
    log_counts: Counter[str] = field(default_factory=Counter)
    requests: list[RequestEntry] = field(default_factory=list)
    request_count: int = 0
    retries: int = 0
    rate_limited: int = 0
    pages: int = 0
    page_items: int = 0
    pagination_stops: list[str] = field(default_factory=list)
    metadata_writes: list[dict[str, Any]] = field(default_factory=list)
    checkpoint_writes: list[dict[str, Any] | None] = field(default_factory=list)
    invalid: dict[str, ValidationSummary] = field(default_factory=dict)
    _attempts: dict[int, list[Attempt]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_records(self, kind: str, model: str, records: list[Any], encoded: bytes) -> None:
        stream = self.records.get((kind, model))
        if stream is None:
            stream = RecordStream(keep_first=self.keep_first, keep_all=self.keep_all)
            self.records[(kind, model)] = stream
        stream.add(records, encoded)

    def record_count(self, kind: str = "save") -> int:
        return sum(s.count for (k, _), s in self.records.items() if k == kind)

    def models(self, kind: str) -> dict[str, RecordStream]:
        return {model: s for (k, model), s in self.records.items() if k == kind}

    def add_log(self, level: LogLevel, message: str) -> None:
        self.log_counts[level] += 1
        if len(self.logs) < self.max_entries:
            if self.redact is not None:
                message = self.redact(message)
            self.logs.append(LogEntry(level, message))

    def add_attempt(self, attempt: Attempt) -> None:
        """Group attempts into requests: the last attempt of a request has no wait after it."""
        key = threading.get_ident()
        with self._lock:
            pending = self._attempts.setdefault(key, [])
            pending.append(attempt)
            if attempt.wait_ms is not None:
                self.retries += 1
                if attempt.status == 429:
                    self.rate_limited += 1
                return
            del self._attempts[key]
            self.request_count += 1
            if attempt.status == 429:
                self.rate_limited += 1
            if len(self.requests) < self.max_entries:
                duration = sum(a.duration_ms + (a.wait_ms or 0) for a in pending)
                self.requests.append(
                    RequestEntry(
                        attempt.method,
                        self.redact(attempt.url) if self.redact is not None else attempt.url,
                        attempt.status,
                        attempt.attempt,
                        duration,
                        attempt.error,
                    )
                )

    def add_request(self, entry: RequestEntry) -> None:
        self.request_count += 1
        if len(self.requests) < self.max_entries:
            self.requests.append(entry)

    # --- RunHooks ---------------------------------------------------------------------------------

    def on_page(self, size: int) -> None:
        self.pages += 1
        self.page_items += size

    def on_pagination_stop(self, reason: str) -> None:
        self.pagination_stops.append(reason)

    def on_output(self, text: str) -> str:
        shown = self.shown(text)
        self.add_log("info", f"(printed) {shown}")
        return shown

    def shown(self, text: str) -> str:
        return self.redact(text) if self.redact is not None else text

    def on_invalid_records(self, summary: ValidationSummary) -> None:
        known = self.invalid.get(summary.model)
        if known is None:
            self.invalid[summary.model] = summary
            return
        known.invalid += summary.invalid
        known.by_path.update(summary.by_path)
        for path, message in summary.messages.items():
            known.messages.setdefault(path, message)
        room = 3 - len(known.samples)
        known.samples.extend(summary.samples[: max(room, 0)])

    def close(self) -> None:
        for stream in self.records.values():
            stream.close()
