"""The worker's counters: each run it runs is counted once when it ends (its state, duration and
records from its row), its start with its delay; the expiring pass counts lease expiries, time
limits and tasks never started. Stand-in child processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.observability import metrics
from runtime.observability.metrics import RuntimeMetrics, process_metrics, written
from runtime.settings import RuntimeSettings
from runtime.store import Store
from runtime.store.tasks import NewTask, Task, Timeouts
from runtime.worker import Worker
from tests.runtime.store.conftest import TEST_KEY, World


def settings(tmp_path: Path, **values: object) -> RuntimeSettings:
    base: dict[str, object] = {"data_dir": tmp_path, "lease_seconds": 1.5, "worker_concurrency": 2}
    return RuntimeSettings.model_validate({**base, **values})


def child(code: str) -> list[str]:
    return [sys.executable, "-c", f"import json, sys, time; config = json.load(sys.stdin); {code}"]


def finishing_child(store_url: str, state: str, counts: dict[str, Any]) -> list[str]:
    """A stand-in runner that records its run's outcome itself, as the real one does."""
    return child(
        "from runtime.store import open_store; "
        f"store = open_store({store_url!r}, migrate=False); "
        f"store.tasks.finish(config['task_id'], config['lease_token'], {state!r}, "
        f"counts={counts!r}); store.close()"
    )


def add_task(world: World, kind: str = "action", **timeouts: int) -> Task:
    limits = Timeouts(timeouts.get("start_ms", 60_000), timeouts.get("run_ms", 60_000))
    task = world.store.tasks.create(NewTask(world.environment_id, kind, "x", {}, limits))  # type: ignore[arg-type]
    assert task is not None
    return task


def run_until_done(worker: Worker, store: Store, task_id: str, timeout: float = 20) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.tick()
        task = store.tasks.get(task_id)
        if task is not None and task.is_done and worker.running == 0:
            return task
        time.sleep(0.05)
    raise AssertionError("the run did not end")


