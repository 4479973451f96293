"""The scheduler's passes, run by every worker every few seconds (`runtime.worker`):

- `due_pass`: a run for each started sync schedule whose time has come (none while one is
  active), its next run moved to the next point of its grid;
- `expiring_pass`: runs past their lease or their time limits fail, runs never started in time
  expire (an action waiting for one gets its answer);
- `schedule_pass`: schedules for connections made after their syncs were deployed.
"""

from __future__ import annotations

from runtime.scheduler.control import timeouts_for
from runtime.settings import RuntimeSettings
from runtime.store import Store
from runtime.store.tasks import Task

__all__ = ["due_pass", "expiring_pass", "schedule_pass"]


def due_pass(store: Store, settings: RuntimeSettings, *, limit: int = 500) -> list[Task]:
    return store.tasks.create_due_sync_tasks(timeouts_for(settings, "sync"), limit=limit)


def expiring_pass(store: Store) -> list[Task]:
    return store.tasks.expire()


def schedule_pass(store: Store) -> int:
    return store.syncs.ensure_missing()
