"""Retries and HTTP failures as a dry run reports them (real local server, fast waits)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli, FakeApi, Reply, closed_port_url, ok, run_json

ISSUE = {"id": 5, "number": 5, "url": "u", "title": "t"}


def test_429_with_retry_after_zero_then_200(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    fake_api.route("/one", Reply(429, {"message": "slow down"}, {"Retry-After": "0"}), ok(ISSUE))

    report = run_json(cli, project, "fetch-one", "conn-1")

    assert report["error"] is None
    assert report["batch_save"] == {"OneIssue": [{"id": "1", "number": 1, "title": "t"}]}
    (entry,) = report["requests"]
    assert entry["attempts"] == 2
    assert entry["status"] == 200
    assert len(fake_api.hits("/one")) == 2


def test_human_report_mentions_retries(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    fake_api.route("/one", Reply(429, {}, {"Retry-After": "0"}), ok(ISSUE))

    result = cli("dryrun", "fetch-one", "conn-1", cwd=project)

    assert "1 retries" in result.stdout
    assert "429" in result.stdout


def test_500_then_200_is_retried(cli: Cli, project: Path, fake_api: FakeApi, connect: Any) -> None:
    # github's catalog entry retries 403/429 only; notion keeps the default classes (5xx too)
    connect(PROVIDER="notion")
    fake_api.route("/one", Reply(500, {"error": "oops"}, {"Retry-After": "0"}), ok(ISSUE))

    report = run_json(cli, project, "fetch-one", "conn-1")

    assert report["error"] is None
    assert report["requests"][0]["attempts"] == 2
    assert report["requests"][0]["status"] == 200


def test_503_forever_fails_with_the_upstream_status_and_body(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    connect(PROVIDER="notion")
    fake_api.route("/one", Reply(503, {"error": "down for maintenance"}, {"Retry-After": "0"}))

    started = time.monotonic()
    report = run_json(cli, project, "fetch-one", "conn-1", expect=12)

    assert time.monotonic() - started < 2.0
    error = report["error"]
    assert error["type"] == "script_http_error"
    assert error["payload"]["status"] == 503
    assert error["payload"]["body"] == {"error": "down for maintenance"}
    assert report["requests"][0]["attempts"] == 4
    assert report["requests"][0]["status"] == 503
    assert len(fake_api.hits("/one")) == 4
    assert report["batch_save"] == {}


def test_503_human_report(cli: Cli, project: Path, fake_api: FakeApi, connect: Any) -> None:
    connect(PROVIDER="notion")
    fake_api.route("/one", Reply(503, "upstream is down", {"Retry-After": "0"}))

    result = cli("dryrun", "fetch-one", "conn-1", cwd=project, expect=12)

    assert "script_http_error" in result.stderr
    assert "503" in result.stderr
    assert "upstream is down" in result.stderr
    assert "Traceback" not in result.output


def test_a_non_retried_error_status_fails_at_once(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    fake_api.route("/missing", Reply(404, {"message": "Not Found"}))

    report = run_json(cli, project, "get-one", "conn-1", "-i", '{"path": "/missing"}', expect=12)

    assert report["error"]["type"] == "script_http_error"
    assert report["error"]["payload"]["status"] == 404
    assert report["error"]["payload"]["body"] == {"message": "Not Found"}
    assert report["requests"][0]["attempts"] == 1


def test_network_error_fails_with_script_http_error(cli: Cli, project: Path, connect: Any) -> None:
    connect(BASE_URL=closed_port_url())

    report = run_json(
        cli, project, "get-one", "conn-1", "-i", '{"path": "/one", "retries": 0}', expect=12
    )

    error = report["error"]
    assert error["type"] == "script_http_error"
    assert error["payload"]["status"] is None
    assert error["payload"]["attempts"] == 1
    assert report["requests"][0]["status"] is None


def test_network_errors_are_retried_then_fail(
    cli: Cli, project: Path, connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runtime.http.proxy

    monkeypatch.setattr(runtime.http.proxy, "_BACKOFF_BASE_S", 0.001)
    monkeypatch.setattr(runtime.http.proxy, "_BACKOFF_FLOOR_S", 0.0)
    connect(BASE_URL=closed_port_url())

    result = cli("dryrun", "fetch-one", "conn-1", "--json", cwd=project, expect=12)

    report = json.loads(result.stdout)
    assert report["error"]["type"] == "script_http_error"
    assert report["error"]["payload"]["attempts"] == 4
    assert report["requests"][0]["attempts"] == 4
    assert "script_http_error" in result.stderr
