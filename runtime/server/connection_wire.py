"""Request and response bodies of the connection and OAuth endpoints, as Nango shapes them
(reference §11), and the formatting of a stored connection into them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from runtime.credentials.shapes import ImportedCredentials, public_credentials
from runtime.store import Connection
from runtime.store.timestamps import iso_from_us, to_us

__all__ = [
    "ApiConnection",
    "ApiConnectionFull",
    "ConnectLinkBody",
    "ConnectLinkCreated",
    "ConnectLinkStatus",
    "ConnectionId",
    "ConnectionList",
    "ImportConnectionBody",
    "ProviderConfigKey",
    "StringBool",
    "Tags",
    "full_connection",
    "listed_connection",
]

# Nango's own patterns (packages/server/lib/helpers/validation.ts).
CONNECTION_ID_PATTERN = r"^[a-zA-Z0-9,.;:=+~\[\]|@${}\"'\\/_ -]+$"
PROVIDER_CONFIG_KEY_PATTERN = r"^[a-zA-Z0-9~:.@ _-]+$"
_TAG_KEY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-./]*$")
_TRUE = {"true", "1", "yes", "on", "y", "enabled"}
_FALSE = {"false", "0", "no", "off", "n", "disabled"}
_MAX_TAGS = 10

ConnectionId = Annotated[str, StringConstraints(pattern=CONNECTION_ID_PATTERN, max_length=255)]
ProviderConfigKey = Annotated[
    str, StringConstraints(pattern=PROVIDER_CONFIG_KEY_PATTERN, max_length=255)
]


def _string_bool(value: Any) -> Any:
    """Nango's `stringbool`: true/1/yes/on/y/enabled and their opposites, any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValueError("must be a boolean string (true/false, 1/0, yes/no, on/off)")


StringBool = Annotated[bool, BeforeValidator(_string_bool)]


def _tags(value: dict[str, str]) -> dict[str, str]:
    """Nango's tag rules: at most 10, keys `^[a-zA-Z][a-zA-Z0-9_-./]*$` up to 64 characters
    (kept lower-cased, so two keys differing only by case clash), values 1 to 255 characters."""
    if len(value) > _MAX_TAGS:
        raise ValueError(f"Tags cannot contain more than {_MAX_TAGS} keys")
    normalised: dict[str, str] = {}
    for key, text in value.items():
        if not _TAG_KEY.match(key) or len(key) > 64:
            raise ValueError(
                "Tag keys must start with a letter and contain only alphanumerics, underscores, "
                "hyphens, periods, or slashes (64 characters at most)"
            )
        if not 1 <= len(text) <= 255:
            raise ValueError("Tag values must be 1 to 255 characters")
        if key.lower() in normalised:
            raise ValueError(f'Duplicate tag key after case normalization: "{key.lower()}"')
        normalised[key.lower()] = text
    return normalised


Tags = Annotated[dict[str, str], AfterValidator(_tags)]
# Kept in columns of their own: no NUL, which PostgreSQL text cannot hold.
_EndUserId = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00]+$")]


