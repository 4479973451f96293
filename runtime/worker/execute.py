"""One claimed task, run to its end in this process: its deployed files materialised, the script
run by `run_script` (exactly as `nango dryrun` runs it) over the `StoredBackend`, and its
outcome recorded (`runtime.worker.outcomes`), every write fenced by the task's lease.

The worker runs this in a child process per task (`runtime.worker.runner`); tests and the
benchmark may run it in-process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from runtime.backends.stored import RunState, StoredBackend, action_failure, load_connection
from runtime.errors import NangoError, ScriptError
from runtime.execution.description import ScriptDescription, ScriptKind
from runtime.execution.run import NO_INPUT, RunContext, run_script
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

__all__ = ["execute_task", "provider_for"]

Transport = httpx.BaseTransport | httpx.AsyncBaseTransport


@dataclass
class _Prepared:
    description: ScriptDescription
    context: RunContext
    backend: StoredBackend
    input: Any
    started_at: int


def execute_task(
    store: Store,
    task: Task,
    lease_token: str,
    settings: RuntimeSettings,
    *,
    transport: Transport | None = None,
) -> None:
    """Run a claimed task and record how it ended (nothing, when its lease was lost)."""
    try:
        prepared = _prepare(store, task, lease_token, settings, transport)
    except LeaseLostError:
        return
    except NangoError as exc:
        fail_task(store, task, lease_token, _setup_failure(exc))
        return
    hooks = RunLogHooks(prepared.backend.log_lines)
    outcome = run_script(
        prepared.description, prepared.context, prepared.backend, prepared.input, hooks=hooks
    )
    finish_run(
        store,
        task,
        lease_token,
        prepared.backend,
        outcome,
        started_at=prepared.started_at,
        settings=settings,
    )


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


def _prepare(
    store: Store,
    task: Task,
    lease_token: str,
    settings: RuntimeSettings,
    transport: Transport | None,
) -> _Prepared:
    subjects = _subjects(store, task)
    script, environment = subjects.script, subjects.environment
    connection = load_connection(store, settings, environment, subjects.connection)
    kind: ScriptKind = task.kind
    variant = str(task.payload.get("variant") or BASE_VARIANT)
    state = RunState(
        generation=None,
        track_all_deletes=bool(script.config.get("track_deletes")),
        declared_models=tuple(script.config.get("output") or ()),
    )
    last_sync_date = None
    if kind == "sync":
        state.generation = store.tasks.assign_generation(task.id, lease_token)
        last_sync_date = _begin_sync(store, task, lease_token, subjects, connection.id, variant)
    backend = StoredBackend(
        store=store,
        settings=settings,
        environment=environment,
        task=task,
        lease_token=lease_token,
        connection=connection,
        provider=_provider(subjects.integration, connection),
        state=state,
        checkpoint_key=checkpoint_key(script, variant),
        variant=variant,
        webhook_url=_webhook_url(settings, environment.name, script),
        trigger_action=_action_waiter(store, settings, connection),
        transport=transport,
    )
    context = RunContext(
        connection_id=connection.connection_id,
        provider=connection.provider,
        environment_name=environment.name,
        last_sync_date=optional_from_us(last_sync_date),
        variant=variant,
        timeout_s=_timeout_s(settings, kind),
    )
    root = materialise(store, script, settings.data_dir)
    started_at = to_us(task.started_at) if task.started_at else 0
    return _Prepared(
        _description(script, root, kind), context, backend, _input_of(task), started_at
    )


@dataclass
class _Subjects:
    script: Script
    environment: Environment
    connection: Connection  # without its credentials
    integration: Integration | None
    schedule: SyncSchedule | None


def _subjects(store: Store, task: Task) -> _Subjects:
    """The rows the run is about, read in one transaction: its deployed script, environment,
    connection (credentials not loaded), integration and sync schedule."""
    with store.reading() as view:
        script = view.scripts.get(task.script_id) if task.script_id is not None else None
        if script is None or task.connection_id is None:
            raise ScriptError("The deployed script of this run no longer exists")
        environment = view.environments.get_by_id(task.environment_id)
        stored = view.connections.get_by_id(task.connection_id, with_credentials=False)
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
