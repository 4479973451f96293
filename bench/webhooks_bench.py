"""What the webhook outbox costs over posting directly: N signed webhooks delivered by one
sender (claim, sign, POST, record each attempt) against the same N POSTs made by a pool of
the same size, to the same local receiver, timed in the same run.

    python bench/webhooks_bench.py [--count 500] [--concurrency 8] [--backend sqlite|postgresql]

PostgreSQL: `NANGO_BENCH_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/postgres`)
is the server; a database of its own is created and dropped.

Target: the outbox within 3x of posting directly (its bookkeeping is a few writes per
delivery). The exit code is 0, or 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from runtime.settings import RuntimeSettings  # noqa: E402
from runtime.store import Store, generate_key, open_store, sqlite_url  # noqa: E402
from runtime.webhooks.sender import DeliverySender  # noqa: E402
from runtime.webhooks.signing import nango_signature_headers  # noqa: E402

TARGET_RATIO = 3.0
BODY = '{"from":"nango","type":"sync","connectionId":"acme","model":"Issue"}'


@contextmanager
def receiver() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def store_for(backend: str, folder: Path) -> Iterator[Store]:
    if backend == "sqlite":
        store = open_store(sqlite_url(folder / "bench.db"), encryption_key=generate_key())
        yield store
        store.close()
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin_url = os.environ.get(
        "NANGO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"nango_bench_{secrets.token_hex(4)}"
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(False)
    store = open_store(url, encryption_key=generate_key())
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def time_outbox(store: Store, url: str, count: int, concurrency: int, folder: Path) -> float:
    environment = store.environments.ensure("dev").environment
    for _ in range(count):
        store.webhooks.enqueue(environment.id, "sync", [url], BODY)
    settings = RuntimeSettings(data_dir=folder)
    sender = DeliverySender(settings, store, concurrency=concurrency, poll_s=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,), daemon=True)
    started = time.perf_counter()
    thread.start()
    try:
        while store.stats.snapshot().deliveries_in_flight:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(60)
    return time.perf_counter() - started


def time_direct(url: str, count: int, concurrency: int) -> float:
    headers = {"content-type": "application/json", **nango_signature_headers("k", BODY)}
    with httpx.Client() as client, ThreadPoolExecutor(concurrency) as pool:
        started = time.perf_counter()
        answers = list(
            pool.map(lambda _: client.post(url, content=BODY, headers=headers), range(count))
        )
        elapsed = time.perf_counter() - started
    assert all(a.status_code == 200 for a in answers)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, receiver() as url:
        direct = time_direct(url, options.count, options.concurrency)
        with store_for(options.backend, Path(folder)) as store:
            outbox = time_outbox(store, url, options.count, options.concurrency, Path(folder))
    ratio = outbox / direct
    print(
        f"{options.backend}: {options.count} webhooks, {options.concurrency} at once: "
        f"outbox {outbox:.2f} s ({options.count / outbox:.0f}/s), "
        f"direct {direct:.2f} s ({options.count / direct:.0f}/s), ratio {ratio:.2f} "
        f"(target <= {TARGET_RATIO:g})"
    )
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
