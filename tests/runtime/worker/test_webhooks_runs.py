"""Webhooks around runs, executed in-process over the store (both databases) and sent by the
sender to a real local receiver: Nango's sync webhook (signed, per model, on failure too), a
provider's webhook running `on_webhook`, async actions with retries and their completion
webhook."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from runtime.scheduler.control import SyncTarget, enqueue_action, trigger_syncs
from runtime.settings import EnvironmentSettings, RuntimeSettings
from runtime.webhooks.incoming import route_webhook
from runtime.webhooks.outgoing import queue_async_completion
from runtime.webhooks.sender import DeliverySender
from tests.helpers import FakeApi, Received, Reply
from tests.runtime.worker.conftest import Deployed

CONFIG = """\
integrations:
  github:
    syncs:
      issues:
        runs: every hour
        output: [Issue, Label]
        auto_start: false
        endpoint: [GET /issues, GET /labels]
        webhook-subscriptions: [issues, '*']
    actions:
      flaky:
        output: Result
        endpoint: POST /flaky
models:
  Issue:
    id: string
  Label:
    id: string
  Result:
    value: number
"""
ISSUES = """\
from models import Issue, NangoSync


async def fetch_data(nango: NangoSync) -> None:
    res = await nango.get(endpoint="/issues")
    await nango.batch_save([Issue(id=str(i)) for i in res.data], "Issue")


async def on_webhook(nango: NangoSync, payload: dict) -> None:
    await nango.batch_save([Issue(id=str(payload["issue"]["id"]))], "Issue")
"""
FLAKY = """\
from models import NangoAction, Result


async def run_action(nango: NangoAction) -> Result:
    res = await nango.post(endpoint="/flaky")
    return Result(value=res.data["value"])
