"""One claimed task, in three steps: `plan_run` reads what the run needs under its lease (its
deployed script, environment, connection with fresh credentials, a sync run's generation and
reset options) and writes its deployed files; `run_planned` runs the script by `run_script`
(exactly as `nango dryrun` runs it) over the `StoredBackend`; `finish_run` records how it ended
(`runtime.worker.outcomes`), every write fenced by the task's lease.

The worker plans and finishes on its own connections and runs the middle step in a process per
task (`runtime.worker.runner`), which hands back a `RunReport`; `execute_task` does all three in
this process (tests, benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from runtime.backends.stored import RunState, StoredBackend, action_failure, usable_connection
from runtime.errors import NangoError, ScriptError
from runtime.execution.description import ScriptDescription, ScriptKind
from runtime.execution.failures import ScriptFailure
from runtime.execution.run import NO_INPUT, Outcome, RunContext, run_script
from runtime.http.providers import Provider, UnknownProviderError, get_provider
from runtime.scheduler.control import enqueue_action, wait_for_task
from runtime.settings import RuntimeSettings
from runtime.store import Connection, Environment, Integration, Store
from runtime.store.errors import LeaseLostError
from runtime.store.scripts import Script
from runtime.store.syncs import BASE_VARIANT, SyncSchedule
from runtime.store.tasks import Task
from runtime.store.timestamps import optional_from_us, to_us
from runtime.worker.bundles import materialise, script_path
from runtime.worker.hooks import RunLogHooks
from runtime.worker.outcomes import fail_task, finish_run

__all__ = [
    "RunPlan",
    "RunReport",
    "backend_for",
    "execute_task",
    "finish_planned",
    "plan_or_fail",
    "plan_run",
    "provider_for",
    "report_of",
    "run_planned",
]

Transport = httpx.BaseTransport | httpx.AsyncBaseTransport


@dataclass
class RunPlan:
    """What a run needs from the store before its script runs, read under the run's lease:
    made by the worker (whose connections are warm), run by the run process (which then needs
    no database unless its script reads or writes data), handed between them by pickle."""

    task: Task
    lease_token: str
    environment: Environment
    connection: Connection  # with fresh credentials
    provider: Provider
    state: RunState
    checkpoint_key: str
    variant: str
    webhook_url: str
    description: ScriptDescription
    context: RunContext
    input: Any
    started_at: int


@dataclass
class RunReport:
    """How a run process's script ended, for the worker to record (`finish_planned`): JSON
    both ways, with the error and log lines already redacted."""

    output: Any
    error: dict[str, Any] | None
    duration_s: float
    counts: dict[str, dict[str, int]]
    markers: dict[str, int | None]
    pending_deletes: dict[str, int]
    log_lines: list[tuple[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "error": self.error,
            "duration_s": self.duration_s,
            "counts": self.counts,
            "markers": self.markers,
            "pending_deletes": self.pending_deletes,
            "log_lines": [list(line) for line in self.log_lines],
        }

    @classmethod
    def from_json(cls, data: Any) -> RunReport:
        """The report a run process wrote (`ValueError` when it is not one: a script runs in
        that process and may have written anything)."""
        try:
            error = data["error"]
            if error is not None and not isinstance(error, dict):
                raise TypeError("error")
            counts = {
                str(model): {str(k): int(v) for k, v in changes.items()}
                for model, changes in data["counts"].items()
            }
            markers = {str(k): None if v is None else int(v) for k, v in data["markers"].items()}
            pending = {str(k): int(v) for k, v in data["pending_deletes"].items()}
            lines = [(str(level), str(message)) for level, message in data["log_lines"]]
            return cls(
                data["output"], error, float(data["duration_s"]), counts, markers, pending, lines
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a run report: {type(exc).__name__}: {exc}") from exc


def execute_task(
    store: Store,
    task: Task,
    lease_token: str,
    settings: RuntimeSettings,
    *,
    transport: Transport | None = None,
) -> None:
    """Run a claimed task in this process and record how it ended (nothing, when its lease
    was lost): `plan_run`, `run_planned` and `finish_run` in a row."""
    plan = plan_or_fail(store, task, lease_token, settings)
    if plan is None:
        return
    backend, outcome = run_planned(store, settings, plan, transport=transport)
    finish_run(
        store,
        task,
        lease_token,
        backend,
        outcome,
        started_at=plan.started_at,
        settings=settings,
    )


def plan_or_fail(
    store: Store, task: Task, lease_token: str, settings: RuntimeSettings
) -> RunPlan | None:
    """The run's plan; None when there is nothing to run: its lease was lost, or it cannot
    run (its script or connection is gone...), in which case it is FAILED here."""
    try:
        return plan_run(store, task, lease_token, settings)
    except LeaseLostError:
        return None
    except NangoError as exc:
        fail_task(store, task, lease_token, _setup_failure(exc))
        return None


def run_planned(
    store: Store,
    settings: RuntimeSettings,
    plan: RunPlan,
    *,
    transport: Transport | None = None,
    keep_log_lines: bool = False,
) -> tuple[StoredBackend, Outcome]:
    """Run the planned script over the store (`run_script`, exactly as `nango dryrun` runs
    it); `keep_log_lines`: the lines not yet written stay in the backend's log for the report
    (a run process hands them to its worker instead of writing them itself)."""
    backend = backend_for(store, settings, plan, transport=transport)
    backend.flush_logs_at_stop = not keep_log_lines
    hooks = RunLogHooks(backend.log_lines)
    outcome = run_script(plan.description, plan.context, backend, plan.input, hooks=hooks)
    return backend, outcome


def report_of(backend: StoredBackend, outcome: Outcome) -> RunReport:
    """What a run process hands its worker: the outcome, redacted, and the run's state."""
    error = None if outcome.error is None else backend.redactor.value(outcome.error.to_json())
    state = backend.state
    return RunReport(
        output=outcome.output,
        error=error,
        duration_s=outcome.duration_s,
        counts=state.counts,
        markers=state.markers,
        pending_deletes=state.pending_deletes,
        log_lines=backend.log_lines.take(),
    )


