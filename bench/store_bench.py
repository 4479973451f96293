"""Throughput of the runtime's record store, on SQLite and (when reachable) PostgreSQL.

    python bench/store_bench.py [--records 100000] [--batch 1000] [--page 10000] [--repeat 3]
                                [--backend all|sqlite|postgresql] [--postgres-url URL]

For each backend, on a fresh database, the same rows are timed alternately through the store and
through a baseline on the same driver (sqlite3 / psycopg 3, the store's own pool):

  save       `store.records.save(...)` of N new records in batches (generation 1), against a
             bare `executemany` INSERT of the same final rows (ids, hashes and bodies, the
             record's JSON with its `_nango_metadata`, computed beforehand) into a table of the
             same shape and indexes, a transaction per batch.
  resave     the same N records saved again (all unchanged, as the next run of a sync: a new
             generation marks them seen), against the store's own first save (target: faster).
  resave-    the same again without a generation (nothing at all to write).
  list       every record read back with `store.records.list_page_json(limit=page)` (the
             records API's body) following `next_cursor`, against the same keyset-paged SELECT
             of every column of the rows, run raw on the driver (rows fetched, nothing parsed).

Each repeat uses a connection of its own, so every "save" inserts. Times are medians; records/s
= N / time. PostgreSQL: a database `nango_bench_<random>` created for the run and dropped after.
The exit code is 0, or 1 when a target is missed or a run fails.
"""

from __future__ import annotations

import argparse
import os
import secrets
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

from runtime.store import Store, generate_key, open_store, sqlite_url  # noqa: E402
from runtime.store.records.bodies import Bodies, Stamps, start_of  # noqa: E402
from runtime.store.records.format import PreparedRecord, RecordIds, prepare  # noqa: E402

SAVE_TARGET = 0.5  # of the bare executemany INSERT
LIST_TARGET = 0.5  # of the raw keyset SELECT
LIST_FLOOR_SQLITE = 20_000  # records/s
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
BODY = "Steps to reproduce: open the page, click the button, watch it fail. " * 2
MODEL = "Item"

BASELINE_DDL = [
    """CREATE TABLE bench_rows (
        id TEXT PRIMARY KEY, connection_id BIGINT NOT NULL, model TEXT NOT NULL,
        external_id TEXT NOT NULL, data_hash TEXT NOT NULL, body TEXT NOT NULL,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, deleted_at BIGINT,
        pruned_at BIGINT)""",
    "CREATE INDEX bench_rows_page ON bench_rows (connection_id, model, updated_at, id)",
]
INSERT = (
    "INSERT INTO bench_rows (id, connection_id, model, external_id, data_hash, body, "
    "created_at, updated_at, deleted_at, pruned_at) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, NULL, NULL)"
)
PAGE = (
    "SELECT id, external_id, body, created_at, updated_at, deleted_at, pruned_at "
    "FROM records WHERE connection_id = {p} AND model = {p} "
    "AND updated_at >= {p} AND (updated_at > {p} OR id > {p}) "
    "ORDER BY updated_at, id LIMIT {p}"
)


def make_records(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(i),
            "number": i,
            "title": f"Item {i}: the button does nothing",
            "state": "open" if i % 3 else "closed",
            "labels": ["bug", "p2", "ui"][: i % 4],
            "created_at": f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}T10:{i % 60:02d}:00Z",
            "author": None if i % 7 == 0 else f"user{i % 97}",
            "body": BODY,
        }
        for i in range(1, count + 1)
    ]


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Row:
    backend: str
    name: str
    ours: float
    baseline: float | None
    target: str = ""
    passed: bool | None = None

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else self.ours / self.baseline


