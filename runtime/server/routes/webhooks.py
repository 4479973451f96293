"""Webhooks: the endpoint providers post to, the delivery log and the environment's settings.

| route | key | does |
|---|---|---|
| `POST /webhook/:environment/:integration` | none (the provider's signature, when the integration has a webhook secret) | runs the subscribed syncs' `on_webhook` (`runtime.webhooks.incoming`); 200 `{success: true, runs}` |
| `GET /webhooks/deliveries?limit=&state=&kind=` | the environment's | the outgoing deliveries, newest first |
| `GET` / `PUT /webhooks/settings` | the environment's | the webhook URLs and toggles in effect / stored |

Errors: an unknown environment or integration 404 `unknown_environment` /
`unknown_provider_config`; a missing or wrong signature 401 `invalid_webhook_signature`; a body
that is neither JSON nor a form 400 `invalid_body`.
"""  # noqa: E501 - a table

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from runtime.server.auth import CurrentEnvironment, CurrentSettings, CurrentStore, store_of
from runtime.server.errors import ApiError
from runtime.server.wire import ERROR_RESPONSES
from runtime.store import Integration, Store
from runtime.store.webhooks import Delivery
from runtime.webhooks.incoming import route_webhook
from runtime.webhooks.outgoing import WebhookSettings, targets
from runtime.webhooks.signing import verify_provider_signature

router = APIRouter(tags=["webhooks"], responses=ERROR_RESPONSES)


class WebhookReceived(BaseModel):
    success: bool = True
    runs: int = Field(description="on_webhook runs queued")


class DeliveryOut(BaseModel):
    id: int
    kind: str
    url: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    task_id: str | None
    created_at: str
    delivered_at: str | None
    next_attempt_at: str | None
    body: Any


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class WebhookSettingsUpdate(BaseModel):
    """The stored settings of the environment (only the given fields change)."""

    model_config = ConfigDict(extra="forbid")

    webhook_urls: list[Annotated[str, Field(pattern=r"^https?://", max_length=2048)]] | None = (
        Field(default=None, max_length=10)
    )
    always_send_webhook: bool | None = None
    send_failure_webhook: bool | None = None
    send_connection_webhooks: bool | None = None
    send_async_action_webhook: bool | None = None
    forward_provider_webhooks: bool | None = None


def _parsed(raw: bytes, content_type: str) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        pass
    if "form" in content_type:
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        if "payload" in form:  # Slack's interactivity: a JSON document in a form field
            try:
                return json.loads(form["payload"])
            except ValueError:
                return form
        return form
    raise ApiError(400, "invalid_body", "The webhook's body is neither JSON nor a form")


def _integration(store: Store, environment: str, key: str) -> Integration:
    found = store.environments.get(environment)
    if found is None:
        raise ApiError(404, "unknown_environment", f"No environment {environment!r}")
    integration = store.integrations.get(found.id, key)
    if integration is None:
        raise ApiError(404, "unknown_provider_config", f"No integration {key!r} in {environment}")
    return integration


def _check_signature(
    store: Store, integration: Integration, raw: bytes, headers: dict[str, str]
) -> None:
    secret = store.integration_secrets.get(integration.id) or (integration.custom or {}).get(
        "webhookSecret"
    )
    if not secret:
        return
    if not verify_provider_signature(
        integration.provider, str(secret), raw, headers, now=time.time()
    ):
        raise ApiError(
            401,
            "invalid_webhook_signature",
            f"The webhook is not signed with the webhook secret of {integration.unique_key!r}",
        )


@router.post("/webhook/{environment}/{integration_key}", response_model=None)
async def receive_webhook(
    environment: str, integration_key: str, request: Request
) -> WebhookReceived | dict[str, Any]:
    """A provider's webhook (no secret key: providers cannot send one). Slack's
    `url_verification` is answered with its challenge."""
    store = store_of(request)
    settings = request.app.state.settings
    raw = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    integration = await asyncio.to_thread(_integration, store, environment, integration_key)
    await asyncio.to_thread(_check_signature, store, integration, raw, headers)
    body = _parsed(raw, headers.get("content-type", ""))
    if isinstance(body, dict) and body.get("type") == "url_verification" and "challenge" in body:
        return {"challenge": body["challenge"]}
    named = headers.get("connection-id") or request.query_params.get("connection_id")
    routed = await asyncio.to_thread(
        route_webhook, store, settings, integration, body, headers, connection_id=named
    )
    return WebhookReceived(runs=len(routed.run_ids))


def _delivery_out(delivery: Delivery) -> DeliveryOut:
    try:
        body: Any = json.loads(delivery.body)
    except ValueError:
        body = delivery.body

    def iso(value: Any) -> str | None:
        return None if value is None else value.isoformat()

    return DeliveryOut(
        id=delivery.id,
        kind=delivery.kind,
        url=delivery.url,
        state=delivery.state,
        attempts=delivery.attempts,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
        task_id=delivery.task_id,
        created_at=delivery.created_at.isoformat(),
        delivered_at=iso(delivery.delivered_at),
        next_attempt_at=iso(delivery.next_attempt_at),
        body=body,
    )


DeliveryState = Literal["WAITING", "PENDING", "SENDING", "DELIVERED", "FAILED"]
DeliveryKind = Literal["sync", "auth", "async_action", "forward"]


@router.get("/webhooks/deliveries")
def list_deliveries(
    environment: CurrentEnvironment,
    store: CurrentStore,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    state: Annotated[list[DeliveryState] | None, Query()] = None,
    kind: Annotated[list[DeliveryKind] | None, Query()] = None,
) -> DeliveryList:
    """The environment's outgoing webhooks, newest first: state, attempts, last answer."""
    found = store.webhooks.list_recent(environment.id, limit=limit, states=state, kinds=kind)
    return DeliveryList(deliveries=[_delivery_out(d) for d in found])


@router.get("/webhooks/settings")
def get_webhook_settings(
    environment: CurrentEnvironment, store: CurrentStore, settings: CurrentSettings
) -> WebhookSettings:
    """The settings in effect: the runtime's settings (`[environments.<name>]`,
    `NANGO_WEBHOOK_URLS_<ENV>`) over the stored ones."""
    found = targets(store, settings, environment.id)
    assert found is not None
    return found.config


@router.put("/webhooks/settings")
def put_webhook_settings(
    body: WebhookSettingsUpdate,
    environment: CurrentEnvironment,
    store: CurrentStore,
    settings: CurrentSettings,
) -> WebhookSettings:
    """Store the environment's webhook URLs and toggles (those the runtime's settings set
    explicitly still win); answers the settings in effect."""
    current = store.environments.get_by_id(environment.id)
    assert current is not None
    given = body.model_dump(exclude_unset=True, exclude_none=True)
    urls = given.pop("webhook_urls", current.webhook_urls)
    store.environments.set_webhooks(
        current.name, urls=urls, settings={**current.webhook_settings, **given}
    )
    found = targets(store, settings, environment.id)
    assert found is not None
    return found.config
