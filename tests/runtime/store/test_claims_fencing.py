"""Claims dealt fairly over environments within their caps, and every write of a run fenced by
its lease in the same transaction: on both databases."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from runtime.store import Store, open_store
from runtime.store.claims import deal
from runtime.store.errors import LeaseLostError
from runtime.store.syncs import SyncSpec
from runtime.store.tasks import NewTask, Task, Timeouts
from runtime.store.timestamps import now_us
from tests.runtime.store.conftest import TEST_KEY, World

TIMEOUTS = Timeouts(3_600_000, 86_400_000)
HOUR_MS = 3_600_000


def add_tasks(store: Store, environment_id: int, count: int, kind: str = "sync") -> list[Task]:
    made = []
    for _ in range(count):
        new = NewTask(environment_id, kind, "x", {}, TIMEOUTS)  # type: ignore[arg-type]
        task = store.tasks.create(new)
        assert task is not None
        made.append(task)
    return made


def second_environment(world: World) -> int:
    return world.store.environments.ensure("prod").environment.id


def test_deal_gives_one_slot_per_group_per_round() -> None:
    assert deal([5, 5, 5], 4) == [2, 1, 1]
    assert deal([1, 10], 6) == [1, 5]
    assert deal([0, 2], 5) == [0, 2]
    assert deal([], 3) == []


def test_a_crowded_environment_does_not_starve_the_others(world: World) -> None:
    store = world.store
    other = second_environment(world)
    add_tasks(store, world.environment_id, 200)  # the crowded one, waiting longest
    late = add_tasks(store, other, 3)
    claimed = store.tasks.claim("w", limit=4, lease_seconds=30)
    by_environment = Counter(task.environment_id for task in claimed)
    assert by_environment == {world.environment_id: 2, other: 2}
    second = store.tasks.claim("w", limit=2, lease_seconds=30)
    assert Counter(task.environment_id for task in second) == {world.environment_id: 1, other: 1}
    assert {t.id for t in late} <= {t.id for t in claimed + second}


def test_caps_limit_the_runs_of_one_kind_in_one_environment(world: World) -> None:
    store = world.store
    other = second_environment(world)
    add_tasks(store, world.environment_id, 5)
    add_tasks(store, world.environment_id, 2, kind="action")
    add_tasks(store, other, 5)
    caps = {"sync": 2, "action": 1}
    first = store.tasks.claim("w1", limit=10, lease_seconds=30, caps=caps)
    assert Counter((t.environment_id, t.kind) for t in first) == {
        (world.environment_id, "sync"): 2,
        (world.environment_id, "action"): 1,
        (other, "sync"): 2,
    }
    assert store.tasks.claim("w2", limit=10, lease_seconds=30, caps=caps) == []
    done = next(t for t in first if t.kind == "sync" and t.environment_id == other)
    assert done.lease_token is not None
    store.tasks.finish(done.id, done.lease_token, "SUCCEEDED")
    (again,) = store.tasks.claim("w2", limit=10, lease_seconds=30, caps=caps)
    assert again.environment_id == other and again.kind == "sync"
    uncapped = store.tasks.claim("w3", limit=10, lease_seconds=30, caps={"sync": 0})
    assert len(uncapped) == 3 + 2 + 1  # 0 or absent: no cap


def test_concurrent_claims_never_pass_a_cap(world: World, store_url: str) -> None:
    store = world.store
    add_tasks(store, world.environment_id, 30)
    stores = [open_store(store_url, encryption_key=TEST_KEY) for _ in range(4)]
    got: list[list[Task]] = [[] for _ in stores]
    start = threading.Barrier(len(stores))

    def claim(index: int) -> None:
        start.wait()
        for _ in range(5):
            got[index] += stores[index].tasks.claim(
                f"w{index}", limit=3, lease_seconds=30, caps={"sync": 7}
            )

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for opened in stores:
        opened.close()
    every = [task.id for tasks in got for task in tasks]
    assert len(every) == 7 and len(set(every)) == 7
    assert store.tasks.count_by_state(world.environment_id) == {"STARTED": 7, "CREATED": 23}


def test_a_sync_run_is_never_claimed_twice_nor_run_beside_another(world: World) -> None:
    from tests.runtime.store.test_syncs_tasks import deploy_sync

    store = world.store
    deploy_sync(world)
    store.syncs.ensure(world.connection_id, SyncSpec("issues", HOUR_MS, True))
    (task,) = store.tasks.create_due_sync_tasks(TIMEOUTS)
    (claimed,) = store.tasks.claim("w1", limit=5, lease_seconds=30)
    assert claimed.id == task.id and store.tasks.claim("w2", limit=5, lease_seconds=30) == []
    # Due again, long after, while it still runs: no second run of that sync.
    assert store.tasks.create_due_sync_tasks(TIMEOUTS, now=now_us() + 10 * 3600 * 10**6) == []


# --- fencing: every write of a run ---------------------------------------------------------------


def _writes(world: World, sync_id: int) -> dict[str, Callable[[Store], Any]]:
    connection_id, env = world.connection_id, world.environment_id
    return {
        "records.save": lambda tx: tx.records.save(connection_id, "Issue", [{"id": 9}]),
        "records.update": lambda tx: tx.records.update(connection_id, "Issue", [{"id": 1}]),
        "records.delete": lambda tx: tx.records.delete(connection_id, "Issue", [{"id": 1}]),
        "records.delete_unseen": lambda tx: tx.records.delete_unseen(connection_id, "Issue", 10**9),
        "checkpoint.save": lambda tx: tx.checkpoints.save(connection_id, "sync:x", {"page": 2}),
        "checkpoint.clear": lambda tx: tx.checkpoints.clear(connection_id, "sync:x"),
        "metadata.set": lambda tx: tx.connections.set_metadata(env, "github", ["acme"], {"a": 2}),
        "metadata.update": lambda tx: tx.connections.update_metadata(
            env, "github", ["acme"], {"b": 2}
        ),
        "last_sync_date": lambda tx: tx.syncs.record_success(
            sync_id, last_sync_date=now_us(), result={}
        ),
        "counts": lambda tx: None,
    }


def _snapshot(world: World, sync_id: int) -> tuple[Any, ...]:
    store = world.store
    records = store.records.get_by_ids(world.connection_id, "Issue", ["1", "9"])
    schedule = store.syncs.get_by_id(sync_id)
    connection = store.connections.get_by_id(world.connection_id, with_credentials=False)
    assert schedule is not None and connection is not None
    checkpoint = store.checkpoints.get(world.connection_id, "sync:x")
    return (
        sorted(records),
        checkpoint.value,
        connection.metadata,
        schedule.last_sync_date,
    )


@pytest.mark.parametrize(
    "how", ["expired", "cancelled", "failed by its worker", "finished", "other token"]
)
def test_no_write_of_a_run_lands_once_its_lease_is_lost(world: World, how: str) -> None:
    store = world.store
    schedule, _ = store.syncs.ensure(world.connection_id, SyncSpec("issues", HOUR_MS, True))
    store.records.save(world.connection_id, "Issue", [{"id": 1}])
    store.checkpoints.save(world.connection_id, "sync:x", {"page": 1})
    store.connections.set_metadata(world.environment_id, "github", ["acme"], {"a": 1})
    new = NewTask(world.environment_id, "sync", "issues", {}, TIMEOUTS, sync_id=schedule.id)
    assert store.tasks.create(new) is not None
    (task,) = store.tasks.claim("w", limit=1, lease_seconds=1)
    token = task.lease_token
    assert token is not None
    if how == "expired":
        assert [t.id for t in store.tasks.expire(now=now_us() + 5 * 10**6)] == [task.id]
    elif how == "cancelled":
        store.tasks.cancel_for_syncs([schedule.id], reason="removed")
    elif how == "failed by its worker":
        assert store.tasks.fail(task.id, token, {"type": "crash", "message": "x"})
    elif how == "finished":
        store.tasks.finish(task.id, token, "FAILED")
    before = _snapshot(world, schedule.id)
    counts_before = store.tasks.get(task.id)
    used = "stolen" if how == "other token" else token
    for name, write in _writes(world, schedule.id).items():
        with pytest.raises(LeaseLostError), store.fenced(task.id, used) as tx:
            write(tx)
            tx.tasks.update_counts(task.id, {"written": name})
        with pytest.raises(LeaseLostError):
            store.tasks.finish(task.id, used, "SUCCEEDED")
    assert _snapshot(world, schedule.id) == before
    after = store.tasks.get(task.id)
    assert after is not None and counts_before is not None
    assert (after.state, after.counts) == (counts_before.state, counts_before.counts)
    assert not store.tasks.heartbeat(task.id, used, lease_seconds=30)


def test_deletes_last_sync_date_and_success_commit_together(world: World) -> None:
    store = world.store
    schedule, _ = store.syncs.ensure(world.connection_id, SyncSpec("issues", HOUR_MS, True))
    store.records.save(world.connection_id, "Issue", [{"id": 1}, {"id": 2}])
    new = NewTask(world.environment_id, "sync", "issues", {}, TIMEOUTS, sync_id=schedule.id)
    assert store.tasks.create(new) is not None
    (task,) = store.tasks.claim("w", limit=1, lease_seconds=30)
    assert task.lease_token is not None
    generation = store.tasks.assign_generation(task.id, task.lease_token)
    # The success transaction, with its last step refused (a stale token): nothing of it lands.
    with pytest.raises(LeaseLostError), store.fenced(task.id, task.lease_token) as tx:
        assert tx.records.delete_unseen(world.connection_id, "Issue", generation) == 2
        tx.syncs.record_success(schedule.id, last_sync_date=now_us(), result={})
        tx.tasks.finish(task.id, "stale", "SUCCEEDED")
    assert store.records.count_live(world.connection_id) == {"Issue": 2}
    unchanged = store.syncs.get_by_id(schedule.id)
    assert unchanged is not None and unchanged.last_sync_date is None
    with store.fenced(task.id, task.lease_token) as tx:
        tx.records.delete_unseen(world.connection_id, "Issue", generation)
        tx.syncs.record_success(schedule.id, last_sync_date=now_us(), result={})
        tx.tasks.finish(task.id, task.lease_token, "SUCCEEDED")
    assert store.records.count_live(world.connection_id) == {}
    done = store.syncs.get_by_id(schedule.id)
    assert done is not None and done.last_sync_date is not None


def test_the_expiring_pass_never_fails_a_run_inside_its_write(world: World, store_url: str) -> None:
    """A fenced write in progress and an expiring pass at once: either the write lands and the
    run fails after it, never a write accepted for a run already failed."""
    store = world.store
    add_tasks(store, world.environment_id, 1, kind="action")
    (task,) = store.tasks.claim("w", limit=1, lease_seconds=1)
    assert task.lease_token is not None
    inside, release = threading.Event(), threading.Event()

    def write() -> None:
        with store.fenced(task.id, task.lease_token or "") as tx:
            inside.set()
            release.wait(10)
            tx.records.save(world.connection_id, "Issue", [{"id": 5}])

    other = open_store(store_url, encryption_key=TEST_KEY)
    writer = threading.Thread(target=write)
    writer.start()
    assert inside.wait(10)
    expired: list[Task] = []
    expirer = threading.Thread(
        target=lambda: expired.extend(other.tasks.expire(now=now_us() + 10**8))
    )
    expirer.start()
    expirer.join(0.5)
    release.set()
    writer.join(10)
    expirer.join(20)
    expired += other.tasks.expire(now=now_us() + 10**8)
    other.close()
    assert [t.id for t in expired] == [task.id]
    assert set(store.records.get_by_ids(world.connection_id, "Issue", ["5"])) == {"5"}
    with pytest.raises(LeaseLostError), store.fenced(task.id, task.lease_token):
        pass
