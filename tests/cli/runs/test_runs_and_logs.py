"""`nango runs` and `nango logs` against a runtime served on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cli.client import RuntimeClient
from cli.runs import RunFilter, follow_logs
from cli.terminal.runs_report import counts_text, duration_text, when_text
from tests.cli.runs.conftest import Runtime
from tests.helpers import Cli


def test_runs_table_and_json(cli: Cli, runtime: Runtime, tmp_path: Path) -> None:
    task, token = runtime.run("issues")
    counts = {"Issue": {"added": 3, "updated": 1, "deleted": 0}}
    runtime.store.tasks.finish(task.id, token, "SUCCEEDED", counts=counts)
    failed, token = runtime.run("create-issue", kind="action")
    runtime.store.tasks.finish(failed.id, token, "FAILED", error={"type": "x", "message": "no"})
    table = cli("runs", cwd=tmp_path).stdout
    lines = table.splitlines()
    assert lines[0].split() == [
        "SCRIPT",
        "CONNECTION",
        "STATUS",
        "+ADDED",
        "~UPDATED",
        "-DELETED",
        "DURATION",
        "WHEN",
    ]
    assert lines[1].split()[:3] == ["github/create-issue", "acme", "FAILED"]
    assert lines[2].split()[:4] == ["github/issues", "acme", "SUCCEEDED", "+3"]
    body = json.loads(cli("runs", "--json", "-s", "issues", cwd=tmp_path).stdout)
    (run,) = body["runs"]
    assert run["script"] == "issues" and run["status"] == "SUCCEEDED" and run["counts"] == counts
    nobody = json.loads(cli("runs", "--json", "-c", "nobody", cwd=tmp_path).stdout)
    assert nobody == {"runs": []}


def test_logs_of_the_latest_run(cli: Cli, runtime: Runtime, tmp_path: Path) -> None:
    old, token = runtime.run("issues")
    runtime.store.logs.append(old.id, [("info", "old run")])
    runtime.store.tasks.finish(old.id, token, "SUCCEEDED")
    time.sleep(0.01)
    new, token = runtime.run("issues")
    runtime.store.logs.append(new.id, [("info", "fetching page 1"), ("warn", "slow [api]")])
    runtime.store.tasks.finish(new.id, token, "SUCCEEDED")
    result = cli("logs", "issues", "-c", "acme", cwd=tmp_path)
    lines = [line.split(" ", 1)[1] for line in result.stdout.splitlines()]
    assert lines == ["info  fetching page 1", "warn  slow [api]"]
    assert f"run {new.id}" in result.stderr
    as_json = [
        json.loads(x)
        for x in cli("logs", "issues", "-c", "acme", "--json", cwd=tmp_path).stdout.splitlines()
    ]
    assert [(x["run"], x["seq"], x["message"]) for x in as_json] == [
        (new.id, 1, "fetching page 1"),
        (new.id, 2, "slow [api]"),
    ]
    missing = cli("logs", "nope", "-c", "acme", cwd=tmp_path, expect=1)
    assert "No run of 'nope' for connection 'acme' yet" in missing.stderr


def test_follow_prints_new_lines_and_new_runs(runtime: Runtime) -> None:
    first, first_token = runtime.run("issues")
    runtime.store.logs.append(first.id, [("info", "one")])
    seen: list[str] = []
    following = threading.Event()

    def later() -> None:
        # only once the first run's line is shown: on a loaded machine the follower may start
        # late, and would then (rightly) follow the newest run only
        assert following.wait(60)
        runtime.store.logs.append(first.id, [("info", "two")])
        runtime.store.tasks.finish(first.id, first_token, "SUCCEEDED")
        time.sleep(0.2)
        second, _token = runtime.run("issues")
        runtime.store.logs.append(second.id, [("info", "three")])

    thread = threading.Thread(target=later)
    thread.start()
    with RuntimeClient(environment="dev") as client:
        lines = follow_logs(
            client,
            RunFilter(connection_id="acme", script="issues"),
            follow=True,
            poll_s=0.05,
            keep_going=lambda: "three" not in seen,
        )
        for entry in lines:
            seen.append(entry.message)
            following.set()
    thread.join()
    assert seen == ["one", "two", "three"]


@pytest.mark.parametrize(
    ("counts", "text"),
    [(None, ""), ({"A": {"added": 1, "updated": 2, "deleted": 3}, "B": {"added": 1}}, "+2 ~2 -3")],
)
def test_counts_text(counts: Any, text: str) -> None:
    assert counts_text(counts) == text


def test_durations_and_when() -> None:
    from datetime import UTC, datetime

    assert [duration_text(v) for v in (None, 12, 1500, 300_000)] == [
        "",
        "12 ms",
        "1.5 s",
        "5.0 min",
    ]
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert when_text("2024-05-01T11:59:30.000Z", now) == "30s ago"
    assert when_text("2024-05-01T11:00:00.000Z", now) == "1h ago"
    assert when_text("2024-04-01T11:00:00.000Z", now) == "2024-04-01 11:00"
