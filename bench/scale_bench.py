"""Scheduling latency and task throughput of worker processes on PostgreSQL.

    python bench/scale_bench.py [--syncs 1000] [--tasks 300] [--workers 1,2,4] [--window 60]
        [--skip-burst] [--skip-latency] [--skip-throughput]

Each measure runs on a fresh database with `nango runtime start --role worker` processes (ready
before the work is made), a deployed sync whose script does nothing, and one connection per
sync. Times are the database's (`started_at`, `finished_at`), so the bench's own clock and load
do not enter them.

  latency     `--syncs` schedules every 30 s, their first due points spread evenly over one
              30 s period, 3 workers: for each run of the next 60 s, due point -> STARTED
              (claimed by a worker); p50, p99. Target: p99 < 1 s.
  burst       the same schedules all due at the same instant (for reference: it measures how
              fast 3 workers drain them, not the scheduler's latency).
  throughput  `--tasks` empty sync runs queued at once, with 1, 2 and 4 workers: runs per second
              from the first start to the last end. Target: 2 workers >= 1.6x 1 worker. And
              the CPU time (user + system) of the worker processes, their run servers and run
              processes, divided by the runs (`getrusage(RUSAGE_CHILDREN)` of this process
              around the workers' life: their start-up is included, PostgreSQL's share not).

Workers run `NANGO_WORKER_CONCURRENCY` runs at once (4 by default, `--concurrency`). The
throughput rows run twice: first with each worker, its run server and run processes on one CPU
of its own (worker n on CPU n modulo the CPUs; PostgreSQL and the bench unpinned), i.e. workers
as one-core machines of their own, which is what adding a worker means when it scales out: the
scaling target is judged there; then, for reference, with the workers sharing every CPU of this
machine with each other and PostgreSQL (one machine's cores cap that ratio). `--pin` pins the
latency rows' workers too and skips the shared rows. The exit code is 0, or 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from runtime.store import Store, generate_key, open_store  # noqa: E402
from runtime.store.tasks import Task  # noqa: E402
from runtime.store.timestamps import now_us, to_us  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LATENCY_TARGET_S = 1.0
SCALING_TARGET = 1.6
FREQUENCY_MS = 30_000
CREDENTIALS = {"type": "OAUTH2", "access_token": "bench-token"}
CONFIG = """\
integrations:
  bench:
    syncs:
      empty:
        runs: every 30s
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
    return None
