"""`python -P -m runtime.worker.runner`: the child process that runs one claimed task.

The worker reads what the run needs under its lease (`runtime.worker.execute.plan_run`), then
writes one JSON object to the child's stdin: that plan (pickled), the parent's pid, the memory
limit, the encryption key, the runtime's settings and the path of the report (secrets never go
through argv or the environment, which other users of the machine can read). The child first
ties its life to the worker's (`PR_SET_PDEATHSIG`, and the parent pid checked), sets its memory
limit (`RLIMIT_AS`), then runs the script. Only what the script reads and writes goes to the
database from the child, over connections of its own, each write fenced by the lease token (a
child that outlived its lease can change nothing); a script that touches no data opens none.
Its end is a report (JSON: the outcome, redacted; counts; delete detection; the log lines not
yet written) that the worker records with the run's end (`finish_planned`). Given a task's id
and lease token instead of a plan, it plans, runs and records the run itself.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import pickle
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.settings import RuntimeSettings
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
        if "plan" in config:
            report = _run_plan(store, settings, config["plan"])
        else:  # started with a task alone: plan, run and record it here
            _execute(store, settings, str(config["task_id"]), str(config["lease_token"]))
            return 0
    finally:
        store.close()
    write_report(Path(config["report"]), report)
    return 0


def _run_plan(store: Store, settings: RuntimeSettings, encoded: str) -> dict[str, Any]:
    from runtime.worker.execute import report_of, run_planned

    plan = pickle.loads(base64.b64decode(encoded))  # from the worker: trusted
    backend, outcome = run_planned(store, settings, plan, keep_log_lines=True)
    return report_of(backend, outcome).to_json()


def _execute(store: Store, settings: RuntimeSettings, task_id: str, token: str) -> None:
    from runtime.worker.execute import execute_task

    task = store.tasks.get(task_id)
    if task is None or task.state != "STARTED" or task.lease_token != token:
        return  # expired or taken over before this process started: nothing to do
    execute_task(store, task, token, settings)


def write_report(path: Path, report: dict[str, Any]) -> None:
    """The run's report for the worker, whole or not at all (written aside, then renamed)."""
    try:
        text = json.dumps(report)
    except (TypeError, ValueError) as exc:  # an output json cannot hold: the run fails
        error = {"type": "invalid_action_output", "message": f"not JSON: {exc}", "payload": None}
        text = json.dumps({**report, "output": None, "error": error})
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    partial.replace(path)


if __name__ == "__main__":
    sys.exit(main())
