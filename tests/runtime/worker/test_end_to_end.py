"""End to end, with real processes: a runtime (API + worker, children per run) on 127.0.0.1,
the `nango init` example deployed with `nango deploy`, and a fake provider API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.store import Store, open_store, sqlite_url
from tests.helpers import TOKEN, Cli, FakeApi, ok
from tests.runtime_harness import DEV_KEY, RuntimeProcess, runtime_process, wait_until

pytestmark = pytest.mark.slow

ENCRYPTION_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
REPO_ISSUES = "/repos/octocat/hello-world/issues"


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


@dataclass
class Setup:
    runtime: RuntimeProcess
    store: Store
    api: FakeApi
    project: Path
    environment_id: int
    connection_id: int


@pytest.fixture
def setup(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    api = FakeApi()
    api.route(REPO_ISSUES, ok([issue(1), issue(2), issue(3)]))
    api.route("/repos/acme/app/issues", ok({"id": 77, "number": 7, "html_url": "https://x/7"}))
    api.start()
    data = tmp_path / "data"
    data.mkdir()
    url = sqlite_url(data / "nango.db")
    settings = {"lease_seconds": 5, "action_timeout_s": 20}
    with runtime_process(data, url, settings=settings) as runtime:
        store = open_store(url, encryption_key=ENCRYPTION_KEY)
        monkeypatch.setenv("NANGO_HOSTPORT", runtime.url)
        monkeypatch.setenv("NANGO_SECRET_KEY_DEV", DEV_KEY)
        cli("init", str(tmp_path / "demo"), cwd=tmp_path)
        project = tmp_path / "demo"
        cli("deploy", "dev", cwd=project)
        environment = store.environments.get("dev")
        assert environment is not None
        store.integrations.update(environment.id, "github", base_url_override=api.url)
        connection, _ = store.connections.upsert(
            environment.id,
            "github",
            "acme",
            credentials={"type": "OAUTH2", "access_token": TOKEN},
            metadata={"owner": "octocat", "repo": "hello-world"},
        )
        yield Setup(runtime, store, api, project, environment.id, connection.id)
        store.close()
    api.stop()


def sync_runs(setup: Setup) -> list[Any]:
    return setup.store.tasks.list_runs(setup.environment_id, name="issues", kinds=["sync"])


def wait_for_runs(setup: Setup, count: int) -> list[Any]:
    def finished() -> list[Any] | None:
        runs = [r for r in sync_runs(setup) if r.is_done]
        return runs if len(runs) >= count else None

    found: list[Any] = wait_until(finished, timeout=60)
    return found


def test_sync_runs_store_records_and_a_change_reads_as_one_update(setup: Setup) -> None:
    with setup.runtime.client() as client:
        body = {"syncs": ["issues"], "provider_config_key": "github", "connection_id": "acme"}
        assert client.post("/sync/trigger", json=body).json() == {"success": True}
        (first,) = wait_for_runs(setup, 1)
        assert first.state == "SUCCEEDED", (first.error, setup.runtime.output())
        assert first.counts == {"GithubIssue": {"added": 3, "updated": 0, "deleted": 0}}
        page = setup.store.records.list_page(setup.connection_id, "GithubIssue")
        assert sorted(r["title"] for r in page.records) == ["Issue 1", "Issue 2", "Issue 3"]
        before = {r["id"]: r["_nango_metadata"]["last_modified_at"] for r in page.records}
        (hit,) = setup.api.hits(REPO_ISSUES)[:1]
        assert hit.headers["authorization"] == f"Bearer {TOKEN}"

        setup.api.route(REPO_ISSUES, ok([issue(1), issue(2, "Changed"), issue(3)]))
        assert client.post("/sync/trigger", json=body).status_code == 200
        second = wait_for_runs(setup, 2)[0]
        assert second.state == "SUCCEEDED"
        assert second.counts == {"GithubIssue": {"added": 0, "updated": 1, "deleted": 0}}
        assert second.run_type == "INCREMENTAL"
        after = setup.store.records.list_page(setup.connection_id, "GithubIssue").records
        changed = {r["id"]: r["_nango_metadata"] for r in after}
        assert changed["1002"]["last_action"] == "UPDATED"
        assert [changed[i]["last_modified_at"] for i in ("1001", "1003")] == [
            before["1001"],
            before["1003"],
        ]
        params = {"syncs": "issues", "provider_config_key": "github", "connection_id": "acme"}

        def settled() -> dict[str, Any] | None:
            # a scheduled run (auto_start) may start beside the triggered ones: wait it out
            (found,) = client.get("/sync/status", params=params).json()["syncs"]
            return None if found["status"] == "RUNNING" else dict(found)

        entry: dict[str, Any] = wait_until(settled, timeout=60)
        assert entry["status"] == "SUCCESS" and entry["type"] == "INCREMENTAL"
        assert entry["recordCount"] == {"GithubIssue": 3}
        # the triggered run's result, or a scheduled run's after it (nothing changed by then)
        assert entry["latestResult"] in (
            {"GithubIssue": {"added": 0, "updated": 1, "deleted": 0}},
            {"GithubIssue": {"added": 0, "updated": 0, "deleted": 0}},
        )
        assert entry["frequency"] == "every hour" and entry["latestExecutionStatus"] == "SUCCESS"
        logs = client.get(f"/runtime/runs/{second.id}/logs").json()
        assert any("run succeeded" in line["message"] for line in logs["logs"])
        assert TOKEN not in str(logs)


def test_actions_answer_as_nango(setup: Setup) -> None:
    headers = {"Connection-Id": "acme", "Provider-Config-Key": "github"}
    with setup.runtime.client() as client:
        good = {
            "action_name": "create-issue",
            "input": {"owner": "acme", "repo": "app", "title": "Hi"},
        }
        answer = client.post("/action/trigger", json=good, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"id": "77", "number": 7, "url": "https://x/7"}
        blank = {"action_name": "create-issue", "input": {"owner": "a", "repo": "b", "title": " "}}
        failed = client.post("/action/trigger", json=blank, headers=headers)
        assert failed.status_code == 500
        assert failed.json()["error"]["code"] == "action_script_failure"
        assert failed.json()["error"]["payload"] == {"message": "title must not be empty"}
        setup.api.route("/repos/acme/broken/issues", ok({"message": "Validation Failed"}))
        setup.api.routes["/repos/acme/broken/issues"][0].status = 422
        broken = dict(good, input={"owner": "acme", "repo": "broken", "title": "x"})
        upstream = client.post("/action/trigger", json=broken, headers=headers)
        assert upstream.status_code == 424
        assert upstream.json()["error"]["code"] == "script_http_error"
        assert upstream.json()["error"]["upstream"]["status"] == 422
        assert upstream.json()["error"]["upstream"]["body"] == {"message": "Validation Failed"}
        unknown = client.post("/action/trigger", json={"action_name": "nope"}, headers=headers)
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
        stranger = dict(headers, **{"Connection-Id": "nobody"})
        missing = client.post("/action/trigger", json=good, headers=stranger)
        assert missing.status_code == 400
        assert missing.json()["error"]["code"] == "unknown_connection"