@dataclass
class Bench:
    store: Store
    args: argparse.Namespace
    environment_id: int
    records: list[dict[str, Any]]
    next_connection: int = 0
    times: dict[str, list[float]] = field(default_factory=dict)

    def new_connection(self) -> int:
        self.next_connection += 1
        connection, _ = self.store.connections.upsert(
            self.environment_id, "bench", f"c{self.next_connection}", credentials={}
        )
        return connection.id

    def record(self, name: str, seconds: float) -> None:
        self.times.setdefault(name, []).append(seconds)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def save_all(bench: Bench, connection_id: int, generation: int | None) -> None:
    for batch in batches(bench.records, bench.args.batch):
        bench.store.records.save(connection_id, MODEL, batch, generation=generation)


def list_all(bench: Bench, connection_id: int) -> int:
    """Every page as the records API builds its answer (the JSON body), counted."""
    seen, cursor = 0, None
    while True:
        body = bench.store.records.list_page_json(
            connection_id, MODEL, limit=bench.args.page, cursor=cursor
        )
        seen += body.count(b'"_nango_metadata":')
        tail = body[body.rindex(b'"next_cursor":') + 14 : -1]
        if tail == b"null":
            return seen
        cursor = tail.strip(b'"').decode()


def final_body(prepared: PreparedRecord) -> str:
    """The body the store keeps for a new record (timestamps aside: the same length)."""
    return Bodies().build(prepared.id, start_of(prepared.payload), Stamps(0, 0))


def baseline_rows(bench: Bench, connection_id: int) -> list[list[tuple[Any, ...]]]:
    prepared, _ = prepare(bench.records, RecordIds(connection_id, MODEL))
    rows = [
        (p.id, connection_id, MODEL, p.external_id, p.data_hash, final_body(p), 0, 0)
        for p in prepared
    ]
    return [list(chunk) for chunk in batches(rows, bench.args.batch)]


def placeholder(store: Store) -> str:
    return "%s" if store.backend == "postgresql" else "?"


@contextmanager
def raw_connection(store: Store) -> Iterator[Any]:
    connection = store.database.engine.raw_connection()
    try:
        yield connection
    finally:
        connection.close()


def bare_insert(store: Store, chunks: list[list[tuple[Any, ...]]]) -> float:
    """Seconds to executemany the rows, a transaction per chunk (the table emptied first)."""
    statement = INSERT.format(p=placeholder(store))
    with raw_connection(store) as connection:
        cursor = connection.cursor()
        _begin(store, cursor)
        cursor.execute("DELETE FROM bench_rows")
        connection.commit()
        start = time.perf_counter()
        for chunk in chunks:
            _begin(store, cursor)
            cursor.executemany(statement, chunk)
            connection.commit()
        return time.perf_counter() - start


def _begin(store: Store, cursor: Any) -> None:
    if store.backend == "sqlite":  # the store's SQLite connections are in autocommit mode
        cursor.execute("BEGIN")


def raw_pages(store: Store, connection_id: int, page: int) -> int:
    statement = PAGE.format(p=placeholder(store))
    seen, after, after_id = 0, -1, ""
    with raw_connection(store) as connection:
        cursor = connection.cursor()
        while True:
            cursor.execute(statement, (connection_id, MODEL, after, after, after_id, page))
            rows = cursor.fetchall()
            seen += len(rows)
            if len(rows) < page:
                connection.rollback()
                return seen
            after, after_id = rows[-1][4], rows[-1][0]


def run_repeat(bench: Bench) -> None:
    store, n = bench.store, len(bench.records)
    connection_id = bench.new_connection()
    chunks = baseline_rows(bench, connection_id)
    bench.record("bare insert", bare_insert(store, chunks))
    bench.record("save", timed(lambda: save_all(bench, connection_id, generation=1)))
    bench.record("resave", timed(lambda: save_all(bench, connection_id, generation=2)))
    bench.record("resave-", timed(lambda: save_all(bench, connection_id, generation=None)))
    counts: list[int] = []
    bench.record(
        "raw pages", timed(lambda: counts.append(raw_pages(store, connection_id, bench.args.page)))
    )
    bench.record("list", timed(lambda: counts.append(list_all(bench, connection_id))))
    if counts != [n, n]:
        raise RuntimeError(f"expected {n} records read twice, read {counts}")


