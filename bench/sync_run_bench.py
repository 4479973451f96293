"""A deployed sync run saving records through `batch_save` into the runtime's store, against a
raw `executemany` upsert of the same rows; on SQLite and (when reachable) PostgreSQL.

    python bench/sync_run_bench.py [--records 100000] [--batch 1000] [--repeat 3]
                                   [--backend all|sqlite|postgresql] [--postgres-url URL]
                                   [--with-worker]

A temp project with one sync `items` (model `Item`: id, number, title, state, labels,
created_at, author, body) is generated, packed and deployed as `nango deploy` does. Its script
builds N records (plain dicts) and hands them to `nango.batch_save` in batches. Each repeat uses
a new connection, and times, alternately with the baseline:

  save     a triggered run executed in this process (`runtime.worker.execute.execute_task`:
           the deployed files materialised, `run_script` with the `StoredBackend`: records
           validated against the model, de-duplicated, hashed, fenced writes, the run's counts,
           its success transaction), N new records;
  resave   the next run of the same sync: the same N records, all unchanged (nothing written);
  upsert   the baseline: `INSERT ... ON CONFLICT (id) DO UPDATE` with `executemany` of the same
           final rows (ids, hashes and bodies computed beforehand) into a table of the records'
           shape and indexes, a transaction per batch, on the store's own driver (its table
           grows by N rows each repeat, as the store's does).

Each repeat runs on a database of its own (a new SQLite file, a new PostgreSQL database), so
ours and the baseline both start from empty tables. Targets: save >= 0.5x the upsert's rate;
resave faster than save. `--with-worker` adds one
informational row: the same save through the worker loop, the run in a child process (its start
included). Times are medians; records/s = N / time. PostgreSQL: a database
`nango_bench_<random>` created for each repeat and dropped after. Exit code 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from store_bench import (  # noqa: E402
    DEFAULT_POSTGRES,
    Row,
    _begin,
    batches,
    final_body,
    placeholder,
    postgres_database,
    print_table,
    raw_connection,
)

from runtime.store import Store, generate_key, open_store, sqlite_url  # noqa: E402
from runtime.store.records.format import RecordIds, prepare  # noqa: E402

SAVE_TARGET = 0.5
MODEL = "Item"
BODY = "Steps to reproduce: open the page, click the button, watch it fail. " * 2
CONFIG = """\
integrations:
  github:
    syncs:
      items:
        runs: every day
        output: Item
        auto_start: false
        endpoint: GET /items
models:
  Item:
    id: string
    number: number
    title: string
    state: string
    labels: string[]
    created_at: string
    author: string | null
    body: string
"""
SCRIPT = """\
from models import NangoSync

BODY = {body!r}


def record(i: int) -> dict:
    return {{
        "id": str(i),
        "number": i,
        "title": f"Item {{i}}: the button does nothing",
        "state": "open" if i % 3 else "closed",
        "labels": ["bug", "p2", "ui"][: i % 4],
        "created_at": f"2024-{{i % 12 + 1:02d}}-{{i % 28 + 1:02d}}T10:{{i % 60:02d}}:00Z",
        "author": None if i % 7 == 0 else f"user{{i % 97}}",
        "body": BODY,
    }}


async def fetch_data(nango: NangoSync) -> None:
    count, size = {count}, {batch}
    for start in range(1, count + 1, size):
        batch = [record(i) for i in range(start, min(start + size, count + 1))]
        await nango.batch_save(batch, "Item")
