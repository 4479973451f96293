"""The webhook and async action routes in-process (no worker: runs are claimed and ended by
hand): `X-Async` and `GET /action/:id`, `POST /webhook/...` (signatures, routing, Slack's
challenge), the delivery log and the webhook settings."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest

from runtime.store.scripts import NewScript, Script
from tests.runtime.server.conftest import PROD_KEY, ApiClient, World, headers


def deploy(world: World, name: str, type: str, **config: Any) -> Script:
    store = world.store
    integration = store.integrations.get(world.environment_id, world.key)
    assert integration is not None
    deployment = store.scripts.create_deployment(
        world.environment_id, mode="all", sdk_version="0.1.0-py", summary={}
    )
    digest = store.sources.put(f"# {name}\n")
    new = NewScript(
        integration_id=integration.id,
        name=name,
        type=type,  # type: ignore[arg-type]
        version="1",
        config={"runs": "every hour", "frequency_ms": 3_600_000, "auto_start": False, **config},
        source_hash=digest,
        models_hash=digest,
        files={},
        content_hash=digest,
    )
    return store.scripts.activate(world.environment_id, deployment, new)


def end_run(world: World, state: str, **outcome: Any) -> None:
    (task,) = world.store.tasks.claim("test", limit=1, lease_seconds=60)
    assert task.lease_token is not None
    world.store.tasks.finish(task.id, task.lease_token, state, **outcome)  # type: ignore[arg-type]


def trigger_async(client: ApiClient, world: World, **extra: str) -> Any:
    answer = client.post(
        "/action/trigger",
        json={"action_name": "create-issue", "input": {"title": "t"}},
        headers=headers(world, **{"X-Async": "true", **extra}),
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"] == answer.json()["statusUrl"]
    return answer.json()


def test_an_async_action_answers_202_then_its_result(client: ApiClient, world: World) -> None:
    deploy(world, "create-issue", "action")
    started = trigger_async(client, world)
    assert started["statusUrl"] == f"/action/{started['id']}"
    pending = client.get(started["statusUrl"])
    assert pending.status_code == 404
    assert pending.json()["error"]["code"] == "not_found"
    assert pending.json()["error"]["payload"] == {"status": "PENDING"}
    end_run(world, "SUCCEEDED", output={"url": "https://x/1"})
    done = client.get(started["statusUrl"])
    assert done.status_code == 200 and done.json() == {"url": "https://x/1"}


def test_a_failed_async_action_answers_as_the_trigger_would(
    client: ApiClient, world: World
) -> None:
    deploy(world, "create-issue", "action")
    started = trigger_async(client, world)
    error = {"type": "action_script_failure", "message": "nope", "payload": {"why": 1}}
    end_run(world, "FAILED", error=error)
    failed = client.get(f"/action/{started['id']}")
    assert failed.status_code == 500
    assert failed.json()["error"] == {
        "code": "action_script_failure",
        "message": "nope",
        "payload": {"why": 1},
    }


def test_a_failed_async_action_with_retries_left_reads_as_not_completed(
    client: ApiClient, world: World
) -> None:
    deploy(world, "create-issue", "action")
    started = trigger_async(client, world, **{"X-Max-Retries": "2"})
    end_run(world, "FAILED", error={"type": "script_internal_error", "message": "x"})
    assert client.get(started["statusUrl"]).status_code == 404
    task = world.store.tasks.get(started["id"])
    assert task is not None and task.max_retries == 2 and task.payload["async"] is True


@pytest.mark.parametrize("value", ["6", "-1", "many"])
def test_x_max_retries_is_0_to_5(client: ApiClient, world: World, value: str) -> None:
    deploy(world, "create-issue", "action")
    answer = client.post(
        "/action/trigger",
        json={"action_name": "create-issue"},
        headers=headers(world, **{"X-Async": "true", "X-Max-Retries": value}),
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_headers"


def test_action_results_are_per_environment_and_by_uuid(client: ApiClient, world: World) -> None:
    assert client.get("/action/not-a-uuid").json()["error"]["code"] == "invalid_uri_params"
    unknown = client.get("/action/0b6f8d1e-2f4a-4c5b-9d6e-7f8a9b0c1d2e")
    assert unknown.status_code == 404 and "No action" in unknown.json()["error"]["message"]
    deploy(world, "create-issue", "action")
    started = trigger_async(client, world)
    other = client.get(started["statusUrl"], headers={"Authorization": f"Bearer {PROD_KEY}"})
    assert other.status_code == 404


def test_an_async_action_queues_its_completion_webhook(client: ApiClient, world: World) -> None:
    deploy(world, "create-issue", "action")
    put = client.put("/webhooks/settings", json={"webhook_urls": ["https://example.test/hook"]})
    assert put.status_code == 200 and put.json()["webhook_urls"] == ["https://example.test/hook"]
    started = trigger_async(client, world)
    (delivery,) = world.store.webhooks.for_task(started["id"])
    assert delivery.state == "WAITING" and delivery.kind == "async_action"
    log = client.get("/webhooks/deliveries").json()["deliveries"]
    assert log[0]["body"]["payload"] == {"id": started["id"], "statusUrl": started["statusUrl"]}


def test_webhook_settings_are_stored_and_read_back(client: ApiClient) -> None:
    assert client.get("/webhooks/settings").json()["webhook_urls"] == []
    answer = client.put(
        "/webhooks/settings",
        json={
            "webhook_urls": ["https://a.test/h", "https://b.test/h"],
            "always_send_webhook": True,
        },
    )
    assert answer.json()["always_send_webhook"] is True
    again = client.put("/webhooks/settings", json={"send_failure_webhook": False}).json()
    assert again["webhook_urls"] == ["https://a.test/h", "https://b.test/h"]
    assert again["always_send_webhook"] is True and again["send_failure_webhook"] is False
    bad = client.put("/webhooks/settings", json={"webhook_urls": ["ftp://x"]})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_body"


def test_a_provider_webhook_runs_the_subscribed_syncs(client: ApiClient, world: World) -> None:
    deploy(world, "issues", "sync", webhook_subscriptions=["issues"])
    deploy(world, "pulls", "sync", webhook_subscriptions=["pull_request"])
    deploy(world, "everything", "sync", webhook_subscriptions=["*"])
    answer = client.post(
        "/webhook/dev/github",
        json={"action": "opened", "issue": {"id": 1}},
        headers={"X-GitHub-Event": "issues", "Authorization": ""},
    )
    assert answer.status_code == 200 and answer.json() == {"success": True, "runs": 2}
    runs = world.store.tasks.list_runs(world.environment_id, kinds=["webhook"])
    assert sorted(r.name for r in runs) == ["everything", "issues"]
    assert {r.payload["event_type"] for r in runs} == {"issues"}
    assert runs[0].payload["body"] == {"action": "opened", "issue": {"id": 1}}


def test_an_unknown_environment_or_integration_is_404(client: ApiClient, world: World) -> None:
    assert client.post("/webhook/staging/github", json={}).json()["error"]["code"] == (
        "unknown_environment"
    )
    answer = client.post("/webhook/dev/nope", json={})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "unknown_provider_config"


def test_a_signed_integration_refuses_unsigned_webhooks(client: ApiClient, world: World) -> None:
    deploy(world, "issues", "sync", webhook_subscriptions=["issues"])
    integration = world.store.integrations.get(world.environment_id, world.key)
    assert integration is not None
    world.store.integration_secrets.set(integration.id, "hook-secret")
    raw = b'{"issue": {"id": 1}}'
    event = {"X-GitHub-Event": "issues", "Content-Type": "application/json"}
    unsigned = client.post("/webhook/dev/github", content=raw, headers=event)
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "invalid_webhook_signature"
    wrong = client.post(
        "/webhook/dev/github", content=raw, headers={**event, "X-Hub-Signature-256": "sha256=00"}
    )
    assert wrong.status_code == 401
    assert world.store.tasks.list_runs(world.environment_id, kinds=["webhook"]) == []
    digest = hmac.new(b"hook-secret", raw, hashlib.sha256).hexdigest()
    signed = client.post(
        "/webhook/dev/github",
        content=raw,
        headers={**event, "X-Hub-Signature-256": f"sha256={digest}"},
    )
    assert signed.status_code == 200 and signed.json()["runs"] == 1


def test_the_webhook_secret_given_with_the_oauth_client_is_used(
    client: ApiClient, world: World
) -> None:
    created = client.post(
        "/integrations",
        json={
            "provider": "slack",
            "unique_key": "slack",
            "credentials": {
                "type": "OAUTH2",
                "client_id": "id",
                "client_secret": "secret",
                "webhook_secret": "slack-signing",
            },
        },
    )
    assert created.status_code == 200, created.text
    raw = b'{"type": "url_verification", "challenge": "abc"}'
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + raw
    signature = "v0=" + hmac.new(b"slack-signing", base, hashlib.sha256).hexdigest()
    answer = client.post(
        "/webhook/dev/slack",
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        },
    )
    assert answer.status_code == 200 and answer.json() == {"challenge": "abc"}
    stale = str(int(time.time()) - 3600)
    old = (
        "v0="
        + hmac.new(
            b"slack-signing", b"v0:" + stale.encode() + b":" + raw, hashlib.sha256
        ).hexdigest()
    )
    replayed = client.post(
        "/webhook/dev/slack",
        content=raw,
        headers={"X-Slack-Request-Timestamp": stale, "X-Slack-Signature": old},
    )
    assert replayed.status_code == 401


def test_a_webhook_names_its_connection(client: ApiClient, world: World) -> None:
    deploy(world, "issues", "sync", webhook_subscriptions=["*"])
    world.store.connections.upsert(
        world.environment_id, "github", "other", credentials={"type": "OAUTH2", "access_token": "t"}
    )
    everyone = client.post("/webhook/dev/github", json={"type": "ping"})
    assert everyone.json()["runs"] == 2
    one = client.post("/webhook/dev/github?connection_id=other", json={"type": "ping"})
    assert one.json()["runs"] == 1
    form = client.post(
        "/webhook/dev/github",
        content=b"type=ping&x=1",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Connection-Id": "acme"},
    )
    assert form.json()["runs"] == 1
    junk = client.post(
        "/webhook/dev/github", content=b"\x00not json", headers={"Content-Type": "text/plain"}
    )
    assert junk.status_code == 400 and junk.json()["error"]["code"] == "invalid_body"


def test_connection_events_are_announced(client: ApiClient, world: World) -> None:
    client.put("/webhooks/settings", json={"webhook_urls": ["https://example.test/hook"]})
    created = client.post(
        "/connections",
        json={
            "provider_config_key": "github",
            "connection_id": "new-one",
            "credentials": {"type": "OAUTH2", "access_token": "tok"},
        },
    )
    assert created.status_code == 201, created.text
    client.delete("/connections/new-one", params={"provider_config_key": "github"})
    log = client.get("/webhooks/deliveries", params={"kind": "auth"}).json()["deliveries"]
    assert [d["body"]["operation"] for d in log] == ["deletion", "creation"]
    assert log[1]["body"] == {
        "from": "nango",
        "type": "auth",
        "connectionId": "new-one",
        "authMode": "OAUTH2",
        "providerConfigKey": "github",
        "provider": "github",
        "environment": "dev",
        "operation": "creation",
        "success": True,
    }
    assert client.get("/webhooks/deliveries", params={"kind": "sync"}).json() == {"deliveries": []}
