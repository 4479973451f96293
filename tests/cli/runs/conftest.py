"""A runtime served on 127.0.0.1 (SQLite, one environment, one connection) for the CLI's
runtime-reading commands (`nango runs`, `nango logs`, `nango records`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.server.app import create_app
from runtime.settings import RuntimeSettings
from runtime.store import Store, open_store, sqlite_url
from runtime.store.tasks import NewTask, Task, Timeouts
from tests.runtime.store.conftest import TEST_KEY
from tests.runtime_harness import DEV_KEY, serve_in_thread

TIMEOUTS = Timeouts(60_000, 60_000)


@dataclass
class Runtime:
    url: str
    store: Store
    environment_id: int
    connection_id: int

    def run(self, name: str, kind: str = "sync", **payload: Any) -> tuple[Task, str]:
        new = NewTask(
            environment_id=self.environment_id,
            kind=kind,  # type: ignore[arg-type]
            name=name,
            payload={"integration": "github", "connection_id": "acme", **payload},
            timeouts=TIMEOUTS,
            connection_id=self.connection_id,
        )
        created = self.store.tasks.create(new)
        assert created is not None
        (task,) = self.store.tasks.claim("test", limit=1, lease_seconds=60)
        assert task.lease_token is not None
        return task, task.lease_token


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    store = open_store(sqlite_url(tmp_path / "runtime.db"), encryption_key=TEST_KEY)
    environment = store.environments.ensure("dev", secret_key=DEV_KEY).environment
    store.integrations.create(environment.id, "github", "github")
    connection, _ = store.connections.upsert(
        environment.id, "github", "acme", credentials={"type": "NONE"}
    )
    with serve_in_thread(create_app(RuntimeSettings(data_dir=tmp_path), store)) as url:
        monkeypatch.setenv("NANGO_HOSTPORT", url)
        monkeypatch.setenv("NANGO_SECRET_KEY_DEV", DEV_KEY)
        yield Runtime(url, store, environment.id, connection.id)
    store.close()