class Delta:
    """Changes of the process's metrics since it was made."""

    def __init__(self) -> None:
        self.metrics = process_metrics()
        self.before = {self._key(s): s.value for s in self._samples()}

    def _samples(self) -> list[Any]:
        return [s for family in self.metrics.registry.collect() for s in family.samples]

    @staticmethod
    def _key(sample: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
        return sample.name, tuple(sorted(sample.labels.items()))

    def __call__(self, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return self.metrics.value(name, **labels) - self.before.get(key, 0.0)


def test_a_run_that_records_its_outcome_is_counted_once(
    world: World, store_url: str, tmp_path: Path
) -> None:
    counts = {"Issue": {"added": 3, "updated": 1, "deleted": 2}, "User": {"added": 4}}
    task = add_task(world)
    delta = Delta()
    runner = finishing_child(store_url, "SUCCEEDED", counts)
    worker = Worker(settings(tmp_path), world.store, encryption_key=TEST_KEY, runner=runner)
    done = run_until_done(worker, world.store, task.id)
    assert done.state == "SUCCEEDED"
    for _ in range(3):  # later rounds count nothing more
        worker.tick()
    assert delta("nango_runs_started_total", kind="action") == 1
    assert delta("nango_runs_total", kind="action", state="SUCCEEDED") == 1
    assert delta("nango_runs_total", kind="action", state="FAILED") == 0
    duration = "nango_run_duration_seconds"
    assert delta(f"{duration}_count", kind="action", state="SUCCEEDED") == 1
    assert delta(f"{duration}_sum", kind="action", state="SUCCEEDED") == pytest.approx(
        done.duration_s
    )
    assert delta("nango_run_start_delay_seconds_count", kind="action") == 1
    assert delta("nango_records_written_total", change="added") == 7
    assert delta("nango_records_written_total", change="updated") == 1
    assert delta("nango_records_written_total", change="deleted") == 2


def test_a_run_whose_process_dies_is_counted_failed(world: World, tmp_path: Path) -> None:
    task = add_task(world, kind="sync")
    delta = Delta()
    worker = Worker(settings(tmp_path), world.store, encryption_key=TEST_KEY, runner=child("1/0"))
    assert run_until_done(worker, world.store, task.id).state == "FAILED"
    assert delta("nango_runs_total", kind="sync", state="FAILED") == 1
    assert delta("nango_runs_total", kind="sync", state="SUCCEEDED") == 0


def test_a_run_that_lost_its_lease_is_counted_as_its_row_ended(
    world: World, tmp_path: Path
) -> None:
    task = add_task(world)
    delta = Delta()
    worker = Worker(
        settings(tmp_path), world.store, encryption_key=TEST_KEY, runner=child("time.sleep(60)")
    )
    worker.tick()
    claimed = world.store.tasks.get(task.id)
    assert claimed is not None and claimed.lease_token is not None
    world.store.tasks.fail(task.id, claimed.lease_token, {"type": "taken", "message": "x"})
    deadline = time.monotonic() + 10
    while worker.running and time.monotonic() < deadline:
        worker.tick()
        time.sleep(0.1)
    assert worker.running == 0
    assert delta("nango_runs_total", kind="action", state="FAILED") == 1


def test_a_stopped_worker_counts_the_runs_it_fails(world: World, tmp_path: Path) -> None:
    add_task(world)
    delta = Delta()
    worker = Worker(
        settings(tmp_path), world.store, encryption_key=TEST_KEY, runner=child("time.sleep(60)")
    )
    worker.tick()
    assert worker.running == 1
    worker.shutdown(grace_s=0)  # no grace: the run is stopped and failed at once
    assert delta("nango_runs_total", kind="action", state="FAILED") == 1


def test_the_expiring_pass_counts_lease_expiries_and_tasks_never_started(
    world: World, tmp_path: Path
) -> None:
    orphan = add_task(world, kind="sync")
    (claimed,) = world.store.tasks.claim("a worker that died", limit=1, lease_seconds=0.01)
    assert claimed.id == orphan.id
    never = add_task(world, kind="webhook", start_ms=1)
    time.sleep(0.05)
    delta = Delta()
    worker = Worker(
        settings(tmp_path, worker_concurrency=1),
        world.store,
        encryption_key=TEST_KEY,
        runner=child("time.sleep(60)"),
    )
    worker.tick()
    worker.shutdown()
    assert {t.id: t.state for t in map(world.store.tasks.get, (orphan.id, never.id)) if t} == {
        orphan.id: "FAILED",
        never.id: "EXPIRED",
    }
    assert delta("nango_lease_expiries_total", kind="sync") == 1
    assert delta("nango_runs_total", kind="webhook", state="EXPIRED") == 1
    # The run of the dead worker is not counted as ended: its worker would have counted it.
    assert delta("nango_runs_total", kind="sync", state="FAILED") == 0


def test_the_expiring_pass_counts_time_limits(world: World) -> None:
    add_task(world, run_ms=1)
    world.store.tasks.claim("w", limit=1, lease_seconds=60)
    time.sleep(0.01)
    fresh = RuntimeMetrics(with_process_collectors=False)
    fresh.expired(world.store.tasks.expire())
    assert fresh.value("nango_run_timeouts_total", kind="action") == 1
    assert fresh.value("nango_lease_expiries_total", kind="action") == 0


def test_counting_never_breaks_the_worker() -> None:
    class Broken:
        class tasks:
            @staticmethod
            def get(_task_id: str) -> None:
                raise RuntimeError("database gone")

    metrics.observe_ended(Broken(), "some-id")  # type: ignore[arg-type]


def test_records_written_reads_only_sound_counts() -> None:
    counts = {
        "A": {"added": 2, "updated": True, "deleted": -1},
        "B": "not counts",
        "C": {"added": 1.5, "updated": 3},
    }
    assert written(counts) == {"added": 2, "updated": 3, "deleted": 0}
    assert written(None) == {"added": 0, "updated": 0, "deleted": 0}


def test_every_series_is_there_from_the_start() -> None:
    fresh = RuntimeMetrics(with_process_collectors=False)
    found = {
        (s.name, tuple(sorted(s.labels.items())))
        for family in fresh.registry.collect()
        for s in family.samples
    }
    assert ("nango_runs_total", (("kind", "on-event"), ("state", "CANCELLED"))) in found
    assert ("nango_records_written_total", (("change", "deleted"),)) in found
    assert ("nango_build_info", (("version", __import__("runtime").__version__),)) in found


def test_a_run_process_is_not_given_the_metrics_key(world: World, tmp_path: Path) -> None:
    task = add_task(world)
    seen = tmp_path / "config.json"
    runner = child(f"open({str(seen)!r}, 'w').write(json.dumps(config)); sys.exit(1)")
    key = "the-metrics-key-0123456789"
    worker = Worker(
        settings(tmp_path, metrics_key=key), world.store, encryption_key=TEST_KEY, runner=runner
    )
    run_until_done(worker, world.store, task.id)
    assert key not in seen.read_text()
    assert "settings" in json.loads(seen.read_text())
