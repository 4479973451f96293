"""Read throughput of the records API over real HTTP, on SQLite and (when reachable) PostgreSQL.

    python bench/records_api_bench.py [--records 100000] [--page 1000] [--repeat 3]
                                      [--backend all|sqlite|postgresql] [--postgres-url URL]

For each backend, N records (the shape of `store_bench.py`) are saved into a fresh store, then
`nango runtime start --role api` serves it in its own process. Timed alternately, `--repeat`
times each:

  api        a client (http.client, one keep-alive connection) pages through every record with
             `GET /records?model=Item&limit=<page>`, following `next_cursor`: each page's
             body read in full, its records counted, the cursor taken from its end (with
             --parse, each page parsed with orjson instead).
  raw SQL    the same rows read by a keyset-paged SELECT of their columns (id, external_id,
             body, created_at, updated_at, deleted_at, pruned_at) run raw on the driver
             (sqlite3 / psycopg 3), rows fetched, nothing parsed or encoded.
  bodies     for reference: the same keyset-paged SELECT of the `body` column alone, the
             least a raw read can fetch (the cursor taken from each page's last body).

Targets: api >= 20,000 records/s on SQLite, and api >= 0.5x the raw SQL rate on both.
Times are medians; the exit code is 0, or 1 when a target is missed or a run fails.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import orjson

BENCH = Path(__file__).resolve().parent
REPO_ROOT = BENCH.parent
for folder in (str(REPO_ROOT), str(BENCH)):
    if folder not in sys.path:
        sys.path.insert(0, folder)

from store_bench import (  # noqa: E402
    DEFAULT_POSTGRES,
    MODEL,
    Row,
    batches,
    make_records,
    placeholder,
    postgres_database,
    print_table,
    raw_connection,
    raw_pages,
)

from runtime.store import Store, generate_key, open_store, sqlite_url  # noqa: E402

SECRET_KEY = "6c0f7d1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f"
RATE_FLOOR_SQLITE = 20_000
RATIO_TARGET = 0.5
PARSE = False


def fill(store: Store, count: int) -> None:
    environment = store.environments.ensure("dev", secret_key=SECRET_KEY).environment
    store.integrations.create(environment.id, "bench", "github")
    connection, _ = store.connections.upsert(environment.id, "bench", "c1", credentials={})
    for batch in batches(make_records(count), 1000):
        store.records.save(connection.id, MODEL, batch)


@contextmanager
def runtime_process(url: str, data_dir: Path, key: str) -> Iterator[str]:
    """`nango runtime start --role api` on a free port; yields its base URL."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NANGO_")}
    environ.update(NANGO_SECRET_KEY_DEV=SECRET_KEY, NANGO_ENCRYPTION_KEY=key, NO_COLOR="1")
    command = [sys.executable, "-m", "cli", "runtime", "start", "--role", "api", "--port", "0"]
    command += ["--data-dir", str(data_dir), "--database-url", url]
    log = (data_dir / "runtime.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=log, text=True, env=environ, cwd=data_dir
    )
    try:
        assert process.stdout is not None
        base = None
        for line in process.stdout:
            found = re.search(r"NANGO_HOSTPORT=(\S+)", line)
            if found:
                base = found.group(1)
                break
        if base is None:
            raise RuntimeError("the runtime did not start: see " + str(data_dir / "runtime.log"))
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
        log.close()


class Client:
    """One keep-alive HTTP/1.1 connection (the standard library's: the lightest Python client,
    so the time is the API's, not the client's)."""

    def __init__(self, base: str) -> None:
        parts = urllib.parse.urlsplit(base)
        self._connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
        self._headers = {
            "Authorization": f"Bearer {SECRET_KEY}",
            "Connection-Id": "c1",
            "Provider-Config-Key": "bench",
        }

    def get(self, path: str, query: dict[str, str | int]) -> bytes:
        self._connection.request(
            "GET", f"{path}?{urllib.parse.urlencode(query)}", headers=self._headers
        )
        response = self._connection.getresponse()
        content = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {content[:200]!r}")
        return content

    def close(self) -> None:
        self._connection.close()


def read_api(client: Client, page: int) -> int:
    """Every record through the API: each page's body read in full, its records counted and
    `next_cursor` taken from its end (as `store_bench.py` reads pages; with --parse, each page
    is parsed with orjson instead)."""
    seen, cursor = 0, None
    while True:
        query: dict[str, str | int] = {"model": MODEL, "limit": page}
        if cursor:
            query["cursor"] = cursor
        content = client.get("/records", query)
        if PARSE:
            body = orjson.loads(content)
            seen += len(body["records"])
            cursor = body["next_cursor"]
        else:
            seen += content.count(b'"_nango_metadata":')
            tail = content[content.rindex(b'"next_cursor":') + 14 : -1]
            cursor = None if tail == b"null" else tail.strip(b'"').decode()
        if cursor is None:
            return seen


