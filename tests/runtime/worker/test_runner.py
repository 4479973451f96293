"""The run process's side of the server's store (`runtime.worker.zygote_server`): the server
opens the store once, compiles a run's statements and closes its connections before any fork;
a run on that store opens connections of its own, and every write it makes is still fenced by
its lease token."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from runtime.scheduler.control import SyncTarget, trigger_syncs
from runtime.store import Store
from runtime.store.tasks import Task
from runtime.store.timestamps import now_us
from runtime.worker import Worker, runner
from runtime.worker.zygote_server import _preload
from tests.runtime.store.conftest import TEST_KEY
from tests.runtime.worker.conftest import Deployed

CONFIG = """\
integrations:
  github:
    syncs:
      empty:
        runs: every hour
        output: Thing
        auto_start: false
        endpoint: GET /things
models:
  Thing:
    id: string
"""
EMPTY = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await nango.log("nothing to fetch")
"""
HANGING = """\
import asyncio

from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await asyncio.sleep(120)
"""
FILES = {"nango.yaml": CONFIG, "github/syncs/empty.py": EMPTY}


@pytest.fixture
def warm(store_url: str) -> tuple[str, Store]:
    made = _preload({"database": store_url, "encryption_key": TEST_KEY})
    assert made is not None
    return made


@pytest.fixture
def deployed(
    deploy_project: Callable[..., Deployed], store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Deployed:
    monkeypatch.setattr(runner, "limit_memory", lambda _megabytes: None)  # not on pytest
    deployed = deploy_project(FILES)
    deployed.settings = deployed.settings.model_copy(update={"database_url": store_url})
    return deployed


def claimed_sync(deployed: Deployed) -> Task:
    world = deployed.world
    connection = world.store.connections.get_by_id(world.connection_id, with_credentials=False)
    assert connection is not None
    trigger_syncs(world.store, deployed.settings, [connection], [SyncTarget("empty")])
    return deployed.claim()


def config_of(deployed: Deployed, task: Task, token: str) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "lease_token": token,
        "memory_mb": 4096,
        "encryption_key": TEST_KEY,
        "settings": deployed.settings.model_dump(mode="json"),
    }


def test_the_server_store_is_compiled_and_holds_no_connection(warm: tuple[str, Store]) -> None:
    engine = warm[1].database.engine
    assert len(engine._compiled_cache) >= 8  # type: ignore[attr-defined]
    assert engine.pool.checkedin() == 0 and engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_run_on_the_server_store_records_its_end(
    deployed: Deployed, warm: tuple[str, Store]
) -> None:
    task = claimed_sync(deployed)
    assert task.lease_token is not None
    assert runner._run(config_of(deployed, task, task.lease_token), warm) == 0
    done = deployed.world.store.tasks.get(task.id)
    assert done is not None and done.state == "SUCCEEDED", done and done.error
    assert done.finished_at is not None
    logs = deployed.logs(done)
    assert "nothing to fetch" in logs and logs[-1].startswith("run succeeded in")


def test_a_run_on_the_server_store_without_its_lease_writes_nothing(
    deployed: Deployed, warm: tuple[str, Store]
) -> None:
    task = claimed_sync(deployed)
    assert task.lease_token is not None
    assert runner._run(config_of(deployed, task, "not-the-token"), warm) == 0
    after = deployed.world.store.tasks.get(task.id)
    assert after is not None and after.state == "STARTED" and after.generation is None
    assert deployed.logs(after) == []
    deployed.world.store.tasks.expire(now=now_us() + 3600 * 10**6)
    assert runner._run(config_of(deployed, task, task.lease_token), warm) == 0
    expired = deployed.world.store.tasks.get(task.id)
    assert expired is not None and expired.state == "FAILED"
    assert expired.error is not None and expired.error["type"] == "lease_expired"
    assert deployed.logs(expired) == []


def test_a_killed_run_process_of_the_server_ends_failed(
    deploy_project: Callable[..., Deployed], store_url: str
) -> None:
    deployed = deploy_project({**FILES, "github/syncs/empty.py": HANGING})
    settings = deployed.settings.model_copy(
        update={"database_url": store_url, "worker_concurrency": 2, "lease_seconds": 30}
    )
    deployed.settings = settings
    store = deployed.world.store
    connection = store.connections.get_by_id(deployed.world.connection_id, with_credentials=False)
    assert connection is not None
    trigger_syncs(store, settings, [connection], [SyncTarget("empty")])
    worker = Worker(settings, store, encryption_key=TEST_KEY)
    try:
        environment = deployed.world.environment_id
        task = tick_until(worker, store, environment, lambda run: run.generation is not None)
        worker._children[task.id].process.kill()  # SIGKILL, mid-run
        done = tick_until(worker, store, environment, lambda run: run.is_done)
    finally:
        worker.shutdown(0)
    assert done.state == "FAILED" and done.error is not None
    assert "killed by SIGKILL" in done.error["message"]
    assert deployed.logs(done)[-1] == done.error["message"]


def tick_until(
    worker: Worker, store: Store, environment_id: int, reached: Callable[[Task], bool]
) -> Task:
    """Tick the worker until its only run has `reached` (the run process assigned the run's
    generation: it is running, with a connection of its own)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        worker.tick()
        runs = store.tasks.list_runs(environment_id, limit=10)
        if runs and reached(runs[0]):
            return runs[0]
        time.sleep(0.1)
    raise AssertionError("the run did not get there")
