"""How a run's end is recorded, fenced by its lease (a run that lost it records nothing).

- A sync run that succeeded commits in ONE transaction: the deletes of delete detection (the
  legacy `track_deletes` flag: every declared model's records this run did not save; each
  `track_deletes_end`: the model's records not saved since its `track_deletes_start`), the
  run's counts, `last_sync_date` = the run's start, and the state SUCCEEDED.
- A failed run keeps what it saved, applies no delete, moves no `last_sync_date`.
- An action's output is kept as it is (at most 2 MB of JSON, as Nango's limit).
- A sync run's webhooks (and a webhook run's, when it changed records) are queued in the
  transaction of its end (`runtime.webhooks.outgoing`): they go out iff the end is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime import jsjson
from runtime.backends.stored import StoredBackend
from runtime.execution.run import Outcome
from runtime.settings import RuntimeSettings
from runtime.store import Store, model_name
from runtime.store.errors import LeaseLostError
from runtime.store.tasks import Task, TaskState
from runtime.webhooks.outgoing import queue_sync_failure, queue_sync_success

__all__ = ["MAX_ACTION_OUTPUT_BYTES", "fail_task", "finish_run"]

MAX_ACTION_OUTPUT_BYTES = 2 * 1024 * 1024


def fail_task(store: Store, task: Task, lease_token: str, error: Mapping[str, Any]) -> None:
    """Fail a run before its script ran (its script or connection is gone...)."""
    try:
        store.tasks.finish(task.id, lease_token, "FAILED", error=error)
    except LeaseLostError:
        return
    store.logs.append(task.id, [("error", f"run failed: {error.get('message')}")])


def finish_run(
    store: Store,
    task: Task,
    lease_token: str,
    backend: StoredBackend,
    outcome: Outcome,
    *,
    started_at: int,
    settings: RuntimeSettings | None = None,
) -> None:
    """Record how the run ended (see the module docstring)."""
    settings = settings or RuntimeSettings()
    error = None if outcome.error is None else backend.redactor.value(outcome.error.to_json())
    if error is None and task.kind == "action":
        error = _oversized(outcome.output)
    state = backend.state
    try:
        if task.kind == "sync" and error is None:
            _sync_succeeded(store, task, lease_token, backend, started_at, settings, outcome)
        else:
            with store.transaction() as tx:
                output = outcome.output if task.kind == "action" and error is None else None
                ended: TaskState = "FAILED" if error is not None else "SUCCEEDED"
                tx.tasks.finish(
                    task.id, lease_token, ended, output=output, error=error, counts=state.counts
                )
                models = state.declared_models
                if error is not None and task.kind == "sync":
                    queue_sync_failure(tx, settings, task, error, models)
                elif error is None and task.kind == "webhook":
                    counts = state.counts
                    queue_sync_success(tx, settings, task, counts, models, started_at=started_at)
                _write_log(tx, task, backend, error, outcome)
    except LeaseLostError:
        message = "the run lost its lease (it expired, or the run was cancelled): nothing recorded"
        backend.log_lines.add("error", message)
        backend.log_lines.flush()


def _write_log(
    tx: Store, task: Task, backend: StoredBackend, error: Mapping[str, Any] | None, outcome: Outcome
) -> None:
    """The run's last log lines, its summary included, in the transaction of its end."""
    backend.log_lines.add(*_summary(error, backend, outcome.duration_s))
    lines = backend.log_lines.take()
    if lines:
        tx.logs.append(task.id, lines)


def _oversized(output: Any) -> dict[str, Any] | None:
    size = len(jsjson.stringify(output).encode())
    if size <= MAX_ACTION_OUTPUT_BYTES:
        return None
    return {
        "type": "invalid_action_output",
        "message": f"the action's output is {size} bytes of JSON, more than the 2 MB limit",
        "payload": None,
    }


def _sync_succeeded(
    store: Store,
    task: Task,
    lease_token: str,
    backend: StoredBackend,
    started_at: int,
    settings: RuntimeSettings,
    outcome: Outcome,
) -> None:
    state = backend.state
    connection_id = task.connection_id
    assert connection_id is not None
    variant = str(task.payload.get("variant") or "base")
    with store.fenced(task.id, lease_token) as tx:
        for model, since in state.pending_deletes.items():
            deleted = tx.records.delete_unseen(connection_id, model_name(model, variant), since)
            state.add(model, deleted=deleted)
            tx.checkpoints.clear(connection_id, backend.marker_key(model))
        if state.track_all_deletes and state.generation is not None:
            for model in state.declared_models:
                if model in state.pending_deletes:
                    continue
                full = model_name(model, variant)
                deleted = tx.records.delete_unseen(connection_id, full, state.generation)
                state.add(model, deleted=deleted)
                if deleted:
                    backend.log_lines.add(
                        "info", f'{model}: "track_deletes" post deleted {deleted} records'
                    )
        if task.sync_id is not None:
            tx.syncs.record_success(task.sync_id, last_sync_date=started_at, result=state.counts)
        tx.tasks.finish(task.id, lease_token, "SUCCEEDED", counts=state.counts)
        models = state.declared_models
        queue_sync_success(tx, settings, task, state.counts, models, started_at=started_at)
        _write_log(tx, task, backend, None, outcome)


def _summary(
    error: Mapping[str, Any] | None, backend: StoredBackend, duration_s: float
) -> tuple[str, str]:
    counts = ", ".join(
        f"{model} +{c['added']} ~{c['updated']} -{c['deleted']}"
        for model, c in backend.state.counts.items()
    )
    tail = f" ({counts})" if counts else ""
    if error is None:
        return "info", f"run succeeded in {duration_s:.2f}s{tail}"
    return (
        "error",
        f"run failed in {duration_s:.2f}s: {error.get('type')}: {error.get('message')}{tail}",
    )