def finish_planned(
    store: Store, settings: RuntimeSettings, plan: RunPlan, report: RunReport
) -> None:
    """Record the end a run process reported (the worker's side of `execute_task`)."""
    backend = backend_for(store, settings, plan)
    backend.state.counts = report.counts
    backend.state.markers = report.markers
    backend.state.pending_deletes = report.pending_deletes
    for level, message in report.log_lines:
        backend.log_lines.add(level, message)
    outcome = Outcome(
        output=report.output,
        error=None if report.error is None else _failure(report.error),
        duration_s=report.duration_s,
    )
    finish_run(
        store,
        plan.task,
        plan.lease_token,
        backend,
        outcome,
        started_at=plan.started_at,
        settings=settings,
    )


def _failure(error: dict[str, Any]) -> ScriptFailure:
    return ScriptFailure(str(error.get("type")), str(error.get("message")), error.get("payload"))


def _setup_failure(exc: NangoError) -> dict[str, Any]:
    kind = exc.error_type if isinstance(exc, ScriptError) else "script_internal_error"
    hint = getattr(exc, "hint", None)
    message = f"{exc.message} ({hint})" if hint else exc.message
    return {"type": kind, "message": message, "payload": None}


def provider_for(store: Store, connection: Connection) -> Provider:
    """The connection's provider from the catalog, with its integration's base URL override."""
    return _provider(store.integrations.get_by_id(connection.integration_id), connection)


def _provider(integration: Integration | None, connection: Connection) -> Provider:
    try:
        provider = get_provider(integration.provider if integration else connection.provider)
    except UnknownProviderError as exc:
        raise ScriptError(exc.message, error_type="unknown_provider_template_in_config") from exc
    if integration is not None and integration.base_url_override:
        provider = provider.model_copy(update={"base_url": integration.base_url_override})
    return provider


def plan_run(store: Store, task: Task, lease_token: str, settings: RuntimeSettings) -> RunPlan:
    """Read what the run needs, assign a sync run its generation, apply its reset and
    emptyCache options and write its deployed files (`LeaseLostError` when the lease is lost,
    a `NangoError` when the run cannot start)."""
    kind: ScriptKind = task.kind
    variant = str(task.payload.get("variant") or BASE_VARIANT)
    last_sync_date = None
    with store.transaction() as tx:  # one transaction for the reads and the sync's start
        subjects = _subjects(tx, task)
        script = subjects.script
        state = RunState(
            generation=None,
            track_all_deletes=bool(script.config.get("track_deletes")),
            declared_models=tuple(script.config.get("output") or ()),
        )
        if kind == "sync":
            state.generation = tx.tasks.assign_generation(task.id, lease_token)
            last_sync_date = _begin_sync(
                tx, task, lease_token, subjects, subjects.connection.id, variant
            )
    environment = subjects.environment
    connection = usable_connection(store, settings, subjects.connection)
    context = RunContext(
        connection_id=connection.connection_id,
        provider=connection.provider,
        environment_name=environment.name,
        last_sync_date=optional_from_us(last_sync_date),
        variant=variant,
        timeout_s=_timeout_s(settings, kind),
    )
    root = materialise(store, script, settings.data_dir)
    return RunPlan(
        task=task,
        lease_token=lease_token,
        environment=environment,
        connection=connection,
        provider=_provider(subjects.integration, connection),
        state=state,
        checkpoint_key=checkpoint_key(script, variant),
        variant=variant,
        webhook_url=_webhook_url(settings, environment.name, script),
        description=_description(script, root, kind),
        context=context,
        input=_input_of(task),
        started_at=to_us(task.started_at) if task.started_at else 0,
    )


