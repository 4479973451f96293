"""The environment of a request, from its `Authorization: Bearer <secret key>` header.

Nango's answers: no header -> 401 `missing_auth_header`; a key that is not a UUID -> 401
`invalid_secret_key_format`; an unknown key -> 401 `unknown_account`. Keys are looked up by their
SHA-256 and compared in constant time; a key never sees another environment's rows.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Request

from runtime.server.errors import ApiError
from runtime.settings import RuntimeSettings
from runtime.store import Environment, Store

__all__ = [
    "CurrentEnvironment",
    "CurrentSettings",
    "CurrentStore",
    "current_environment",
    "get_settings",
    "get_store",
]

_FAILED = "Authentication failed. The provided secret key is invalid."


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _key_of(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise ApiError(
            401,
            "missing_auth_header",
            "Authentication failed. The request is missing the Authorization header.",
            payload={},
        )
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, "missing_auth_header", _FAILED, payload={})
    try:
        uuid.UUID(key)
    except ValueError:
        raise ApiError(401, "invalid_secret_key_format", _FAILED, payload={}) from None
    return key


def current_environment(
    store: Annotated[Store, Depends(get_store)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Environment:
    """The environment the request's secret key belongs to."""
    key = _key_of(authorization)
    environment = store.environments.find_by_secret_key(key)
    if environment is None:
        raise ApiError(401, "unknown_account", _FAILED, payload={})
    return environment


CurrentEnvironment = Annotated[Environment, Depends(current_environment)]
CurrentStore = Annotated[Store, Depends(get_store)]


def get_settings(request: Request) -> RuntimeSettings:
    settings: RuntimeSettings = request.app.state.settings
    return settings


CurrentSettings = Annotated[RuntimeSettings, Depends(get_settings)]
