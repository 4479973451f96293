"""A runtime spread over processes, as an operator runs it: `nango runtime start --role api` and
`--role worker` processes sharing one PostgreSQL database of their own, each in a session of its
own (so a test can kill, stop or continue a worker with its run processes), and a TCP proxy a
test can put between them and PostgreSQL and cut."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cli.codegen.generate import generate
from cli.deploy.pack import PackOptions, pack_project
from cli.project import find_project
from runtime.deploy.apply import apply_deploy
from runtime.settings import RuntimeSettings
from runtime.store import Store, open_store
from runtime.store.tasks import Task
from tests.helpers import REPO_ROOT, write_tree
from tests.runtime.store.conftest import TEST_KEY
from tests.runtime_harness import DEV_KEY, PROD_KEY, free_socket, wait_until

__all__ = ["Cluster", "Process", "TcpProxy", "owner_pid", "wait_until"]

NANGO = [sys.executable, "-m", "cli", "runtime", "start"]


def owner_pid(task: Task) -> int:
    """The pid of the worker that claimed `task` (owners are `host:pid:random`)."""
    assert task.owner is not None
    return int(task.owner.split(":")[1])


@dataclass
class Process:
    """One `nango runtime start` process."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    url: str | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        """`sig` to the process and its run processes (its session)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, timeout: float = 60) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(10)
        return self.popen.returncode

    def ready(self) -> None:
        wait_until(lambda: _serves(self), timeout=120, every=0.2)

    def client(self, key: str = DEV_KEY) -> httpx.Client:
        assert self.url is not None, "not an API process"
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {key}"})


@dataclass
class Cluster:
    """API and worker processes over the database at `database_url` (see the module docstring).
    `measured=False` keeps coverage out of the processes (long runs)."""

    root: Path
    database_url: str
    settings: dict[str, str] = field(default_factory=dict)
    measured: bool = True
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = open_store(self.database_url, encryption_key=TEST_KEY)
        for name in ("dev", "prod"):
            self.store.environments.ensure(name, secret_key={"dev": DEV_KEY}.get(name, PROD_KEY))

    def _environment(self, data_dir: Path, database_url: str | None, **extra: str) -> Any:
        base = {k: v for k, v in os.environ.items() if not k.startswith("NANGO_") and k != "CI"}
        if not self.measured:
            base.pop("COVERAGE_PROCESS_CONFIG", None)
            base.pop("COVERAGE_PROCESS_START", None)
        return {
            **base,
            "PYTHONPATH": str(REPO_ROOT),
            "NANGO_DATA_DIR": str(data_dir),
            "NANGO_DATABASE_URL": database_url or self.database_url,
            "NANGO_ENCRYPTION_KEY": TEST_KEY,
            "NANGO_SECRET_KEY_DEV": DEV_KEY,
            "NANGO_SECRET_KEY_PROD": PROD_KEY,
            **self.settings,
            **extra,
        }

    def start(
        self, role: str, *, database_url: str | None = None, wait: bool = True, **extra: str
    ) -> Process:
        """Start a process of this role and (unless not `wait`) wait until it serves
        (`/health`, or the worker's first log line: `ready`)."""
        name = f"{role}-{len(self.processes)}"
        data_dir = self.root / name
        data_dir.mkdir(parents=True)
        port = _free_port()
        log = self.root / f"{name}.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen(
                [*NANGO, "--role", role, "--port", str(port)],
                env=self._environment(data_dir, database_url, **extra),
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=data_dir,
                start_new_session=True,
            )
        process = Process(name, popen, log, f"http://127.0.0.1:{port}" if role == "api" else None)
        self.processes.append(process)
        if wait:
            process.ready()
        return process

    def environment_id(self, name: str) -> int:
        found = self.store.environments.get(name)
        assert found is not None
        return found.id

    def deploy(self, files: dict[str, str], environment: str = "dev") -> None:
        """Generate, pack and apply a project as `nango deploy` does."""
        root = write_tree(self.root / "project", files)
        config = generate(project_root=root).config.parsed
        request = pack_project(find_project(root), config, PackOptions())
        request = request.model_copy(update={"allowDestructive": True})
        apply_deploy(self.store, self.environment_id(environment), request)

    def runtime_settings(self) -> RuntimeSettings:
        return RuntimeSettings(data_dir=self.root, database_url=self.database_url)

    def close(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.signal_group(signal.SIGCONT)
                process.signal_group(signal.SIGKILL)
                process.popen.wait(10)
        self.store.close()


def _free_port() -> int:
    sock = free_socket()
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


def _serves(process: Process) -> bool:
    if not process.is_alive():
        raise AssertionError(f"{process.name} exited:\n{process.output()}")
    if process.url is None:
        return " started (" in process.output()
    try:
        return httpx.get(f"{process.url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class TcpProxy:
    """127.0.0.1:`port` forwarded to `target`. `cut()` drops every connection and refuses new
    ones (what clients see while PostgreSQL restarts); `restore()` accepts again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self._sockets: list[socket.socket] = []
        self._guard = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def url(self, database_url: str) -> str:
        from sqlalchemy.engine import make_url

        moved = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return moved.render_as_string(hide_password=False)

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._guard:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._guard:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(1 << 16):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def cluster_of(root: Path, database_url: str, **options: Any) -> Iterator[Cluster]:
    cluster = Cluster(root, database_url, **options)
    try:
        yield cluster
    finally:
        cluster.close()


def wait_for_runs(store: Store, environment_id: int, count: int, timeout: float) -> list[Task]:
    """The environment's runs once `count` of them have ended."""

    def ended() -> list[Task] | None:
        runs = store.tasks.list_runs(environment_id, limit=10_000)
        done = [run for run in runs if run.is_done]
        return runs if len(done) >= count else None

    found: list[Task] = wait_until(ended, timeout=timeout, every=0.5)
    return found


def seconds_since(start: float) -> float:
    return time.monotonic() - start
