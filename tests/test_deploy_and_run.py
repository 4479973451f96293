"""Issue 8's user story, end to end with real processes: `nango runtime start` in a terminal
of its own, the `nango init` example with the printed key in `.env`, `nango integration
create` pointing `github` at a fake API on 127.0.0.1, `nango deploy dev`, a connection, the
sync's runs (its first by auto-start, the next one triggered), the records read with `GET
/records` and `nango runs`, one changed issue read as exactly one UPDATED record, and a sync
removed from nango.yaml: refused without `--allow-destructive`, applied with it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FakeApi, ok
from tests.runtime.server.test_node_client import node_client
from tests.runtime_harness import wait_until
from tests.user_story import Terminal, nango, records, runtime_terminal

pytestmark = pytest.mark.slow

TOKEN = "gho_user_story_token_7c1"
ISSUES = "/repos/octocat/hello-world/issues"
METADATA = {"owner": "octocat", "repo": "hello-world"}


def issue(number: int, title: str | None = None) -> dict[str, Any]:
    return {
        "id": 1000 + number,
        "number": number,
        "title": title or f"Issue {number}",
        "state": "open",
        "user": {"login": "octocat"},
        "labels": [{"name": "bug"}],
        "html_url": f"https://github.com/octocat/hello-world/issues/{number}",
        "body": None,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-02T00:00:00Z",
    }


@pytest.fixture
def fake_github() -> Iterator[FakeApi]:
    api = FakeApi()
    api.route(ISSUES, ok([issue(1), issue(2), issue(3)]))
    api.start()
    yield api
    api.stop()


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    with runtime_terminal(tmp_path / "runtime-data") as started:
        yield started


@pytest.fixture
def project(tmp_path: Path, terminal: Terminal, fake_github: FakeApi) -> Path:
    """The example project, its `.env` holding the printed lines, deployed to `dev` with its
    integration pointing at the fake API, and connection `acme`."""
    nango("init", "demo", cwd=tmp_path)
    project = tmp_path / "demo"
    terminal.copy_env_into(project)
    nango(
        "integration", "create", "github", "--provider", "github", "--client-id", "Iv1.demo",
        "--client-secret", "-", "--base-url", fake_github.url, cwd=project, input="s3cr3t\n",
    )  # fmt: skip
    deployed = nango("deploy", "dev", cwd=project)
    assert "- issues@v1" in deployed.stdout and "- create-issue@v1" in deployed.stdout
    nango(
        "connection", "create", "github", "acme", "--credentials",
        json.dumps({"type": "OAUTH2", "access_token": TOKEN}), "--metadata", json.dumps(METADATA),
        cwd=project,
    )  # fmt: skip
    return project


def runs(project: Path, *args: str) -> list[dict[str, Any]]:
    shown = nango("runs", "-s", "issues", "--json", *args, cwd=project)
    found: list[dict[str, Any]] = json.loads(shown.stdout)["runs"]
    return found


def test_deploy_sync_read_change_and_remove(
    project: Path, terminal: Terminal, fake_github: FakeApi
) -> None:
    # the first run: started by the schedule (auto_start) once the connection exists
    (first,) = runs(project, "--wait", "120")
    assert first["status"] == "SUCCEEDED", terminal.output()
    assert first["connection_id"] == "acme"
    assert first["counts"] == {"GithubIssue": {"added": 3, "updated": 0, "deleted": 0}}
    assert fake_github.hits(ISSUES)[0].headers["authorization"] == f"Bearer {TOKEN}"
    with terminal.client() as client:
        page = records(client, "GithubIssue")
        assert sorted(r["title"] for r in page["records"]) == ["Issue 1", "Issue 2", "Issue 3"]
        before = {r["id"]: r["_nango_metadata"] for r in page["records"]}
        assert {m["last_action"] for m in before.values()} == {"ADDED"}

        # one issue changes upstream; a backend triggers the sync
        fake_github.route(ISSUES, ok([issue(1), issue(2, "Changed"), issue(3)]))
        trigger = {"syncs": ["issues"], "provider_config_key": "github", "connection_id": "acme"}
        assert client.post("/sync/trigger", json=trigger).json() == {"success": True}
        wait_until(lambda: len(runs(project)) == 2, timeout=120, every=1)
        second, _ = runs(project, "--wait", "120")
        assert second["status"] == "SUCCEEDED", terminal.output()
        after = {r["id"]: r for r in records(client, "GithubIssue")["records"]}
        assert after["1002"]["title"] == "Changed"
        assert after["1002"]["_nango_metadata"]["last_action"] == "UPDATED"
        for untouched in ("1001", "1003"):
            assert after[untouched]["_nango_metadata"] == before[untouched]
        assert second["counts"] == {"GithubIssue": {"added": 0, "updated": 1, "deleted": 0}}
        assert second["trigger"] is not None and second["run_type"] == "INCREMENTAL"
        paged = records(client, "GithubIssue", limit=2)
        rest = records(client, "GithubIssue", limit=2, cursor=paged["next_cursor"])
        assert len(paged["records"]) == 2 and len(rest["records"]) == 1
        assert rest["next_cursor"] is None

    table = nango("runs", cwd=project).stdout
    assert "github/issues" in table and "+0 ~1 -0" in table and "+3 ~0 -0" in table
    logs = nango("logs", "issues", "-c", "acme", cwd=project).stdout
    assert "run succeeded" in logs and TOKEN not in logs

    _remove_the_sync(project, terminal)


def _remove_the_sync(project: Path, terminal: Terminal) -> None:
    config = project / "nango.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text[: text.index("    syncs:")] + text[text.index("    actions:") :])
    refused = nango("deploy", "dev", cwd=project, expect=11, CI="true")
    assert "  - github → issues (1 impacted connection)" in refused.stdout
    assert "--allow-destructive" in refused.stderr
    with terminal.client() as client:
        assert len(records(client, "GithubIssue")["records"]) == 3  # nothing changed
    nango("deploy", "dev", "--auto-confirm", "--allow-destructive", cwd=project, CI="true")
    with terminal.client() as client:
        status = client.get(
            "/sync/status",
            params={"syncs": "issues", "provider_config_key": "github", "connection_id": "acme"},
        )
        assert status.status_code == 404 or status.json().get("syncs") == [], status.text
        gone = client.get(
            "/records",
            params={"model": "GithubIssue"},
            headers={"Connection-Id": "acme", "Provider-Config-Key": "github"},
        )
        assert gone.status_code != 200 or gone.json()["records"] == [], gone.text


def test_nangos_node_client_drives_deployed_scripts(
    project: Path, terminal: Terminal, fake_github: FakeApi
) -> None:
    """`@nangohq/node` 0.71.10: connections, an action's output and its ActionError, a sync
    triggered and its status, pause and start, records filtered, a connection deleted."""
    package = node_client()
    runs(project, "--wait", "120")  # the auto-started first run
    fake_github.route(ISSUES, ok([issue(1), issue(2, "Changed"), issue(3)]))
    fake_github.route("/repos/acme/app/issues", ok({"id": 77, "number": 7, "html_url": "u/7"}))
    script = Path(__file__).parent / "runtime" / "server" / "node_runs.js"
    done = subprocess.run(
        ["node", str(script), str(package)],
        env={**os.environ, "RUNTIME_URL": terminal.url, "RUNTIME_KEY": terminal.key},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr + terminal.output()
    seen = json.loads(done.stdout)
    assert seen["connections"] == [["acme", "github"]]
    assert seen["connection"] == {"id": "acme", "metadata": METADATA, "token": TOKEN}
    assert seen["token"] == TOKEN
    assert seen["action"] == {"id": "77", "number": 7, "url": "u/7"}
    assert seen["actionError"]["status"] == 500
    assert seen["actionError"]["data"]["error"]["code"] == "action_script_failure"
    assert seen["actionError"]["data"]["error"]["payload"] == {"message": "title must not be empty"}
    assert seen["unknownAction"]["status"] == 404
    assert seen["status"] == {
        "type": "INCREMENTAL",
        "recordCount": {"GithubIssue": 3},
        "latestResult": {"GithubIssue": {"added": 0, "updated": 1, "deleted": 0}},
        "frequency": "every hour",
    }
    assert seen["updated"] == ["1002"] and seen["added"] == ["1001", "1003"]
    assert seen["paused"] == "PAUSED"
    assert seen["started"] in ("SUCCESS", "RUNNING")  # Nango's: the last run's, once started
    assert seen["badSync"]["status"] in (400, 404)
    assert seen["afterDelete"] == 0
