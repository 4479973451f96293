"""Faults with real processes on PostgreSQL: a worker killed (-9) in the middle of a sync of
50,000 records, a worker cut off past its lease and then back (stopped by SIGSTOP, or on a host of
its own whose network link goes down), PostgreSQL going away during runs, and workers stopped by
SIGTERM (their runs finish, or go back to the queue)."""

from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.scheduler.control import SyncTarget, ensure_schedules, trigger_syncs
from runtime.store import Connection
from runtime.store.tasks import Task
from tests.runtime.scale.harness import Cluster, Process, TcpProxy, owner_pid, wait_until
from tests.runtime.scale.hosts import namespaces_available, namespaces_required, why_no_namespaces

pytestmark = pytest.mark.slow

CONFIG = """\
integrations:
  fake:
    syncs:
      items:
        runs: every day
        output: Item
        auto_start: false
        endpoint: GET /items
models:
  Item:
    id: string
    n: number
    tag: string
"""
ITEMS = """\
import asyncio

from models import Item, NangoSync


async def fetch_data(nango: NangoSync) -> None:
    settings = await nango.get_metadata() or {}
    total, size = int(settings.get("total", 0)), int(settings.get("batch", 500))
    prefix, tag = str(settings.get("prefix", "")), str(settings.get("tag", ""))
    await nango.track_deletes_start("Item")
    checkpoint = await nango.get_checkpoint() or {}
    for first in range(int(checkpoint.get("next", 0)), total, size):
        last = min(first + size, total)
        items = [Item(id=f"{prefix}{i}", n=i, tag=tag) for i in range(first, last)]
        await nango.batch_save(items, "Item")
        await nango.save_checkpoint({"next": last})
        await asyncio.sleep(float(settings.get("pause", 0)))
    await nango.track_deletes_end("Item")
    await nango.clear_checkpoint()
"""
FILES = {"nango.yaml": CONFIG, "fake/syncs/items.py": ITEMS}
CHECKPOINT = "sync:items"


@dataclass
class Sync:
    cluster: Cluster
    environment_id: int
    connection: Connection

    @property
    def store(self) -> Any:
        return self.cluster.store

    def set(self, **metadata: Any) -> None:
        self.store.connections.set_metadata(self.environment_id, "fake", ["c1"], metadata)

    def trigger(self, *, reset: bool = False) -> None:
        settings = self.cluster.runtime_settings()
        target = [SyncTarget("items")]
        assert trigger_syncs(self.store, settings, [self.connection], target, reset=reset)

    def runs(self) -> list[Task]:
        return sorted(
            self.store.tasks.list_runs(self.environment_id, name="items", limit=100),
            key=lambda task: task.created_at,
        )

    def active(self) -> Task | None:
        return next((run for run in self.runs() if run.state == "STARTED"), None)

    def finished(self, count: int, timeout: float = 120) -> Task:
        """The `count`-th run, once it ended."""
        found: Task = wait_until(
            lambda: (
                len(self.runs()) >= count
                and self.runs()[count - 1].is_done
                and (self.runs()[count - 1])
            ),
            timeout=timeout,
            every=0.3,
        )
        return found

    def checkpoint(self) -> int:
        value = self.store.checkpoints.get(self.connection.id, CHECKPOINT).value
        return int((value or {}).get("next", 0))

    def last_sync_date(self) -> Any:
        schedule = self.store.syncs.get(self.connection.id, "items")
        return None if schedule is None else schedule.last_sync_date

    def records(self) -> dict[str, dict[str, Any]]:
        ids = [str(i) for i in range(50_000)] + [f"z-{i}" for i in range(100)]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            found.update(self.store.records.get_by_ids(self.connection.id, "Item", chunk))
        return found


@pytest.fixture
def sync(cluster: Cluster) -> Sync:
    store = cluster.store
    environment_id = cluster.environment_id("dev")
    store.integrations.create(environment_id, "fake", "github")
    cluster.deploy(FILES)
    connection, _ = store.connections.upsert(
        environment_id, "fake", "c1", credentials={"type": "OAUTH2", "access_token": "t0ken"}
    )
    ensure_schedules(store, connection)
    return Sync(cluster, environment_id, connection)


def process_of(cluster: Cluster, task: Task) -> Process:
    return next(p for p in cluster.processes if p.pid == owner_pid(task))


