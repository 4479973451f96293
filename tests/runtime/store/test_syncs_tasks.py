"""Sync schedules, tasks with leases and fencing, the due and expiring passes, run logs: on
both databases."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from runtime.store.errors import LeaseLostError
from runtime.store.scripts import NewScript, Script
from runtime.store.syncs import SyncSpec, grid_after, grid_at_or_after
from runtime.store.task_logs import MAX_LINES_PER_RUN
from runtime.store.tasks import NewTask, Timeouts
from runtime.store.timestamps import now_us
from tests.runtime.store.conftest import World

HOUR_MS = 3_600_000
TIMEOUTS = Timeouts(3_600_000, 86_400_000)
S = 1_000_000  # one second in microseconds


def deploy_sync(world: World, name: str = "issues", **config: Any) -> Script:
    store = world.store
    integration = store.integrations.get(world.environment_id, "github")
    assert integration is not None
    deployment = store.scripts.create_deployment(
        world.environment_id, mode="all", sdk_version="0.1.0-py", summary={}
    )
    digest = store.sources.put(f"# {name}\n")
    new = NewScript(
        integration_id=integration.id,
        name=name,
        type="sync",
        version="1",
        config={"runs": "every hour", "frequency_ms": HOUR_MS, "auto_start": True, **config},
        source_hash=digest,
        models_hash=digest,
        files={},
        content_hash=digest,
    )
    return store.scripts.activate(world.environment_id, deployment, new)


def action_task(world: World, **options: Any) -> NewTask:
    return NewTask(
        environment_id=world.environment_id,
        kind="action",
        name="create-issue",
        payload={"input": {"title": "x"}},
        timeouts=options.pop("timeouts", TIMEOUTS),
        connection_id=world.connection_id,
        **options,
    )


# --- schedules ---------------------------------------------------------------------------------


def test_grid_points() -> None:
    assert grid_after(100 * S, 60_000, 100 * S) == 160 * S
    assert grid_after(100 * S, 60_000, 159 * S) == 160 * S
    assert grid_after(100 * S, 60_000, 160 * S) == 220 * S
    assert grid_at_or_after(100 * S, 60_000, 160 * S) == 160 * S
    assert grid_at_or_after(100 * S, 60_000, 161 * S) == 220 * S
    assert grid_at_or_after(100 * S, 60_000, 50 * S) == 100 * S


def test_ensure_creates_one_row_per_connection_sync_variant(world: World) -> None:
    store = world.store
    first, created = store.syncs.ensure(world.connection_id, SyncSpec("issues", HOUR_MS, True))
    again, created_again = store.syncs.ensure(
        world.connection_id, SyncSpec("issues", HOUR_MS, False)
    )
    assert created and not created_again and first == again
    assert first.state == "STARTED" and first.next_run_at == first.anchor_at
    variant, _ = store.syncs.ensure(
        world.connection_id, SyncSpec("issues", HOUR_MS, False), variant="eu"
    )
    assert variant.state == "PAUSED" and variant.next_run_at is None
    assert len(store.syncs.list_for([world.connection_id])) == 2


def test_ensure_for_integration_and_missing_rows_for_later_connections(world: World) -> None:
    store = world.store
    script = deploy_sync(world, auto_start=False)
    world.add_connection("beta")
    assert (
        store.syncs.ensure_for_integration(
            script.integration_id, SyncSpec("issues", HOUR_MS, False)
        )
        == 2
    )
    later = world.add_connection("gamma")
    assert store.syncs.ensure_missing() == 1
    assert store.syncs.ensure_missing() == 0
    row = store.syncs.get(later, "issues")
    assert row is not None and row.state == "PAUSED" and row.frequency_ms == HOUR_MS


def test_start_pause_reschedule(world: World) -> None:
    store = world.store
    row, _ = store.syncs.ensure(
        world.connection_id, SyncSpec("issues", HOUR_MS, False), now=1000 * S
    )
    store.syncs.set_state([row.id], "STARTED", now=1500 * S)
    started = store.syncs.get_by_id(row.id)
    assert started is not None and started.state == "STARTED"
    assert started.next_run_at is not None  # never ran: due at once
    assert now_us_of(started.next_run_at) == 1500 * S
    store.syncs.set_state([row.id], "PAUSED")
    paused = store.syncs.get_by_id(row.id)
    assert paused is not None and paused.state == "PAUSED"
    store.syncs.set_state([row.id], "STARTED", now=1500 * S)
    store.syncs.request_run(row.id, now=1600 * S)
    store.syncs.reschedule([row.id], 60_000, now=1600 * S)
    moved = store.syncs.get_by_id(row.id)
    assert moved is not None and moved.frequency_ms == 60_000


def now_us_of(value: Any) -> int:
    from runtime.store.timestamps import to_us

    return to_us(value)


# --- tasks, leases, fencing --------------------------------------------------------------------


def test_claim_gives_each_task_to_one_worker_under_a_lease(world: World) -> None:
    store = world.store
    created = [store.tasks.create(action_task(world)) for _ in range(5)]
    assert all(task is not None and task.state == "CREATED" for task in created)
    claimed = store.tasks.claim("w1", limit=3, lease_seconds=30)
    rest = store.tasks.claim("w2", limit=10, lease_seconds=30)
    assert len(claimed) == 3 and len(rest) == 2
    assert {t.id for t in claimed} | {t.id for t in rest} == {t.id for t in created if t}
    for task in claimed:
        assert task.state == "STARTED" and task.owner == "w1" and task.attempt == 1
        assert task.lease_token and task.lease_expires_at is not None
    assert store.tasks.claim("w3", limit=10, lease_seconds=30) == []


def test_concurrent_claims_never_share_a_task(world: World, store_url: str) -> None:
    from runtime.store import open_store
    from tests.runtime.store.conftest import TEST_KEY

    store = world.store
    for _ in range(40):
        store.tasks.create(action_task(world))
    stores = [open_store(store_url, encryption_key=TEST_KEY) for _ in range(4)]
    got: list[list[str]] = [[] for _ in stores]

    def claim(index: int) -> None:
        while batch := stores[index].tasks.claim(f"w{index}", limit=3, lease_seconds=30):
            got[index].extend(task.id for task in batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for opened in stores:
        opened.close()
    every = [task_id for ids in got for task_id in ids]
    assert len(every) == 40 and len(set(every)) == 40


def test_tasks_that_start_later_wait(world: World) -> None:
    store = world.store
    store.tasks.create(action_task(world, starts_after=now_us() + 3600 * S))
    assert store.tasks.claim("w", limit=5, lease_seconds=30) == []


def test_heartbeat_renews_only_with_the_token(world: World) -> None:
    store = world.store
    store.tasks.create(action_task(world))
    (task,) = store.tasks.claim("w", limit=1, lease_seconds=5)
    assert task.lease_token is not None
    assert store.tasks.heartbeat(task.id, task.lease_token, lease_seconds=60)
    renewed = store.tasks.get(task.id)
    assert renewed is not None and renewed.lease_expires_at is not None
    assert task.lease_expires_at is not None and renewed.lease_expires_at > task.lease_expires_at
    assert not store.tasks.heartbeat(task.id, "not-the-token", lease_seconds=60)


def test_fenced_writes_need_the_live_lease(world: World) -> None:
    store = world.store
    store.tasks.create(action_task(world))
    (task,) = store.tasks.claim("w", limit=1, lease_seconds=30)
    token = task.lease_token
    assert token is not None
    with store.fenced(task.id, token) as tx:
        tx.records.save(world.connection_id, "Issue", [{"id": 1}])
    with pytest.raises(LeaseLostError), store.fenced(task.id, "stolen") as tx:
        tx.records.save(world.connection_id, "Issue", [{"id": 2}])
    store.tasks.finish(task.id, token, "SUCCEEDED", output={"ok": True})
    with pytest.raises(LeaseLostError), store.fenced(task.id, token) as tx:
        tx.records.save(world.connection_id, "Issue", [{"id": 3}])
    with pytest.raises(LeaseLostError):
        store.tasks.finish(task.id, token, "FAILED")
    assert set(store.records.get_by_ids(world.connection_id, "Issue", ["1", "2", "3"])) == {"1"}
    done = store.tasks.get(task.id)
    assert done is not None and done.state == "SUCCEEDED" and done.output == {"ok": True}
    assert done.duration_s is not None and done.duration_s >= 0


def test_a_write_that_fails_inside_the_fence_changes_nothing(world: World) -> None:
    store = world.store
    store.tasks.create(action_task(world))
    (task,) = store.tasks.claim("w", limit=1, lease_seconds=30)
    assert task.lease_token is not None
    with pytest.raises(RuntimeError), store.fenced(task.id, task.lease_token) as tx:
        tx.records.save(world.connection_id, "Issue", [{"id": 1}])
        tx.tasks.update_counts(task.id, {"Issue": {"added": 1}})
        raise RuntimeError("boom")
    assert store.records.get_by_ids(world.connection_id, "Issue", ["1"]) == {}
    found = store.tasks.get(task.id)
    assert found is not None and found.counts is None


def test_expiring_pass(world: World) -> None:
    store = world.store
    store.tasks.create(action_task(world))
    (lost,) = store.tasks.claim("w", limit=1, lease_seconds=1)
    stale = store.tasks.create(action_task(world, timeouts=Timeouts(1000, 86_400_000)))
    assert stale is not None
    later = now_us() + 5 * S
    ended = {task.id: task for task in store.tasks.expire(now=later)}
    assert ended[lost.id].state == "FAILED"
    assert ended[lost.id].error is not None and ended[lost.id].error["type"] == "lease_expired"
    assert ended[stale.id].state == "EXPIRED"
    assert store.tasks.expire(now=later) == []
    assert lost.lease_token is not None
    with pytest.raises(LeaseLostError), store.fenced(lost.id, lost.lease_token):
        pass


def test_runs_past_their_time_limit_fail(world: World) -> None:
    store = world.store
    store.tasks.create(action_task(world, timeouts=Timeouts(60_000, 1000)))
    (task,) = store.tasks.claim("w", limit=1, lease_seconds=3600)
    (ended,) = store.tasks.expire(now=now_us() + 5 * S)
    assert ended.id == task.id and ended.state == "FAILED"
    assert ended.error is not None and ended.error["type"] == "timeout"


def test_generations_only_grow_and_are_assigned_once(world: World) -> None:
    store = world.store
    for _ in range(2):
        store.tasks.create(action_task(world))
    first, second = store.tasks.claim("w", limit=2, lease_seconds=30)
    assert first.lease_token is not None and second.lease_token is not None
    a = store.tasks.assign_generation(first.id, first.lease_token)
    b = store.tasks.assign_generation(second.id, second.lease_token)
    assert b > a and store.tasks.assign_generation(first.id, first.lease_token) == a
    with pytest.raises(LeaseLostError):
        store.tasks.assign_generation(first.id, "nope")


# --- the due pass ------------------------------------------------------------------------------


def test_due_pass_creates_one_run_per_due_schedule_and_moves_it_on_the_grid(world: World) -> None:
    store = world.store
    script = deploy_sync(world)
    row, _ = store.syncs.ensure(
        world.connection_id, SyncSpec("issues", HOUR_MS, True), now=1000 * S
    )
    (task,) = store.tasks.create_due_sync_tasks(TIMEOUTS, now=1001 * S)
    assert task.kind == "sync" and task.sync_id == row.id and task.script_id == script.id
    assert task.run_type == "INITIAL"
    assert task.payload["sync"] == "issues" and task.payload["connection_id"] == "acme"
    moved = store.syncs.get_by_id(row.id)
    assert moved is not None and moved.last_task_id == task.id
    assert moved.next_run_at is not None and now_us_of(moved.next_run_at) == 1000 * S + 3600 * S
    assert store.tasks.create_due_sync_tasks(TIMEOUTS, now=1001 * S) == []
    # due again while the first run is still active: no second run, the grid moves on
    assert store.tasks.create_due_sync_tasks(TIMEOUTS, now=1000 * S + 3601 * S) == []


def test_never_two_active_runs_of_one_sync(world: World) -> None:
    store = world.store
    script = deploy_sync(world)
    row, _ = store.syncs.ensure(world.connection_id, SyncSpec("issues", HOUR_MS, True))
    new = NewTask(
        environment_id=world.environment_id,
        kind="sync",
        name="issues",
        payload={},
        timeouts=TIMEOUTS,
        connection_id=world.connection_id,
        sync_id=row.id,
        script_id=script.id,
    )
    first = store.tasks.create(new)
    assert first is not None and store.tasks.create(new) is None
    assert store.tasks.create_due_sync_tasks(TIMEOUTS) == []
    assert store.tasks.active_for_sync(row.id) == first
    (claimed,) = store.tasks.claim("w", limit=1, lease_seconds=30)
    assert claimed.lease_token is not None
    store.tasks.finish(claimed.id, claimed.lease_token, "SUCCEEDED")
    assert store.tasks.create(new) is not None


def test_paused_or_undeployed_schedules_are_not_due(world: World) -> None:
    store = world.store
    store.syncs.ensure(world.connection_id, SyncSpec("issues", HOUR_MS, True))  # not deployed
    deploy_sync(world, name="other")
    store.syncs.ensure(world.connection_id, SyncSpec("other", HOUR_MS, False))
    assert store.tasks.create_due_sync_tasks(TIMEOUTS) == []


def test_cancelled_runs_of_removed_syncs_keep_their_history(world: World) -> None:
    store = world.store
    deploy_sync(world)
    row, _ = store.syncs.ensure(world.connection_id, SyncSpec("issues", HOUR_MS, True))
    (task,) = store.tasks.create_due_sync_tasks(TIMEOUTS)
    assert store.tasks.cancel_for_syncs([row.id], reason="sync removed") == 1
    assert store.syncs.remove([row.id]) == 1
    kept = store.tasks.get(task.id)
    assert kept is not None and kept.state == "CANCELLED" and kept.sync_id is None
    runs = store.tasks.list_runs(world.environment_id, connection_id=world.connection_id)
    assert [run.id for run in runs] == [task.id]


def test_success_moves_last_sync_date(world: World) -> None:
    store = world.store
    row, _ = store.syncs.ensure(world.connection_id, SyncSpec("issues", HOUR_MS, True))
    store.syncs.record_success(row.id, last_sync_date=1234 * S, result={"Issue": {"added": 1}})
    done = store.syncs.get_by_id(row.id)
    assert done is not None and done.last_result == {"Issue": {"added": 1}}
    assert done.last_sync_date is not None and now_us_of(done.last_sync_date) == 1234 * S
    store.syncs.reset(row.id)
    reset = store.syncs.get_by_id(row.id)
    assert reset is not None and reset.last_sync_date is None


# --- logs --------------------------------------------------------------------------------------


def test_logs_are_numbered_and_read_after_a_point(world: World) -> None:
    store = world.store
    task = store.tasks.create(action_task(world))
    assert task is not None
    store.logs.append(task.id, [("info", "one"), ("warn", "two")])
    store.logs.append(task.id, [("error", "three\x00")])
    lines = store.logs.list(task.id)
    assert [(line.seq, line.level, line.message) for line in lines] == [
        (1, "info", "one"),
        (2, "warn", "two"),
        (3, "error", "three"),
    ]
    assert [line.seq for line in store.logs.list(task.id, after=2)] == [3]


def test_logs_are_clipped_per_line_and_per_run(world: World) -> None:
    store = world.store
    task = store.tasks.create(action_task(world))
    assert task is not None
    store.logs.append(task.id, [("info", "x" * 200_000)])
    (line,) = store.logs.list(task.id)
    assert len(line.message) <= 99_000 and line.message.endswith("payload was too large)")
    store.logs.append(task.id, [("info", "y")] * (MAX_LINES_PER_RUN + 5))
    lines = store.logs.list(task.id, after=MAX_LINES_PER_RUN - 2, limit=10)
    assert [line.seq for line in lines] == [MAX_LINES_PER_RUN - 1, MAX_LINES_PER_RUN]
    assert "dropped" in lines[-1].message
    assert store.logs.append(task.id, [("info", "more")]) == 0
