"""The worker loop: the scheduler's passes, then claim runs and supervise one child process each.

Every tick (every `poll_s`, and at once when a run process ends):
- the passes, each on its own period: due (0.25 s), expiring (2 s, or half the lease), new
  schedules (10 s) (`runtime.scheduler.passes`);
- each child: ended -> the end it reported is recorded (`finish_planned`), or, if it reported
  none (a crash, a kill, memory exhausted), the run FAILED with what is known (signal, exit
  code, the end of its stderr); past its time limit ->
  killed and FAILED; heartbeat due -> lease renewed, and a lost lease kills the child;
- claim up to `worker_concurrency` runs minus the running ones (actions, on-event and webhook
  runs first; syncs never take the last free slot, so an action always finds one), plan each
  (`runtime.worker.execute.plan_run`, on this process's connections) and start its process.

Run processes are forked from a pre-loaded server (`runtime.worker.zygote`): a fork, not a new
Python, per run. A database error in a tick is logged and the next tick tries again.

Stopping (SIGTERM): no more claims; the running children go on, their leases renewed, for up to
`shutdown_grace_s`; those still running then are killed and their runs handed back: a sync or
webhook run goes back to the queue (another worker resumes it from its checkpoint), an action
or on-event run fails (`worker_stopped`: running it again could repeat its effects).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from runtime.observability import metrics
from runtime.observability.logs import run_context
from runtime.scheduler import passes
from runtime.settings import RuntimeSettings
from runtime.store import Store, load_or_create_key_file
from runtime.store.tasks import Task
from runtime.webhooks.outgoing import queue_run_failures
from runtime.worker.execute import RunPlan, RunReport, finish_planned, plan_or_fail
from runtime.worker.zygote import ForkedProcess, Zygote

__all__ = ["Worker", "resolve_encryption_key", "run_worker"]

log = logging.getLogger("nango.runtime.worker")

NON_SYNC_KINDS = ("action", "on-event", "webhook")
RESUMABLE_KINDS = ("sync", "webhook")
KILL_GRACE_S = 15.0
STDERR_LINES = 40
#: How long a run process that recorded its outcome may take to exit before it is stopped.
ENDED_PROCESS_GRACE_S = 5.0
#: The most a run's report may hold (an action's output is at most 2 MB of JSON; a few hundred
#: log lines): what a script could have written in its place is not read past it.
MAX_REPORT_BYTES = 32 * 2**20
#: How often the due pass looks for due schedules: a run starts at most this long after its due
#: point when a worker has a free slot (p99 due -> started under 1 s, issue 9).
DUE_PERIOD_S = 0.25
#: After a run process ended, how long the loop waits for others to end before it claims: one
#: claim for the slots freed together (a claim per run costs more than the run of an empty sync).
WAKE_GATHER_S = 0.03
#: Errors the expiring pass gives a run it fails (its process no longer holds the run).
_ENDED_BY_EXPIRY = frozenset({"lease_expired", "timeout"})


def run_worker(
    settings: RuntimeSettings,
    store: Store,
    stop: threading.Event,
    *,
    encryption_key: str | None = None,
) -> None:
    """Run the worker loop, and the sender of outgoing webhooks beside it, until `stop` is
    set (what `nango runtime start` runs for the roles `all` and `worker`)."""
    from runtime.webhooks.sender import start_sender

    sender = start_sender(settings, store, stop)
    try:
        Worker(settings, store, encryption_key=encryption_key).run(stop)
    finally:
        stop.set()
        sender.join(settings.webhook_delivery_timeout_s + 5)


def resolve_encryption_key(settings: RuntimeSettings) -> str | None:
    """The key the runtime's store was opened with: the setting, else the data dir's file."""
    if settings.encryption_key:
        return settings.encryption_key
    if settings.is_sqlite:
        return load_or_create_key_file(settings.data_dir)[0]
    return None


@dataclass
class _Child:
    task: Task
    token: str
    process: subprocess.Popen[bytes] | ForkedProcess
    deadline: float
    next_heartbeat: float
    plan: RunPlan | None = None
    report: Path | None = None
    reported: RunReport | None = None  # read, its end not yet recorded
    ending_since: float | None = None  # when recording its end first failed
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_LINES))
    reader: threading.Thread | None = None

    def take_report(self) -> RunReport | None:
        """The report the process wrote (removed), None when it wrote none; `ValueError` when
        it is not one."""
        if self.reported is not None:
            return self.reported
        if self.report is None:
            return None
        try:
            with self.report.open("rb") as stream:
                text = stream.read(MAX_REPORT_BYTES + 1)
        except FileNotFoundError:
            return None
        finally:
            self.report.unlink(missing_ok=True)
        if len(text) > MAX_REPORT_BYTES:  # the script's process may have written anything
            raise ValueError(f"over {MAX_REPORT_BYTES} bytes")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        self.reported = RunReport.from_json(data)
        return self.reported

    def stderr_tail(self) -> list[str]:
        if isinstance(self.process, ForkedProcess):
            return self.process.stderr_tail(STDERR_LINES)
        if self.reader is not None:
            self.reader.join(2.0)
        return list(self.stderr)


class Worker:
    """See the module docstring."""

    def __init__(
        self,
        settings: RuntimeSettings,
        store: Store,
        *,
        encryption_key: str | None = None,
        owner: str | None = None,
        poll_s: float = 0.2,
        runner: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        # A given `runner` command is started per run (tests); else runs are forked.
        self.runner = list(runner) if runner else None
        self.store = store
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.poll_s = poll_s
        self._key = (
            encryption_key if encryption_key is not None else resolve_encryption_key(settings)
        )
        self._children: dict[str, _Child] = {}
        self._next_pass: dict[str, float] = {}
        lease = settings.lease_seconds
        self._periods = {"due": DUE_PERIOD_S, "expire": min(2.0, lease / 2), "schedule": 10.0}
        cwd = settings.data_dir if settings.data_dir.is_dir() else None
        server = [sys.executable, "-P", "-m", "runtime.worker.zygote_server"]
        warm = {"database": settings.database, "encryption_key": self._key}
        # set when a run process ends: the loop supervises and claims at once, not at its next
        # poll (a run of a few milliseconds would otherwise hold its slot for up to `poll_s`)
        self._wake = threading.Event()
        self._zygote = Zygote(server, _child_environment(), cwd, warm, on_exit=self._wake.set)
        self._stderr_dir: Path | None = None

    def run(self, stop: threading.Event) -> None:
        log.info("worker %s started (%d at once)", self.owner, self.settings.worker_concurrency)
        if self.runner is None:
            try:
                self._zygote.start()
            except OSError:
                log.exception("worker %s: the run process server did not start", self.owner)
        try:
            while not stop.is_set():
                self._wake.clear()
                self.tick()
                if self._wake.wait(self.poll_s):
                    stop.wait(WAKE_GATHER_S)
        finally:
            self.shutdown()

    def tick(self) -> None:
        """One round: passes, children, claims (a failure is logged; the next round retries)."""
        for step in (self._passes, self._supervise, self._claim):
            try:
                step()
            except Exception:
                log.exception("worker %s: %s failed", self.owner, step.__name__)

    @property
    def running(self) -> int:
        return len(self._children)

    # --- passes ------------------------------------------------------------------------------

    def _passes(self) -> None:
        now = time.monotonic()
        actions: dict[str, Callable[[], object]] = {
            "due": lambda: passes.due_pass(self.store, self.settings),
            "expire": lambda: self._expired(passes.expiring_pass(self.store)),
            "schedule": lambda: passes.schedule_pass(self.store),
        }
        for name, action in actions.items():
            if now >= self._next_pass.get(name, 0.0):
                self._next_pass[name] = now + self._periods[name]
                action()

    def _expired(self, ended: list[Task]) -> None:
        metrics.observe_expired(ended)
        queue_run_failures(self.store, self.settings, ended)

    # --- claiming and spawning ---------------------------------------------------------------

    def _claim(self) -> None:
        concurrency = self.settings.worker_concurrency
        free = concurrency - self.running
        if free <= 0:
            return
        lease = self.settings.lease_seconds
        caps = {"sync": self.settings.sync_concurrency, "action": self.settings.action_concurrency}
        with self.store.transaction() as tx:  # both claims in one transaction
            claimed = tx.tasks.claim(
                self.owner, limit=free, lease_seconds=lease, kinds=NON_SYNC_KINDS, caps=caps
            )
            syncs_running = sum(1 for c in self._children.values() if c.task.kind == "sync")
            room = free - len(claimed)
            if concurrency > 1:
                room = min(room, concurrency - 1 - syncs_running)
            if room > 0:
                claimed += tx.tasks.claim(
                    self.owner, limit=room, lease_seconds=lease, kinds=("sync",), caps=caps
                )
        for task in claimed:
            try:
                self._spawn(task)
            except Exception as exc:  # a database error planning it: this run fails alone
                log.exception("worker %s: run %s could not start", self.owner, task.id)
                self._not_started(task, exc)

    def _spawn(self, task: Task) -> None:
        token = task.lease_token
        assert token is not None
        metrics.observe_started(task)
        runs = self._runs_dir()
        config: dict[str, Any] = {
            "task_id": task.id,
            "lease_token": token,
            "parent_pid": os.getpid(),
            "memory_mb": self.settings.script_memory_mb,
            "encryption_key": self._key,
            "settings": self.settings.model_dump(mode="json", exclude={"metrics_key"}),
        }
        plan = None
        if self.runner is None:  # (a given runner stands in for a run process: no plan)
            # what the run needs is read here, on this process's warm connections: a run
            # process whose script touches no data never connects to the database
            plan = plan_or_fail(self.store, task, token, self.settings)
            if plan is None:  # its lease is gone, or it cannot run (FAILED, with the reason)
                metrics.observe_ended(self.store, task.id)
                self._wake.set()  # its slot is free again
                return
            config["plan"] = base64.b64encode(pickle.dumps(plan)).decode()
            config["report"] = str(runs / f"{task.id}.report")
        try:
            child = self._start_child(task, token, config)
        except OSError as exc:
            self._not_started(task, exc)
            return
        child.plan, child.report = plan, runs / f"{task.id}.report"
        self._children[task.id] = child
        log.info(
            "run %s (%s %s) started in pid %d",
            task.id,
            task.kind,
            task.name,
            child.process.pid,
            extra=run_context(task, self.store),
        )

    def _not_started(self, task: Task, exc: Exception) -> None:
        token = task.lease_token or ""
        try:
            self.store.tasks.fail(task.id, token, _crash(f"the run could not start: {exc}"))
            metrics.observe_ended(self.store, task.id)
        except Exception:  # the database is still away: the run's lease expires instead
            log.exception("worker %s: could not fail run %s", self.owner, task.id)

    def _start_child(self, task: Task, token: str, config: dict[str, Any]) -> _Child:
        now = time.monotonic()
        deadline = now + task.started_to_completed_ms / 1000 + KILL_GRACE_S
        heartbeat = now + self.settings.lease_seconds / 3
        if self.runner is None:
            forked = self._zygote.spawn(config, self._runs_dir() / f"{task.id}.stderr")
            return _Child(task, token, forked, deadline, heartbeat)
        process = subprocess.Popen(
            self.runner,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_child_environment(),
            cwd=self.settings.data_dir if self.settings.data_dir.is_dir() else None,
        )
        assert process.stdin is not None and process.stderr is not None
        with process.stdin:
            process.stdin.write(json.dumps(config).encode())
        child = _Child(task, token, process, deadline, heartbeat)
        child.reader = threading.Thread(
            target=_keep_tail, args=(process.stderr, child.stderr), daemon=True
        )
        child.reader.start()
        return child

    def _runs_dir(self) -> Path:
        """The folder of the run processes' stderr and reports (private to this user)."""
        if self._stderr_dir is None:
            self._stderr_dir = Path(tempfile.mkdtemp(prefix="nango-runs-"))
        return self._stderr_dir

    # --- supervising -------------------------------------------------------------------------

    def _supervise(self) -> None:
        now = time.monotonic()
        for task_id, child in list(self._children.items()):
            code = child.process.poll()
            if code is not None:
                try:
                    ended = self._ended(child, code)
                except Exception:
                    # the database is away: the report is kept and the next ticks try again
                    # for as long as the run's lease lasts (the expiring pass fails it after)
                    log.exception("worker %s: recording the end of run %s", self.owner, task_id)
                    child.ending_since = child.ending_since or now
                    if now - child.ending_since < self.settings.lease_seconds:
                        continue
                    ended = None
                del self._children[task_id]
                metrics.observe_ended(self.store, task_id, ended)
            elif now >= child.deadline:
                del self._children[task_id]
                _kill(child.process)
                limit = child.task.started_to_completed_ms / 1000
                error = {"type": "timeout", "message": f"the run went past its {limit:g}s limit"}
                if self.store.tasks.fail(task_id, child.token, error):
                    queue_run_failures(self.store, self.settings, [child.task], error)
                metrics.observe_ended(self.store, task_id)
            elif now >= child.next_heartbeat:
                child.next_heartbeat = now + self.settings.lease_seconds / 3
                self._heartbeat(child)

    def _heartbeat(self, child: _Child) -> None:
        lease = self.settings.lease_seconds
        if self.store.tasks.heartbeat(child.task.id, child.token, lease_seconds=lease):
            return
        task = self.store.tasks.get(child.task.id)
        if _ended_by_its_process(task, child.token):
            # it recorded its outcome and is exiting: `_supervise` reaps it (and counts its
            # end once); one that lingers is stopped at a short deadline, without a warning
            child.deadline = min(child.deadline, time.monotonic() + ENDED_PROCESS_GRACE_S)
            return
        log.warning(
            "run %s lost its lease: its process is stopped",
            child.task.id,
            extra=run_context(child.task, self.store),
        )
        self._children.pop(child.task.id, None)
        _kill(child.process)
        metrics.observe_ended(self.store, child.task.id)

    def _ended(self, child: _Child, code: int) -> Task | None:
        """Record the end its process reported, or fail the run if it reported none; the
        run's row when it has ended."""
        stderr = child.stderr_tail()
        unreadable = None
        try:
            report = child.take_report()
        except ValueError as exc:
            report, unreadable = None, f"the run's process wrote an unreadable report ({exc})"
        if report is not None and child.plan is not None:
            finish_planned(self.store, self.settings, child.plan, report)
            return self.store.tasks.get(child.task.id)
        task = self.store.tasks.get(child.task.id)
        if task is None or task.state != "STARTED" or task.lease_token != child.token:
            return task  # its lease was lost (or the run was ended by another)
        reason = unreadable or _describe_exit(code, stderr, self.settings.script_memory_mb)
        if self.store.tasks.fail(child.task.id, child.token, _crash(reason)):
            self.store.logs.append(child.task.id, [("error", reason)])
            queue_run_failures(self.store, self.settings, [child.task], _crash(reason))
            log.warning(
                "run %s: %s", child.task.id, reason, extra=run_context(child.task, self.store)
            )
        return None

    def shutdown(self, grace_s: float | None = None) -> None:
        """Stop: no more claims; running children go on for up to `grace_s` (the setting
        `shutdown_grace_s` by default); then the rest are killed and their runs handed back
        (see the module docstring)."""
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        if self._children:
            log.info("worker %s stopping: %d runs get %gs", self.owner, self.running, grace)
        deadline = time.monotonic() + grace
        while self._children and time.monotonic() < deadline:
            try:
                self._supervise()
            except Exception:
                log.exception("worker %s: supervising while stopping failed", self.owner)
            time.sleep(min(self.poll_s, 0.1))
        for child in list(self._children.values()):
            _kill(child.process)
            try:
                self._hand_back(child)
                metrics.observe_ended(self.store, child.task.id)
            except Exception:
                log.exception("could not record the end of run %s", child.task.id)
        self._children.clear()
        self._zygote.close()
        if self._stderr_dir is not None:
            shutil.rmtree(self._stderr_dir, ignore_errors=True)

    def _hand_back(self, child: _Child) -> None:
        task = child.task
        if task.kind in RESUMABLE_KINDS and self.store.tasks.release(task.id, child.token):
            log.info("run %s handed back: another worker resumes it", task.id)
            self.store.logs.append(task.id, [("warn", "the worker stopped: run handed back")])
            return
        error = {"type": "worker_stopped", "message": "the worker running it stopped"}
        self.store.tasks.fail(task.id, child.token, error)


