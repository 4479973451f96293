"""Credentials as they are imported, stored and handed out, for each auth mode the SDK uses.

Stored shapes (the `credentials` of `GET /connections/:id`, and what the SDK's auth injection
reads; `expires_at` is written as JavaScript writes a date, `2025-01-01T00:00:00.000Z`):

| type | fields |
|---|---|
| OAUTH2 | access_token, refresh_token?, expires_at?, config_override? {client_id?, ...}, raw |
| OAUTH2_CC | token? (fetched when absent), expires_at?, client_id, client_secret, raw |
| API_KEY | apiKey |
| BASIC | username, password |
| NONE | (nothing) |
| APP | access_token, expires_at?, app_id?, installation_id? (a GitHub App installation token) |
| JWT, TWO_STEP | token, expires_at?, and any other field the provider's form had |

Imports are checked as Nango checks them (unknown fields refused, the same length limits); OAUTH1
and TBA credentials are refused, since the SDK cannot sign requests with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SUPPORTED_TYPES",
    "ImportedCredentials",
    "expiry_of",
    "js_iso",
    "mismatch_message",
    "public_credentials",
    "stored_credentials",
]

SUPPORTED_TYPES = ("OAUTH2", "OAUTH2_CC", "API_KEY", "BASIC", "NONE", "APP", "JWT", "TWO_STEP")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConfigOverride(_Strict):
    """An OAuth client used for this connection's refreshes instead of the integration's."""

    client_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    client_secret: Annotated[str, Field(min_length=1, max_length=2048)] | None = None


class OAuth2Credentials(_Strict):
    type: Literal["OAUTH2"]
    access_token: Annotated[str, Field(min_length=1, max_length=4096)]
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    expires_at: datetime | None = None
    config_override: ConfigOverride | None = None


class ClientCredentials(_Strict):
    type: Literal["OAUTH2_CC"]
    token: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    client_id: Annotated[str, Field(min_length=1, max_length=255)]
    client_secret: Annotated[str, Field(min_length=1, max_length=2048)]
    client_certificate: Annotated[str, Field(min_length=1, max_length=10000)] | None = None
    client_private_key: Annotated[str, Field(min_length=1, max_length=10000)] | None = None
    expires_at: datetime | None = None


class ApiKeyCredentials(_Strict):
    type: Literal["API_KEY"]
    apiKey: Annotated[str, Field(min_length=1, max_length=1024)]  # Nango's spelling


class BasicCredentials(_Strict):
    type: Literal["BASIC"]
    username: Annotated[str, Field(max_length=1024)]
    password: Annotated[str, Field(max_length=1024)]


class NoCredentials(_Strict):
    type: Literal["NONE"]


class AppCredentials(_Strict):
    type: Literal["APP"]
    access_token: Annotated[str, Field(min_length=1, max_length=4096)]
    expires_at: datetime | None = None
    app_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    installation_id: Annotated[str, Field(min_length=1, max_length=255)] | None = None


class TokenCredentials(BaseModel):
    """JWT and TWO_STEP: the token the provider issued, plus the fields its form asked for."""

    model_config = ConfigDict(extra="allow")

    type: Literal["JWT", "TWO_STEP"]
    token: Annotated[str, Field(min_length=1, max_length=8192)]
    expires_at: datetime | None = None


ImportedCredentials = Annotated[
    OAuth2Credentials
    | ClientCredentials
    | ApiKeyCredentials
    | BasicCredentials
    | NoCredentials
    | AppCredentials
    | TokenCredentials,
    Field(discriminator="type"),
]


def js_iso(moment: datetime) -> str:
    """A UTC timestamp as JavaScript's `Date.toISOString()` writes it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def stored_credentials(given: BaseModel) -> tuple[dict[str, Any], datetime | None]:
    """What the store keeps for imported credentials, and when they expire."""
    expires_at = _aware(getattr(given, "expires_at", None))
    stored = given.model_dump(mode="json", exclude_none=True)
    if expires_at is not None:
        stored["expires_at"] = js_iso(expires_at)
    if isinstance(given, OAuth2Credentials | ClientCredentials):
        stored["raw"] = dict(stored)  # Nango keeps what was imported as the token's raw answer
    return stored, expires_at


def mismatch_message(auth_mode: str, credentials_type: str) -> str | None:
    """Nango's refusal of credentials of another auth mode than the provider's (or None)."""
    if auth_mode == credentials_type:
        return None
    return f"Provider {auth_mode} does not support {credentials_type} auth"


def expiry_of(credentials: Mapping[str, Any]) -> datetime | None:
    """The stored `expires_at` of credentials, as an aware datetime (None when absent)."""
    value = credentials.get("expires_at")
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return _aware(moment)


def public_credentials(
    credentials: Mapping[str, Any], *, include_refresh_token: bool
) -> dict[str, Any]:
    """Credentials as `GET /connections/:id` answers them: an OAUTH2 refresh token (also inside
    `raw`) only when asked for, as Nango does."""
    shown = dict(credentials)
    if shown.get("type") != "OAUTH2" or include_refresh_token:
        return shown
    shown.pop("refresh_token", None)
    raw = shown.get("raw")
    if isinstance(raw, Mapping) and "refresh_token" in raw:
        shown["raw"] = {name: value for name, value in raw.items() if name != "refresh_token"}
    return shown
