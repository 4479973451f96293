"""Waiting for a run never hangs: an overdue run is ended by the waiter itself."""

from __future__ import annotations

import asyncio
import time

from runtime.scheduler.control import wait_for_task
from runtime.store.tasks import NewTask, Timeouts
from tests.runtime.store.conftest import World


def test_a_run_no_worker_starts_expires_while_waiting(world: World) -> None:
    new = NewTask(world.environment_id, "action", "a", {}, Timeouts(100, 60_000))
    task = world.store.tasks.create(new)
    assert task is not None
    started = time.monotonic()
    done = asyncio.run(wait_for_task(world.store, task.id, timeout_s=30))
    assert done.state == "EXPIRED" and time.monotonic() - started < 5


def test_a_run_whose_worker_vanished_fails_while_waiting(world: World) -> None:
    new = NewTask(world.environment_id, "action", "a", {}, Timeouts(60_000, 60_000))
    task = world.store.tasks.create(new)
    assert task is not None
    world.store.tasks.claim("gone", limit=1, lease_seconds=0.2)
    done = asyncio.run(wait_for_task(world.store, task.id, timeout_s=30))
    assert done.state == "FAILED" and done.error is not None
    assert done.error["type"] == "lease_expired"
