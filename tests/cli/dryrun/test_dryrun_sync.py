"""`nango dryrun` of syncs against a real local HTTP server standing in for the provider."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import TOKEN, Cli, FakeApi, Reply, ok, run_json

REPORT_KEYS = {
    "type",
    "name",
    "integration",
    "batch_save",
    "batch_delete",
    "batch_update",
    "output",
    "logs",
    "requests",
    "error",
}
NEXT = '<{base}/repos/acme/app/issues?state=all&page=2>; rel="next", <{base}/x>; rel="last"'


def issue_pages(api: FakeApi) -> None:
    api.route(
        "/repos/acme/app/issues",
        ok(
            [
                {"id": 1, "number": 1, "title": "first", "extra": {"nested": [1, 2.5]}},
                {"id": 2, "number": 2, "title": "second", "body": "text"},
            ],
            Link=NEXT,
        ),
        ok([{"id": 3, "number": 18, "title": "third", "body": ""}]),
    )


def test_link_pagination_saves_every_record_exactly_as_produced(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    issue_pages(fake_api)

    result = cli("dryrun", "issues", "conn-1", "--json", cwd=project)

    report = json.loads(result.stdout)
    assert set(report) == REPORT_KEYS
    assert report["type"] == "sync"
    assert report["name"] == "issues"
    assert report["integration"] == "github"
    assert report["batch_save"] == {
        "Issue": [
            {"id": "1", "number": 1, "title": "first", "extra": {"nested": [1, 2.5]}},
            {"id": "2", "number": 2, "title": "second", "body": "text"},
            {"id": "3", "number": 18, "title": "third", "body": ""},
        ]
    }
    assert report["batch_delete"] == {}
    assert report["batch_update"] == {}
    assert report["output"] is None
    assert report["error"] is None
    # integers stay integers in the text itself, absent optionals stay absent
    assert '"number":18' in result.stdout.replace(" ", "")
    assert "18.0" not in result.stdout
    assert "body" not in report["batch_save"]["Issue"][0]
    numbers = [r["number"] for r in report["batch_save"]["Issue"]]
    assert all(type(n) is int for n in numbers)


def test_requests_are_reported_and_carry_the_credentials_which_are_never_printed(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    issue_pages(fake_api)

    report = run_json(cli, project, "issues", "conn-1")

    requests = report["requests"]
    assert len(requests) == 2
    for entry in requests:
        assert set(entry) == {"method", "url", "status", "attempts", "duration_ms"}
        assert entry["method"] == "GET"
        assert entry["status"] == 200
        assert entry["attempts"] == 1
        assert isinstance(entry["duration_ms"], int | float)
        assert entry["duration_ms"] >= 0
        assert entry["url"].startswith(fake_api.url + "/repos/acme/app/issues")
    assert "page=2" in requests[1]["url"]
    received = fake_api.hits("/repos/acme/app/issues")
    assert [r.query for r in received] == [{"state": ["all"]}, {"state": ["all"], "page": ["2"]}]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in received)


def test_human_report_shows_records_and_requests_without_the_token(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    issue_pages(fake_api)

    result = cli("dryrun", "issues", "conn-1", cwd=project)

    assert "Issue: would save 3 records" in result.stdout
    assert "2 requests" in result.stdout
    assert TOKEN not in result.output
    assert len(fake_api.requests) == 2


def test_cursor_pagination_from_the_script_settings(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    fake_api.route(
        "/crm/contacts",
        ok(
            {
                "results": [{"id": "a", "email": "a@x.io"}, {"id": "b", "email": "b@x.io"}],
                "paging": {"next": "cur-2"},
            }
        ),
        ok({"results": [{"id": "c", "email": "c@x.io"}], "paging": {}}),
    )

    report = run_json(cli, project, "contacts", "conn-1")

    assert report["error"] is None
    assert report["batch_save"] == {
        "Contact": [
            {"id": "a", "email": "a@x.io"},
            {"id": "b", "email": "b@x.io"},
            {"id": "c", "email": "c@x.io"},
        ]
    }
    received = fake_api.hits("/crm/contacts")
    assert [r.query for r in received] == [
        {"limit": ["2"]},
        {"limit": ["2"], "after": ["cur-2"]},
    ]
    assert len(report["requests"]) == 2


def test_a_text_html_body_reaches_the_script_as_text(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    html = "<html><body>Hello</body></html>"
    fake_api.route("/page", Reply(200, html.encode(), {"Content-Type": "text/html"}))

    report = run_json(cli, project, "pages", "conn-1")

    assert report["error"] is None
    assert report["batch_save"] == {"Page": [{"id": "1", "name": html}]}
    assert {"level": "info", "message": "type str"} in report["logs"]


def test_duplicate_ids_in_one_batch_keep_the_last_with_a_warning(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(cli, project, "dupes", "conn-1")

    records = report["batch_save"]["DupIssue"]
    assert len(records) == 2
    assert {"id": "1", "number": 1, "title": "last"} in records
    assert {"id": "2", "number": 2, "title": "other"} in records
    warnings = [e["message"] for e in report["logs"] if e["level"] == "warn"]
    assert len(warnings) == 1
    assert "duplicate" in warnings[0]
    assert "1" in warnings[0]


def test_duplicate_warning_is_in_the_human_report(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    result = cli("dryrun", "dupes", "conn-1", cwd=project)

    assert "DupIssue: would save 2 records" in result.stdout
    assert "duplicate" in result.output


# ----- invalid records


def test_invalid_records_without_validation_succeed_with_one_warning_per_model(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    result = cli("dryrun", "bad-records", "conn-1", cwd=project)

    warning_lines = [line for line in result.stderr.splitlines() if "do not match" in line]
    assert len(warning_lines) == 2, result.stderr
    issue_line = next(line for line in warning_lines if "BadIssue" in line)
    contact_line = next(line for line in warning_lines if "BadContact" in line)
    assert "2 of 3" in issue_line
    assert "number" in issue_line
    assert "1 of 2" in contact_line
    assert "email" in contact_line
    assert "do not match" not in result.stdout


def test_invalid_records_without_validation_are_kept_unchanged(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(cli, project, "bad-records", "conn-1")

    assert report["error"] is None
    assert report["batch_save"]["BadIssue"][0] == {"id": "1", "number": "one", "title": "a"}
    assert len(report["batch_save"]["BadIssue"]) == 3
    assert report["batch_save"]["BadContact"] == [{"id": "c1"}, {"id": "c2", "email": "x@y.z"}]


def test_json_mode_keeps_stdout_pure_and_warns_on_stderr(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    result = cli("dryrun", "bad-records", "conn-1", "--json", cwd=project)
    assert json.loads(result.stdout)["error"] is None
    assert len([line for line in result.stderr.splitlines() if "do not match" in line]) == 2


def test_invalid_records_with_validation_fail_with_a_report_by_field(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(cli, project, "bad-records", "conn-1", "--validation", expect=12)

    error = report["error"]
    assert error["type"] == "invalid_sync_record"
    payload = error["payload"]
    assert payload["model"] == "BadIssue"
    assert payload["invalid"] == 2
    by_path = payload["errors_by_path"]
    # grouped by the record's field path: `number`, not pydantic's union branches
    # (`number.int`, `number.float`)
    assert {key.split(":")[0] for key in by_path} == {"number"}, by_path
    assert [s["record"]["id"] for s in payload["first_records"]] == ["1", "3"]


def test_invalid_records_with_validation_human_report(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    result = cli("dryrun", "bad-records", "conn-1", "--validation", cwd=project, expect=12)

    assert "invalid_sync_record" in result.stderr
    assert "number" in result.stderr
    assert "Traceback" not in result.output


# ----- metadata, checkpoint, last sync date


def test_metadata_checkpoint_and_last_sync_date_flags(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(
        cli,
        project,
        "meta-sync",
        "conn-1",
        "-m",
        '{"owner": "octo", "repo": "app", "n": 5}',
        "-c",
        '{"page": 2, "cursor": "abc", "done": false}',
        "-l",
        "2024-01-01",
    )

    assert report["error"] is None
    messages = [e["message"] for e in report["logs"]]
    assert 'metadata {"owner":"octo","repo":"app","n":5}' in messages
    assert 'connection.metadata {"owner":"octo","repo":"app","n":5}' in messages
    assert 'checkpoint {"page":2,"cursor":"abc","done":false}' in messages
    assert "last_sync_date 2024-01-01T00:00:00+00:00 aware" in messages


def test_metadata_from_a_file_and_from_the_local_settings(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any, tmp_path: Path
) -> None:
    connect(METADATA='{"owner": "from-env"}')
    report = run_json(cli, project, "meta-sync", "conn-1")
    assert 'metadata {"owner":"from-env"}' in [e["message"] for e in report["logs"]]

    file = tmp_path / "meta.json"
    file.write_text('{"owner": "from-file"}', encoding="utf-8")
    report = run_json(cli, project, "meta-sync", "conn-1", "-m", f"@{file}")
    assert 'metadata {"owner":"from-file"}' in [e["message"] for e in report["logs"]]


def test_without_flags_metadata_checkpoint_and_last_sync_date_are_none(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(cli, project, "meta-sync", "conn-1")

    messages = [e["message"] for e in report["logs"]]
    assert "metadata null" in messages
    assert "checkpoint null" in messages
    assert "last_sync_date None naive" in messages


def test_set_metadata_and_save_checkpoint_are_captured_not_sent(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    result = cli("dryrun", "meta-sync", "conn-1", "-m", '{"owner": "o", "repo": "r"}', cwd=project)

    assert fake_api.requests == []
    assert "1 metadata writes captured (not sent)" in result.stdout
    assert "checkpoint saved 1 times" in result.stdout
    assert '"page": 3' in result.stdout


def test_last_sync_date_with_a_time_zone(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(cli, project, "meta-sync", "conn-1", "-l", "2024-03-05T10:20:30+02:00")

    assert "last_sync_date 2024-03-05T10:20:30+02:00 aware" in [
        e["message"] for e in report["logs"]
    ]


def test_bad_metadata_and_checkpoint_flags_fail_naming_the_flag(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    for flag, value, name in (
        ("-m", "{oops", "--metadata"),
        ("-c", "[1, 2", "--checkpoint"),
        ("-c", '{"nested": {"a": 1}}', "checkpoint"),
        ("-l", "yesterday", "--last-sync-date"),
    ):
        result = cli("dryrun", "meta-sync", "conn-1", flag, value, cwd=project, expect=12)
        assert name in result.stderr, (flag, value, result.stderr)
        assert "Traceback" not in result.output
    assert fake_api.requests == []
