"""`nango dryrun` of actions: input, output, failures and time limits."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.helpers import TOKEN, Cli, FakeApi, Reply, run_json


def test_action_posts_its_body_and_reports_the_output(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    fake_api.route(
        "/repos/acme/app/issues",
        Reply(201, {"id": 7, "number": 12, "html_url": "https://gh/acme/app/issues/12"}),
    )

    report = run_json(cli, project, "create-issue", "conn-1", "-i", '{"title": "Hi ✓"}')

    assert report["type"] == "action"
    assert report["error"] is None
    assert report["output"] == {"id": "7", "number": 12, "url": "https://gh/acme/app/issues/12"}
    assert report["batch_save"] == {}
    (received,) = fake_api.requests
    assert received.method == "POST"
    assert received.json() == {"title": "Hi ✓"}
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
    assert report["requests"][0]["method"] == "POST"
    assert report["requests"][0]["status"] == 201


def test_action_human_report_shows_the_output(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    fake_api.route("/repos/acme/app/issues", Reply(201, {"id": 7, "number": 12, "html_url": "u"}))

    result = cli("dryrun", "create-issue", "conn-1", "-i", '{"title": "Hi"}', cwd=project)

    assert "output" in result.stdout
    assert '"number": 12' in result.stdout
    assert TOKEN not in result.output


def test_input_from_a_file(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any, tmp_path: Path
) -> None:
    file = tmp_path / "input.json"
    file.write_text('{"name": "from file"}', encoding="utf-8")

    report = run_json(cli, project, "echo", "conn-1", "-i", f"@{file}")

    assert report["output"] == {"value": "hello from file"}


def test_bad_input_json_fails_naming_the_flag_without_traceback(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any, tmp_path: Path
) -> None:
    result = cli("dryrun", "echo", "conn-1", "-i", "{name: nope", cwd=project, expect=12)
    assert "--input" in result.stderr
    assert "Traceback" not in result.output

    missing = tmp_path / "missing.json"
    result = cli("dryrun", "echo", "conn-1", "-i", f"@{missing}", cwd=project, expect=12)
    assert "--input" in result.stderr
    assert "missing.json" in result.stderr
    assert "Traceback" not in result.output


def test_action_error_gives_its_payload(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(cli, project, "fail", "conn-1", expect=12)

    assert report["error"]["type"] == "action_script_failure"
    assert report["error"]["payload"] == {"reason": "x"}
    assert report["output"] is None


def test_action_error_human_report(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    result = cli("dryrun", "fail", "conn-1", cwd=project, expect=12)

    assert "action_script_failure" in result.stderr
    assert '"reason": "x"' in result.stderr
    assert "Traceback" not in result.output


def test_an_exception_is_an_internal_error_with_only_the_scripts_frames(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(cli, project, "boom", "conn-1", expect=12)

    error = report["error"]
    assert error["type"] == "script_internal_error"
    assert "ValueError" in error["message"]
    assert "bad value zz" in error["message"]
    payload = error["payload"]
    assert payload["name"] == "ValueError"
    frames = payload["stacktrace"]
    assert len(frames) == 2, frames
    assert all(frame.startswith("boom.py:") for frame in frames), frames
    assert "in run_action" in frames[0]
    assert "in helper" in frames[1]
    assert 'raise ValueError("bad value " + value)' in frames[1]


def test_a_script_past_its_time_limit_is_stopped(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    started = time.monotonic()
    report = run_json(cli, project, "slow", "conn-1", "--timeout", "0.5", expect=12)
    elapsed = time.monotonic() - started

    assert elapsed < 3.0
    error = report["error"]
    assert error["type"] == "script_internal_error"
    assert "0.5 s" in error["message"]
    assert "did not finish" in error["message"]


def test_timeout_in_the_human_report(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    result = cli("dryrun", "slow", "conn-1", "--timeout", "0.5", cwd=project, expect=12)

    assert "script_internal_error" in result.stderr
    assert "0.5 s" in result.stderr


def test_invalid_output_warns_without_validation(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    result = cli("dryrun", "bad-output", "conn-1", cwd=project)

    assert "IssueOut" in result.stderr
    assert "--validation" in result.stderr
    assert '"not a number"' in result.stdout


def test_invalid_output_fails_with_validation(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(cli, project, "bad-output", "conn-1", "--validation", expect=12)

    assert report["error"]["type"] == "invalid_action_output"
    assert "number" in json.dumps(report["error"]["payload"])
    # the output is still reported as the script returned it
    assert report["output"] == {"id": "1", "number": "not a number", "url": "u"}


def test_invalid_input_fails_with_validation(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(
        cli, project, "echo", "conn-1", "-i", '{"name": 5}', "--validation", expect=12
    )

    error = report["error"]
    assert error["type"] == "invalid_action_input"
    assert "name" in json.dumps(error["payload"])
    assert report["output"] is None


def test_missing_input_fails_with_validation(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    report = run_json(cli, project, "echo", "conn-1", "--validation", expect=12)

    assert report["error"]["type"] == "invalid_action_input"


def test_a_text_body_reaches_an_action_as_text(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    fake_api.route("/page", Reply(200, b"<p>hi</p>", {"Content-Type": "text/html; charset=utf-8"}))

    report = run_json(cli, project, "get-text", "conn-1")

    assert report["output"] == {"value": "str:<p>hi</p>"}
