"""This process's metrics: counters and histograms the worker feeds as runs start and end.

Who counts what (so that, summed over every process, each run is counted once):
- a run's start and its end (`nango_runs_started_total`, `nango_runs_total`, the duration, the
  records written) are counted by the worker that claimed it, when it stops watching it: its
  process ended (with an outcome or without), it went past its time limit, its lease was lost
  (the row then says how the run ended), or the worker stopped;
- the expiring pass counts what it ends in the process it runs in: lease expiries, time limits,
  and the tasks that were never started (EXPIRED, which no worker claimed). A run whose worker
  died is therefore seen as a lease expiry (the counters of the dead process die with it).

Counters are per process and start at zero (Prometheus's `rate()` and `increase()` handle
restarts); sum them over the processes (`sum by (kind, state) (...)`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from runtime import __version__

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from runtime.store import Store
    from runtime.store.tasks import Task

__all__ = [
    "KINDS",
    "RuntimeMetrics",
    "observe_ended",
    "observe_expired",
    "observe_started",
    "process_metrics",
]

log = logging.getLogger("nango.runtime.metrics")

KINDS = ("sync", "action", "on-event", "webhook")
END_STATES = ("SUCCEEDED", "FAILED", "EXPIRED", "CANCELLED")
CHANGES = ("added", "updated", "deleted")
# A run lasts from well under a second (an action) to hours (an initial sync).
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 14400, 86400)
# Due -> started: the scheduling latency (target: under a second).
START_DELAY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class RuntimeMetrics:
    """The instruments of one process, in a registry of their own (with the process, platform
    and garbage-collector collectors of `prometheus_client`)."""

    def __init__(self, *, with_process_collectors: bool = True) -> None:
        # Imported here: a run's process imports the worker's modules but needs no metrics.
        from prometheus_client import (
            GC_COLLECTOR,
            PLATFORM_COLLECTOR,
            PROCESS_COLLECTOR,
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
        )

        self.registry: CollectorRegistry = CollectorRegistry(auto_describe=True)
        if with_process_collectors:
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                self.registry.register(collector)
        r = self.registry
        Gauge("nango_build_info", "The runtime's version.", ["version"], registry=r).labels(
            __version__
        ).set(1)
        self.runs_started = Counter(
            "nango_runs_started", "Runs claimed and started by this process.", ["kind"], registry=r
        )
        self.runs = Counter(
            "nango_runs",
            "Runs ended, by kind and final state, counted by the worker that ran them "
            "(EXPIRED: never started, counted by the expiring pass).",
            ["kind", "state"],
            registry=r,
        )
        self.run_duration = Histogram(
            "nango_run_duration_seconds",
            "Duration of ended runs (started -> finished), by kind and final state.",
            ["kind", "state"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.start_delay = Histogram(
            "nango_run_start_delay_seconds",
            "Time from a run being due to its start (scheduling latency).",
            ["kind"],
            buckets=START_DELAY_BUCKETS,
            registry=r,
        )
        self.lease_expiries = Counter(
            "nango_lease_expiries",
            "Runs failed by the expiring pass of this process because their lease expired "
            "(their worker stopped heartbeating: killed, paused, cut off from the database).",
            ["kind"],
            registry=r,
        )
        self.run_timeouts = Counter(
            "nango_run_timeouts",
            "Runs failed by the expiring pass of this process past their time limit.",
            ["kind"],
            registry=r,
        )
        self.records_written = Counter(
            "nango_records_written",
            "Records written by the runs this process ran, by change.",
            ["change"],
            registry=r,
        )
        self._zeros()

    def _zeros(self) -> None:
        """Every known series from the start, at 0 (so `rate()` sees the first increase)."""
        for kind in KINDS:
            self.runs_started.labels(kind)
            self.lease_expiries.labels(kind)
            self.run_timeouts.labels(kind)
            for state in END_STATES:
                self.runs.labels(kind, state)
        for change in CHANGES:
            self.records_written.labels(change)

    # --- what the worker reports ---------------------------------------------------------------

    def started(self, task: Task) -> None:
        """A run this process claimed and started."""
        self.runs_started.labels(task.kind).inc()
        if task.started_at is not None:
            delay = (task.started_at - task.starts_after).total_seconds()
            self.start_delay.labels(task.kind).observe(max(0.0, delay))

    def ended(self, task: Task) -> None:
        """A run this process ran, as its row says it ended."""
        self.runs.labels(task.kind, task.state).inc()
        duration = task.duration_s
        if duration is not None:
            self.run_duration.labels(task.kind, task.state).observe(max(0.0, duration))
        for change, count in written(task.counts).items():
            if count:
                self.records_written.labels(change).inc(count)

    def expired(self, tasks: Iterable[Task]) -> None:
        """What an expiring pass of this process ended."""
        for task in tasks:
            reason = (task.error or {}).get("type")
            if task.state == "EXPIRED":
                self.runs.labels(task.kind, "EXPIRED").inc()
            elif reason == "lease_expired":
                self.lease_expiries.labels(task.kind).inc()
            elif reason == "timeout":
                self.run_timeouts.labels(task.kind).inc()

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent): for tests and the bench."""
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found


def written(counts: Mapping[str, Any] | None) -> dict[str, int]:
    """Records added, updated and deleted in a run's counts (`{model: {added, ...}}`)."""
    totals = dict.fromkeys(CHANGES, 0)
    for per_model in (counts or {}).values():
        if not isinstance(per_model, Mapping):
            continue
        for change in CHANGES:
            value = per_model.get(change)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                totals[change] += value
    return totals


_process: RuntimeMetrics | None = None
_process_lock = threading.Lock()


def process_metrics() -> RuntimeMetrics:
    """The metrics of this process (created at first use)."""
    global _process
    with _process_lock:
        if _process is None:
            _process = RuntimeMetrics()
        return _process


# --- the worker's hooks: never raise (a metric must not stop a worker) -------------------------


def observe_started(task: Task) -> None:
    try:
        process_metrics().started(task)
    except Exception:  # pragma: no cover - defensive
        log.debug("could not count the start of run %s", task.id, exc_info=True)


def observe_ended(store: Store, task_id: str, ended: Task | None = None) -> None:
    """Count the end of a run this process ran, from its row (nothing if it has not ended);
    `ended`: its row as the caller just read it, when ended (spares reading it again)."""
    try:
        task = ended if ended is not None and ended.is_done else store.tasks.get(task_id)
        if task is not None and task.is_done:
            process_metrics().ended(task)
    except Exception:
        log.debug("could not count the end of run %s", task_id, exc_info=True)


def observe_expired(tasks: list[Task]) -> list[Task]:
    """Count what an expiring pass ended; returns `tasks` (so the hook wraps the call)."""
    try:
        process_metrics().expired(tasks)
    except Exception:  # pragma: no cover - defensive
        log.debug("could not count an expiring pass", exc_info=True)
    return tasks
