"""`nango webhooks list|settings` against a runtime served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.server.app import create_app
from runtime.settings import RuntimeSettings
from runtime.store import Store, open_store, sqlite_url
from tests.helpers import Cli
from tests.runtime.store.conftest import TEST_KEY
from tests.runtime_harness import DEV_KEY, serve_in_thread


@dataclass
class Runtime:
    url: str
    store: Store
    environment_id: int


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    store = open_store(sqlite_url(tmp_path / "runtime.db"), encryption_key=TEST_KEY)
    environment = store.environments.ensure("dev", secret_key=DEV_KEY).environment
    with serve_in_thread(create_app(RuntimeSettings(data_dir=tmp_path), store)) as url:
        monkeypatch.setenv("NANGO_HOSTPORT", url)
        monkeypatch.setenv("NANGO_SECRET_KEY_DEV", DEV_KEY)
        yield Runtime(url, store, environment.id)
    store.close()


def test_settings_are_shown_and_changed(cli: Cli, runtime: Runtime) -> None:
    assert "webhook URLs: none" in cli("webhooks", "settings").stdout
    changed = cli(
        "webhooks", "settings", "--url", "https://a.test/h", "--url", "https://b.test/h", "--always"
    )
    assert "webhook URLs: https://a.test/h, https://b.test/h" in changed.stdout
    assert "always_send_webhook: true" in changed.stdout
    shown = json.loads(cli("webhooks", "settings", "--json").stdout)
    assert shown["webhook_urls"] == ["https://a.test/h", "https://b.test/h"]
    cleared = json.loads(cli("webhooks", "settings", "--clear", "--json").stdout)
    assert cleared["webhook_urls"] == [] and cleared["always_send_webhook"] is True
    bad = cli("webhooks", "settings", "--url", "not-a-url", expect=1)
    assert "webhook_urls" in bad.stderr


def test_the_delivery_log_as_a_table_and_json(cli: Cli, runtime: Runtime) -> None:
    assert "No webhook deliveries yet." in cli("webhooks", "list").output
    body = {"type": "sync", "syncName": "issues", "model": "Issue", "connectionId": "acme"}
    (first,) = runtime.store.webhooks.enqueue(
        runtime.environment_id, "sync", ["https://a.test/h"], json.dumps(body)
    )
    runtime.store.webhooks.claim(limit=1, lease_seconds=30)
    runtime.store.webhooks.record_attempt(first, status=500, error="answered 500", retry_at=None)
    runtime.store.webhooks.enqueue(runtime.environment_id, "auth", ["https://a.test/h"], "{}")
    table = cli("webhooks", "list").stdout
    assert "issues Issue (acme)" in table and "FAILED" in table and "answered 500" in table
    failed = json.loads(cli("webhooks", "list", "--state", "failed", "--json").stdout)
    assert [d["id"] for d in failed] == [first] and failed[0]["body"] == body
    auth = json.loads(cli("webhooks", "list", "--kind", "auth", "--json").stdout)
    assert [d["kind"] for d in auth] == ["auth"]