def backend_for(
    store: Store,
    settings: RuntimeSettings,
    plan: RunPlan,
    *,
    transport: Transport | None = None,
) -> StoredBackend:
    """The planned run's backend over `store` (its state is the plan's own object)."""
    return StoredBackend(
        store=store,
        settings=settings,
        environment=plan.environment,
        task=plan.task,
        lease_token=plan.lease_token,
        connection=plan.connection,
        provider=plan.provider,
        state=plan.state,
        checkpoint_key=plan.checkpoint_key,
        variant=plan.variant,
        webhook_url=plan.webhook_url,
        trigger_action=_action_waiter(store, settings, plan.connection),
        transport=transport,
    )


@dataclass
class _Subjects:
    script: Script
    environment: Environment
    connection: Connection  # with its credentials, as stored
    integration: Integration | None
    schedule: SyncSchedule | None


def _subjects(store: Store, task: Task) -> _Subjects:
    """The rows the run is about, read in one transaction: its deployed script, environment,
    connection (with its credentials), integration and sync schedule."""
    with store.reading() as view:
        script = view.scripts.get(task.script_id) if task.script_id is not None else None
        if script is None or task.connection_id is None:
            raise ScriptError("The deployed script of this run no longer exists")
        environment = view.environments.get_by_id(task.environment_id)
        stored = view.connections.get_by_id(task.connection_id)
        if environment is None or stored is None:
            raise ScriptError(
                "The connection of this run was deleted", error_type="unknown_connection"
            )
        integration = view.integrations.get_by_id(stored.integration_id)
        sync_id = task.sync_id if task.kind == "sync" else None
        schedule = None if sync_id is None else view.syncs.get_by_id(sync_id)
    return _Subjects(script, environment, stored, integration, schedule)


def checkpoint_key(script: Script, variant: str) -> str:
    """`<script type>:<script name>[:<variant>]` (Nango's checkpoint key)."""
    key = f"{script.type}:{script.name}"
    return key if variant == BASE_VARIANT else f"{key}:{variant}"


def _begin_sync(
    store: Store,
    task: Task,
    lease_token: str,
    subjects: _Subjects,
    connection_id: int,
    variant: str,
) -> int | None:
    """Apply the run's reset and emptyCache options; the sync's `last_sync_date` (µs)."""
    from runtime.store import model_name

    script, schedule = subjects.script, subjects.schedule
    last = None if schedule is None or schedule.last_sync_date is None else schedule.last_sync_date
    reset, empty = bool(task.payload.get("reset")), bool(task.payload.get("empty_cache"))
    if not (reset or empty):
        return None if last is None else to_us(last)
    key = checkpoint_key(script, variant)
    with store.fenced(task.id, lease_token) as tx:
        if reset:
            tx.checkpoints.clear(connection_id, key)
            tx.checkpoints.clear_prefix(connection_id, f"{key}:trackDeletes")
            if schedule is not None:
                tx.syncs.reset(schedule.id)
            tx.tasks.set_run_type(task.id, "INITIAL")
        if empty:
            for model in script.config.get("output") or []:
                tx.records.delete_all_for_model(connection_id, model_name(model, variant))
    return None if reset or last is None else to_us(last)


def _description(script: Script, root: Path, kind: ScriptKind) -> ScriptDescription:
    config = script.config
    output = tuple(config.get("output") or ())
    description = ScriptDescription(
        kind="sync" if kind == "webhook" else kind,
        name=script.name,
        integration=script.integration_key,
        path=root / script_path(script),
        project_root=root,
        input_model=config.get("input"),
        output_models=output,
        declared_models=output if script.type == "sync" else (),
        webhook_subscriptions=tuple(config.get("webhook_subscriptions") or ()),
        version=script.version,
    )
    return description.for_webhook() if kind == "webhook" else description


def _input_of(task: Task) -> Any:
    if task.kind == "action":
        return task.payload.get("input") if task.payload.get("has_input", True) else NO_INPUT
    if task.kind == "webhook":
        return task.payload.get("body")
    return NO_INPUT


def _timeout_s(settings: RuntimeSettings, kind: str) -> float:
    return {
        "sync": settings.sync_timeout_s,
        "action": settings.action_timeout_s,
        "on-event": settings.on_event_timeout_s,
        "webhook": settings.webhook_timeout_s,
    }[kind]


def _webhook_url(settings: RuntimeSettings, environment: str, script: Script) -> str:
    return f"{settings.public_url}/webhook/{environment}/{script.integration_key}"


def _action_waiter(store: Store, settings: RuntimeSettings, caller: Connection) -> Any:
    async def trigger(key: str, connection_id: str, action_name: str, input: Any) -> Any:
        import asyncio

        target = await asyncio.to_thread(
            store.connections.get, caller.environment_id, key, connection_id, with_credentials=False
        )
        if target is None:
            raise ScriptError(f"trigger_action: no connection {connection_id!r} of {key!r}")
        task = await asyncio.to_thread(
            enqueue_action, store, settings, target, action_name, input, has_input=input is not None
        )
        timeout = settings.action_timeout_s + 60
        done = await wait_for_task(store, task.id, timeout_s=timeout)
        if done.state == "SUCCEEDED":
            return done.output
        raise action_failure(done.error, action_name)

    return trigger
