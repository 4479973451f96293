"""The deploy, sync, action and run routes in-process: Nango's answers and errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from runtime.deploy.apply import apply_deploy
from runtime.deploy.wire import DeployRequest
from runtime.server.app import create_app
from runtime.server.routes.actions import action_answer
from runtime.settings import RuntimeSettings
from runtime.store import Store
from tests.runtime.deploy.conftest import action_flow, sync_flow
from tests.runtime.store.conftest import World
from tests.runtime_harness import DEV_KEY, serve_in_thread

SYNC_BODY = {"syncs": ["issues"], "provider_config_key": "github", "connection_id": "acme"}
ACTION_HEADERS = {"Connection-Id": "acme", "Provider-Config-Key": "github"}


def request_of(*flows: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "flowConfigs": list(flows),
        "sdkVersion": "0.1.0-py",
        "project": {"models": "# models\n"},
        **fields,
    }


@pytest.fixture
def client(world: World, tmp_path: Any) -> Iterator[httpx.Client]:
    world.store.environments.ensure("dev", secret_key=DEV_KEY)
    app = create_app(RuntimeSettings(data_dir=tmp_path, action_timeout_s=5), world.store)
    with (
        serve_in_thread(app) as url,
        httpx.Client(
            base_url=url, headers={"authorization": f"Bearer {DEV_KEY}"}, timeout=30
        ) as test_client,
    ):
        yield test_client


def deploy(world: World, *flows: dict[str, Any]) -> None:
    apply_deploy(
        world.store, world.environment_id, DeployRequest.model_validate(request_of(*flows))
    )


# --- deploy --------------------------------------------------------------------------------------


def test_deploy_routes(client: httpx.Client, world: World) -> None:
    body = request_of(sync_flow("issues"), action_flow("create-issue"))
    plan = client.post("/sync/deploy/confirmation", json=body)
    assert plan.status_code == 200
    assert [s["name"] for s in plan.json()["newSyncs"]] == ["issues"]
    assert plan.json()["newSyncs"][0]["connections"] == 1
    done = client.post("/sync/deploy", json=body)
    assert done.status_code == 200
    assert [(r["name"], r["version"], r["type"]) for r in done.json()] == [
        ("issues", "1", "sync"),
        ("create-issue", "1", "action"),
    ]
    refused = client.post("/sync/deploy", json=request_of(action_flow("create-issue")))
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "destructive_deploy_not_confirmed"
    unknown = client.post(
        "/sync/deploy", json=request_of(sync_flow("x", providerConfigKey="not-a-provider"))
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_provider_config"


def test_deploy_bodies_are_validated_and_need_the_key(client: httpx.Client) -> None:
    bad = client.post("/sync/deploy", json=request_of(sync_flow("issues", runs="whenever")))
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_body"
    assert bad.json()["error"]["errors"]
    anonymous = client.post("/sync/deploy", json={}, headers={"authorization": ""})
    assert anonymous.status_code == 401


# --- syncs ---------------------------------------------------------------------------------------


def test_trigger_creates_one_run_with_its_options(client: httpx.Client, world: World) -> None:
    deploy(world, sync_flow("issues", auto_start=False))
    assert client.post("/sync/trigger", json=SYNC_BODY).json() == {"success": True}
    assert client.post("/sync/trigger", json=SYNC_BODY).status_code == 200
    (run,) = world.store.tasks.list_runs(world.environment_id)
    assert run.state == "CREATED" and run.payload["reset"] is False
    world.store.tasks.cancel_for_syncs([run.sync_id or 0], reason="test")
    for legacy_mode in ("full_refresh", True):
        legacy = dict(SYNC_BODY, sync_mode=legacy_mode)
        assert client.post("/sync/trigger", json=legacy).status_code == 200
        newest = world.store.tasks.list_runs(world.environment_id)[0]
        assert newest.payload["reset"] is True and newest.payload["empty_cache"] is True
        world.store.tasks.cancel_for_syncs([newest.sync_id or 0], reason="test")
    variant = dict(SYNC_BODY, syncs=[{"name": "issues", "variant": "eu"}], opts={"reset": True})
    client.post("/sync/trigger", json=variant)
    newest = world.store.tasks.list_runs(world.environment_id)[0]
    assert newest.payload["variant"] == "eu" and newest.payload["reset"] is True
    assert newest.payload["empty_cache"] is False


@pytest.mark.parametrize("path", ["/sync/trigger", "/sync/start", "/sync/pause"])
def test_sync_errors(client: httpx.Client, world: World, path: str) -> None:
    deploy(world, sync_flow("issues"))
    integration = client.post(path, json=dict(SYNC_BODY, provider_config_key="nope"))
    assert integration.status_code == 400
    assert integration.json()["error"]["code"] == "unknown_provider_config"
    connection = client.post(path, json=dict(SYNC_BODY, connection_id="nobody"))
    assert connection.status_code == 404
    assert connection.json()["error"] == {
        "code": "unknown_connection",
        "message": "Connection not found",
        "payload": {"connectionId": "nobody", "providerConfigKey": "github"},
    }
    syncs = client.post(path, json=dict(SYNC_BODY, syncs=["nope"]))
    assert syncs.status_code == 400
    assert syncs.json()["error"] == {
        "code": "no_syncs_found",
        "message": "No syncs found given the inputs.",
    }
    invalid = client.post(path, json={"syncs": "issues"})
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "invalid_body"


def test_start_pause_and_status(client: httpx.Client, world: World) -> None:
    deploy(world, sync_flow("issues", auto_start=False), sync_flow("labels", models=["Label"]))
    query = {
        "syncs": "issues,labels,ghost",
        "provider_config_key": "github",
        "connection_id": "acme",
    }
    before = {s["name"]: s for s in client.get("/sync/status", params=query).json()["syncs"]}
    assert set(before) == {"issues", "labels"}
    assert before["issues"]["status"] == "PAUSED"
    assert before["issues"]["nextScheduledSyncAt"] is None
    assert before["labels"]["status"] == "SUCCESS" and before["labels"]["type"] == "INITIAL"
    assert before["labels"]["frequency"] == "every hour"
    assert before["labels"]["recordCount"] == {"Label": 0}
    assert before["labels"]["checkpoint"] is None and before["labels"]["latestResult"] is None
    assert client.post("/sync/start", json=SYNC_BODY).json() == {"success": True}
    started = client.get("/sync/status", params=dict(query, syncs="issues")).json()["syncs"]
    assert started[0]["status"] == "SUCCESS" and started[0]["nextScheduledSyncAt"]
    client.post("/sync/pause", json=SYNC_BODY)
    everything = client.get("/sync/status", params=dict(query, syncs="*")).json()["syncs"]
    assert {s["name"]: s["status"] for s in everything} == {"issues": "PAUSED", "labels": "SUCCESS"}


def test_status_errors(client: httpx.Client, world: World) -> None:
    deploy(world, sync_flow("issues"))
    query = {"syncs": "issues", "provider_config_key": "github", "connection_id": "nobody"}
    missing = client.get("/sync/status", params=query)
    assert missing.status_code == 400
    assert missing.json()["error"] == {"code": "invalid_body", "message": "Connection not found"}
    no_key = client.get("/sync/status", params={"syncs": "issues"})
    assert no_key.status_code == 400
    assert no_key.json()["error"]["code"] == "invalid_query_params"


def test_status_of_every_connection(client: httpx.Client, world: World) -> None:
    deploy(world, sync_flow("issues"))
    world.add_connection("beta")
    query = {"syncs": "*", "provider_config_key": "github"}
    found = client.get("/sync/status", params=query).json()["syncs"]
    assert sorted(s["connection_id"] for s in found) == ["acme", "beta"]


# --- actions -------------------------------------------------------------------------------------


def _work(store: Store, finish: dict[str, Any]) -> threading.Thread:
    """A stand-in worker: claims the next run and ends it as `finish` says."""

    def work() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            claimed = store.tasks.claim("fake-worker", limit=1, lease_seconds=30)
            if claimed:
                token = claimed[0].lease_token
                assert token is not None
                store.tasks.finish(claimed[0].id, token, **finish)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_action_trigger_answers_the_output(client: httpx.Client, world: World) -> None:
    deploy(world, action_flow("create-issue"))
    worker = _work(world.store, {"state": "SUCCEEDED", "output": [1, {"a": None}]})
    answer = client.post(
        "/action/trigger",
        json={"action_name": "create-issue", "input": {"x": 1}},
        headers=ACTION_HEADERS,
    )
    worker.join()
    assert answer.status_code == 200 and answer.json() == [1, {"a": None}]
    (run,) = world.store.tasks.list_runs(world.environment_id)
    assert run.payload["input"] == {"x": 1} and run.payload["has_input"] is True


def test_action_trigger_errors(client: httpx.Client, world: World) -> None:
    deploy(world, action_flow("create-issue"))
    body = {"action_name": "create-issue"}
    no_headers = client.post("/action/trigger", json=body)
    assert no_headers.status_code == 400
    assert no_headers.json()["error"]["code"] == "invalid_headers"
    stranger = dict(ACTION_HEADERS, **{"Connection-Id": "nobody"})
    unknown = client.post("/action/trigger", json=body, headers=stranger)
    assert unknown.status_code == 400
    assert unknown.json()["error"] == {
        "code": "unknown_connection",
        "message": "Failed to find connection",
    }
    missing = client.post("/action/trigger", json={"action_name": "nope"}, headers=ACTION_HEADERS)
    assert missing.status_code == 404
    assert missing.json()["error"] == {"code": "not_found", "message": "Action not found"}
    extra = client.post("/action/trigger", json={**body, "other": 1}, headers=ACTION_HEADERS)
    assert extra.status_code == 400 and extra.json()["error"]["code"] == "invalid_body"


@pytest.mark.parametrize(
    ("error", "status", "extra"),
    [
        (
            {"type": "action_script_failure", "message": "action failed", "payload": {"m": 1}},
            500,
            {"payload": {"m": 1}},
        ),
        (
            {
                "type": "script_http_error",
                "message": "HTTP 404",
                "payload": {"status": 404, "url": "u", "headers": {}, "body": {"e": 1}},
            },
            424,
            {"upstream": {"status": 404, "headers": {}, "body": {"e": 1}}},
        ),
        ({"type": "invalid_action_input", "message": "bad", "payload": None}, 400, {}),
        ({"type": "script_internal_error", "message": "killed by SIGKILL"}, 500, {}),
    ],
)
def test_action_answers_for_failures(
    world: World, error: dict[str, Any], status: int, extra: dict[str, Any]
) -> None:
    deploy(world, action_flow("create-issue"))
    from runtime.store.tasks import NewTask, Timeouts

    new = NewTask(world.environment_id, "action", "a", {}, Timeouts(1000, 1000))
    world.store.tasks.create(new)
    (task,) = world.store.tasks.claim("w", limit=1, lease_seconds=30)
    assert task.lease_token is not None
    world.store.tasks.finish(task.id, task.lease_token, "FAILED", error=error)
    done = world.store.tasks.get(task.id)
    assert done is not None
    answer = action_answer(done)
    assert answer.status_code == status
    import json

    body = json.loads(bytes(answer.body))
    assert body["error"]["code"] == error["type"]
    assert body["error"]["message"] == error["message"]
    for key, value in extra.items():
        assert body["error"][key] == value


# --- runs ----------------------------------------------------------------------------------------


def test_runs_and_logs_routes(client: httpx.Client, world: World) -> None:
    deploy(world, sync_flow("issues"))
    client.post("/sync/trigger", json=SYNC_BODY)
    (run,) = world.store.tasks.list_runs(world.environment_id)
    world.store.logs.append(run.id, [("info", f"line {i}") for i in range(5)])
    runs = client.get("/runtime/runs", params={"connection_id": "acme", "script": "issues"})
    assert [r["id"] for r in runs.json()["runs"]] == [run.id]
    assert runs.json()["runs"][0]["status"] == "CREATED"
    one = client.get(f"/runtime/runs/{run.id}").json()
    assert one["script"] == "issues" and one["integration"] == "github"
    page = client.get(f"/runtime/runs/{run.id}/logs", params={"after": 1, "limit": 2}).json()
    assert [line["message"] for line in page["logs"]] == ["line 1", "line 2"]
    assert page["next_after"] == 3 and page["done"] is False
    assert client.get("/runtime/runs/nope").status_code == 404
    openapi = client.get("/openapi.json").json()
    assert {"/runtime/runs", "/runtime/runs/{run_id}/logs", "/sync/deploy"} <= set(openapi["paths"])


# --- connection events ---------------------------------------------------------------------------


def test_a_new_connection_gets_its_schedules_and_its_on_event_scripts(
    client: httpx.Client, world: World
) -> None:
    on_events = [
        {
            "providerConfigKey": "github",
            "scripts": [
                {
                    "name": "welcome",
                    "event": "post-connection-creation",
                    "fileBody": {
                        "py": "async def on_event(nango):\n    pass\n",
                        "path": "github/on-events/welcome.py",
                    },
                }
            ],
        }
    ]
    apply_deploy(
        world.store,
        world.environment_id,
        DeployRequest.model_validate(
            request_of(sync_flow("issues", auto_start=False), onEventScriptsByProvider=on_events)
        ),
    )
    created = client.post(
        "/connections",
        json={
            "provider_config_key": "github",
            "connection_id": "new-one",
            "credentials": {"type": "OAUTH2", "access_token": "token-of-new-one"},
        },
    )
    assert created.status_code == 201, created.text
    connection = world.store.connections.get(world.environment_id, "github", "new-one")
    assert connection is not None
    schedule = world.store.syncs.get(connection.id, "issues", "base")
    assert schedule is not None and schedule.state == "PAUSED"
    runs = world.store.tasks.list_runs(world.environment_id, connection_id=connection.id)
    assert [(run.kind, run.name) for run in runs] == [("on-event", "welcome")]
