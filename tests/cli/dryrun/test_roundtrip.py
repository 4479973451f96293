"""Record with `--save` against the live (local) API, stop it, then `--replay` and `nango test`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TOKEN, Cli, FakeApi, Reply, ok

NEXT = '<{base}/repos/acme/app/issues?state=all&page=2>; rel="next"'
ISSUES = [
    [
        {"id": 1, "number": 1, "title": "first", "extra": {"k": [1, 2]}},
        {"id": 2, "number": 2, "title": "second", "body": "b"},
    ],
    [{"id": 3, "number": 3, "title": "third"}],
]
CREATED = {"id": 70, "number": 12, "html_url": "https://gh/acme/app/issues/12"}


def report_of(cli: Cli, root: Path, *args: str, expect: int = 0) -> dict[str, Any]:
    result = cli("dryrun", *args, "--json", cwd=root, expect=expect)
    assert TOKEN not in result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture
def recorded(cli: Cli, project: Path, fake_api: FakeApi, connect: Any) -> dict[str, Any]:
    """Record `issues` and `create-issue` against the fake API, then stop the API."""
    fake_api.route(
        "/repos/acme/app/issues",
        ok(ISSUES[0], Link=NEXT, Set_Cookie="sid=cookie-s3cr3t"),
        ok(ISSUES[1]),
    )
    sync = report_of(cli, project, "issues", "conn-1", "--save")
    fake_api.route("/repos/acme/app/issues", Reply(201, CREATED))
    action = report_of(cli, project, "create-issue", "conn-1", "-i", '{"title": "Hi"}', "--save")
    fake_api.stop()
    return {"sync": sync, "action": action, "requests": list(fake_api.requests)}


def fixture_file(project: Path, name: str) -> Path:
    return project / "github" / "tests" / f"{name}.test.json"


def test_save_writes_unified_fixtures_without_secrets(
    project: Path, recorded: dict[str, Any]
) -> None:
    assert recorded["sync"]["error"] is None
    assert recorded["action"]["error"] is None
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in recorded["requests"])
    for name in ("issues", "create-issue"):
        path = fixture_file(project, name)
        assert path.is_file()
        text = path.read_text(encoding="utf-8")
        assert TOKEN not in text
        assert "cookie-s3cr3t" not in text
        document = json.loads(text)
        assert {"nango", "api"} <= set(document)
        for entries in document["api"].values():
            for entry in entries.values():
                for item in entry if isinstance(entry, list) else [entry]:
                    assert {"response", "status", "headers", "hash", "request"} <= set(item)
                    for name_, value in item["request"].get("headers", {}).items():
                        if name_.lower() == "authorization":
                            assert value == "[REDACTED]"


def test_saved_sync_fixture_holds_records_and_pages(
    project: Path, recorded: dict[str, Any]
) -> None:
    document = json.loads(fixture_file(project, "issues").read_text(encoding="utf-8"))

    assert document["nango"]["batchSave"] == recorded["sync"]["batch_save"]
    assert document["nango"]["getConnection"]["connectionId"] == "conn-1"
    get = document["api"]["get"]
    entries = [i for e in get.values() for i in (e if isinstance(e, list) else [e])]
    assert len(entries) == 2
    assert sorted(json.dumps(e["response"]) for e in entries) == sorted(
        json.dumps(page) for page in ISSUES
    )


def test_saved_action_fixture_holds_input_and_output(
    project: Path, recorded: dict[str, Any]
) -> None:
    document = json.loads(fixture_file(project, "create-issue").read_text(encoding="utf-8"))

    assert document["input"] == {"title": "Hi"}
    assert document["output"] == {"id": "70", "number": 12, "url": CREATED["html_url"]}
    (entry,) = document["api"]["post"].values()
    assert entry["request"]["data"] == {"title": "Hi"}
    assert entry["status"] == 201


def test_replay_gives_the_same_records_and_output_without_network(
    cli: Cli,
    project: Path,
    recorded: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    no_network: None,
) -> None:
    for name in ("ACCESS_TOKEN", "BASE_URL"):
        monkeypatch.delenv(f"NANGO_LOCAL_GITHUB_{name}")

    sync = report_of(cli, project, "issues", "conn-1", "--replay")
    action = report_of(cli, project, "create-issue", "conn-1", "--replay")

    assert sync["error"] is None
    assert sync["batch_save"] == recorded["sync"]["batch_save"]
    assert len(sync["batch_save"]["Issue"]) == 3
    assert action["error"] is None
    assert action["output"] == recorded["action"]["output"]


def test_replay_with_the_recorded_input_given_explicitly(
    cli: Cli, project: Path, recorded: dict[str, Any]
) -> None:
    action = report_of(cli, project, "create-issue", "c", "--replay", "-i", '{"title": "Hi"}')

    assert action["output"] == recorded["action"]["output"]


def test_nango_test_passes_on_fresh_recordings(
    cli: Cli, project: Path, recorded: dict[str, Any], no_network: None
) -> None:
    result = cli("test", cwd=project)

    assert "2 passed, 0 failed" in result.stdout
    assert "github/issues" in result.stdout
    assert "github/create-issue" in result.stdout


def test_nango_test_fails_on_an_edited_record_and_shows_the_difference(
    cli: Cli, project: Path, recorded: dict[str, Any]
) -> None:
    path = fixture_file(project, "issues")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["nango"]["batchSave"]["Issue"][1]["title"] = "EDITED TITLE"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    result = cli("test", cwd=project, expect=1)

    assert "1 passed, 1 failed" in result.stdout
    assert "id 2 differs" in result.stdout
    assert "EDITED TITLE" in result.stdout
    assert "second" in result.stdout


def test_nango_test_fails_on_an_edited_output(
    cli: Cli, project: Path, recorded: dict[str, Any]
) -> None:
    path = fixture_file(project, "create-issue")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["output"]["number"] = 13
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    result = cli("test", "create-issue", cwd=project, expect=1)

    assert "the output differs" in result.stdout
    assert "13" in result.stdout
    assert "0 passed, 1 failed" in result.stdout


def test_save_implies_validation(cli: Cli, project: Path, fake_api: FakeApi, connect: Any) -> None:
    report = report_of(cli, project, "bad-records", "conn-1", "--save", expect=12)

    assert report["error"]["type"] == "invalid_sync_record"


def test_replay_of_an_unrecorded_request_names_the_closest_and_the_difference(
    cli: Cli, project: Path, recorded: dict[str, Any]
) -> None:
    report = report_of(
        cli, project, "create-issue", "conn-1", "--replay", "-i", '{"title": "Other"}', expect=12
    )

    error = report["error"]
    text = error["message"]
    assert "No recorded response" in text
    assert "Closest recorded" in text
    assert "/repos/acme/app/issues" in text
    assert "Hi" in text
    assert "Other" in text
    assert report["output"] is None


def test_unrecorded_request_in_the_human_report(
    cli: Cli, project: Path, recorded: dict[str, Any]
) -> None:
    result = cli(
        "dryrun",
        "create-issue",
        "c",
        "--replay",
        "-i",
        '{"title": "Other"}',
        cwd=project,
        expect=12,
    )

    assert "Closest recorded" in result.stderr
    assert "Traceback" not in result.output


def test_nango_test_reports_a_run_that_needs_an_unrecorded_request(
    cli: Cli, project: Path, recorded: dict[str, Any]
) -> None:
    path = fixture_file(project, "issues")
    document = json.loads(path.read_text(encoding="utf-8"))
    pages = document["api"]["get"]["/repos/acme/app/issues"]
    document["api"]["get"]["/repos/acme/app/issues"] = pages[0]
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    result = cli("test", "issues", cwd=project, expect=1)

    assert "the run failed" in result.stdout
    assert "No recorded response" in result.stdout
    assert "0 passed, 1 failed" in result.stdout


def test_nango_test_without_fixtures_warns(cli: Cli, project: Path) -> None:
    result = cli("test", cwd=project)

    assert "no recorded fixtures" in result.stderr
    assert "0 passed, 0 failed" in result.stdout
