"""What a scrape of `/metrics` costs the database, and that it does not grow with the history.

    python bench/metrics_bench.py [--history 200000] [--repeat 50] [--backend all|sqlite|postgresql]

For each backend, two fresh databases with the same live work (100 tasks waiting, 20 running,
50 webhook deliveries in flight, 500 delivered in the last hour): one with no history, one with
`--history` finished runs and as many old deliveries. Timed alternately (medians):

  snapshot   `store.stats.snapshot()`: the three scrape-time queries, uncached
  render     a whole `/metrics` body: this process's registry and the database's figures
  baseline   `SELECT 1` through the same store (the floor of any read)

Target: the snapshot on the long history within 2x of the one without (the queries read index
ranges of live rows only). The exit code is 0, or 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import insert, text  # noqa: E402

from runtime.observability.exposition import render_metrics  # noqa: E402
from runtime.observability.gauges import DatabaseCollector  # noqa: E402
from runtime.observability.metrics import process_metrics  # noqa: E402
from runtime.store import Store, generate_key, open_store, sqlite_url  # noqa: E402
from runtime.store.schema import tasks, webhook_deliveries  # noqa: E402
from runtime.store.timestamps import now_us  # noqa: E402

FLATNESS_TARGET = 2.0
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
HOUR_US = 3600 * 1_000_000


def _task(environment: int, state: str, at: int) -> dict[str, Any]:
    return {
        "id": secrets.token_hex(16),
        "environment_id": environment,
        "kind": "sync",
        "group_key": "sync:env",
        "name": "issues",
        "payload": {},
        "state": state,
        "attempt": 1,
        "max_retries": 0,
        "created_to_started_ms": 60_000,
        "started_to_completed_ms": 60_000,
        "created_at": at,
        "starts_after": at,
    }


def _delivery(environment: int, state: str, at: int) -> dict[str, Any]:
    return {"environment_id": environment, "kind": "sync", "url": "https://example.com/h"} | {
        "body": "{}",
        "state": state,
        "attempts": 1,
        "created_at": at,
    }


def fill(store: Store, history: int) -> None:
    environment = store.environments.ensure("dev").environment.id
    now, old = now_us(), now_us() - 30 * 24 * HOUR_US
    rows = [_task(environment, "SUCCEEDED", old + i) for i in range(history)]
    rows += [_task(environment, "CREATED", now - i) for i in range(100)]
    rows += [_task(environment, "STARTED", now - i) for i in range(20)]
    deliveries = [_delivery(environment, "DELIVERED", old + i) for i in range(history)]
    deliveries += [_delivery(environment, "PENDING", now - i) for i in range(50)]
    deliveries += [_delivery(environment, "DELIVERED", now - i) for i in range(500)]
    with store.database.engine.begin() as connection:
        for start in range(0, len(rows), 10_000):
            connection.execute(insert(tasks), rows[start : start + 10_000])
        for start in range(0, len(deliveries), 10_000):
            connection.execute(insert(webhook_deliveries), deliveries[start : start + 10_000])
        if store.backend == "postgresql":
            connection.execute(text("ANALYZE"))


@contextmanager
def database(backend: str, postgres_url: str, folder: Path, name: str) -> Iterator[Store]:
    if backend == "sqlite":
        store = open_store(sqlite_url(folder / f"{name}.db"), encryption_key=generate_key())
        yield store
        store.close()
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin_url = make_url(postgres_url).set(drivername="postgresql")
    database_name = f"nango_bench_{secrets.token_hex(4)}"
    admin = psycopg.connect(admin_url.render_as_string(False), autocommit=True)
    admin.execute(f'CREATE DATABASE "{database_name}"')
    url = make_url(postgres_url).set(database=database_name).render_as_string(False)
    store = open_store(url, encryption_key=generate_key())
    try:
        yield store
    finally:
        store.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        admin.close()


def timed(action: Callable[[], object]) -> Callable[[], float]:
    def run() -> float:
        started = time.perf_counter()
        action()
        return time.perf_counter() - started

    return run


def select_one(store: Store) -> None:
    with store.database.read() as connection:
        connection.execute(text("SELECT 1")).scalar()


def measure(stores: dict[str, Store], repeat: int) -> dict[str, float]:
    rows: dict[str, Callable[[], float]] = {}
    for label, store in stores.items():
        collector = DatabaseCollector(store, ttl_s=0)
        rows[f"snapshot {label}"] = timed(store.stats.snapshot)
        rows[f"render {label}"] = timed(
            lambda c=collector: render_metrics(process_metrics(), c, None)
        )
        rows[f"baseline {label}"] = timed(lambda s=store: select_one(s))
    times: dict[str, list[float]] = {name: [] for name in rows}
    for round_ in range(repeat + 3):
        for name, run in rows.items():
            elapsed = run()
            if round_ >= 3:  # warm-up rounds
                times[name].append(elapsed)
    return {name: statistics.median(found) for name, found in times.items()}


def bench(backend: str, args: argparse.Namespace, folder: Path) -> bool:
    with (
        database(backend, args.postgres_url, folder, "empty") as empty,
        database(backend, args.postgres_url, folder, "long") as long,
    ):
        fill(empty, 0)
        fill(long, args.history)
        medians = measure({"no history": empty, f"{args.history:,} done": long}, args.repeat)
    print(f"\n{backend}")
    base = medians["baseline no history"]
    for name, value in medians.items():
        print(f"  {name:<32} {value * 1000:8.3f} ms   {value / base:6.1f}x SELECT 1")
    ratio = medians[f"snapshot {args.history:,} done"] / medians["snapshot no history"]
    verdict = "PASS" if ratio <= FLATNESS_TARGET else "FAIL"
    print(f"  snapshot, long history / none: {ratio:.2f}x (target <= {FLATNESS_TARGET}x) {verdict}")
    return ratio <= FLATNESS_TARGET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "all" else [args.backend]
    with tempfile.TemporaryDirectory() as folder:
        results = [bench(backend, args, Path(folder)) for backend in backends]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
