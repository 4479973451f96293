"""The soak: two API processes and three workers on PostgreSQL, 200 connections (made through
both APIs) with a sync every 30 s, for `NANGO_SOAK_SECONDS` (35 by default, to keep CI short:
each sync comes due once or twice; the issue's figure is 300). No run overlaps another of the
same sync; every due point of every schedule gets a run, or is skipped because that sync's run
is still queued or running (a sync never has two: on a machine short of CPU runs queue, and the
figures show how many points were skipped); every run succeeds and the records are exact.
Each process runs on a host of its own (a network namespace, tests/runtime/scale/hosts.py) where
namespaces can be made, as plain processes otherwise; under CI as root on Linux they must be.
`NANGO_SOAK_REPORT=path` writes the figures as JSON."""

from __future__ import annotations

import itertools
import json
import os
import statistics
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from runtime.store.tasks import Task
from tests.runtime.scale.harness import Cluster, Process, cluster_of, wait_until
from tests.runtime.scale.hosts import namespaces_available, namespaces_required, why_no_namespaces

pytestmark = pytest.mark.slow

# Read at import: the suite's autouse fixture removes NANGO_* from each test's environment.
SOAK_SECONDS = float(os.environ.get("NANGO_SOAK_SECONDS") or 35)
REPORT = os.environ.get("NANGO_SOAK_REPORT")
CONNECTIONS = 200
RECORDS = 5
FREQUENCY = timedelta(seconds=30)

CONFIG = """\
integrations:
  fake:
    syncs:
      ticks:
        runs: every 30s
        output: Tick
        auto_start: true
        endpoint: GET /ticks
models:
  Tick:
    id: string
    n: number
    connection: string
"""
TICKS = """\
from models import NangoSync, Tick


async def fetch_data(nango: NangoSync) -> None:
    await nango.batch_save(
        [Tick(id=f"t{i}", n=i, connection=nango.connection_id) for i in range(5)], "Tick"
    )
"""


@pytest.fixture
def soak_cluster(tmp_path: Path, database_url: str) -> Cluster:
    settings = {
        "NANGO_LEASE_SECONDS": "15",
        "NANGO_LOG_FORMAT": "json",
        "NANGO_WORKER_CONCURRENCY": "8",
    }
    options = {"settings": settings, "measured": False, "separate_hosts": on_separate_hosts()}
    with cluster_of(tmp_path, database_url, **options) as cluster:
        yield cluster  # type: ignore[misc]


def on_separate_hosts() -> bool:
    if namespaces_available():
        return True
    if namespaces_required():
        pytest.fail(
            f"CI as root on Linux: the soak's hosts could not be made: {why_no_namespaces()}"
        )
    return False


def network_namespaces(processes: list[Process]) -> set[int]:
    """The network namespaces the processes run in (as their inode numbers)."""
    return {Path(f"/proc/{process.pid}/ns/net").stat().st_ino for process in processes}


def make_connections(cluster: Cluster, apis: list) -> None:  # type: ignore[type-arg]
    clients = [api.client() for api in apis]
    try:
        for number, client in zip(range(CONNECTIONS), itertools.cycle(clients)):
            body = {
                "provider_config_key": "fake",
                "connection_id": f"c{number}",
                "credentials": {"type": "OAUTH2", "access_token": f"token-{number}"},
            }
            answer = client.post("/connections", json=body, timeout=60)
            assert answer.status_code in (200, 201), answer.text
    finally:
        for client in clients:
            client.close()


def overlaps(runs: list[Task]) -> list[tuple[str, str]]:
    by_sync: dict[int | None, list[Task]] = defaultdict(list)
    for run in runs:
        by_sync[run.sync_id].append(run)
    found = []
    for group in by_sync.values():
        ordered = sorted(group, key=lambda run: run.started_at or run.created_at)
        for earlier, later in itertools.pairwise(ordered):
            assert earlier.finished_at is not None and later.started_at is not None
            if earlier.finished_at > later.started_at:
                found.append((earlier.id, later.id))
    return found


