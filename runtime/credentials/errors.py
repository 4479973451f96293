"""What the credentials package raises: branches of the project's one exception tree.

Messages never hold a secret: a provider's error is reduced to its `error` code and
`error_description`, with any secret of the request masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runtime.errors import UserError

__all__ = [
    "ConnectError",
    "CredentialsError",
    "InvalidCredentialsError",
    "RefreshFailedError",
    "TokenError",
    "provider_details",
    "scrub",
]

_MAX_DETAIL = 300
_MASK = "***"


class CredentialsError(UserError):
    """Credentials could not be stored, refreshed or obtained."""


class InvalidCredentialsError(CredentialsError):
    """Credentials given to import do not fit the integration's auth mode. `path` names the
    offending field (`["credentials", "access_token"]`)."""

    def __init__(self, message: str, *, path: list[str] | None = None) -> None:
        super().__init__(message)
        self.path = path or ["credentials"]


class TokenError(CredentialsError):
    """A provider's token endpoint refused the request, or could not be reached.

    `status` is its HTTP status (None when it did not answer); `details` its `error` and
    `error_description`, secrets masked."""

    def __init__(
        self, message: str, *, status: int | None = None, details: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.details = dict(details or {})


class RefreshFailedError(CredentialsError):
    """The connection's access token is expired (or a refresh was forced) and the last refresh
    failed; `details` is what the provider said."""

    def __init__(self, message: str, *, details: Mapping[str, str] | None = None) -> None:
        super().__init__(
            message,
            hint="Reconnect the account (`nango connection create ...`) if the provider revoked "
            "the grant; a temporary failure is retried with a growing delay.",
        )
        self.details = dict(details or {})


class ConnectError(CredentialsError):
    """The OAuth connect flow cannot start or finish (what the page tells the user)."""

    def __init__(self, message: str, *, status: int = 400, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every non-trivial secret of `secrets` replaced by a mask."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _MASK)
    return text


def provider_details(body: Any, secrets: Iterable[str | None] = ()) -> dict[str, str]:
    """The `error` and `error_description` of a token endpoint's error body, shortened and
    with `secrets` masked; nothing else of the body is kept."""
    found: dict[str, str] = {}
    if isinstance(body, Mapping):
        kept = list(secrets)
        for name in ("error", "error_description"):
            value = body.get(name)
            if isinstance(value, Mapping):  # some providers nest {"error": {"message": ...}}
                value = value.get("message") or value.get("code")
            if value is not None and value != "":
                found[name] = scrub(str(value), kept)[:_MAX_DETAIL]
    return found


def describe_details(details: Mapping[str, str]) -> str:
    """`invalid_grant: Token has been expired or revoked.` (or what there is of it)."""
    parts = [details[name] for name in ("error", "error_description") if details.get(name)]
    return ": ".join(parts)