"""
FILES = {
    "nango.yaml": CONFIG,
    "github/syncs/issues.py": ISSUES,
    "github/actions/flaky.py": FLAKY,
}


@pytest.fixture
def receiver() -> Iterator[FakeApi]:
    api = FakeApi()
    api.route("/hook", Reply(200, {"ok": True}))
    api.start()
    yield api
    api.stop()


def provider(
    calls: list[str], flaky_failures: int = 0
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/issues":
            return httpx.Response(200, json=[1, 2])
        if request.url.path == "/flaky":
            failed = calls.count("/flaky") <= flaky_failures
            return (
                httpx.Response(500, json={}) if failed else httpx.Response(200, json={"value": 7})
            )
        return httpx.Response(404, json={})

    return handle


def with_urls(deployed: Deployed, *urls: str, **options: Any) -> RuntimeSettings:
    environments = {"dev": EnvironmentSettings(webhook_urls=list(urls), **options)}
    settings = deployed.settings.model_copy(
        update={"environments": environments, "webhook_delivery_backoff_s": 0.0}
    )
    deployed.settings = settings
    return settings


def send_all(deployed: Deployed, rounds: int = 3) -> None:
    sender = DeliverySender(deployed.settings, deployed.world.store, poll_s=0)
    try:
        for _ in range(rounds):
            sender.run_async_pass_next()
            sender.round()
            sender.wait_idle()
    finally:
        sender.close()


def signed_by_environment(deployed: Deployed, received: Received) -> bool:
    key = deployed.world.store.environments.signing_key(deployed.world.environment_id)
    assert key is not None
    expected = hmac.new(key.encode(), received.body, hashlib.sha256).hexdigest()
    legacy = hashlib.sha256(key.encode() + received.body).hexdigest()
    return (
        received.headers["x-nango-hmac-sha256"] == expected
        and received.headers["x-nango-signature"] == legacy
    )


def run_sync(deployed: Deployed) -> Any:
    store = deployed.world.store
    connection = store.connections.get(deployed.world.environment_id, "github", "acme")
    assert connection is not None
    trigger_syncs(store, deployed.settings, [connection], [SyncTarget("issues")])
    return deployed.execute()


def test_a_sync_run_sends_nangos_signed_webhook_for_each_changed_model(
    deploy_project: Callable[..., Deployed], receiver: FakeApi
) -> None:
    calls: list[str] = []
    deployed = deploy_project(FILES, provider(calls))
    with_urls(deployed, f"{receiver.url}/hook")
    done = run_sync(deployed)
    assert done.state == "SUCCEEDED"
    send_all(deployed)
    (received,) = receiver.requests  # Label did not change: no webhook for it
    assert received.method == "POST" and received.headers["content-type"] == "application/json"
    assert signed_by_environment(deployed, received)
    body = received.json()
    assert done.started_at is not None
    started = (
        done.started_at.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{done.started_at.microsecond // 1000:03d}Z"
    )
    assert body == {
        "from": "nango",
        "type": "sync",
        "connectionId": "acme",
        "providerConfigKey": "github",
        "syncName": "issues",
        "syncVariant": "base",
        "model": "Issue",
        "syncType": "INITIAL",
        "success": True,
        "responseResults": {"added": 2, "updated": 0, "deleted": 0},
        "modifiedAfter": started,
        "queryTimeStamp": None,
    }
    (delivery,) = deployed.world.store.webhooks.list_recent(deployed.world.environment_id)
    assert delivery.state == "DELIVERED" and delivery.task_id == done.id


def test_always_send_webhook_sends_unchanged_models_too(
    deploy_project: Callable[..., Deployed], receiver: FakeApi
) -> None:
    deployed = deploy_project(FILES, provider([]))
    with_urls(deployed, f"{receiver.url}/hook", always_send_webhook=True)
    run_sync(deployed)
    run_sync(deployed)  # nothing changed
    send_all(deployed)
    bodies = [r.json() for r in receiver.requests]
    assert sorted((b["model"], b["syncType"]) for b in bodies) == [
        ("Issue", "INCREMENTAL"),
        ("Issue", "INITIAL"),
        ("Label", "INCREMENTAL"),
        ("Label", "INITIAL"),
    ]


def test_a_failed_sync_run_sends_the_failure_webhook(
    deploy_project: Callable[..., Deployed], receiver: FakeApi
) -> None:
    deployed = deploy_project(FILES, lambda _r: httpx.Response(500, json={"down": True}))
    with_urls(deployed, f"{receiver.url}/hook")
    done = run_sync(deployed)
    assert done.state == "FAILED"
    send_all(deployed)
    (received,) = receiver.requests
    body = received.json()
    assert body["success"] is False and body["model"] == "Issue,Label"
    assert body["error"]["type"] == "script_http_error" and body["error"]["description"]
    assert body["startedAt"].endswith("Z") and body["failedAt"] >= body["startedAt"]


def test_a_receiver_that_fails_is_retried_then_given_up(
    deploy_project: Callable[..., Deployed], receiver: FakeApi
) -> None:
    deployed = deploy_project(FILES, provider([]))
    receiver.route("/hook", Reply(503, {}), Reply(503, {}), Reply(503, {}), Reply(200, {}))
    receiver.route("/gone", Reply(410, {}))
    with_urls(deployed, f"{receiver.url}/hook", f"{receiver.url}/gone")
    run_sync(deployed)
    send_all(deployed, rounds=5)
    store = deployed.world.store
    by_url = {
        d.url.rsplit("/", 1)[1]: d
        for d in store.webhooks.list_recent(deployed.world.environment_id)
    }
    assert by_url["hook"].state == "FAILED" and by_url["hook"].attempts == 3  # the setting
    assert by_url["hook"].last_status == 503
    assert by_url["gone"].state == "FAILED" and by_url["gone"].attempts == 1  # 4xx: no retry
    assert [r.path for r in receiver.requests].count("/hook") == 3


def test_a_provider_webhook_runs_on_webhook_and_announces_its_records(
    deploy_project: Callable[..., Deployed], receiver: FakeApi
) -> None:
    deployed = deploy_project(FILES, provider([]))
    with_urls(deployed, f"{receiver.url}/hook")
    store = deployed.world.store
    integration = store.integrations.get(deployed.world.environment_id, "github")
    assert integration is not None
    body = {"action": "opened", "issue": {"id": 42}}
    routed = route_webhook(
        store, deployed.settings, integration, body, {"x-github-event": "issues"}
    )
    assert routed.event_type == "issues" and len(routed.run_ids) == 1
    done = deployed.execute()
    assert done.kind == "webhook" and done.state == "SUCCEEDED", done.error
    connection = store.connections.get(deployed.world.environment_id, "github", "acme")
    assert connection is not None
    page = store.records.list_page(connection.id, "Issue", limit=10)
    assert [r["id"] for r in page.records] == ["42"]
    send_all(deployed)
    kinds = sorted(r.json()["type"] for r in receiver.requests)
    assert kinds == ["forward", "sync"]
    sync = next(r.json() for r in receiver.requests if r.json()["type"] == "sync")
    assert sync["syncType"] == "WEBHOOK" and sync["responseResults"]["added"] == 1
    forward = next(r.json() for r in receiver.requests if r.json()["type"] == "forward")
    assert forward == {
        "from": "github",
        "type": "forward",
        "providerConfigKey": "github",
        "payload": body,
    }


def test_an_async_action_is_retried_then_announced_once(
    deploy_project: Callable[..., Deployed], receiver: FakeApi
) -> None:
    calls: list[str] = []
    deployed = deploy_project(FILES, provider(calls, flaky_failures=1))
    settings = with_urls(deployed, f"{receiver.url}/hook")
    settings = settings.model_copy(update={"action_retry_backoff_s": 0.0})
    deployed.settings = settings
    store = deployed.world.store
    connection = store.connections.get(deployed.world.environment_id, "github", "acme")
    assert connection is not None
    task = enqueue_action(store, settings, connection, "flaky", None, is_async=True, max_retries=2)
    assert queue_async_completion(store, settings, task) == 1
    first = deployed.execute()
    assert first.state == "FAILED" and store.retries.will_retry(task.id)
    send_all(deployed)  # requeues it; nothing is announced yet
    assert receiver.requests == []
    again = store.tasks.get(task.id)
    assert again is not None and again.state == "CREATED"
    second = deployed.execute()
    assert second.id == task.id and second.state == "SUCCEEDED" and second.attempt == 2
    assert second.output == {"value": 7}
    send_all(deployed)
    (received,) = receiver.requests
    assert received.json() == {
        "from": "nango",
        "type": "async_action",
        "connectionId": "acme",
        "providerConfigKey": "github",
        "payload": {"id": task.id, "statusUrl": f"/action/{task.id}"},
    }
    assert signed_by_environment(deployed, received)


def test_a_run_whose_worker_died_sends_the_failure_webhook(
    deploy_project: Callable[..., Deployed], receiver: FakeApi
) -> None:
    from runtime.scheduler.passes import expiring_pass
    from runtime.webhooks.outgoing import queue_run_failures

    deployed = deploy_project(FILES, provider([]))
    settings = with_urls(deployed, f"{receiver.url}/hook")
    store = deployed.world.store
    connection = store.connections.get(deployed.world.environment_id, "github", "acme")
    assert connection is not None
    trigger_syncs(store, settings, [connection], [SyncTarget("issues")])
    (claimed,) = store.tasks.claim("gone", limit=1, lease_seconds=0.001)
    time.sleep(0.05)  # the lease (1 ms) is over: nobody renews it
    ended = expiring_pass(store)
    assert [t.id for t in ended] == [claimed.id]
    assert queue_run_failures(store, settings, ended) == 1
    send_all(deployed)
    (received,) = receiver.requests
    body = received.json()
    assert body["success"] is False and body["error"]["type"] == "lease_expired"
    assert body["model"] == "Issue,Label"
