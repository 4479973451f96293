"""Runtimes for tests: the API served by uvicorn in a thread of the test process (fast, for CLI
tests), or a whole runtime (API + worker) in a process of its own (for end-to-end tests with
real worker children). Both on 127.0.0.1, on a free port."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import REPO_ROOT, outside_env

DEV_KEY = "4b0c2d1e-8f7a-4c6b-9d3e-2a1f0e9d8c7b"
PROD_KEY = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yields its base URL."""
    import uvicorn

    sock = free_socket()
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test runtime did not start")
        time.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class RuntimeProcess:
    """A runtime (API + worker) running in a process of its own."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def client(self, key: str = DEV_KEY) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {key}"}, timeout=60
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def runtime_process(
    data_dir: Path, database_url: str, *, settings: dict[str, Any] | None = None
) -> Iterator[RuntimeProcess]:
    """Start `tests/runtime_launcher.py` (the API and the worker loop of one runtime) and wait
    for `/health`."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    config = {
        "data_dir": str(data_dir),
        "database_url": database_url,
        "port": port,
        "secret_key_dev": DEV_KEY,
        "secret_key_prod": PROD_KEY,
        "encryption_key": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        **(settings or {}),
    }
    log = data_dir / "runtime.log"
    environment = outside_env()
    environment["PYTHONPATH"] = str(REPO_ROOT)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "tests" / "runtime_launcher.py"), json.dumps(config)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=data_dir,
        )
    runtime = RuntimeProcess(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_healthy(runtime)
        yield runtime
    finally:
        runtime.stop()


def _wait_healthy(runtime: RuntimeProcess) -> None:
    deadline = time.monotonic() + 90  # a loaded machine starts it slowly
    while time.monotonic() < deadline:
        if runtime.process.poll() is not None:
            raise RuntimeError(f"the runtime exited:\n{runtime.output()}")
        try:
            if httpx.get(f"{runtime.url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the runtime did not answer /health:\n{runtime.output()}")


def wait_until(predicate: Any, *, timeout: float = 30.0, every: float = 0.1) -> Any:
    """Poll `predicate()` until it returns something truthy; that value, else AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(every)
