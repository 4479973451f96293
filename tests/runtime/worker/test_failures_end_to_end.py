"""What a deployed script cannot do to the runtime, with real processes: a script that hangs,
exhausts its memory or is killed fails its run and nothing else; a killed sync keeps what it
saved and applies no deletes; one sync never runs twice at once."""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.store import Store, open_store, sqlite_url
from tests.helpers import Cli, write_tree
from tests.runtime_harness import PROD_KEY, RuntimeProcess, runtime_process, wait_until

pytestmark = pytest.mark.slow

ENCRYPTION_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
HEADERS = {"Connection-Id": "c1", "Provider-Config-Key": "fake"}

CONFIG = """\
integrations:
  fake:
    syncs:
      slow:
        runs: every day
        output: Item
        track_deletes: true
        auto_start: false
        endpoint: GET /items
    actions:
      hang:
        output: Result
        endpoint: POST /hang
      hog:
        output: Result
        endpoint: POST /hog
      quick:
        output: Result
        endpoint: POST /quick
models:
  Item:
    id: string
    n: number
  Result:
    ok: boolean
"""
SLOW = """\
import asyncio

from models import Item, NangoSync


async def fetch_data(nango: NangoSync) -> None:
    settings = await nango.get_metadata() or {}
    count, offset = int(settings.get("count", 20)), int(settings.get("offset", 0))
    for start in range(0, count, 5):
        batch = [Item(id=str(i), n=i + offset) for i in range(start, min(start + 5, count))]
        await nango.batch_save(batch, "Item")
        await asyncio.sleep(float(settings.get("pause", 0)))
"""
HANG = """\
import time

from models import NangoAction, Result


async def run_action(nango: NangoAction) -> Result:
    time.sleep(3600)
    return Result(ok=True)
"""
HOG = """\
from models import NangoAction, Result


async def run_action(nango: NangoAction) -> Result:
    hoard = bytearray(16 * 1024 * 1024 * 1024)
    return Result(ok=len(hoard) > 0)
"""
QUICK = """\
from models import NangoAction, Result


async def run_action(nango: NangoAction) -> Result:
    return Result(ok=True)
"""


@dataclass
class Custom:
    runtime: RuntimeProcess
    store: Store
    environment_id: int
    connection_id: int

    def client(self) -> httpx.Client:
        return self.runtime.client(PROD_KEY)

    def set_metadata(self, **values: Any) -> None:
        self.store.connections.set_metadata(self.environment_id, "fake", ["c1"], values)

    def runs(self) -> list[Any]:
        return self.store.tasks.list_runs(self.environment_id, name="slow")


@pytest.fixture
def custom(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Custom]:
    data = tmp_path / "data"
    data.mkdir()
    url = sqlite_url(data / "nango.db")
    settings = {"lease_seconds": 3, "action_timeout_s": 3, "script_memory_mb": 1024}
    project = write_tree(
        tmp_path / "custom",
        {
            "nango.yaml": CONFIG,
            "fake/syncs/slow.py": SLOW,
            "fake/actions/hang.py": HANG,
            "fake/actions/hog.py": HOG,
            "fake/actions/quick.py": QUICK,
        },
    )
    with runtime_process(data, url, settings=settings) as runtime:
        store = open_store(url, encryption_key=ENCRYPTION_KEY)
        environment = store.environments.get("prod")
        assert environment is not None
        store.integrations.create(environment.id, "fake", "github")
        connection, _ = store.connections.upsert(
            environment.id, "fake", "c1", credentials={"type": "OAUTH2", "access_token": "t0ken"}
        )
        monkeypatch.setenv("NANGO_HOSTPORT", runtime.url)
        monkeypatch.setenv("NANGO_SECRET_KEY_PROD", PROD_KEY)
        cli("deploy", "prod", cwd=project)
        yield Custom(runtime, store, environment.id, connection.id)
        store.close()


