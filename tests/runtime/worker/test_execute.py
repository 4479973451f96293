"""Runs executed in-process over the store (both databases): the SDK's writes, delete detection,
resets, logs and actions, exactly as the worker's children run them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from runtime.scheduler.control import SyncTarget, enqueue_on_event, trigger_syncs
from runtime.store.errors import LeaseLostError
from runtime.store.tasks import Task
from tests.runtime.worker.conftest import Deployed, json_handler

CONFIG = """\
integrations:
  github:
    syncs:
      items:
        runs: every hour
        output: Item
        auto_start: false
        endpoint: GET /items
      mutating:
        runs: every hour
        output: Mutable
        auto_start: false
        endpoint: GET /mutating
      long-id:
        runs: every hour
        output: Long
        auto_start: false
        endpoint: GET /long-id
      legacy:
        runs: every hour
        output: Thing
        track_deletes: true
        auto_start: false
        endpoint: GET /things
    actions:
      outer:
        output: Result
        endpoint: POST /outer
      inner:
        input: Payload
        output: Result
        endpoint: POST /inner
    on-events:
      post-connection-creation:
        - welcome
models:
  Item:
    id: string
    n: number
  Thing:
    id: string
  Mutable:
    id: string
    n: number
  Long:
    id: string
    n: number
  Payload:
    value: number
  Result:
    value: number
"""
ITEMS = """\
from models import Item, NangoSync


async def fetch_data(nango: NangoSync) -> None:
    settings = await nango.get_metadata() or {}
    checkpoint = await nango.get_checkpoint() or {}
    await nango.log("checkpoint", checkpoint, "since", str(nango.last_sync_date))
    await nango.track_deletes_start("Item")
    res = await nango.get(endpoint="/items")
    await nango.batch_save([Item(id=str(i), n=i) for i in res.data], "Item")
    await nango.save_checkpoint({"seen": len(res.data)})
    await nango.log("token is", (await nango.get_connection()).credentials["access_token"])
    if settings.get("fail"):
        raise RuntimeError("failed on purpose")
    await nango.track_deletes_end("Item")
"""
MUTATING = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    record = {"id": "1", "n": 1}
    batch = [record]
    await nango.batch_save(batch, "Mutable")
    record["n"] = 2  # after the call: the saved record must not change
    batch.clear()
    await nango.save_checkpoint({"after": "batch"})
    found = await nango.get_records_by_ids(["1"], "Mutable")
    await nango.log("read back", found["1"]["n"])
"""
LONG_ID = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await nango.batch_save([{"id": "x" * 9000, "n": 1}], "Long")
    await nango.log("went on")
"""
LEGACY = """\
from models import NangoSync, Thing


async def fetch_data(nango: NangoSync) -> None:
    res = await nango.get(endpoint="/things")
    await nango.batch_save([Thing(id=str(i)) for i in res.data], "Thing")
"""
OUTER = """\
from models import NangoAction, Result


async def run_action(nango: NangoAction) -> Result:
    found = await nango.trigger_action("github", "acme", "inner", {"value": 20})
    await nango.update_metadata({"outer": True})
    return Result(value=found["value"] + 1)
"""
INNER = """\
from models import NangoAction, Payload, Result


async def run_action(nango: NangoAction, input: Payload) -> Result:
    return Result(value=input.value * 2)
"""
WELCOME = """\
from models import NangoAction


async def on_event(nango: NangoAction) -> None:
    await nango.set_metadata({"welcomed": True})
