"""The scrape-time queries stay cheap however long the history: each reads an index range of
the rows it counts (asserted on the plans of a database just loaded, without statistics)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.sql import Select

from runtime.store import Store, open_store, sqlite_url
from runtime.store.schema import tasks, webhook_deliveries
from runtime.store.stats import Stats
from runtime.store.timestamps import now_us
from tests.runtime.store.conftest import BACKENDS, TEST_KEY

HISTORY = 30_000


def plan(store: Store, statement: Select[Any]) -> str:
    with store.database.read() as connection:
        compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
        if store.backend == "postgresql":
            return "\n".join(connection.exec_driver_sql(f"EXPLAIN {compiled}").scalars())
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
        return "\n".join(str(row[-1]) for row in rows)


@pytest.fixture(params=BACKENDS)
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, int]]:
    """A store with a long history of finished runs and delivered webhooks, a few active."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "plans.db")
    else:
        url = request.getfixturevalue("postgres").create_database()
    store = open_store(url, encryption_key=TEST_KEY)
    environment = store.environments.ensure("dev").environment.id
    now = now_us()
    task = {
        "environment_id": environment,
        "kind": "sync",
        "group_key": "sync:env",
        "name": "issues",
        "payload": {},
        "attempt": 1,
        "max_retries": 0,
        "created_to_started_ms": 1,
        "started_to_completed_ms": 1,
    }
    old = now - 10 * 86_400 * 1_000_000
    done = [
        {**task, "id": secrets.token_hex(16), "state": "SUCCEEDED", "created_at": old + i}
        | {"starts_after": old + i}
        for i in range(HISTORY)
    ]
    active = [
        {**task, "id": secrets.token_hex(16), "state": "CREATED", "created_at": now}
        | {"starts_after": now}
        for _ in range(5)
    ]
    delivery = {"environment_id": environment, "kind": "sync", "url": "u", "body": "{}"}
    delivered = [
        {**delivery, "state": "DELIVERED", "attempts": 1, "created_at": old + i}
        for i in range(HISTORY)
    ]
    with store.database.engine.begin() as connection:
        connection.execute(insert(tasks), done + active)
        connection.execute(insert(webhook_deliveries), delivered)
    yield store, environment
    store.close()


def test_the_queue_reads_only_active_tasks(history: tuple[Store, int]) -> None:
    store, _ = history
    found = plan(store, Stats._queue_query(now_us()))
    assert "Seq Scan" not in found, found
    assert "Index" in found if store.backend == "postgresql" else "SEARCH tasks USING" in found


def test_deliveries_read_index_ranges(history: tuple[Store, int]) -> None:
    store, environment = history
    for statement in (Stats._recent_query([environment], now_us()), Stats._in_flight_query()):
        found = plan(store, statement)
        assert "ix_webhook_deliveries" in found, found
        assert "Seq Scan" not in found and "SCAN webhook_deliveries" not in found, found


def test_the_snapshot_counts_what_is_active(history: tuple[Store, int]) -> None:
    store, _ = history
    snapshot = store.stats.snapshot()
    assert snapshot.queues["sync"].waiting == 5
    assert snapshot.recent_deliveries == {}
    assert snapshot.deliveries_in_flight == {}