def due_points(cluster: Cluster, runs: list[Task], until: float) -> Counter[str]:
    """Each schedule's due points up to `until` (epoch seconds), counted by what served them:
    `run` (a run created in the period that starts there), `busy` (none: a run of the schedule
    was still queued or running then, and a sync never has two runs, so the scheduler skips
    the point) or `missed` (neither: a due run that never started)."""
    by_sync = defaultdict(list)
    for run in runs:
        by_sync[run.sync_id].append(run)
    connections = cluster.store.connections.list_all(cluster.environment_id("dev"))
    counted: Counter[str] = Counter()
    for schedule in cluster.store.syncs.list_for([c.id for c in connections]):
        point, mine = schedule.anchor_at, by_sync[schedule.id]
        while point.timestamp() <= until:
            if any(point <= run.created_at < point + FREQUENCY for run in mine):
                counted["run"] += 1
            elif any(
                run.created_at <= point and (run.finished_at is None or run.finished_at > point)
                for run in mine
            ):
                counted["busy"] += 1
            else:
                counted["missed"] += 1
            point += FREQUENCY
    return counted


def test_two_apis_three_workers_200_syncs_every_30s(soak_cluster: Cluster) -> None:
    cluster = soak_cluster
    cluster.store.integrations.create(cluster.environment_id("dev"), "fake", "github")
    cluster.deploy({"nango.yaml": CONFIG, "fake/syncs/ticks.py": TICKS})
    processes = [cluster.start(role, wait=False) for role in ["api"] * 2 + ["worker"] * 3]
    for process in processes:
        process.ready()
    if cluster.separate_hosts:  # five machines: none shares this one's network, nor another's
        ours = Path("/proc/self/ns/net").stat().st_ino
        assert len(network_namespaces(processes) - {ours}) == len(processes)
        assert all(api.url and api.host and api.host.address in api.url for api in processes[:2])
    make_connections(cluster, processes[:2])
    began = time.time()
    time.sleep(SOAK_SECONDS)
    until = time.time() - 5  # due points this close to the end may not have started yet
    schedules = cluster.store.syncs.list_for(
        [c.id for c in cluster.store.connections.list_all(cluster.environment_id("dev"))]
    )
    cluster.store.syncs.set_state([s.id for s in schedules], "PAUSED")
    environment = cluster.environment_id("dev")
    wait_until(
        lambda: not {"CREATED", "STARTED"} & set(cluster.store.tasks.count_by_state(environment)),
        timeout=max(300, SOAK_SECONDS),
        every=1,
    )
    runs = cluster.store.tasks.list_runs(environment, kinds=["sync"], limit=100_000)
    points = due_points(cluster, runs, until)
    figures = {**summarise(runs, began), "due_points": dict(points)}
    figures["hosts"] = len(cluster.hosts) if cluster.separate_hosts else 1
    if REPORT:
        Path(REPORT).write_text(json.dumps(figures, indent=2))
    assert all(p.is_alive() for p in processes), [p.output()[-2000:] for p in processes]
    assert {run.state for run in runs} == {"SUCCEEDED"}, figures
    assert overlaps(runs) == []
    assert points["missed"] == 0, figures
    live = cluster.store.records
    for connection in cluster.store.connections.list_all(environment):
        assert live.count_live(connection.id) == {"Tick": RECORDS}
        records = live.get_by_ids(connection.id, "Tick", [f"t{i}" for i in range(RECORDS)])
        assert _same_ignoring_metadata(records, connection.connection_id), records
    added = sum(run.counts["Tick"]["added"] for run in runs if run.counts)
    updated = sum(run.counts["Tick"]["updated"] for run in runs if run.counts)
    assert (added, updated) == (CONNECTIONS * RECORDS, 0)


def _same_ignoring_metadata(records: dict[str, dict[str, object]], connection: str) -> bool:
    cleaned = {
        key: {k: v for k, v in value.items() if k != "_nango_metadata"}
        for key, value in records.items()
    }
    return cleaned == {
        f"t{i}": {"id": f"t{i}", "n": i, "connection": connection} for i in range(RECORDS)
    }


def summarise(runs: list[Task], began: float) -> dict[str, object]:
    delays = sorted(
        (run.started_at - run.created_at).total_seconds()
        for run in runs
        if run.started_at is not None
    )
    durations = [run.duration_s for run in runs if run.duration_s is not None]
    return {
        "seconds": SOAK_SECONDS,
        "connections": CONNECTIONS,
        "runs": len(runs),
        "states": dict(Counter(run.state for run in runs)),
        "created_to_started_p50_s": statistics.median(delays) if delays else None,
        "created_to_started_p99_s": delays[int(len(delays) * 0.99) - 1] if delays else None,
        "created_to_started_max_s": delays[-1] if delays else None,
        "run_duration_p50_s": statistics.median(durations) if durations else None,
        "run_duration_p99_s": sorted(durations)[max(0, int(len(durations) * 0.99) - 1)]
        if durations
        else None,
        "workers": len({run.owner for run in runs}),
        "began": began,
    }
