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
  raw SQL    the same rows read by the same keyset-paged SELECT run raw on the driver
             (sqlite3 / psycopg 3), rows fetched, nothing parsed or encoded.

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
from collections.abc import Iterator, Sequence
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
    batches,
    make_records,
    postgres_database,
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


def connection_pk(store: Store) -> int:
    environment = store.environments.get("dev")
    assert environment is not None
    found = store.connections.get(environment.id, "bench", "c1", with_credentials=False)
    assert found is not None
    return found.id


def measure(url: str, data_dir: Path, args: argparse.Namespace) -> tuple[float, float]:
    """Median seconds of (api, raw SQL) over every record."""
    key = generate_key()
    store = open_store(url, encryption_key=key)
    try:
        fill(store, args.records)
    finally:
        store.close()
    api_times: list[float] = []
    raw_times: list[float] = []
    store = open_store(url, encryption_key=key)
    try:
        pk = connection_pk(store)
        with runtime_process(url, data_dir, key) as base:
            client = Client(base)
            try:
                read_api(client, args.page)  # warm-up: connection, caches
                raw_pages(store, pk, args.page)
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    if read_api(client, args.page) != args.records:
                        raise RuntimeError("the API did not return every record")
                    api_times.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    if raw_pages(store, pk, args.page) != args.records:
                        raise RuntimeError("the raw query did not return every record")
                    raw_times.append(time.perf_counter() - start)
            finally:
                client.close()
    finally:
        store.close()
    return statistics.median(api_times), statistics.median(raw_times)


def report(backend: str, count: int, api_s: float, raw_s: float) -> bool:
    api_rate, raw_rate = count / api_s, count / raw_s
    ratio = api_rate / raw_rate
    passed = ratio >= RATIO_TARGET and (backend != "sqlite" or api_rate >= RATE_FLOOR_SQLITE)
    floor = f", >= {RATE_FLOOR_SQLITE:,}/s" if backend == "sqlite" else ""
    print(
        f"{backend:<11} api {api_rate:>10,.0f} records/s   raw SQL {raw_rate:>10,.0f} records/s"
        f"   ratio {ratio:.2f}x (target >= {RATIO_TARGET}x{floor})   "
        f"{'PASS' if passed else 'FAIL'}"
    )
    return passed


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
    print(f"records API: {args.records:,} records, limit={args.page}, median of {args.repeat}")
    passed = True
    with tempfile.TemporaryDirectory(prefix="nango-records-api-") as folder:
        if args.backend in ("all", "sqlite"):
            data = Path(folder) / "sqlite"
            data.mkdir()
            url = sqlite_url(data / "nango.db")
            passed &= report("sqlite", args.records, *measure(url, data, args))
        if args.backend in ("all", "postgresql"):
            with postgres_database(args.postgres_url) as url_or_none:
                if url_or_none is not None:
                    data = Path(folder) / "postgresql"
                    data.mkdir()
                    passed &= report("postgresql", args.records, *measure(url_or_none, data, args))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