def test_a_worker_killed_mid_sync_of_50000_records(cluster: Cluster, sync: Sync) -> None:
    cluster.start("worker")
    cluster.start("worker")
    sync.set(total=100, prefix="z-")
    sync.trigger()
    first = sync.finished(1)
    assert first.state == "SUCCEEDED", first.error
    synced_at = sync.last_sync_date()
    assert synced_at is not None

    sync.set(total=50_000, batch=500, pause=0.05)
    sync.trigger()
    wait_until(lambda: sync.checkpoint() >= 10_000, timeout=120)
    running = sync.active()
    assert running is not None
    os.kill(process_of(cluster, running).pid, signal.SIGKILL)  # kill -9 of its worker

    killed = sync.finished(2, timeout=60)
    assert killed.state == "FAILED" and killed.error is not None
    assert killed.error["type"] == "lease_expired"
    saved = sync.records()
    time.sleep(3)  # well past the lease: nothing of the dead run lands any more
    assert sync.records() == saved
    ours = sorted(int(key) for key in saved if not key.startswith("z-"))
    assert ours == list(range(len(ours))) and len(ours) >= 10_000  # a prefix, each once
    assert all(saved[str(i)]["n"] == i for i in ours)
    assert sum(1 for key in saved if key.startswith("z-")) == 100  # no delete after a failure
    assert sync.last_sync_date() == synced_at
    assert killed.counts is not None and killed.counts["Item"]["deleted"] == 0
    assert killed.counts["Item"]["added"] <= len(ours)

    resumed_from = sync.checkpoint()
    sync.trigger()
    last = sync.finished(3, timeout=180)
    assert last.state == "SUCCEEDED", last.error
    assert last.counts == {"Item": {"added": 50_000 - len(ours), "updated": 0, "deleted": 100}}, (
        resumed_from
    )
    final = sync.records()
    assert sorted(final) == sorted(str(i) for i in range(50_000))
    assert all(record["n"] == int(key) for key, record in final.items())
    assert store_live(sync) == {"Item": 50_000}
    assert sync.last_sync_date() != synced_at


def store_live(sync: Sync) -> dict[str, int]:
    counts: dict[str, int] = sync.store.records.count_live(sync.connection.id)
    return counts


def test_a_worker_cut_off_past_its_lease_writes_nothing_when_back(
    cluster: Cluster, sync: Sync
) -> None:
    cluster.start("worker")
    sync.set(total=5_000, batch=100, pause=0.2, tag="A")
    sync.trigger()
    wait_until(lambda: sync.checkpoint() >= 300, timeout=120)
    stale = sync.active()
    assert stale is not None
    cut_off = process_of(cluster, stale)
    cut_off.signal_group(signal.SIGSTOP)  # the worker and its run process: silent
    try:
        cluster.start("worker")  # another one, to notice the lease expire
        failed = sync.finished(1, timeout=60)
        rerun_after_the_lease_expired(sync, failed)
    finally:
        cut_off.signal_group(signal.SIGCONT)  # back: its run goes on writing, or tries to
    time.sleep(5)
    assert_nothing_written_by_the_cut_off_run(sync, failed)
    assert cut_off.is_alive()  # it carries on, with no run of its own


def rerun_after_the_lease_expired(sync: Sync, failed: Task) -> Task:
    """Run 1 failed on its lease; run 2 (tag B) runs the sync from scratch and succeeds."""
    assert failed.state == "FAILED" and failed.error is not None
    assert failed.error["type"] == "lease_expired"
    sync.set(total=5_000, batch=1_000, pause=0, tag="B")
    sync.trigger(reset=True)
    done = sync.finished(2, timeout=120)
    assert done.state == "SUCCEEDED", done.error
    return done


def assert_nothing_written_by_the_cut_off_run(sync: Sync, failed: Task) -> None:
    """Run 1 (tag A) was failed while cut off, run 2 (tag B, from scratch) succeeded: nothing
    of run 1 landed after it, nor changed how it ended."""
    records = sync.records()
    assert len(records) == 5_000
    assert {record["tag"] for record in records.values()} == {"B"}
    assert sync.checkpoint() == 0
    again = sync.runs()
    assert [run.state for run in again] == ["FAILED", "SUCCEEDED"]
    assert again[0].error == failed.error and again[0].finished_at == failed.finished_at


def test_a_worker_partitioned_past_its_lease_is_fenced_then_recovers(
    cluster: Cluster, sync: Sync
) -> None:
    """The SIGSTOP test above with a real partition: the worker runs on a host of its own (a
    network namespace) whose link goes down while its run is writing, and comes back up after
    another worker failed that run and ran the sync again. It then serves as before."""
    require_hosts()
    cut_off = cluster.start("worker", own_host=True)
    assert cut_off.host is not None
    sync.set(total=5_000, batch=100, pause=0.2, tag="A")
    sync.trigger()
    wait_until(lambda: sync.checkpoint() >= 300, timeout=120)
    stale = sync.active()
    assert stale is not None and owner_pid(stale) == cut_off.pid
    stale_process = run_process(cut_off, stale)
    cut_off.host.disconnect()
    try:
        other = cluster.start("worker")  # on this machine, to notice the lease expire
        failed = ended_or_why_not(cluster, sync)
        done = rerun_after_the_lease_expired(sync, failed)
        assert owner_pid(done) == other.pid
        assert other.stop() == 0  # the cut-off worker is the only one left
    finally:
        cut_off.host.reconnect()  # back: its run goes on writing, or tries to
    wait_until(lambda: has_ended(stale_process), timeout=180, every=0.5)  # refused: it stops
    assert_nothing_written_by_the_cut_off_run(sync, failed)
    assert cut_off.is_alive()

    sync.set(total=1_000, batch=500, pause=0, tag="C")
    sync.trigger()
    recovered = sync.finished(3, timeout=180)
    assert recovered.state == "SUCCEEDED", recovered.error
    assert owner_pid(recovered) == cut_off.pid  # by itself: nothing restarted it
    assert {record["tag"] for record in sync.records().values()} == {"C"}
    assert store_live(sync) == {"Item": 1_000}