def _ended_by_its_process(task: Task | None, token: str) -> bool:
    """True when the run ended under `token` (its own outcome), not failed by the expiring
    pass (lease or time limit) nor by another holder of the run."""
    if task is None or task.state == "STARTED" or task.lease_token != token:
        return False
    return (task.error or {}).get("type") not in _ENDED_BY_EXPIRY


def _child_environment() -> dict[str, str]:
    """The worker's environment without the runtime's own settings (they may hold secrets a
    script must not read); fewer malloc arenas, so the address-space limit measures data."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NANGO_")}
    environment.update(MALLOC_ARENA_MAX="2", PYTHONUNBUFFERED="1")
    return environment


def _keep_tail(stream: IO[bytes], tail: deque[str]) -> None:
    with stream:
        for line in stream:
            tail.append(line.decode("utf-8", "replace").rstrip())


def _kill(process: subprocess.Popen[bytes] | ForkedProcess) -> None:
    if process.poll() is None:
        process.kill()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        log.error("process %d did not die", process.pid)


def _crash(message: str) -> dict[str, Any]:
    return {"type": "script_internal_error", "message": message, "payload": None}


def _describe_exit(code: int, stderr: list[str], memory_mb: int) -> str:
    """Why a run's process ended without recording an outcome."""
    out_of_memory = any(
        "MemoryError" in line or "Cannot allocate memory" in line for line in stderr
    )
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        cause = f"the run's process was killed by {name}"
        if -code == signal.SIGKILL:
            cause += f" (out of memory past the {memory_mb} MB limit, or killed)"
    else:
        cause = f"the run's process exited with code {code} without recording an outcome"
    if out_of_memory:
        cause += f"; it ran out of memory (limit {memory_mb} MB)"
    last = [line for line in stderr if line.strip()][-3:]
    return cause + (": " + " | ".join(last) if last else "")