"""


@dataclass
class Bench:
    admin_url: str
    concurrency: int
    folder: Path
    pin: bool = False

    @contextmanager
    def database(self) -> Iterator[tuple[str, Store, str]]:
        """A fresh database (URL, store, encryption key), dropped afterwards."""
        name = f"nango_bench_{os.getpid()}_{time.monotonic_ns()}"
        with psycopg.connect(_plain(self.admin_url), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
        key = generate_key()
        store = open_store(url, encryption_key=key)
        try:
            yield url, store, key
        finally:
            store.close()
            with psycopg.connect(_plain(self.admin_url), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextmanager
    def workers(self, count: int, url: str, key: str) -> Iterator[list[subprocess.Popen[bytes]]]:
        started = []
        for number in range(count):
            data = Path(tempfile.mkdtemp(prefix=f"worker{number}-", dir=self.folder))
            log = (data / "worker.log").open("wb")
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli", "runtime", "start", "--role", "worker"],
                    env=_environment(url, key, data, self.concurrency),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=data,
                    start_new_session=True,
                    preexec_fn=_pinned(number) if self.pin else None,
                )
            )
            log.close()
        try:
            _wait_ready(started, self.folder)
            yield started
        finally:
            for process in started:
                process.send_signal(signal.SIGTERM)
            for process in started:
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)


def _pinned(number: int) -> Callable[[], None]:
    """Run the worker (and so its run server and run processes) on one CPU of its own: the
    n-th worker on CPU n (modulo the CPUs), as a worker on a one-core machine of its own."""
    cpus = sorted(os.sched_getaffinity(0))

    def pin() -> None:
        os.sched_setaffinity(0, {cpus[number % len(cpus)]})

    return pin


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _environment(url: str, key: str, data: Path, concurrency: int) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NANGO_", "COVERAGE_"))}
    return {
        **clean,
        "PYTHONPATH": str(REPO_ROOT),
        "NANGO_DATABASE_URL": url,
        "NANGO_ENCRYPTION_KEY": key,
        "NANGO_DATA_DIR": str(data),
        "NANGO_SECRET_KEY_DEV": "4b0c2d1e-8f7a-4c6b-9d3e-2a1f0e9d8c7b",
        "NANGO_SECRET_KEY_PROD": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
        "NANGO_WORKER_CONCURRENCY": str(concurrency),
        "NANGO_LEASE_SECONDS": "30",
    }


def _wait_ready(processes: list[subprocess.Popen[bytes]], folder: Path) -> None:
    deadline = time.monotonic() + 120
    logs = sorted(folder.glob("worker*/worker.log"))[-len(processes) :]
    while time.monotonic() < deadline:
        if all(" started (" in log.read_text(errors="replace") for log in logs):
            return
        if any(process.poll() is not None for process in processes):
            break
        time.sleep(0.2)
    raise SystemExit("the workers did not start:\n" + "\n".join(log.read_text() for log in logs))


def deploy(store: Store, folder: Path, connections: int) -> list[int]:
    """The empty sync deployed to `dev`, and `connections` connections of its integration."""
    from cli.codegen.generate import generate
    from cli.deploy.pack import PackOptions, pack_project
    from cli.project import find_project
    from runtime.deploy.apply import apply_deploy

    environment = store.environments.ensure("dev").environment
    store.integrations.create(environment.id, "bench", "github")
    project = Path(tempfile.mkdtemp(prefix="project-", dir=folder))
    (project / "bench" / "syncs").mkdir(parents=True)
    (project / "nango.yaml").write_text(CONFIG)
    (project / "bench" / "syncs" / "empty.py").write_text(EMPTY)
    parsed = generate(project_root=project).config.parsed
    request = pack_project(find_project(project), parsed, PackOptions())
    apply_deploy(store, environment.id, request)
    made = []
    for number in range(connections):
        connection, _ = store.connections.upsert(
            environment.id,
            "bench",
            f"c{number}",
            credentials={"type": "OAUTH2", "access_token": "t"},
        )
        made.append(connection.id)
    return made


def runs_of(store: Store, count: int, timeout: float, *, started: bool = False) -> list[Task]:
    """The runs of `dev`, once `count` of them ended (or `started`; or the timeout passed)."""
    environment = store.environments.get("dev")
    assert environment is not None
    deadline = time.monotonic() + timeout
    while True:
        runs = store.tasks.list_runs(environment.id, limit=1_000_000)
        reached = sum((run.started_at is not None) if started else run.is_done for run in runs)
        if reached >= count or time.monotonic() > deadline:
            return runs
        time.sleep(0.5)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


# --- the measures ---------------------------------------------------------------------------------


def start_schedules(store: Store, connections: list[int], start: int, step: int) -> list[int]:
    """Start every connection's schedule, the n-th first due at `start + n * step` (µs)."""
    from sqlalchemy import bindparam, update

    from runtime.store.schema import syncs

    schedules = store.syncs.list_for(connections)
    statement = (
        update(syncs)
        .where(syncs.c.id == bindparam("sid"))
        .values(state="STARTED", anchor_at=bindparam("at"), next_run_at=bindparam("at"))
    )
    rows = [{"sid": s.id, "at": start + n * step} for n, s in enumerate(schedules)]
    with store.database.write() as connection:
        connection.execute(statement, rows)
    return [row["at"] for row in rows]


def latency(bench: Bench, syncs: int, *, spread: bool, window_s: float) -> tuple[list[float], int]:
    """Due point -> STARTED of every run due in the next `window_s` seconds, and how many were
    due (see the module docstring)."""
    with bench.database() as (url, store, key), bench.workers(3, url, key):
        connections = deploy(store, bench.folder, syncs)
        store.syncs.ensure_missing()
        start = now_us() + 2_000_000
        step = FREQUENCY_MS * 1000 // syncs if spread else 0
        anchors = start_schedules(store, connections, start, step)
        end = start + int(window_s * 1_000_000)
        frequency = FREQUENCY_MS * 1000
        due = sum(len(range(anchor, end, frequency)) for anchor in anchors)
        time.sleep(max(0.0, (end - now_us()) / 1_000_000))
        runs = runs_of(store, due, timeout=180, started=True)
        by_sync = {s.id: to_us(s.anchor_at) for s in store.syncs.list_for(connections)}
    delays = []
    for run in runs:
        anchor = by_sync.get(run.sync_id or -1)
        if run.started_at is None or anchor is None:
            continue
        point = anchor + (to_us(run.created_at) - anchor) // frequency * frequency
        if point < end:
            delays.append((to_us(run.started_at) - point) / 1_000_000)
    return delays, due


