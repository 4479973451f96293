"""Request and response bodies of the public API, as pydantic models (so `/openapi.json`
describes them), with Nango's validation rules (`packages/server/lib/helpers/validation.ts`)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# Nango's patterns, from its validation helpers.
PROVIDER_PATTERN = r"^[a-zA-Z0-9_-]+$"
PROVIDER_CONFIG_KEY_PATTERN = r"^[a-zA-Z0-9~:.@ _-]+$"
CONNECTION_ID_PATTERN = r"^[a-zA-Z0-9,.;:=+~\[\]|@${}\"'\\/_ -]+$"
MODEL_PATTERN = r"^[A-Z][a-zA-Z0-9_-]+$"
VARIANT_PATTERN = r"^[a-zA-Z0-9_-]+$"
SCOPES_PATTERN = r"^[0-9a-zA-Z:/_.-]+(,[0-9a-zA-Z:/_.-]+)*$"
VARIABLE_NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
PRIVATE_KEY_PATTERN = r"^-----BEGIN RSA PRIVATE KEY----[\s\S]*-----END RSA PRIVATE KEY-----$"

ProviderKey = Annotated[str, StringConstraints(pattern=PROVIDER_PATTERN, max_length=255)]
ProviderConfigKey = Annotated[
    str, StringConstraints(pattern=PROVIDER_CONFIG_KEY_PATTERN, max_length=255)
]
ConnectionId = Annotated[str, StringConstraints(pattern=CONNECTION_ID_PATTERN, max_length=255)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=255)]


MAX_JSON_DEPTH = 128


def check_json(value: Any) -> Any:
    """A value JSON can carry both ways: finite numbers, nested at most MAX_JSON_DEPTH deep
    (Python reads `NaN`, `1e999` and deep arrays; JavaScript's clients and our store do not)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite (no NaN or Infinity)")
        if isinstance(item, dict):
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors -----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    path: list[str | int]


class ErrorContent(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str | None = None
    errors: list[ErrorDetail] | None = None
    payload: Any = None


class ErrorBody(BaseModel):
    """Every error: `{"error": {"code", "message"?, "errors"?, ...}}`."""

    error: ErrorContent


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "Invalid request (invalid_query_params, invalid_headers, invalid_body, ...)",
        401: "Missing, malformed or unknown secret key",
        404: "Not found",
        413: "Request body too large",
        500: "Unexpected error",
        502: "The provider could not be reached (proxy)",
        503: "The database is unavailable",
    }.items()
}


class Success(BaseModel):
    success: bool = True


# --- records ----------------------------------------------------------------------------------


class RecordMetadata(BaseModel):
    first_seen_at: str
    last_modified_at: str
    last_action: Literal["ADDED", "UPDATED", "DELETED"]
    deleted_at: str | None
    pruned_at: str | None
    cursor: str


class Record(BaseModel):
    """A record as the script saved it, with `id` as a string and `_nango_metadata`."""

    model_config = ConfigDict(extra="allow")

    id: str
    nango_metadata: RecordMetadata = Field(alias="_nango_metadata")


class RecordsPage(BaseModel):
    records: list[Record]
    next_cursor: str | None


# --- integrations -----------------------------------------------------------------------------


class OAuthClientCredentials(Strict):
    type: Literal["OAUTH1", "OAUTH2", "TBA"]
    client_id: ClientId
    client_secret: NonEmpty
    scopes: (
        Annotated[str, StringConstraints(pattern=SCOPES_PATTERN)]
        | Annotated[str, StringConstraints(max_length=0)]
        | None
    ) = None
    webhook_secret: Annotated[str, StringConstraints(max_length=255)] | None = None


class AppCredentials(Strict):
    type: Literal["APP"]
    app_id: ClientId
    app_link: NonEmpty
    private_key: Annotated[str, StringConstraints(pattern=PRIVATE_KEY_PATTERN)]


class CustomAppCredentials(Strict):
    type: Literal["CUSTOM"]
    client_id: ClientId
    client_secret: NonEmpty
    app_id: ClientId
    app_link: NonEmpty
    private_key: Annotated[str, StringConstraints(pattern=PRIVATE_KEY_PATTERN)]


IntegrationCredentials = Annotated[
    OAuthClientCredentials | AppCredentials | CustomAppCredentials, Field(discriminator="type")
]
BaseUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2048)]


class IntegrationCreate(Strict):
    """`POST /integrations`. `base_url_override` is ours: the base URL of a self-hosted
    provider (replaces the catalog's in proxied calls)."""

    provider: ProviderKey
    unique_key: ProviderConfigKey
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    forward_webhooks: bool | None = None
    credentials: IntegrationCredentials | None = None
    integration_config: dict[str, Annotated[str, StringConstraints(max_length=8192)]] | None = None
    custom: dict[str, str] | None = None
    base_url_override: BaseUrl | None = None


class IntegrationUpdate(Strict):
    """`PATCH /integrations/:key`: the fields given change (`base_url_override: null` clears)."""

    display_name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    forward_webhooks: bool | None = None
    credentials: IntegrationCredentials | None = None
    custom: dict[str, str] | None = None
    base_url_override: BaseUrl | None = None


class IntegrationClientCredentials(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str


class PublicIntegration(BaseModel):
    unique_key: str
    provider: str
    display_name: str
    logo: str
    forward_webhooks: bool
    base_url_override: str | None = None
    webhook_url: str | None = None
    credentials: IntegrationClientCredentials | None = None
    created_at: str
    updated_at: str


class IntegrationList(BaseModel):
    data: list[PublicIntegration]


class IntegrationOne(BaseModel):
    data: PublicIntegration


# --- environment variables --------------------------------------------------------------------


class EnvironmentVariableBody(Strict):
    name: Annotated[str, StringConstraints(pattern=VARIABLE_NAME_PATTERN, max_length=255)]
    value: Annotated[str, StringConstraints(max_length=16_384)]


# --- metadata ---------------------------------------------------------------------------------


class MetadataBody(Strict):
    """`POST` / `PATCH /connections/metadata`: one connection id or a list of them."""

    connection_id: NonEmpty | list[NonEmpty]
    provider_config_key: NonEmpty
    metadata: JsonObject