"""
FILES = {
    "nango.yaml": CONFIG,
    "github/syncs/items.py": ITEMS,
    "github/syncs/legacy.py": LEGACY,
    "github/syncs/mutating.py": MUTATING,
    "github/syncs/long-id.py": LONG_ID,
    "github/actions/outer.py": OUTER,
    "github/actions/inner.py": INNER,
    "github/on-events/welcome.py": WELCOME,
}


@pytest.fixture
def api() -> dict[str, Any]:
    return {"/items": [1, 2, 3], "/things": ["a", "b", "c"]}


@pytest.fixture
def deployed(deploy_project: Callable[..., Deployed], api: dict[str, Any]) -> Deployed:
    return deploy_project(FILES, json_handler(api))


def run_sync(deployed: Deployed, name: str, **options: bool) -> Task:
    world = deployed.world
    connection = world.store.connections.get_by_id(world.connection_id, with_credentials=False)
    assert connection is not None
    trigger_syncs(world.store, deployed.settings, [connection], [SyncTarget(name)], **options)
    return deployed.execute()


def live_ids(deployed: Deployed, model: str) -> list[str]:
    page = deployed.world.store.records.list_page(deployed.world.connection_id, model, limit=100)
    return sorted(r["id"] for r in page.records if r["_nango_metadata"]["deleted_at"] is None)


def test_a_sync_run_saves_counts_checkpoints_and_moves_last_sync_date(
    deployed: Deployed,
) -> None:
    first = run_sync(deployed, "items")
    assert first.state == "SUCCEEDED", first.error
    assert first.counts == {"Item": {"added": 3, "updated": 0, "deleted": 0}}
    assert first.generation is not None and first.run_type == "INITIAL"
    assert live_ids(deployed, "Item") == ["1", "2", "3"]
    store, connection = deployed.world.store, deployed.world.connection_id
    assert store.checkpoints.get(connection, "sync:items").value == {"seen": 3}
    schedule = store.syncs.get(connection, "items")
    assert schedule is not None and schedule.last_sync_date == first.started_at
    assert schedule.last_result == first.counts
    logs = deployed.logs(first)
    assert "checkpoint {} since None" in logs[0]
    assert any(line.startswith("GET https://api.github.com/items -> 200") for line in logs)
    assert "token is [REDACTED]" in logs
    assert logs[-1].startswith("run succeeded in") and logs[-1].endswith("(Item +3 ~0 -0)")


def test_track_deletes_end_deletes_what_the_run_did_not_see(
    deployed: Deployed, api: dict[str, Any]
) -> None:
    run_sync(deployed, "items")
    api["/items"] = [1, 3]
    second = run_sync(deployed, "items")
    assert second.counts == {"Item": {"added": 0, "updated": 0, "deleted": 1}}
    assert live_ids(deployed, "Item") == ["1", "3"]


def test_a_failed_run_deletes_nothing_and_the_next_resumes_from_its_start(
    deployed: Deployed, api: dict[str, Any]
) -> None:
    world = deployed.world
    run_sync(deployed, "items")
    synced_at = world.store.syncs.get(world.connection_id, "items").last_sync_date  # type: ignore[union-attr]
    world.store.connections.set_metadata(world.environment_id, "github", ["acme"], {"fail": True})
    api["/items"] = [1]
    failed = run_sync(deployed, "items")
    assert failed.state == "FAILED" and "failed on purpose" in failed.error["message"]  # type: ignore[index]
    assert failed.counts == {"Item": {"added": 0, "updated": 0, "deleted": 0}}
    assert live_ids(deployed, "Item") == ["1", "2", "3"]
    schedule = world.store.syncs.get(world.connection_id, "items")
    assert schedule is not None and schedule.last_sync_date == synced_at
    world.store.connections.set_metadata(world.environment_id, "github", ["acme"], {})
    api["/items"] = [3]
    resumed = run_sync(deployed, "items")
    # 1 was seen by the failed run, 3 by this one: both since the failed run's start
    assert resumed.counts == {"Item": {"added": 0, "updated": 0, "deleted": 1}}
    assert live_ids(deployed, "Item") == ["1", "3"]


def test_legacy_track_deletes_after_a_successful_run_only(
    deployed: Deployed, api: dict[str, Any]
) -> None:
    run_sync(deployed, "legacy")
    api["/things"] = ["a"]
    second = run_sync(deployed, "legacy")
    assert second.counts == {"Thing": {"added": 0, "updated": 0, "deleted": 2}}
    assert live_ids(deployed, "Thing") == ["a"]
    assert any('"track_deletes" post deleted 2 records' in line for line in deployed.logs(second))


def test_reset_and_empty_cache(deployed: Deployed, api: dict[str, Any]) -> None:
    world = deployed.world
    run_sync(deployed, "items")
    api["/items"] = [7]
    reset = run_sync(deployed, "items", reset=True, empty_cache=True)
    assert reset.run_type == "INITIAL"
    assert "checkpoint {} since None" in deployed.logs(reset)[0]
    assert reset.counts == {"Item": {"added": 1, "updated": 0, "deleted": 0}}
    assert live_ids(deployed, "Item") == ["7"]
    assert world.store.records.count_live(world.connection_id) == {"Item": 1}


def test_an_action_triggers_another_and_writes_metadata(deployed: Deployed) -> None:
    world = deployed.world
    from runtime.scheduler.control import enqueue_action

    connection = world.store.connections.get_by_id(world.connection_id, with_credentials=False)
    assert connection is not None
    enqueue_action(world.store, deployed.settings, connection, "outer", None, has_input=False)
    outer = deployed.claim()
    ran: list[Task] = []
    thread = threading.Thread(target=lambda: ran.append(deployed.execute(outer)))
    thread.start()
    deadline = time.monotonic() + 30
    inner = None
    while inner is None and time.monotonic() < deadline:
        claimed = world.store.tasks.claim("test", limit=1, lease_seconds=60)
        inner = claimed[0] if claimed else None
        time.sleep(0.02)
    assert inner is not None and inner.name == "inner"
    assert deployed.execute(inner).output == {"value": 40}
    thread.join(30)
    assert ran[0].state == "SUCCEEDED", ran[0].error
    assert ran[0].output == {"value": 41}
    updated = world.store.connections.get_by_id(world.connection_id)
    assert updated is not None and updated.metadata == {"outer": True}


def test_on_event_scripts_run_on_their_event(deployed: Deployed) -> None:
    world = deployed.world
    connection = world.store.connections.get_by_id(world.connection_id, with_credentials=False)
    assert connection is not None
    (task,) = enqueue_on_event(world.store, connection, "post-connection-creation")
    assert enqueue_on_event(world.store, connection, "pre-connection-deletion") == []
    done = deployed.execute()
    assert done.id == task.id and done.state == "SUCCEEDED", done.error
    found = world.store.connections.get_by_id(world.connection_id)
    assert found is not None and found.metadata == {"welcomed": True}


def test_a_run_whose_lease_is_lost_writes_nothing(deployed: Deployed) -> None:
    world = deployed.world
    connection = world.store.connections.get_by_id(world.connection_id, with_credentials=False)
    assert connection is not None
    trigger_syncs(world.store, deployed.settings, [connection], [SyncTarget("items")])
    task = deployed.claim()
    assert task.lease_token is not None
    from runtime.store.timestamps import now_us

    world.store.tasks.expire(now=now_us() + 3600 * 10**6)  # the lease expired before the start
    done = deployed.execute(task)
    assert done.state == "FAILED" and done.error["type"] == "lease_expired"  # type: ignore[index]
    assert world.store.records.count_live(world.connection_id) == {}


def test_a_run_whose_connection_was_deleted_ends_quietly(deployed: Deployed) -> None:
    from runtime.worker.execute import execute_task

    world = deployed.world
    connection = world.store.connections.get_by_id(world.connection_id, with_credentials=False)
    assert connection is not None
    trigger_syncs(world.store, deployed.settings, [connection], [SyncTarget("items")])
    task = deployed.claim()
    assert task.lease_token is not None
    world.store.connections.delete(world.environment_id, "github", "acme")  # its runs go too
    execute_task(world.store, task, task.lease_token, deployed.settings)
    assert world.store.tasks.get(task.id) is None


def test_a_run_whose_script_was_removed_fails_clearly(deployed: Deployed) -> None:
    world = deployed.world
    connection = world.store.connections.get_by_id(world.connection_id, with_credentials=False)
    assert connection is not None
    trigger_syncs(world.store, deployed.settings, [connection], [SyncTarget("items")])
    task = deployed.claim()
    from dataclasses import replace

    done = deployed.execute(replace(task, script_id=None))
    assert done.state == "FAILED"
    assert done.error is not None and "no longer exists" in done.error["message"]


def test_an_http_failure_is_a_script_http_error(
    deploy_project: Callable[..., Deployed],
) -> None:
    def failing(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "nope"})

    deployed = deploy_project(FILES, failing)
    failed = run_sync(deployed, "legacy")
    assert failed.state == "FAILED"
    assert failed.error is not None and failed.error["type"] == "script_http_error"
    assert failed.error["payload"]["status"] == 403


def test_lease_lost_between_writes(deployed: Deployed) -> None:
    from runtime.backends.stored import RunState, StoredBackend

    world = deployed.world
    connection = world.store.connections.get_by_id(world.connection_id)
    environment = world.store.environments.get_by_id(world.environment_id)
    assert connection is not None and environment is not None
    from runtime.worker.execute import provider_for

    trigger_syncs(world.store, deployed.settings, [connection], [SyncTarget("items")])
    task = deployed.claim()
    assert task.lease_token is not None
    backend = StoredBackend(
        store=world.store,
        settings=deployed.settings,
        environment=environment,
        task=task,
        lease_token=task.lease_token,
        connection=connection,
        provider=provider_for(world.store, connection),
        state=RunState(generation=1, track_all_deletes=False, declared_models=("Item",)),
        checkpoint_key="sync:items",
    )
    backend._write_records("save", "Item", [{"id": "1", "n": 1}])
    world.store.tasks.fail(task.id, task.lease_token, {"type": "x", "message": "taken"})
    with pytest.raises(LeaseLostError):
        backend._write_records("save", "Item", [{"id": "2", "n": 2}])
    assert live_ids(deployed, "Item") == ["1"]


def test_a_batch_is_saved_as_it_was_when_batch_save_was_called(deployed: Deployed) -> None:
    done = run_sync(deployed, "mutating")
    assert done.state == "SUCCEEDED", done.error
    store, connection = deployed.world.store, deployed.world.connection_id
    assert store.records.get_by_ids(connection, "Mutable", ["1"]) == {"1": {"id": "1", "n": 1}}
    assert store.checkpoints.get(connection, "sync:mutating").value == {"after": "batch"}
    assert "read back 1" in deployed.logs(done)


def test_a_batch_the_store_refuses_fails_the_run(deployed: Deployed) -> None:
    done = run_sync(deployed, "long-id")
    assert done.state == "FAILED"
    assert done.error is not None and "longer than 8192" in done.error["message"]
    assert deployed.world.store.records.count_live(deployed.world.connection_id) == {}
