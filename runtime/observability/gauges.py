"""The figures of `/metrics` read from the database at scrape time: global (every process
sharing the database reports the same values; query one, or take `max` across them).

Read at most once per `ttl_s` per collector whatever the scrape rate (an unauthenticated
`/metrics` hammered by someone costs the database nothing more). When the database cannot be
read, `nango_database_up` is 0 and the other figures are left out: the process's own metrics
are still served.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from runtime.observability.metrics import KINDS
from runtime.store import Store
from runtime.store.stats import KindQueue, StatsSnapshot

__all__ = ["DatabaseCollector"]

log = logging.getLogger("nango.runtime.metrics")


class DatabaseCollector(Collector):
    """Queue depth and age per kind, runs in progress, webhook deliveries (recent outcomes,
    in flight)."""

    def __init__(self, store: Store, *, ttl_s: float = 2.0) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._snapshot: StatsSnapshot | None = None
        self._read_at = -float("inf")
        self._is_up = False

    def collect(self) -> Iterator[Metric]:
        snapshot, is_up = self._current()
        up = GaugeMetricFamily(
            "nango_database_up", "1 when the database answered the last read of /metrics."
        )
        up.add_metric([], 1.0 if is_up else 0.0)
        yield up
        if snapshot is not None:
            yield from _queue_families(snapshot)
            yield from _delivery_families(snapshot)

    def _current(self) -> tuple[StatsSnapshot | None, bool]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.ttl_s:
                self._read_at = time.monotonic()
                try:
                    self._snapshot, self._is_up = self.store.stats.snapshot(), True
                except Exception as exc:
                    log.warning("metrics: the database could not be read: %s", exc)
                    self._snapshot, self._is_up = None, False
            return self._snapshot, self._is_up


def _queue_families(snapshot: StatsSnapshot) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "nango_queue_depth", "Tasks waiting to start (CREATED and due), by kind.", labels=["kind"]
    )
    age = GaugeMetricFamily(
        "nango_queue_oldest_age_seconds",
        "How long the longest-waiting due task has waited, by kind (0 when none waits).",
        labels=["kind"],
    )
    scheduled = GaugeMetricFamily(
        "nango_queue_scheduled",
        "Tasks created to start later (retries with a delay), by kind.",
        labels=["kind"],
    )
    running = GaugeMetricFamily(
        "nango_runs_in_progress", "Runs started and not ended (STARTED), by kind.", labels=["kind"]
    )
    kinds = sorted(set(KINDS) | set(snapshot.queues))
    for kind in kinds:
        queue = snapshot.queues.get(kind) or KindQueue(kind=kind)
        depth.add_metric([kind], queue.waiting)
        waited = 0.0
        if queue.oldest_due_at is not None:
            waited = max(0.0, (snapshot.taken_at - queue.oldest_due_at) / 1_000_000)
        age.add_metric([kind], waited)
        scheduled.add_metric([kind], queue.scheduled)
        running.add_metric([kind], queue.running)
    yield from (depth, age, scheduled, running)


def _delivery_families(snapshot: StatsSnapshot) -> Iterator[Metric]:
    recent = GaugeMetricFamily(
        "nango_webhook_deliveries_last_hour",
        "Outgoing webhook deliveries created in the last hour, by kind and state (DELIVERED, "
        "FAILED: given up; PENDING, SENDING: in flight).",
        labels=["kind", "state"],
    )
    for (kind, state), total in sorted(snapshot.recent_deliveries.items()):
        recent.add_metric([kind, state], total)
    in_flight = GaugeMetricFamily(
        "nango_webhook_deliveries_in_flight",
        "Outgoing webhook deliveries not delivered nor given up yet (any age), by kind.",
        labels=["kind"],
    )
    oldest = GaugeMetricFamily(
        "nango_webhook_deliveries_oldest_in_flight_age_seconds",
        "Age of the oldest delivery in flight, by kind.",
        labels=["kind"],
    )
    for kind, found in sorted(snapshot.deliveries_in_flight.items()):
        in_flight.add_metric([kind], found.count)
        oldest.add_metric([kind], max(0.0, (snapshot.taken_at - found.oldest_at) / 1_000_000))
    yield from (recent, in_flight, oldest)
