"""Integrations: `GET`/`POST /integrations`, `GET`/`PATCH`/`DELETE /integrations/:key`.

An integration names a provider of the catalog (`runtime.http.providers`), with the OAuth
client it authorizes with (client id, secret, scopes; encrypted secret) where the provider's
auth mode needs one, and, ours, a base URL override for a self-hosted provider.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from runtime.errors import UserError
from runtime.http.providers import Provider, get_provider
from runtime.server.auth import (
    CurrentEnvironment,
    CurrentSettings,
    CurrentStore,
    current_environment,
)
from runtime.server.errors import ApiError
from runtime.server.validation import only_query
from runtime.server.wire import (
    ERROR_RESPONSES,
    PROVIDER_CONFIG_KEY_PATTERN,
    AppCredentials,
    CustomAppCredentials,
    IntegrationCreate,
    IntegrationCredentials,
    IntegrationList,
    IntegrationOne,
    IntegrationUpdate,
    OAuthClientCredentials,
    PublicIntegration,
    Success,
)
from runtime.settings import RuntimeSettings
from runtime.store import Environment, Integration, Store
from runtime.store.errors import ConflictError
from runtime.store.integrations import UNSET

router = APIRouter(
    tags=["integrations"],
    dependencies=[Depends(current_environment)],
    responses=ERROR_RESPONSES,
)

LOGO_URL = "https://app.nango.dev/images/template-logos/{provider}.svg"
_NEEDS_CLIENT = frozenset({"OAUTH1", "OAUTH2", "APP", "CUSTOM"})
_OAUTH_MODES = frozenset({"OAUTH1", "OAUTH2", "TBA"})

UniqueKey = Annotated[str, Path(pattern=PROVIDER_CONFIG_KEY_PATTERN, max_length=255)]
Include = Literal["webhook", "credentials"]


def _iso(moment: datetime) -> str:
    """As JavaScript's `toISOString()`: milliseconds and `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _provider_of(integration: Integration) -> Provider:
    try:
        return get_provider(integration.provider)
    except UserError:
        raise ApiError(404, "not_found", f"Unknown provider {integration.provider}") from None


def _client_credentials(integration: Integration, provider: Provider) -> dict[str, Any] | None:
    mode = provider.auth_mode
    if mode in _OAUTH_MODES:
        return {
            "type": mode,
            "client_id": integration.oauth_client_id,
            "client_secret": integration.oauth_client_secret,
            "scopes": ",".join(integration.oauth_scopes) or None,
        }
    if mode == "APP":
        secret = integration.oauth_client_secret
        return {
            "type": mode,
            "app_id": integration.oauth_client_id,
            "private_key": base64.b64decode(secret).decode() if secret else None,
            "app_link": (integration.config or {}).get("app_link"),
        }
    return None


def public_integration(
    integration: Integration,
    provider: Provider,
    *,
    include: set[str] | None = None,
    webhook_url: str | None = None,
) -> PublicIntegration:
    """The integration as Nango's public API shows it (secrets only with `credentials`)."""
    extra: dict[str, Any] = {}
    if include and "webhook" in include:
        extra["webhook_url"] = webhook_url
    if include and "credentials" in include:
        extra["credentials"] = _client_credentials(integration, provider)
    return PublicIntegration.model_validate(
        {
            "unique_key": integration.unique_key,
            "provider": integration.provider,
            "display_name": integration.display_name or provider.display_name,
            "logo": LOGO_URL.format(provider=integration.provider),
            "forward_webhooks": integration.forward_webhooks,
            "base_url_override": integration.base_url_override,
            **extra,
            "created_at": _iso(integration.created_at),
            "updated_at": _iso(integration.updated_at),
        }
    )


def _client_fields(credentials: IntegrationCredentials) -> dict[str, Any]:
    """The store's columns for an integration's OAuth client (or app)."""
    if isinstance(credentials, OAuthClientCredentials):
        scopes = [s for s in (credentials.scopes or "").split(",") if s]
        # The webhook secret is kept apart, encrypted (`_keep_webhook_secret`).
        return {
            "oauth_client_id": credentials.client_id,
            "oauth_client_secret": credentials.client_secret,
            "oauth_scopes": scopes,
            "custom": {},
        }
    private_key = base64.b64encode(credentials.private_key.encode()).decode()
    if isinstance(credentials, AppCredentials):
        return {
            "oauth_client_id": credentials.app_id,
            "oauth_client_secret": private_key,
            "config": {"app_link": credentials.app_link},
            "custom": {},
        }
    assert isinstance(credentials, CustomAppCredentials)
    return {
        "oauth_client_id": credentials.client_id,
        "oauth_client_secret": credentials.client_secret,
        "config": {"app_link": credentials.app_link},
        "custom": {"app_id": credentials.app_id, "private_key": private_key},
    }


def _keep_webhook_secret(
    store: Store, integration: Integration, credentials: IntegrationCredentials | None
) -> None:
    """The secret the provider signs its webhooks with (`POST /webhook/...` checks it),
    encrypted apart from the integration's other fields."""
    secret = getattr(credentials, "webhook_secret", None)
    if secret:
        store.integration_secrets.set(integration.id, secret)


def _error(message: str, field: str) -> dict[str, Any]:
    return {"code": "invalid_string", "message": message, "path": [field]}


