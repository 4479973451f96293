"""`Capture`: what a local run produced, bounded in memory: records counted with the first held
(all spooled on demand), logs and requests up to a limit, attempts grouped into requests, and the
run's hooks (pages, printed lines, invalid records)."""

from __future__ import annotations

import threading
from typing import Any

from runtime.backends.capture import Capture, RequestEntry
from runtime.http.proxy import Attempt
from runtime.sdk.validation import FieldError, InvalidRecord, ValidationSummary
from runtime.sdk.values import encode


def save(capture: Capture, model: str, records: list[Any], kind: str = "save") -> None:
    capture.add_records(kind, model, records, encode(records))


def hide(text: str) -> str:
    return text.replace("tok-123", "***")


def test_records_past_the_first_are_counted_not_held() -> None:
    capture = Capture(keep_first=3)
    for batch in range(5):
        save(capture, "Issue", [{"id": f"{batch}-{n}"} for n in range(5)])

    stream = capture.models("save")["Issue"]
    assert capture.record_count() == 25
    assert stream.first == [{"id": "0-0"}, {"id": "0-1"}, {"id": "0-2"}]
    assert list(stream.all()) == stream.first  # nothing spooled without keep_all
    capture.close()


def test_with_keep_all_every_record_is_spooled_in_order() -> None:
    capture = Capture(keep_all=True, keep_first=2)
    batches = [[{"id": str(10 * b + n)} for n in range(b + 1)] for b in range(4)]
    for batch in batches:
        save(capture, "Issue", batch)
    save(capture, "Issue", [{"id": "gone"}], kind="delete")

    assert list(capture.models("save")["Issue"].all()) == [r for b in batches for r in b]
    assert capture.record_count("save") == 10
    assert capture.record_count("delete") == 1
    assert capture.record_count("update") == 0
    assert set(capture.models("delete")) == {"Issue"}
    capture.close()


def test_logs_are_counted_by_level_held_up_to_the_limit_and_redacted() -> None:
    capture = Capture(max_entries=2, redact=hide)
    capture.add_log("info", "token tok-123")
    capture.add_log("warn", "careful")
    capture.add_log("error", "past the limit")

    assert [e.to_json() for e in capture.logs] == [
        {"level": "info", "message": "token ***"},
        {"level": "warn", "message": "careful"},
    ]
    assert capture.log_counts == {"info": 1, "warn": 1, "error": 1}


def attempt(number: int, status: int | None, *, wait_ms: float | None = None) -> Attempt:
    return Attempt(
        "GET", "https://api.test/items?key=tok-123", status, 10.0, number, wait_ms=wait_ms
    )


def test_attempts_are_grouped_into_one_request_with_its_retries() -> None:
    capture = Capture(redact=hide)
    capture.add_attempt(attempt(1, 429, wait_ms=100.0))
    capture.add_attempt(attempt(2, 503, wait_ms=200.0))
    capture.add_attempt(attempt(3, 200))

    assert capture.request_count == 1
    assert capture.retries == 2
    assert capture.rate_limited == 1
    [request] = capture.requests
    assert request.to_json() == {
        "method": "GET",
        "url": "https://api.test/items?key=***",
        "status": 200,
        "attempts": 3,
        "duration_ms": 330.0,  # three attempts of 10 ms and the waits between them
    }


def test_attempts_of_concurrent_threads_are_not_mixed() -> None:
    capture = Capture()
    first_waiting = threading.Event()
    second_done = threading.Event()

    def first() -> None:
        capture.add_attempt(attempt(1, 500, wait_ms=5.0))
        first_waiting.set()
        second_done.wait(5)
        capture.add_attempt(attempt(2, 200))

    def second() -> None:
        first_waiting.wait(5)
        capture.add_attempt(attempt(1, 404))
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert [(r.status, r.attempts) for r in capture.requests] == [(404, 1), (200, 2)]
    assert capture.retries == 1


def test_requests_past_the_limit_are_counted_not_held() -> None:
    capture = Capture(max_entries=1)
    capture.add_request(RequestEntry("GET", "/a", 200, 1, 1.0))
    capture.add_request(RequestEntry("GET", "/b", 200, 1, 1.0))
    capture.add_attempt(attempt(1, 200))

    assert capture.request_count == 3
    assert [r.url for r in capture.requests] == ["/a"]


def test_hooks_count_pages_and_note_pagination_stops() -> None:
    capture = Capture()
    capture.on_page(100)
    capture.on_page(7)
    capture.on_pagination_stop("empty page")

    assert (capture.pages, capture.page_items) == (2, 107)
    assert capture.pagination_stops == ["empty page"]


def test_a_printed_line_is_logged_and_returned_redacted() -> None:
    capture = Capture(redact=hide)
    assert capture.on_output("my tok-123") == "my ***"
    assert capture.shown("tok-123 again") == "*** again"
    assert [e.message for e in capture.logs] == ["(printed) my ***"]
    assert Capture().on_output("plain") == "plain"


def summary(model: str, *paths: str) -> ValidationSummary:
    found = ValidationSummary(model)
    for number, path in enumerate(paths):
        error = FieldError(path, f"bad {path}")
        found.add(InvalidRecord(model, {"id": str(number)}, [error]))
    return found


def test_invalid_records_of_one_model_are_merged_across_batches() -> None:
    capture = Capture()
    capture.on_invalid_records(summary("Issue", "number", "title"))
    capture.on_invalid_records(summary("Issue", "number", "number", "number"))
    capture.on_invalid_records(summary("Contact", "email"))

    issue = capture.invalid["Issue"]
    assert issue.invalid == 5
    assert issue.by_path == {"number": 4, "title": 1}
    assert issue.messages == {"number": "bad number", "title": "bad title"}
    assert len(issue.samples) == 3  # the first few only
    assert capture.invalid["Contact"].invalid == 1
