"""A runtime spread over processes, as an operator runs it: `nango runtime start --role api` and
`--role worker` processes sharing one PostgreSQL database of their own, each in a session of its
own (so a test can kill, stop or continue a worker with its run processes), and a TCP proxy a
test can put between them and PostgreSQL and cut. With `separate_hosts` (or `start(...,
own_host=True)`) a process runs in a network namespace of its own, as on a machine of its own
(tests/runtime/scale/hosts.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
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
from tests.helpers import REPO_ROOT, outside_env, write_tree
from tests.runtime.scale.hosts import Host, new_host
from tests.runtime.scale.proxy import TcpProxy, free_port
from tests.runtime.store.conftest import TEST_KEY
from tests.runtime_harness import DEV_KEY, PROD_KEY, wait_until

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
    host: Host | None = None

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
    `measured=False` keeps coverage out of the processes (long runs); `separate_hosts=True`
    starts each process on a host of its own (a network namespace)."""

    root: Path
    database_url: str
    settings: dict[str, str] = field(default_factory=dict)
    measured: bool = True
    separate_hosts: bool = False
    processes: list[Process] = field(default_factory=list)
    hosts: list[Host] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = open_store(self.database_url, encryption_key=TEST_KEY)
        for name in ("dev", "prod"):
            self.store.environments.ensure(name, secret_key={"dev": DEV_KEY}.get(name, PROD_KEY))

    def _environment(self, data_dir: Path, database_url: str | None, **extra: str) -> Any:
        base = outside_env(drop=("CI",))
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
        self,
        role: str,
        *,
        database_url: str | None = None,
        wait: bool = True,
        own_host: bool | None = None,
        **extra: str,
    ) -> Process:
        """Start a process of this role and (unless not `wait`) wait until it serves
        (`/health`, or the worker's first log line: `ready`), on a host of its own if
        `own_host` (by default: if the cluster's processes are on separate hosts)."""
        name = f"{role}-{len(self.processes)}"
        data_dir = self.root / name
        data_dir.mkdir(parents=True)
        port, address = free_port(), "127.0.0.1"
        argv = [*NANGO, "--role", role, "--port", str(port)]
        host = None
        if self.separate_hosts if own_host is None else own_host:
            host = new_host()
            self.hosts.append(host)
            port, address = 3003, host.address  # a machine of its own: the default port is free
            argv = host.command([*NANGO, "--role", role, "--port", "3003", "--host", address])
            database_url = host.database_url(database_url or self.database_url)
        log = self.root / f"{name}.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen(
                argv,
                env=self._environment(data_dir, database_url, **extra),
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=data_dir,
                start_new_session=True,
            )
        url = f"http://{address}:{port}" if role == "api" else None
        process = Process(name, popen, log, url, host)
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
        for host in self.hosts:
            host.delete()
        self.store.close()


def _serves(process: Process) -> bool:
    if not process.is_alive():
        raise AssertionError(f"{process.name} exited:\n{process.output()}")
    if process.url is None:
        return " started (" in process.output()
    try:
        return httpx.get(f"{process.url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


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
