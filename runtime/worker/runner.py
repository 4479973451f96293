"""`python -P -m runtime.worker.runner`: the child process that runs one claimed task.

The worker writes one JSON object to its stdin: the task id and lease token, the parent's pid,
the memory limit, the encryption key and the runtime's settings (secrets never go through argv
or the environment, which other users of the machine can read). The child first ties its life
to the worker's (`PR_SET_PDEATHSIG`, and the parent pid checked), sets its memory limit
(`RLIMIT_AS`), then opens its own store connection and runs the task: every write it makes is
fenced by the lease token, so a child that outlived its lease can change nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.store import Store

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Be killed when the worker goes (Linux: `PR_SET_PDEATHSIG`; elsewhere a thread watches
    the parent pid); exit at once if it is already gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(2.0)
        os._exit(1)

    threading.Thread(target=watch, name="nango-parent-watch", daemon=True).start()


def limit_memory(megabytes: int) -> None:
    """At most `megabytes` of address space: past it, allocations fail (`MemoryError`)."""
    import resource

    limit = megabytes * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> int:
    """The run process started by the worker: its config on stdin."""
    config: dict[str, Any] = json.loads(sys.stdin.read())
    die_with_parent(int(config["parent_pid"]))
    return _run(config)


def run_forked(config: dict[str, Any], warm: tuple[str, Store] | None = None) -> int:
    """The run process forked by the worker's server (`runtime.worker.zygote`), with the
    server's store (database URL, store) when it opened one: no connection of it is open,
    the child opens its own."""
    die_with_parent(os.getppid())
    return _run(config, warm)


def _run(config: dict[str, Any], warm: tuple[str, Store] | None = None) -> int:
    limit_memory(int(config["memory_mb"]))
    from runtime.settings import RuntimeSettings
    from runtime.store import open_store
    from runtime.worker.execute import execute_task

    settings = RuntimeSettings.model_validate(config["settings"])
    if warm is not None and warm[0] == settings.database:
        store = warm[1]
        # Connections are never shared across a fork: the pool is replaced, the parent's
        # sockets (there are none: the server closed them) left alone.
        store.database.engine.dispose(close=False)
    else:
        store = open_store(
            settings.database, encryption_key=config["encryption_key"], migrate=False, pool_size=2
        )
    try:
        task = store.tasks.get(str(config["task_id"]))
        token = str(config["lease_token"])
        if task is None or task.state != "STARTED" or task.lease_token != token:
            return 0  # expired or taken over before this process started: nothing to do
        execute_task(store, task, token, settings)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