def throughput(bench: Bench, workers: int, tasks: int) -> tuple[float, float]:
    """Empty sync runs per second with `workers` workers, and the CPU seconds per run of the
    worker processes and their descendants (see the module docstring)."""
    with bench.database() as (url, store, key):
        connections = deploy(store, bench.folder, tasks)
        before = _children_cpu()
        with bench.workers(workers, url, key):
            runs = _run_all(bench, store, url, len(connections))
        cpu = _children_cpu() - before
    done = [run for run in runs if run.state == "SUCCEEDED"]
    if len(done) != tasks:
        raise SystemExit(f"{tasks - len(done)} of {tasks} runs did not succeed")
    first = min(to_us(run.started_at) for run in done if run.started_at)
    last = max(to_us(run.finished_at) for run in done if run.finished_at)
    return tasks / ((last - first) / 1_000_000), cpu / tasks


def _run_all(bench: Bench, store: Store, url: str, count: int) -> list[Task]:
    """Queue a run of the empty sync on every connection; the runs once all ended."""
    from runtime.scheduler.control import SyncTarget, trigger_syncs
    from runtime.settings import RuntimeSettings

    environment = store.environments.get("dev")
    assert environment is not None
    every = store.connections.list_all(environment.id)
    settings = RuntimeSettings(data_dir=bench.folder, database_url=url)
    with store.transaction() as tx:
        trigger_syncs(tx, settings, every, [SyncTarget("empty")])
    return runs_of(store, count, timeout=600)


def _children_cpu() -> float:
    """CPU seconds (user + system) of the ended child processes and their own descendants
    (a worker waits for its run server, which waits for each run process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default=os.environ.get("NANGO_BENCH_POSTGRES", DEFAULT_POSTGRES)
    )
    parser.add_argument("--syncs", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--pin",
        action="store_true",
        help="each worker and its processes on one CPU of its own (one-core machines)",
    )
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--skip-burst", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nango-scale-bench-") as folder:
        bench = Bench(options.database, options.concurrency, Path(folder), options.pin)
        failed = False
        if not options.skip_latency:
            failed |= report_latency(bench, options)
        if not options.skip_throughput:
            failed |= report_throughput(bench, options)
    return 1 if failed else 0


def report_latency(bench: Bench, options: argparse.Namespace) -> bool:
    delays, due = latency(bench, options.syncs, spread=True, window_s=options.window)
    p50, p99 = statistics.median(delays), percentile(delays, 0.99)
    verdict = "PASS" if p99 < LATENCY_TARGET_S and len(delays) == due else "FAIL"
    print(
        f"latency: {options.syncs} syncs every 30 s, 3 workers: {len(delays)}/{due} due runs "
        f"started; due -> started p50 {p50:.3f} s, p99 {p99:.3f} s, max {max(delays):.3f} s "
        f"(target p99 < {LATENCY_TARGET_S:g} s): {verdict}",
        flush=True,
    )
    if not options.skip_burst:
        burst, due = latency(bench, options.syncs, spread=False, window_s=5.0)
        print(
            f"burst (reference): {options.syncs} syncs due at once, 3 workers: {len(burst)}/{due} "
            f"started; p50 {statistics.median(burst):.3f} s, p99 {percentile(burst, 0.99):.3f} s, "
            f"all started after {max(burst):.3f} s",
            flush=True,
        )
    return verdict == "FAIL"


def report_throughput(bench: Bench, options: argparse.Namespace) -> bool:
    """The throughput rows: with each worker on a CPU of its own (the scaling target's
    measure: workers as machines of their own), then, unless `--pin`, sharing every CPU of
    this machine with each other and PostgreSQL (for reference)."""
    counts = [int(n) for n in options.workers.split(",")]
    failed = False
    for pinned in (True,) if options.pin else (True, False):
        bench.pin = pinned
        rates = {}
        for count in counts:
            rates[count], cpu = throughput(bench, count, options.tasks)
            where = "each on a CPU of its own" if pinned else "sharing the machine's CPUs"
            print(
                f"throughput: {count} worker(s), {where}, x {options.concurrency} at once: "
                f"{rates[count]:.1f} empty runs/s ({options.tasks} runs); CPU of the worker "
                f"processes and their run processes {cpu * 1000:.0f} ms per run (their "
                "start-up included; PostgreSQL's not)",
                flush=True,
            )
        if 1 not in rates or 2 not in rates:
            continue
        ratio = rates[2] / rates[1]
        if pinned:
            verdict = "PASS" if ratio >= SCALING_TARGET else "FAIL"
            failed |= verdict == "FAIL"
            print(
                f"scaling 1 -> 2 workers, each on a CPU of its own: {ratio:.2f}x "
                f"(target >= {SCALING_TARGET}x): {verdict}",
                flush=True,
            )
        else:
            print(
                f"scaling 1 -> 2 workers sharing the machine's {os.cpu_count()} CPUs: "
                f"{ratio:.2f}x (reference: one machine's cores cap it)",
                flush=True,
            )
    bench.pin = options.pin
    return failed


if __name__ == "__main__":
    sys.exit(main())
