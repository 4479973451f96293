"""Nango's outgoing webhooks, queued in the store's outbox (`store.webhooks`), each in the
transaction of what it announces when the caller passes one (`tx`), so that a run's end and its
webhook commit together. The sender (`runtime.webhooks.sender`) posts them.

Where to and which: the environment's settings (`[environments.<name>]` of the runtime's
settings, `NANGO_WEBHOOK_URLS_<ENV>`) over what `PUT /webhooks/settings` stored. Bodies are
Nango's (reference §8.4), serialised as JavaScript's `JSON.stringify` does:

- sync: `{from: "nango", type: "sync", connectionId, providerConfigKey, syncName, syncVariant,
  model, syncType, success: true, responseResults: {added, updated, deleted}, modifiedAfter,
  queryTimeStamp}`; a failure: `{..., success: false, error: {type, description}, startedAt,
  failedAt}`;
- auth: `{from: "nango", type: "auth", connectionId, authMode, providerConfigKey, provider,
  environment, operation: creation | override | deletion | refresh, success, error?}`;
- async_action: `{from: "nango", type: "async_action", connectionId, providerConfigKey,
  payload: {id, statusUrl}}`;
- forward: `{from: <provider>, type: "forward", connectionId?, providerConfigKey, payload}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from runtime import jsjson
from runtime.settings import RuntimeSettings
from runtime.store import Connection, Store
from runtime.store.tasks import Task
from runtime.store.timestamps import now_us

__all__ = [
    "Targets",
    "WebhookSettings",
    "async_status_url",
    "js_iso",
    "queue_async_completion",
    "queue_connection_event",
    "queue_forward",
    "queue_run_failures",
    "queue_sync_failure",
    "queue_sync_success",
    "release_completions",
    "targets",
]


class WebhookSettings(BaseModel):
    """An environment's webhook settings in effect (see `EnvironmentSettings`)."""

    webhook_urls: list[str] = Field(default_factory=list)
    always_send_webhook: bool = False
    send_failure_webhook: bool = True
    send_connection_webhooks: bool = True
    send_async_action_webhook: bool = True
    forward_provider_webhooks: bool = True


@dataclass(frozen=True)
class Targets:
    """An environment's webhook settings in effect."""

    environment_id: int
    environment_name: str
    config: WebhookSettings

    @property
    def urls(self) -> list[str]:
        return list(self.config.webhook_urls)


def targets(store: Store, settings: RuntimeSettings, environment_id: int) -> Targets | None:
    """The settings in effect for the environment: stored ones, overridden by whatever the
    runtime's settings give explicitly. None for an unknown environment."""
    environment = store.environments.get_by_id(environment_id)
    if environment is None:
        return None
    stored = {**environment.webhook_settings, "webhook_urls": environment.webhook_urls}
    configured = settings.environment(environment.name).model_dump(exclude_none=True)
    known = WebhookSettings.model_fields
    merged = {k: v for k, v in {**stored, **configured}.items() if k in known}
    return Targets(environment.id, environment.name, WebhookSettings.model_validate(merged))


def js_iso(value: int | datetime) -> str:
    """A time as JavaScript's `Date.toISOString()` writes it (`...T10:00:00.123Z`)."""
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value / 1e6, UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def async_status_url(task_id: str) -> str:
    return f"/action/{task_id}"


def _base(task: Task, model: str) -> dict[str, Any]:
    return {
        "from": "nango",
        "type": "sync",
        "connectionId": str(task.payload.get("connection_id") or ""),
        "providerConfigKey": str(task.payload.get("integration") or ""),
        "syncName": str(task.payload.get("sync") or task.name),
        "syncVariant": str(task.payload.get("variant") or "base"),
        "model": model,
        "syncType": "WEBHOOK" if task.kind == "webhook" else (task.run_type or "INCREMENTAL"),
    }


def queue_sync_success(
    tx: Store,
    settings: RuntimeSettings,
    task: Task,
    counts: Mapping[str, Mapping[str, int]],
    models: Sequence[str],
    *,
    started_at: int,
) -> int:
    """One webhook per model of a successful run (none for a model that did not change,
    unless `always_send_webhook`); the number queued."""
    found = targets(tx, settings, task.environment_id)
    if found is None or not found.urls:
        return 0
    queued = 0
    for model in models or list(counts):
        result = {k: int(counts.get(model, {}).get(k, 0)) for k in ("added", "updated", "deleted")}
        if not any(result.values()) and not found.config.always_send_webhook:
            continue
        body = {
            **_base(task, model),
            "success": True,
            "responseResults": result,
            "modifiedAfter": js_iso(started_at),
            "queryTimeStamp": None if task.run_type == "INITIAL" else js_iso(started_at),
        }
        tx.webhooks.enqueue(
            task.environment_id, "sync", found.urls, jsjson.stringify(body), task_id=task.id
        )
        queued += 1
    return queued


