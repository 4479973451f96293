"""The figures read from the database at scrape time: queue depth and age per kind, runs in
progress, webhook deliveries by state; cached briefly; a database that cannot be read is
`nango_database_up 0`, never an error. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from runtime.observability.exposition import render_metrics
from runtime.observability.gauges import DatabaseCollector
from runtime.observability.metrics import RuntimeMetrics
from runtime.store import Store
from runtime.store.schema import webhook_deliveries
from runtime.store.tasks import NewTask, Timeouts
from runtime.store.timestamps import now_us
from tests.runtime.store.conftest import World

SECOND = 1_000_000


def values(collector: DatabaseCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = render_metrics(RuntimeMetrics(with_process_collectors=False), collector, None)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def kind(name: str) -> tuple[tuple[str, str], ...]:
    return (("kind", name),)


def add(world: World, task_kind: str, *, at: int, starts_after: int | None = None) -> str:
    new = NewTask(
        world.environment_id,
        task_kind,  # type: ignore[arg-type]
        "x",
        {},
        Timeouts(3_600_000, 3_600_000),
        starts_after=starts_after,
    )
    task = world.store.tasks.create(new, now=at)
    assert task is not None
    return task.id


def test_an_empty_database(store: Store) -> None:
    found = values(DatabaseCollector(store))
    assert found[("nango_database_up", ())] == 1
    for name in ("sync", "action", "on-event", "webhook"):
        assert found[("nango_queue_depth", kind(name))] == 0
        assert found[("nango_queue_oldest_age_seconds", kind(name))] == 0
        assert found[("nango_runs_in_progress", kind(name))] == 0
    assert not [key for key in found if key[0].startswith("nango_webhook_deliveries")]


def test_queue_depth_age_and_runs_in_progress(world: World) -> None:
    now = now_us()
    add(world, "action", at=now - 5 * SECOND)
    add(world, "action", at=now - 1 * SECOND)
    add(world, "sync", at=now, starts_after=now + 3600 * SECOND)  # a retry, later
    add(world, "sync", at=now - 2 * SECOND)
    started = world.store.tasks.claim("w", limit=1, lease_seconds=60, kinds=["sync"])
    assert len(started) == 1
    found = values(DatabaseCollector(world.store))
    assert found[("nango_queue_depth", kind("action"))] == 2
    assert found[("nango_queue_oldest_age_seconds", kind("action"))] == pytest.approx(5, abs=2)
    assert found[("nango_queue_depth", kind("sync"))] == 0
    assert found[("nango_queue_oldest_age_seconds", kind("sync"))] == 0
    assert found[("nango_queue_scheduled", kind("sync"))] == 1
    assert found[("nango_runs_in_progress", kind("sync"))] == 1
    assert found[("nango_runs_in_progress", kind("action"))] == 0


def _deliveries(store: Store, environment_id: int, rows: Iterable[tuple[str, str, int]]) -> None:
    values_: list[dict[str, Any]] = [
        {
            "environment_id": environment_id,
            "kind": delivery_kind,
            "url": "https://example.com/hook",
            "body": "{}",
            "state": state,
            "attempts": 1,
            "created_at": created_at,
        }
        for delivery_kind, state, created_at in rows
    ]
    with store.database.engine.begin() as connection:
        connection.execute(insert(webhook_deliveries), values_)


def test_webhook_deliveries_recent_outcomes_and_in_flight(world: World) -> None:
    now = now_us()
    _deliveries(
        world.store,
        world.environment_id,
        [("sync", "DELIVERED", now)] * 3
        + [
            ("sync", "FAILED", now),
            ("sync", "DELIVERED", now - 2 * 3600 * SECOND),  # older than the hour
            ("connection", "PENDING", now - 7200 * SECOND),
            ("connection", "SENDING", now),
        ],
    )
    found = values(DatabaseCollector(world.store))
    recent = {k[1]: v for k, v in found.items() if k[0] == "nango_webhook_deliveries_last_hour"}
    assert recent == {
        (("kind", "sync"), ("state", "DELIVERED")): 3,
        (("kind", "sync"), ("state", "FAILED")): 1,
        (("kind", "connection"), ("state", "SENDING")): 1,
    }
    assert found[("nango_webhook_deliveries_in_flight", kind("connection"))] == 2
    assert ("nango_webhook_deliveries_in_flight", kind("sync")) not in found
    age = found[("nango_webhook_deliveries_oldest_in_flight_age_seconds", kind("connection"))]
    assert age == pytest.approx(7200, abs=5)


class FailingStats:
    def snapshot(self) -> Any:
        raise RuntimeError("connection refused")


class Unreadable:
    stats = FailingStats()


def test_a_database_that_cannot_be_read_is_down_not_an_error(world: World) -> None:
    collector = DatabaseCollector(Unreadable(), ttl_s=0)  # type: ignore[arg-type]
    found = values(collector)
    assert found[("nango_database_up", ())] == 0
    assert not [key for key in found if key[0].startswith("nango_queue")]


def test_reads_are_cached_for_the_ttl(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    collector = DatabaseCollector(world.store, ttl_s=3600)
    add(world, "action", at=now_us())
    assert values(collector)[("nango_queue_depth", kind("action"))] == 1
    add(world, "action", at=now_us())
    monkeypatch.setattr(world.store, "stats", FailingStats())
    again = values(collector)  # no query: the cached figures, still up
    assert again[("nango_queue_depth", kind("action"))] == 1
    assert again[("nango_database_up", ())] == 1