def _catalog_provider(key: str) -> Provider:
    try:
        return get_provider(key)
    except UserError:
        raise ApiError(
            400,
            "invalid_body",
            None,
            errors=[
                {"code": "invalid_string", "message": "Invalid provider", "path": ["provider"]}
            ],
        ) from None


def _check_credentials(provider: Provider, credentials: IntegrationCredentials | None) -> None:
    if credentials is not None and credentials.type != provider.auth_mode:
        raise ApiError(400, "invalid_body", "incompatible credentials auth type and provider auth")
    if credentials is None and provider.auth_mode in _NEEDS_CLIENT:
        raise ApiError(400, "invalid_body", "Missing credentials")


def _create(store: Store, environment: Environment, body: IntegrationCreate) -> Integration:
    provider = _catalog_provider(body.provider)
    _check_credentials(provider, body.credentials)
    if store.integrations.get(environment.id, body.unique_key) is not None:
        raise _duplicate()
    fields = _client_fields(body.credentials) if body.credentials else {"custom": {}}
    custom = {**fields.pop("custom"), **(body.integration_config or {}), **(body.custom or {})}
    return store.integrations.create(
        environment.id,
        body.unique_key,
        body.provider,
        display_name=body.display_name,
        forward_webhooks=True if body.forward_webhooks is None else body.forward_webhooks,
        base_url_override=body.base_url_override,
        custom=custom or None,
        **fields,
    )


def _duplicate() -> ApiError:
    return ApiError(
        400,
        "invalid_body",
        None,
        errors=[
            {
                "code": "invalid_string",
                "message": "Unique key already exists",
                "path": ["uniqueKey"],
            }
        ],
    )


def _webhook_url(settings: RuntimeSettings, environment: Environment, key: str) -> str:
    return f"{settings.public_url}/webhook/{environment.name}/{key}"


@router.get("/integrations", dependencies=[Depends(only_query())])
def list_integrations(environment: CurrentEnvironment, store: CurrentStore) -> IntegrationList:
    """Every integration of the environment."""
    found = store.integrations.list_all(environment.id)
    return IntegrationList(data=[public_integration(i, _provider_of(i)) for i in found])


@router.post("/integrations", dependencies=[Depends(only_query())])
def create_integration(
    environment: CurrentEnvironment, store: CurrentStore, body: IntegrationCreate
) -> IntegrationOne:
    """Create an integration of a catalog provider (400 `invalid_body` when the provider is
    unknown, the key is taken, or the OAuth client is missing or of another auth mode)."""
    try:
        created = _create(store, environment, body)
    except ConflictError as exc:  # created by another request since the check
        raise _duplicate() from exc
    _keep_webhook_secret(store, created, body.credentials)
    return IntegrationOne(data=public_integration(created, _provider_of(created)))


@router.get("/integrations/{unique_key}", dependencies=[Depends(only_query("include"))])
def get_integration(
    environment: CurrentEnvironment,
    store: CurrentStore,
    settings: CurrentSettings,
    unique_key: UniqueKey,
    include: Annotated[list[Include] | None, Query()] = None,
) -> IntegrationOne:
    """One integration; `include=webhook` adds its webhook URL, `include=credentials` its
    OAuth client (secret included)."""
    integration = store.integrations.get(environment.id, unique_key)
    if integration is None:
        raise ApiError(404, "not_found", f'Integration "{unique_key}" does not exist')
    url = _webhook_url(settings, environment, unique_key)
    shown = public_integration(
        integration, _provider_of(integration), include=set(include or []), webhook_url=url
    )
    return IntegrationOne(data=shown)


@router.patch("/integrations/{unique_key}", dependencies=[Depends(only_query())])
def update_integration(
    environment: CurrentEnvironment,
    store: CurrentStore,
    unique_key: UniqueKey,
    body: IntegrationUpdate,
) -> IntegrationOne:
    """Change the given fields of an integration (ours and Nango's)."""
    integration = store.integrations.get(environment.id, unique_key)
    if integration is None:
        raise ApiError(404, "not_found", f'Integration "{unique_key}" does not exist')
    provider = _provider_of(integration)
    if body.credentials is not None:
        _check_credentials(provider, body.credentials)
    changes: dict[str, Any] = {}
    for name in ("display_name", "forward_webhooks", "base_url_override"):
        if name in body.model_fields_set:
            changes[name] = getattr(body, name)
    if body.credentials is not None:
        fields = _client_fields(body.credentials)
        changes.update(fields, custom={**(integration.custom or {}), **fields["custom"]})
    if body.custom is not None:
        changes["custom"] = {**(changes.get("custom") or integration.custom or {}), **body.custom}
    if changes.get("forward_webhooks", UNSET) is None:
        changes.pop("forward_webhooks")
    updated = store.integrations.update(environment.id, unique_key, **changes)
    _keep_webhook_secret(store, updated, body.credentials)
    return IntegrationOne(data=public_integration(updated, provider))


@router.delete("/integrations/{unique_key}", dependencies=[Depends(only_query())])
def delete_integration(
    environment: CurrentEnvironment, store: CurrentStore, unique_key: UniqueKey
) -> Success:
    """Delete an integration with its connections and their records."""
    if not store.integrations.delete(environment.id, unique_key):
        raise ApiError(404, "not_found", f'Integration "{unique_key}" does not exist')
    return Success()
