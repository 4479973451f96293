"""End to end, with real processes: a runtime (API + worker + webhook sender) on 127.0.0.1, a
project deployed with `nango deploy`, a fake provider and a local webhook receiver.

- a sync run's webhook reaches the receiver, signed with the environment's key; a receiver
  that is down gets it after it comes back, even across a restart of the runtime (the outbox is
  in the database);
- an async action answers 202, its result is read from `statusUrl`, and its completion webhook
  arrives;
- a provider's webhook on `POST /webhook/dev/github` runs the sync's `on_webhook`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.store import Store, open_store, sqlite_url
from tests.helpers import TOKEN, Cli, FakeApi, Reply, ok, write_tree
from tests.runtime.worker.test_webhooks_runs import FILES
from tests.runtime_harness import DEV_KEY, runtime_process, wait_until

pytestmark = pytest.mark.slow

ENCRYPTION_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


@dataclass
class Setup:
    data: Path
    url: str
    store: Store
    provider: FakeApi
    receiver: FakeApi
    settings: dict[str, Any]
    environment_id: int


@pytest.fixture
def setup(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    provider, receiver = FakeApi(), FakeApi()
    provider.route("/issues", ok([1, 2, 3]))
    provider.route("/flaky", ok({"value": 5}))
    receiver.route("/hook", Reply(503, {"busy": True}))  # down until a test says otherwise
    provider.start()
    receiver.start()
    data = tmp_path / "data"
    data.mkdir()
    url = sqlite_url(data / "nango.db")
    settings = {
        "lease_seconds": 5,
        "action_timeout_s": 20,
        "webhook_delivery_backoff_s": 0.2,
        "webhook_delivery_attempts": 20,
        "environments": {"dev": {"webhook_urls": [f"{receiver.url}/hook"]}},
    }
    with runtime_process(data, url, settings=settings) as runtime:
        store = open_store(url, encryption_key=ENCRYPTION_KEY)
        monkeypatch.setenv("NANGO_HOSTPORT", runtime.url)
        monkeypatch.setenv("NANGO_SECRET_KEY_DEV", DEV_KEY)
        project = write_tree(tmp_path / "project", FILES)
        cli("generate", cwd=project)
        cli("deploy", "dev", "--auto-confirm", cwd=project)
        environment = store.environments.get("dev")
        assert environment is not None
        store.integrations.update(environment.id, "github", base_url_override=provider.url)
        store.connections.upsert(
            environment.id, "github", "acme", credentials={"type": "OAUTH2", "access_token": TOKEN}
        )
        runtime.stop()  # each test starts its own, on this database
        yield Setup(data, url, store, provider, receiver, settings, environment.id)
        store.close()
    provider.stop()
    receiver.stop()


def hook_bodies(setup: Setup) -> list[Any]:
    return [r.json() for r in setup.receiver.requests if r.path == "/hook"]


def signed(received: Any) -> bool:
    expected = hmac.new(DEV_KEY.encode(), received.body, hashlib.sha256).hexdigest()
    return bool(received.headers.get("x-nango-hmac-sha256") == expected)


def test_a_sync_webhook_waits_for_its_receiver_across_a_restart(setup: Setup) -> None:
    body = {"syncs": ["issues"], "provider_config_key": "github", "connection_id": "acme"}
    with (
        runtime_process(setup.data, setup.url, settings=setup.settings) as first,
        first.client() as client,
    ):
        assert client.post("/sync/trigger", json=body).status_code == 200

        def refused() -> bool:
            found = client.get("/webhooks/deliveries", params={"kind": "sync"}).json()
            deliveries = found["deliveries"]
            return bool(deliveries) and deliveries[0]["attempts"] >= 2

        wait_until(refused, timeout=90)
    (delivery,) = setup.store.webhooks.list_recent(setup.environment_id, kinds=["sync"])
    assert delivery.state in ("PENDING", "SENDING") and delivery.last_status == 503
    setup.receiver.route("/hook", Reply(200, {"ok": True}))
    with runtime_process(setup.data, setup.url, settings=setup.settings) as second:

        def delivered() -> bool:
            found = setup.store.webhooks.get(delivery.id)
            return found is not None and found.state == "DELIVERED"

        wait_until(delivered, timeout=90)
        assert second.process.poll() is None
    last = [r for r in setup.receiver.requests if r.path == "/hook"][-1]
    assert signed(last)
    sent = last.json()
    assert sent["type"] == "sync" and sent["syncName"] == "issues" and sent["model"] == "Issue"
    assert sent["responseResults"] == {"added": 3, "updated": 0, "deleted": 0}


def test_an_async_action_and_a_provider_webhook_over_http(setup: Setup) -> None:
    setup.receiver.route("/hook", Reply(200, {"ok": True}))
    headers = {"Connection-Id": "acme", "Provider-Config-Key": "github", "X-Async": "true"}
    with (
        runtime_process(setup.data, setup.url, settings=setup.settings) as runtime,
        runtime.client() as client,
    ):
        started = client.post("/action/trigger", json={"action_name": "flaky"}, headers=headers)
        assert started.status_code == 202, started.text
        status_url = started.json()["statusUrl"]

        def result() -> Any:
            answer = client.get(status_url)
            return answer if answer.status_code != 404 else None

        done = wait_until(result, timeout=90)
        assert done.status_code == 200 and done.json() == {"value": 5}

        def completion() -> Any:
            return [b for b in hook_bodies(setup) if b["type"] == "async_action"]

        (announced,) = wait_until(completion, timeout=60)
        assert announced["payload"] == started.json()

        event = {"action": "opened", "issue": {"id": 99}}
        received = client.post(
            "/webhook/dev/github",
            json=event,
            headers={"X-GitHub-Event": "issues", "Authorization": ""},
        )
        assert received.status_code == 200 and received.json()["runs"] == 1

        def saved() -> Any:
            page = client.get(
                "/records/",
                params={"model": "Issue"},
                headers={"Connection-Id": "acme", "Provider-Config-Key": "github"},
            ).json()
            return [r["id"] for r in page["records"]] or None

        assert wait_until(saved, timeout=90) == ["99"]

        def webhook_sync() -> Any:
            return [b for b in hook_bodies(setup) if b.get("syncType") == "WEBHOOK"]

        (announced_records,) = wait_until(webhook_sync, timeout=60)
        assert announced_records["responseResults"]["added"] == 1