class EndUserOrganization(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: _EndUserId
    display_name: Annotated[str, StringConstraints(max_length=255)] | None = None


class EndUser(BaseModel):
    """Who the connection belongs to in the user's own product."""

    model_config = ConfigDict(extra="forbid")

    id: _EndUserId
    display_name: Annotated[str, StringConstraints(max_length=255)] | None = None
    email: Annotated[str, StringConstraints(max_length=255)] | None = None
    tags: dict[str, str] | None = None
    organization: EndUserOrganization | None = None


class ImportConnectionBody(BaseModel):
    """`POST /connections`: a connection imported with its credentials."""

    provider_config_key: ProviderConfigKey
    connection_id: ConnectionId | None = None
    credentials: ImportedCredentials
    metadata: dict[str, Any] | None = None
    connection_config: dict[str, Any] | None = None
    tags: Tags | None = None
    end_user: EndUser | None = None


class ConnectionProblem(BaseModel):
    """An active problem of the connection (`auth`: its last token refresh failed)."""

    type: str
    log_id: str
    message: str | None = None


class ApiEndUser(BaseModel):
    id: str
    display_name: str | None
    email: str | None
    tags: dict[str, str] | None
    organization: dict[str, str | None] | None


class ApiConnection(BaseModel):
    """A connection as `GET /connections` lists it (no credentials)."""

    id: int
    connection_id: str
    provider_config_key: str
    provider: str
    errors: list[ConnectionProblem]
    end_user: ApiEndUser | None
    tags: dict[str, str]
    metadata: dict[str, Any] | None
    created: str


class ConnectionList(BaseModel):
    connections: list[ApiConnection]


class ApiConnectionFull(BaseModel):
    """A connection as `GET /connections/:id` and `POST /connections` answer it."""

    id: int
    connection_id: str
    provider_config_key: str
    provider: str
    errors: list[ConnectionProblem]
    end_user: ApiEndUser | None
    tags: dict[str, str]
    metadata: dict[str, Any] | None
    connection_config: dict[str, Any]
    webhook_url_override: str | None = None
    created_at: str
    updated_at: str
    last_fetched_at: str | None
    credentials: dict[str, Any]


class ConnectLinkBody(BaseModel):
    """`POST /oauth/connect-link` (ours): a link to connect an account in a browser."""

    model_config = ConfigDict(extra="forbid")

    provider_config_key: ProviderConfigKey
    connection_id: ConnectionId
    connection_config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class ConnectLinkCreated(BaseModel):
    url: str
    link: str = Field(description="The link's token, to ask what became of it")
    expires_at: str


class ConnectLinkStatus(BaseModel):
    status: str = Field(description="PENDING, EXCHANGING, SUCCESS, ERROR or EXPIRED")
    succeeded: bool
    message: str | None
    provider_config_key: str
    connection_id: str
    expires_at: str


# --- formatting ----------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """As Nango's API writes its timestamps: `2024-05-01T10:00:00.5+00:00`."""
    return iso_from_us(to_us(moment))


def _errors(connection: Connection) -> list[ConnectionProblem]:
    if not connection.refresh_error:
        return []
    log_id = f"auth-{connection.id}-{connection.refresh_attempts}"
    return [ConnectionProblem(type="auth", log_id=log_id, message=connection.refresh_error)]


def _end_user(connection: Connection) -> ApiEndUser | None:
    given = connection.end_user
    if not given:
        return None
    organization = given.get("organization")
    shown_organization = None
    if isinstance(organization, dict) and organization.get("id") is not None:
        shown_organization = {
            "id": str(organization["id"]),
            "display_name": organization.get("display_name") or None,
        }
    tags = given.get("tags")
    return ApiEndUser(
        id=str(given.get("id")),
        display_name=given.get("display_name") or None,
        email=given.get("email") or None,
        tags=tags if isinstance(tags, dict) else None,
        organization=shown_organization,
    )


def listed_connection(connection: Connection) -> ApiConnection:
    return ApiConnection(
        id=connection.id,
        connection_id=connection.connection_id,
        provider_config_key=connection.provider_config_key,
        provider=connection.provider,
        errors=_errors(connection),
        end_user=_end_user(connection),
        tags=connection.tags,
        metadata=connection.metadata,
        created=iso(connection.created_at),
    )


def full_connection(
    connection: Connection,
    *,
    include_refresh_token: bool = True,
    with_credentials: bool = True,
    last_fetched_at: datetime | None = None,
) -> ApiConnectionFull:
    fetched = last_fetched_at or connection.last_fetched_at
    credentials = connection.credentials if with_credentials else None
    return ApiConnectionFull(
        id=connection.id,
        connection_id=connection.connection_id,
        provider_config_key=connection.provider_config_key,
        provider=connection.provider,
        errors=_errors(connection),
        end_user=_end_user(connection),
        tags=connection.tags,
        metadata=connection.metadata,
        connection_config=connection.connection_config,
        created_at=iso(connection.created_at),
        updated_at=iso(connection.updated_at),
        last_fetched_at=None if fetched is None else iso(fetched),
        credentials={}
        if credentials is None
        else public_credentials(credentials, include_refresh_token=include_refresh_token),
    )