def results(bench: Bench) -> list[Row]:
    n = len(bench.records)
    rate = {name: n / statistics.median(times) for name, times in bench.times.items()}
    backend = bench.store.backend
    rows = [
        Row(backend, "save", rate["save"], rate["bare insert"], f">= {SAVE_TARGET}x bare insert"),
        Row(backend, "resave (unchanged)", rate["resave"], rate["save"], "> 1x first save"),
        Row(backend, "resave, no generation", rate["resave-"], rate["save"], "> 1x first save"),
        Row(
            backend,
            f"list (pages of {bench.args.page})",
            rate["list"],
            rate["raw pages"],
            f">= {LIST_TARGET}x raw SELECT",
        ),
    ]
    rows[0].passed = rows[0].ratio is not None and rows[0].ratio >= SAVE_TARGET
    rows[1].passed = rows[1].ratio is not None and rows[1].ratio > 1
    rows[2].passed = rows[2].ratio is not None and rows[2].ratio > 1
    list_ok = rows[3].ratio is not None and rows[3].ratio >= LIST_TARGET
    if backend == "sqlite":
        rows[3].target += f", >= {LIST_FLOOR_SQLITE:,}/s"
        list_ok = list_ok and rows[3].ours >= LIST_FLOOR_SQLITE
    rows[3].passed = list_ok
    return rows


def bench_backend(url: str, args: argparse.Namespace) -> list[Row]:
    store = open_store(url, encryption_key=generate_key())
    try:
        environment = store.environments.ensure("dev").environment
        store.integrations.create(environment.id, "bench", "github")
        with raw_connection(store) as connection:
            cursor = connection.cursor()
            for statement in BASELINE_DDL:
                cursor.execute(statement)
            connection.commit()
        bench = Bench(store, args, environment.id, make_records(args.records))
        for index in range(args.repeat):
            print(f"  {store.backend}: run {index + 1}/{args.repeat}", file=sys.stderr)
            run_repeat(bench)
        return results(bench)
    finally:
        store.close()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str | None]:
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        admin = make_url(admin_url).set(drivername="postgresql")
        conninfo = admin.render_as_string(hide_password=False)
        connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except Exception as exc:  # any failure to reach the server means: skip PostgreSQL
        print(f"PostgreSQL skipped: {admin_url} unreachable ({exc})", file=sys.stderr)
        yield None
        return
    name = f"nango_bench_{secrets.token_hex(6)}"
    from psycopg import sql

    with connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            connection.execute(drop.format(sql.Identifier(name)))


def print_table(rows: list[Row]) -> None:
    print(
        f"{'backend':<11} {'measurement':<26} {'ours rec/s':>12} {'baseline/s':>12} "
        f"{'ratio':>7}  target"
    )
    for row in rows:
        baseline = "" if row.baseline is None else f"{row.baseline:,.0f}"
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        verdict = {True: "PASS", False: "FAIL", None: ""}[row.passed]
        print(
            f"{row.backend:<11} {row.name:<26} {row.ours:>12,.0f} {baseline:>12} {ratio:>7}  "
            f"{verdict} {row.target}"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000, help="records per save call")
    parser.add_argument("--page", type=int, default=10_000, help="records per listed page")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (median)")
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("NANGO_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a server where the bench may create and drop a database",
    )
    return parser.parse_args(argv)


def collect(args: argparse.Namespace) -> list[Row]:
    """Every row, on each backend asked for."""
    rows: list[Row] = []
    if args.backend in ("all", "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            rows += bench_backend(sqlite_url(Path(folder) / "bench.db"), args)
    if args.backend in ("all", "postgresql"):
        with postgres_database(args.postgres_url) as url:
            if url is not None:
                rows += bench_backend(url, args)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"{args.records:,} records, batches of {args.batch:,}, pages of {args.page:,}, "
        f"median of {args.repeat}",
        file=sys.stderr,
    )
    rows = collect(args)
    print_table(rows)
    return 0 if all(row.passed is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