def ended_or_why_not(cluster: Cluster, sync: Sync) -> Task:
    """Run 1 once it ended; if it never does, the sessions PostgreSQL holds open in a
    transaction (a write cut off between its lease check and its commit keeps the run's row
    locked, and the expiring pass skips locked rows)."""
    try:
        return sync.finished(1, timeout=120)
    except AssertionError as exc:
        from sqlalchemy import create_engine, text

        engine = create_engine(cluster.database_url)
        with engine.connect() as connection:
            held = connection.execute(
                text(
                    "SELECT pid, state, now() - state_change AS since, query "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%'"
                )
            ).all()
        engine.dispose()
        raise AssertionError(f"run 1 never ended; idle in a transaction: {held}") from exc


def require_hosts() -> None:
    if namespaces_available():
        return
    reason = f"no simulated hosts: {why_no_namespaces()}"
    if namespaces_required():
        pytest.fail(f"CI as root on Linux: {reason}")
    pytest.skip(reason)


def run_process(worker: Process, task: Task) -> int:
    """The pid of the process `worker` runs `task` in (from its log)."""
    started = re.compile(rf"run {re.escape(task.id)} \(.*?\) started in pid (\d+)")
    found = wait_until(lambda: started.search(worker.output()), timeout=30)
    return int(found.group(1))


def has_ended(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}  # dead, not yet reaped


def test_postgresql_going_away_during_runs(cluster: Cluster, sync: Sync) -> None:
    """A PostgreSQL restart as its clients see it: every connection dropped, new ones refused
    for a while, then accepted again (a proxy between the runtime and PostgreSQL, cut and
    restored: restarting the shared server would break the other tests running on it)."""
    from sqlalchemy.engine import make_url

    url = make_url(cluster.database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    worker = cluster.start("worker", database_url=proxy.url(cluster.database_url))
    api = cluster.start("api", database_url=proxy.url(cluster.database_url))
    sync.set(total=3_000, batch=100, pause=0.2)
    sync.trigger()
    wait_until(lambda: sync.checkpoint() >= 200, timeout=120)
    proxy.cut()
    time.sleep(4)  # longer than the lease
    proxy.restore()
    in_flight = sync.finished(1, timeout=120)
    assert in_flight.state in {"SUCCEEDED", "FAILED"}
    sync.set(total=3_000, batch=500, pause=0)
    sync.trigger()
    after = wait_until(
        lambda: next((r for r in sync.runs()[1:] if r.state == "SUCCEEDED"), None), timeout=120
    )
    assert after.counts is not None
    assert worker.is_alive() and api.is_alive()
    with api.client() as client:
        answer = client.get(
            "/records",
            params={"model": "Item", "limit": 10},
            headers={"Connection-Id": "c1", "Provider-Config-Key": "fake"},
        )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["records"]) == 10
    assert store_live(sync) == {"Item": 3_000}


def test_a_stopped_worker_finishes_or_hands_back_its_runs(cluster: Cluster, sync: Sync) -> None:
    patient = cluster.start("worker", NANGO_SHUTDOWN_GRACE_S="60")
    sync.set(total=2_000, batch=200, pause=0.3)
    sync.trigger()
    wait_until(lambda: sync.active() is not None, timeout=60)
    assert patient.stop(timeout=90) == 0  # SIGTERM: the run finishes first
    finished = sync.finished(1)
    assert finished.state == "SUCCEEDED", finished.error
    assert store_live(sync) == {"Item": 2_000}

    hasty = cluster.start("worker", NANGO_SHUTDOWN_GRACE_S="1")
    sync.set(total=6_000, batch=500, pause=0.5)
    sync.trigger()
    wait_until(lambda: sync.checkpoint() >= 1_000, timeout=120)
    running = sync.active()
    assert running is not None
    assert hasty.stop(timeout=60) == 0  # SIGTERM: the run goes back to the queue
    handed_back = sync.runs()[1]
    assert handed_back.id == running.id and handed_back.state == "CREATED"
    saved = sync.checkpoint()
    cluster.start("worker")
    resumed = sync.finished(2, timeout=180)
    assert resumed.id == running.id and resumed.state == "SUCCEEDED", resumed.error
    assert resumed.attempt == 2
    assert resumed.counts is not None
    assert resumed.counts["Item"]["updated"] == 0 and saved > 0
    assert store_live(sync) == {"Item": 6_000}
