"""The `--json` report written from what a run captured: records streamed a batch at a time,
exactly as encoded, with every secret redacted wherever it appears."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from cli.dryrun.report import DryRunReport
from cli.project import ScriptRef
from cli.terminal.dryrun_report import write_json_report
from runtime.backends.capture import Capture, RequestEntry
from runtime.redaction import REDACTED, Redactor
from runtime.sdk.values import encode

SECRET = "sk_live/0123+456789=abc"


@pytest.fixture
def capture() -> Iterator[Capture]:
    spooled = Capture(keep_all=True)
    yield spooled
    spooled.close()


def report_of(capture: Capture, *secrets: str) -> DryRunReport:
    script = ScriptRef("github", "sync", "issues", Path("github/syncs/issues.py"))
    return DryRunReport(script, capture, redactor=Redactor(secrets))


def save(capture: Capture, model: str, records: list[Any], kind: str = "save") -> None:
    capture.add_records(kind, model, records, encode(records))


def text_of(report: DryRunReport) -> bytes:
    return b"".join(report.json_chunks())


def test_records_of_every_batch_model_and_kind_in_order(capture: Capture) -> None:
    save(capture, "Issue", [{"id": "1", "n": 18}, {"id": "2", "x": 2.5}])
    save(capture, "User", [{"id": "u"}])
    save(capture, "Issue", [{"id": "3", "t": "é\n"}])
    save(capture, "Issue", [{"id": "1"}], kind="delete")
    capture.add_log("info", "hello")
    capture.add_request(RequestEntry("GET", "http://x/issues", 200, 1, 12.34))

    text = text_of(report_of(capture))

    assert json.loads(text) == {
        "type": "sync",
        "name": "issues",
        "integration": "github",
        "batch_save": {
            "Issue": [{"id": "1", "n": 18}, {"id": "2", "x": 2.5}, {"id": "3", "t": "é\n"}],
            "User": [{"id": "u"}],
        },
        "batch_delete": {"Issue": [{"id": "1"}]},
        "batch_update": {},
        "output": None,
        "logs": [{"level": "info", "message": "hello"}],
        "requests": [
            {
                "method": "GET",
                "url": "http://x/issues",
                "status": 200,
                "attempts": 1,
                "duration_ms": 12.3,
            }
        ],
        "error": None,
    }
    assert b'"n":18}' in text
    assert '"t":"é\\n"'.encode() in text


def test_a_run_without_records_has_empty_objects(capture: Capture) -> None:
    text = text_of(report_of(capture))

    assert json.loads(text)["batch_save"] == {}
    assert b'"batch_save":{},"batch_delete":{},"batch_update":{}' in text


@pytest.mark.parametrize(
    "form",
    [SECRET, quote(SECRET, safe=""), base64.b64encode(SECRET.encode()).decode().rstrip("=")],
)
def test_a_secret_in_records_logs_or_requests_is_redacted(capture: Capture, form: str) -> None:
    save(capture, "Issue", [{"id": "1", "body": f"token={form}!"}, {"id": "2"}])
    save(capture, "Issue", [{"id": "3", form: "as a key"}])
    capture.add_log("info", f"got {form}")
    capture.add_request(RequestEntry("GET", f"http://x/?key={form}", 200, 1, 1.0))

    text = text_of(report_of(capture, SECRET))

    assert form.encode() not in text
    report = json.loads(text)
    assert report["batch_save"]["Issue"][0]["body"] == f"token={REDACTED}!"
    assert report["batch_save"]["Issue"][2] == {"id": "3", REDACTED: "as a key"}
    assert report["logs"][0]["message"] == f"got {REDACTED}"


def test_without_a_secret_in_them_the_records_are_written_untouched(capture: Capture) -> None:
    records = [{"id": str(i), "t": SECRET[:-1]} for i in range(50)]
    save(capture, "Issue", records)

    with_secrets = text_of(report_of(capture, SECRET, "another-secret"))

    assert with_secrets == text_of(report_of(capture))


def test_write_json_report_prints_the_report_as_one_line(
    capture: Capture, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    for start in range(0, 30, 10):
        save(capture, "Issue", [{"id": str(i)} for i in range(start, start + 10)])
    report = report_of(capture, SECRET)

    write_json_report(report)

    out = capsysbinary.readouterr().out
    assert out.endswith(b"}\n") and out.count(b"\n") == 1
    assert [r["id"] for r in json.loads(out)["batch_save"]["Issue"]] == [str(i) for i in range(30)]
