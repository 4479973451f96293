"""A provider's webhook, received on `POST /webhook/:environment/:integration`, turned into runs.

1. The signature is checked when the integration has a webhook secret (`signing`): an
   unsigned or badly signed request is refused, nothing runs.
2. Its type: GitHub's `X-GitHub-Event`, Shopify's `X-Shopify-Topic`, Slack's `event.type`, else
   the body's `type` (Stripe, Linear...), `event_type`, `event` or `topic`.
3. Its connections: the one named by a `Connection-Id` header or `connection_id` query
   parameter; else the ones whose `connection_config` matches the provider's account id in the
   body (GitHub apps' `installation.id`, Slack's `team_id`); else every connection of the
   integration.
4. Each deployed sync of the integration whose `webhook-subscriptions` holds the type (or `*`)
   gets a `webhook` run per connection: its `on_webhook(nango, payload)` runs on a worker, with
   the same leases, time limit and fencing as any run.
5. The body is passed on to the environment's webhook URLs (`forward`) when the integration
   has `forward_webhooks`.

The runs and the forwarded webhooks are queued in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.scheduler.control import timeouts_for
from runtime.settings import RuntimeSettings
from runtime.store import Connection, ConnectionFilter, Integration, Store
from runtime.store.scripts import Script
from runtime.store.syncs import BASE_VARIANT
from runtime.store.tasks import NewTask
from runtime.webhooks.outgoing import queue_forward

__all__ = ["MAX_CONNECTIONS", "Routed", "event_type", "route_webhook"]

MAX_CONNECTIONS = 10_000
_TYPE_HEADERS = ("x-github-event", "x-shopify-topic", "x-event-type")
_TYPE_FIELDS = ("type", "event_type", "event", "topic")
# provider prefix -> (path in the body, key of the connection's connection_config)
_ACCOUNT_IDS: dict[str, tuple[tuple[str, ...], str]] = {
    "github-app": (("installation", "id"), "installation_id"),
    "slack": (("team_id",), "team.id"),
}


@dataclass(frozen=True)
class Routed:
    """What a received webhook started: its type, the runs, the forwarded deliveries."""

    event_type: str | None
    run_ids: list[str]
    forwarded: int


def event_type(provider: str, body: Any, headers: Mapping[str, str]) -> str | None:
    """The webhook's type (see the module docstring); `headers` lower-cased."""
    for name in _TYPE_HEADERS:
        if headers.get(name):
            return headers[name]
    if not isinstance(body, dict):
        return None
    if provider.startswith("slack") and isinstance(body.get("event"), dict):
        inner = body["event"].get("type")
        if isinstance(inner, str):
            return inner
    for field in _TYPE_FIELDS:
        value = body.get(field)
        if isinstance(value, str) and value:
            return value
    return None


def _dig(body: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _connections(
    store: Store, integration: Integration, body: Any, named: str | None
) -> tuple[list[Connection], bool]:
    """The webhook's connections, and whether they were singled out (not all of them)."""
    where = ConnectionFilter(integration_keys=[integration.unique_key])
    every = store.connections.list_all(integration.environment_id, where, limit=MAX_CONNECTIONS)
    if named is not None:
        return [c for c in every if c.connection_id == named], True
    for prefix, (path, key) in _ACCOUNT_IDS.items():
        if integration.provider.startswith(prefix):
            account = _dig(body, path)
            if account is not None:
                matched = [c for c in every if str(c.connection_config.get(key)) == str(account)]
                return matched, True
    return every, False


def _subscribed(store: Store, integration: Integration, kind: str | None) -> list[Script]:
    syncs = store.scripts.list_active(
        integration.environment_id, integration_key=integration.unique_key, type="sync"
    )
    found = []
    for script in syncs:
        subscriptions = script.config.get("webhook_subscriptions") or []
        if "*" in subscriptions or (kind is not None and kind in subscriptions):
            found.append(script)
    return found


def _run(script: Script, connection: Connection, body: Any, kind: str | None) -> dict[str, Any]:
    return {
        "connection_id": connection.connection_id,
        "integration": connection.provider_config_key,
        "sync": script.name,
        "variant": BASE_VARIANT,
        "event_type": kind,
        "body": body,
    }


def route_webhook(
    store: Store,
    settings: RuntimeSettings,
    integration: Integration,
    body: Any,
    headers: Mapping[str, str],
    *,
    connection_id: str | None = None,
) -> Routed:
    """Queue the runs (and forwards) of a verified webhook (see the module docstring)."""
    kind = event_type(integration.provider, body, headers)
    connections, singled_out = _connections(store, integration, body, connection_id)
    scripts = _subscribed(store, integration, kind)
    timeouts = timeouts_for(settings, "webhook")
    run_ids: list[str] = []
    with store.transaction() as tx:
        for script in scripts:
            for connection in connections:
                new = NewTask(
                    environment_id=integration.environment_id,
                    kind="webhook",
                    name=script.name,
                    payload=_run(script, connection, body, kind),
                    timeouts=timeouts,
                    connection_id=connection.id,
                    script_id=script.id,
                    run_type="WEBHOOK",
                )
                task = tx.tasks.create(new)
                if task is not None:
                    run_ids.append(task.id)
        forwarded = 0
        if integration.forward_webhooks:
            forwarded = queue_forward(
                tx,
                settings,
                integration.environment_id,
                provider=integration.provider,
                integration_key=integration.unique_key,
                connection_ids=[c.connection_id for c in connections] if singled_out else [],
                payload=body,
            )
    return Routed(kind, run_ids, forwarded)