"""
UPSERT = (
    "INSERT INTO bench_rows (id, connection_id, model, external_id, data_hash, body, "
    "created_at, updated_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (id) DO UPDATE SET data_hash = excluded.data_hash, "
    "body = excluded.body, updated_at = excluded.updated_at"
)
BASELINE_DDL = [
    """CREATE TABLE bench_rows (
        id TEXT PRIMARY KEY, connection_id BIGINT NOT NULL, model TEXT NOT NULL,
        external_id TEXT NOT NULL, data_hash TEXT NOT NULL, body TEXT NOT NULL,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, deleted_at BIGINT,
        pruned_at BIGINT)""",
    "CREATE INDEX bench_rows_page ON bench_rows (connection_id, model, updated_at, id)",
]


def record(i: int) -> dict[str, Any]:
    """The same record the deployed script builds."""
    return {
        "id": str(i),
        "number": i,
        "title": f"Item {i}: the button does nothing",
        "state": "open" if i % 3 else "closed",
        "labels": ["bug", "p2", "ui"][: i % 4],
        "created_at": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T10:{i % 60:02d}:00Z",
        "author": None if i % 7 == 0 else f"user{i % 97}",
        "body": BODY,
    }


@dataclass
class Bench:
    store: Store
    args: argparse.Namespace
    folder: Path
    environment_id: int
    times: dict[str, list[float]] = field(default_factory=dict)
    connections: int = 0

    def add(self, name: str, seconds: float) -> None:
        self.times.setdefault(name, []).append(seconds)

    def new_connection(self) -> Any:
        self.connections += 1
        connection, _ = self.store.connections.upsert(
            self.environment_id, "github", f"c{self.connections}", credentials={"type": "NONE"}
        )
        return connection


def deploy_project(bench: Bench) -> None:
    from cli.codegen.generate import generate
    from cli.deploy.pack import PackOptions, pack_project
    from cli.project import find_project
    from runtime.deploy.apply import apply_deploy

    root = bench.folder / "project"
    (root / "github" / "syncs").mkdir(parents=True)
    (root / "nango.yaml").write_text(CONFIG)
    script = SCRIPT.format(body=BODY, count=bench.args.records, batch=bench.args.batch)
    (root / "github" / "syncs" / "items.py").write_text(script)
    config = generate(project_root=root).config.parsed
    apply_deploy(
        bench.store, bench.environment_id, pack_project(find_project(root), config, PackOptions())
    )


def settings_for(bench: Bench, url: str) -> Any:
    from runtime.settings import RuntimeSettings

    return RuntimeSettings(
        data_dir=bench.folder / "data", database_url=url, encryption_key=bench.args.key
    )


def run_once(bench: Bench, connection: Any, settings: Any) -> float:
    """Trigger the sync for `connection` and execute its run here; seconds it took."""
    from runtime.scheduler.control import SyncTarget, trigger_syncs
    from runtime.worker.execute import execute_task

    trigger_syncs(bench.store, settings, [connection], [SyncTarget("items")])
    started = time.perf_counter()
    (task,) = bench.store.tasks.claim("bench", limit=1, lease_seconds=600)
    assert task.lease_token is not None
    execute_task(bench.store, task, task.lease_token, settings)
    elapsed = time.perf_counter() - started
    done = bench.store.tasks.get(task.id)
    if done is None or done.state != "SUCCEEDED":
        raise RuntimeError(f"the run failed: {done.error if done else 'gone'}")
    return elapsed


def run_with_worker(bench: Bench, connection: Any, settings: Any) -> float:
    """The same run through the worker loop: claimed, run in a child process."""
    from runtime.scheduler.control import SyncTarget, trigger_syncs
    from runtime.worker import Worker

    worker = Worker(settings, bench.store, encryption_key=bench.args.key, poll_s=0.01)
    (task,) = trigger_syncs(bench.store, settings, [connection], [SyncTarget("items")])
    started = time.perf_counter()
    while True:
        worker.tick()
        done = bench.store.tasks.get(task.id)
        if done is not None and done.is_done:
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    if done.state != "SUCCEEDED":
        raise RuntimeError(f"the run failed: {done.error}")
    return elapsed


def baseline_chunks(bench: Bench, connection_id: int) -> list[list[tuple[Any, ...]]]:
    records = [record(i) for i in range(1, bench.args.records + 1)]
    prepared, _ = prepare(records, RecordIds(connection_id, MODEL))
    rows = [
        (p.id, connection_id, MODEL, p.external_id, p.data_hash, final_body(p), 0, 0)
        for p in prepared
    ]
    return [list(chunk) for chunk in batches(rows, bench.args.batch)]


def raw_upsert(store: Store, chunks: list[list[tuple[Any, ...]]]) -> float:
    statement = UPSERT.format(p=placeholder(store))
    with raw_connection(store) as connection:
        cursor = connection.cursor()
        started = time.perf_counter()
        for chunk in chunks:
            _begin(store, cursor)
            cursor.executemany(statement, chunk)
            connection.commit()
        return time.perf_counter() - started


def run_repeat(bench: Bench, settings: Any) -> None:
    connection = bench.new_connection()
    chunks = baseline_chunks(bench, connection.id)
    bench.add("upsert", raw_upsert(bench.store, chunks))
    bench.add("save", run_once(bench, connection, settings))
    bench.add("resave", run_once(bench, connection, settings))
    if bench.args.with_worker:
        bench.add("worker save", run_with_worker(bench, bench.new_connection(), settings))


def results(backend: str, n: int, times: dict[str, list[float]]) -> list[Row]:
    rate = {name: n / statistics.median(found) for name, found in times.items()}
    rows = [
        Row(backend, "sync run: save", rate["save"], rate["upsert"], f">= {SAVE_TARGET}x upsert"),
        Row(backend, "sync run: resave (unchanged)", rate["resave"], rate["save"], "> 1x save"),
    ]
    rows[0].passed = rows[0].ratio is not None and rows[0].ratio >= SAVE_TARGET
    rows[1].passed = rows[1].ratio is not None and rows[1].ratio > 1
    if "worker save" in rate:
        rows.append(Row(backend, "worker (child process)", rate["worker save"], rate["save"]))
    return rows


def bench_database(url: str, args: argparse.Namespace, times: dict[str, list[float]]) -> str:
    """One repeat on a fresh database: the project deployed, then the rows timed."""
    store = open_store(url, encryption_key=args.key)
    try:
        environment = store.environments.ensure("dev").environment
        with raw_connection(store) as connection:
            cursor = connection.cursor()
            for statement in BASELINE_DDL:
                cursor.execute(statement)
            connection.commit()
        with tempfile.TemporaryDirectory() as folder:
            bench = Bench(store, args, Path(folder), environment.id, times)
            deploy_project(bench)
            run_repeat(bench, settings_for(bench, url))
        return store.backend
    finally:
        store.close()


def bench_backend(new_database: Callable[[], Any], args: argparse.Namespace) -> list[Row]:
    """Every repeat on a database of its own (`new_database()`: a context giving its URL)."""
    times: dict[str, list[float]] = {}
    backend = ""
    for index in range(args.repeat):
        with new_database() as url:
            if url is None:
                return []
            backend = bench_database(url, args, times)
            print(f"  {backend}: run {index + 1}/{args.repeat}", file=sys.stderr)
    return results(backend, args.records, times)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000, help="records per batch_save call")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (median)")
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument("--with-worker", action="store_true", help="also time the worker path")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("NANGO_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a server where the bench may create and drop a database",
    )
    args = parser.parse_args(argv)
    args.key = generate_key()
    return args


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield sqlite_url(Path(folder) / "bench.db")


def collect(args: argparse.Namespace) -> list[Row]:
    """Every row, on each backend asked for."""
    rows: list[Row] = []
    if args.backend in ("all", "sqlite"):
        rows += bench_backend(sqlite_database, args)
    if args.backend in ("all", "postgresql"):
        rows += bench_backend(lambda: postgres_database(args.postgres_url), args)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"{args.records:,} records, batches of {args.batch:,}, median of {args.repeat}",
        file=sys.stderr,
    )
    rows = collect(args)
    print_table(rows)
    return 0 if all(row.passed is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
