"""`nango connection create|list|delete` against a runtime served on 127.0.0.1 (and the fake
OAuth provider, for the browser flow)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runtime.server.app import create_app
from runtime.settings import RuntimeSettings
from runtime.store import Store, open_store, sqlite_url
from tests.helpers import Cli, closed_port_url
from tests.runtime.credentials.fake_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeOAuth,
    FakeOAuthServer,
    write_catalog,
)
from tests.runtime.credentials.live_runtime import LiveRuntime
from tests.runtime.store.conftest import TEST_KEY


@dataclass
class Runtime:
    store: Store
    environment_id: int
    url: str
    oauth: FakeOAuth


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    provider = FakeOAuthServer()
    monkeypatch.setenv(
        "NANGO_PROVIDERS_FILE", str(write_catalog(tmp_path / "providers.yaml", provider.url))
    )
    store = open_store(sqlite_url(tmp_path / "runtime.db"), encryption_key=TEST_KEY)
    key = str(uuid.uuid4())
    environment = store.environments.ensure("dev", secret_key=key).environment
    store.integrations.create(
        environment.id,
        "fake",
        "fake-oauth",
        oauth_client_id=CLIENT_ID,
        oauth_client_secret=CLIENT_SECRET,
    )
    store.integrations.create(environment.id, "keyed", "fake-api-key")
    live = LiveRuntime()

    def build(url: str) -> object:
        settings = RuntimeSettings(data_dir=tmp_path / "data", server_url=url)
        return create_app(settings, store)

    live.serve(build)  # type: ignore[arg-type]
    monkeypatch.setenv("NANGO_HOSTPORT", live.url)
    monkeypatch.setenv("NANGO_SECRET_KEY_DEV", key)
    monkeypatch.chdir(tmp_path)
    yield Runtime(store, environment.id, live.url, provider.state)
    live.stop()
    provider.stop()
    store.close()


def _browser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A browser that follows the connect link to its end, in the background."""
    opened: list[str] = []

    def open_browser(url: str) -> bool:
        opened.append(url)
        thread = threading.Thread(target=lambda: httpx.get(url, follow_redirects=True))
        thread.start()
        return True

    monkeypatch.setattr("cli.terminal.runtime_views.open_browser", open_browser)
    return opened


def test_create_imports_credentials(cli: Cli, runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "meta.json").write_text('{"plan": "pro"}', encoding="utf-8")
    credentials = '{"type": "API_KEY", "apiKey": "key-7f3e9a1b"}'
    result = cli(
        "connection", "create", "keyed", "acme", "--credentials", credentials,
        "--metadata", "@meta.json", "--config", '{"region": "eu"}',
    )  # fmt: skip
    assert "Connection 'acme' of 'keyed' imported" in result.stdout
    assert "key-7f3e9a1b" not in result.output
    stored = runtime.store.connections.get(runtime.environment_id, "keyed", "acme")
    assert stored is not None
    assert stored.credentials == {"type": "API_KEY", "apiKey": "key-7f3e9a1b"}
    assert (stored.metadata, stored.connection_config) == ({"plan": "pro"}, {"region": "eu"})


def test_create_refused_by_the_runtime_says_why(cli: Cli, runtime: Runtime) -> None:
    result = cli(
        "connection", "create", "fake", "acme", "--credentials",
        '{"type": "API_KEY", "apiKey": "k"}', expect=1,
    )  # fmt: skip
    assert "Provider OAUTH2 does not support API_KEY auth" in result.stderr
    assert "Traceback" not in result.output


def test_bad_credentials_json_is_one_clear_line(cli: Cli, runtime: Runtime) -> None:
    result = cli("connection", "create", "keyed", "acme", "--credentials", "{nope", expect=1)
    assert "--credentials" in result.stderr and "JSON" in result.stderr


def test_create_connects_in_the_browser(
    cli: Cli, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _browser(monkeypatch)
    result = cli("connection", "create", "fake", "acme", "--metadata", '{"team": 7}')
    assert "✓ Connection 'acme' of 'fake' was created." in result.stdout
    assert opened and opened[0].startswith(f"{runtime.url}/oauth/connect/fake?connection_id=acme")
    assert opened[0] in result.stderr  # shown too, to open elsewhere
    stored = runtime.store.connections.get(runtime.environment_id, "fake", "acme")
    assert stored is not None and stored.metadata == {"team": 7}
    assert (stored.credentials or {})["access_token"].startswith("at-")


def test_a_refusal_in_the_browser_fails_the_command(
    cli: Cli, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _browser(monkeypatch)
    runtime.oauth.deny = True
    result = cli("connection", "create", "fake", "acme", expect=1)
    assert "The connection failed" in result.stderr and "access_denied" in result.stderr


def test_without_a_browser_the_link_is_printed_and_waited_for(cli: Cli, runtime: Runtime) -> None:
    result = cli("connection", "create", "fake", "acme", "--no-browser", "--timeout", "1", expect=1)
    assert f"{runtime.url}/oauth/connect/fake?connection_id=acme&link=" in result.stderr
    assert "No connection after 1 s" in result.stderr


def test_list_and_delete(cli: Cli, runtime: Runtime) -> None:
    assert "No connections" in cli("connection", "list").stderr
    for name in ("one", "two"):
        credentials = '{"type": "API_KEY", "apiKey": "k"}'
        cli("connection", "create", "keyed", name, "--credentials", credentials)
    table = cli("connection", "list").stdout
    assert "CONNECTION ID" in table and "two" in table and "keyed" in table
    listed = json.loads(cli("connection", "list", "--json").stdout)
    assert [c["connection_id"] for c in listed] == ["two", "one"]
    assert json.loads(cli("connection", "list", "-i", "fake", "--json").stdout) == []
    result = cli("connection", "delete", "keyed", "one")
    assert "Connection 'one' of 'keyed' deleted" in result.stdout
    assert [c["connection_id"] for c in json.loads(cli("connection", "list", "--json").stdout)] == [
        "two"
    ]
    missing = cli("connection", "delete", "keyed", "one", expect=1)
    assert "No connection 'one' in integration 'keyed'" in missing.stderr


def test_a_failed_refresh_shows_in_the_list(cli: Cli, runtime: Runtime) -> None:
    runtime.store.connections.upsert(
        runtime.environment_id, "fake", "acme", credentials={"type": "OAUTH2", "access_token": "t"}
    )
    connection = runtime.store.connections.get(runtime.environment_id, "fake", "acme")
    assert connection is not None
    runtime.store.connections.record_refresh_failure(
        connection.id, "invalid_grant: revoked", next_retry_at=None
    )
    assert "invalid_grant: revoked" in cli("connection", "list").stdout


def test_without_a_runtime_or_a_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("connection", "list", expect=1)
    assert "NANGO_SECRET_KEY_DEV is not set" in result.stderr
    monkeypatch.setenv("NANGO_SECRET_KEY_DEV", str(uuid.uuid4()))
    monkeypatch.setenv("NANGO_HOSTPORT", closed_port_url())
    result = cli("connection", "list", expect=1)
    assert "not reachable" in result.stderr