def queue_sync_failure(
    tx: Store,
    settings: RuntimeSettings,
    task: Task,
    error: Mapping[str, Any] | None,
    models: Sequence[str],
) -> int:
    """The failure webhook of a sync run (all its models in `model`, comma-separated)."""
    found = targets(tx, settings, task.environment_id)
    if found is None or not found.urls or not found.config.send_failure_webhook:
        return 0
    started = task.started_at or task.created_at
    body = {
        **_base(task, ",".join(models)),
        "success": False,
        "error": {
            "type": str((error or {}).get("type") or "script_internal_error"),
            "description": str((error or {}).get("message") or "The sync failed"),
        },
        "startedAt": js_iso(started),
        "failedAt": js_iso(now_us()),
    }
    tx.webhooks.enqueue(
        task.environment_id, "sync", found.urls, jsjson.stringify(body), task_id=task.id
    )
    return 1


def queue_connection_event(
    store: Store,
    settings: RuntimeSettings,
    connection: Connection,
    operation: str,
    *,
    error: str | None = None,
) -> int:
    """Nango's `auth` webhook: a connection created, overridden (new credentials), deleted, or
    its refresh failed (`error`)."""
    found = targets(store, settings, connection.environment_id)
    if found is None or not found.urls or not found.config.send_connection_webhooks:
        return 0
    body: dict[str, Any] = {
        "from": "nango",
        "type": "auth",
        "connectionId": connection.connection_id,
        "authMode": _auth_mode(connection),
        "providerConfigKey": connection.provider_config_key,
        "provider": connection.provider,
        "environment": found.environment_name,
        "operation": operation,
        "success": error is None,
    }
    if error is not None:
        body["error"] = {"type": "refresh_token_failure", "description": error}
    store.webhooks.enqueue(connection.environment_id, "auth", found.urls, jsjson.stringify(body))
    return 1


def _auth_mode(connection: Connection) -> str:
    from runtime.http.providers import get_provider

    if connection.credentials and connection.credentials.get("type"):
        return str(connection.credentials["type"])
    try:
        return str(get_provider(connection.provider).auth_mode)
    except Exception:  # an unknown provider: the webhook still goes
        return "NONE"


def queue_async_completion(store: Store, settings: RuntimeSettings, task: Task) -> int:
    """The completion webhook of an async action, WAITING until the run ends for good."""
    found = targets(store, settings, task.environment_id)
    if found is None or not found.urls or not found.config.send_async_action_webhook:
        return 0
    body = {
        "from": "nango",
        "type": "async_action",
        "connectionId": str(task.payload.get("connection_id") or ""),
        "providerConfigKey": str(task.payload.get("integration") or ""),
        "payload": {"id": task.id, "statusUrl": async_status_url(task.id)},
    }
    ids = store.webhooks.enqueue(
        task.environment_id,
        "async_action",
        found.urls,
        jsjson.stringify(body),
        task_id=task.id,
        waiting=True,
    )
    return len(ids)


def release_completions(store: Store) -> int:
    """Completion webhooks of async actions that ended for good (a failed run about to be
    retried is not done yet); the number released."""
    ready = []
    for delivery, state in store.webhooks.waiting_on_ended_tasks():
        task_id = delivery.task_id
        if state == "FAILED" and task_id is not None and store.retries.will_retry(task_id):
            continue
        ready.append(delivery.id)
    return store.webhooks.release(ready)


def queue_forward(
    store: Store,
    settings: RuntimeSettings,
    environment_id: int,
    *,
    provider: str,
    integration_key: str,
    connection_ids: Sequence[str],
    payload: Any,
) -> int:
    """A provider's webhook passed on to the environment's URLs (one per connection it
    concerns, or one without `connectionId`)."""
    found = targets(store, settings, environment_id)
    if found is None or not found.urls or not found.config.forward_provider_webhooks:
        return 0
    queued = 0
    targets_of: list[str | None] = list(connection_ids) or [None]
    for connection_id in targets_of:
        body: dict[str, Any] = {"from": provider, "type": "forward"}
        if connection_id is not None:
            body["connectionId"] = connection_id
        body.update(providerConfigKey=integration_key, payload=payload)
        store.webhooks.enqueue(environment_id, "forward", found.urls, jsjson.stringify(body))
        queued += 1
    return queued


def queue_run_failures(
    store: Store,
    settings: RuntimeSettings,
    failed: Sequence[Task],
    error: Mapping[str, Any] | None = None,
) -> int:
    """Failure webhooks of sync runs ended outside their own process (a crash, a kill, a
    time limit, an expired lease); `error` when the tasks do not carry theirs."""
    queued = 0
    for task in failed:
        if task.kind != "sync" or task.state not in ("STARTED", "FAILED"):
            continue
        script = store.scripts.get(task.script_id) if task.script_id is not None else None
        models = list((script.config.get("output") or []) if script else [])
        queued += queue_sync_failure(store, settings, task, task.error or error, models)
    return queued