BODIES = (
    "SELECT body FROM records WHERE connection_id = {p} AND model = {p} "
    "AND updated_at >= {p} AND (updated_at > {p} OR id > {p}) "
    "ORDER BY updated_at, id LIMIT {p}"
)


def raw_bodies(store: Store, connection_id: int, page: int) -> int:
    """The bodies alone, keyset-paged (the least a raw read of the records can fetch): the
    informational baseline. The cursor is taken from the last body, as the API does."""
    from runtime.store.records.bodies import cursor_in
    from runtime.store.records.pages import decode_cursor

    statement = BODIES.format(p=placeholder(store))
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
            after, after_id = decode_cursor(cursor_in(rows[-1][0].encode()))


def connection_pk(store: Store) -> int:
    environment = store.environments.get("dev")
    assert environment is not None
    found = store.connections.get(environment.id, "bench", "c1", with_credentials=False)
    assert found is not None
    return found.id


def timed_count(action: Callable[[], int], expected: int, what: str) -> float:
    start = time.perf_counter()
    if action() != expected:
        raise RuntimeError(f"{what} did not return every record")
    return time.perf_counter() - start


def measure(url: str, data_dir: Path, args: argparse.Namespace) -> dict[str, float]:
    """Median seconds of each reader over every record: the API, the raw SELECT of the rows'
    columns, the raw SELECT of the bodies alone."""
    key = generate_key()
    store = open_store(url, encryption_key=key)
    try:
        fill(store, args.records)
    finally:
        store.close()
    times: dict[str, list[float]] = {"api": [], "raw": [], "bodies": []}
    store = open_store(url, encryption_key=key)
    try:
        pk = connection_pk(store)
        readers: dict[str, Callable[[], int]] = {
            "raw": lambda: raw_pages(store, pk, args.page),
            "bodies": lambda: raw_bodies(store, pk, args.page),
        }
        with runtime_process(url, data_dir, key) as base:
            client = Client(base)
            readers["api"] = lambda: read_api(client, args.page)
            try:
                for read in readers.values():  # warm-up: connections, caches
                    read()
                for _ in range(args.repeat):
                    for name, read in readers.items():
                        times[name].append(timed_count(read, args.records, name))
            finally:
                client.close()
    finally:
        store.close()
    return {name: statistics.median(found) for name, found in times.items()}


def results(backend: str, count: int, seconds: dict[str, float], page: int) -> list[Row]:
    rate = {name: count / found for name, found in seconds.items()}
    name = f"records API (limit={page})"
    target = f">= {RATIO_TARGET}x raw SELECT"
    if backend == "sqlite":
        target += f", >= {RATE_FLOOR_SQLITE:,}/s"
    row = Row(backend, name, rate["api"], rate["raw"], target)
    floor_ok = backend != "sqlite" or rate["api"] >= RATE_FLOOR_SQLITE
    row.passed = row.ratio is not None and row.ratio >= RATIO_TARGET and floor_ok
    bodies = Row(backend, "  vs raw SELECT of bodies", rate["api"], rate["bodies"], "(reference)")
    return [row, bodies]


def collect(args: argparse.Namespace) -> list[Row]:
    """Every row, on each backend asked for."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="nango-records-api-") as folder:
        if args.backend in ("all", "sqlite"):
            data = Path(folder) / "sqlite"
            data.mkdir()
            url = sqlite_url(data / "nango.db")
            rows += results("sqlite", args.records, measure(url, data, args), args.page)
        if args.backend in ("all", "postgresql"):
            with postgres_database(args.postgres_url) as url_or_none:
                if url_or_none is not None:
                    data = Path(folder) / "postgresql"
                    data.mkdir()
                    found = measure(url_or_none, data, args)
                    rows += results("postgresql", args.records, found, args.page)
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument(
        "--parse", action="store_true", help="also parse every page's JSON in the client"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    global PARSE
    args = parse_args(argv)
    PARSE = args.parse
    print(
        f"records API: {args.records:,} records, limit={args.page}, median of {args.repeat}",
        file=sys.stderr,
    )
    rows = collect(args)
    print_table(rows)
    return 0 if all(row.passed is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