def test_a_hanging_or_memory_hungry_action_fails_alone(custom: Custom) -> None:
    with custom.client() as client:
        hung = client.post("/action/trigger", json={"action_name": "hang"}, headers=HEADERS)
        assert hung.status_code == 500, hung.text
        # The script's own 3 s timer, or (on a loaded machine, when its process was slow to
        # start) the task's limit: either way the caller learns the run ran out of time.
        assert "did not finish within" in hung.json()["error"]["message"]
        hog = client.post("/action/trigger", json={"action_name": "hog"}, headers=HEADERS)
        assert hog.status_code == 500, hog.text
        assert "MemoryError" in hog.json()["error"]["message"]
        quick = client.post("/action/trigger", json={"action_name": "quick"}, headers=HEADERS)
        assert quick.status_code == 200 and quick.json() == {"ok": True}
        assert client.get("/health").status_code == 200


def _children(parent: int, marker: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and marker in command:
            found.append(int(entry.name))
    return found


def _runner_pids(parent: int) -> list[int]:
    """The run processes of a worker: forked by its run process server."""
    return [
        pid
        for server in _children(parent, b"runtime.worker.zygote_server")
        for pid in _children(server, b"runtime.worker.zygote_server")
    ]


def _trigger(client: httpx.Client) -> None:
    body = {"syncs": ["slow"], "provider_config_key": "fake", "connection_id": "c1"}
    assert client.post("/sync/trigger", json=body).status_code == 200


def test_a_killed_sync_keeps_its_saves_and_applies_no_deletes(custom: Custom) -> None:
    with custom.client() as client:
        custom.set_metadata(count=20)
        _trigger(client)
        first = wait_until(lambda: [r for r in custom.runs() if r.is_done], timeout=60)[0]
        assert first.state == "SUCCEEDED", first.error
        schedule = custom.store.syncs.get(custom.connection_id, "slow")
        assert schedule is not None and schedule.last_sync_date is not None
        synced_at = schedule.last_sync_date

        custom.set_metadata(count=10, offset=100, pause=60)
        _trigger(client)
        wait_until(
            lambda: (
                custom.store.records.get_by_ids(custom.connection_id, "Item", ["0"])
                .get("0", {})
                .get("n")
                == 100
            ),
            timeout=60,
        )
        for _ in range(3):  # triggers while it runs: never a second run at once
            _trigger(client)
        (pid,) = _runner_pids(custom.runtime.process.pid)
        os.kill(pid, signal.SIGKILL)
        killed = wait_until(
            lambda: next((r for r in custom.runs() if r.id != first.id and r.is_done), None),
            timeout=30,
        )
        assert killed.state == "FAILED"
        assert "SIGKILL" in killed.error["message"]
        assert killed.counts == {"Item": {"added": 0, "updated": 5, "deleted": 0}}
        live = custom.store.records.count_live(custom.connection_id)
        assert live == {"Item": 20}  # no track_deletes deletion after a failed run
        saved = custom.store.records.get_by_ids(custom.connection_id, "Item", ["0", "4", "5"])
        assert [saved[i]["n"] for i in ("0", "4", "5")] == [100, 104, 5]
        schedule = custom.store.syncs.get(custom.connection_id, "slow")
        assert schedule is not None and schedule.last_sync_date == synced_at
        assert len(custom.runs()) == 2

        custom.set_metadata(count=15)
        _trigger(client)
        third = wait_until(
            lambda: next(
                (
                    r
                    for r in custom.runs()
                    if r.is_done and r.state == "SUCCEEDED" and r.id != first.id
                ),
                None,
            ),
            timeout=60,
        )
        assert third.counts == {"Item": {"added": 0, "updated": 5, "deleted": 5}}
        assert custom.store.records.count_live(custom.connection_id) == {"Item": 15}
    runs = sorted(custom.runs(), key=lambda r: r.started_at)
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at is not None and earlier.finished_at <= later.started_at
