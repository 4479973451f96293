"""The environment of a request, from its `Authorization: Bearer <secret key>` header.

Nango's answers: no header -> 401 `missing_auth_header`; a key that is not a UUID -> 401
`invalid_secret_key_format`; an unknown key -> 401 `unknown_account`. Keys are looked up by their
SHA-256 and compared in constant time; a key never sees another environment's rows.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from runtime.server.errors import ApiError
from runtime.settings import RuntimeSettings
from runtime.store import Environment, Store
from runtime.store.environments import hash_secret_key

__all__ = [
    "CurrentEnvironment",
    "CurrentSettings",
    "CurrentStore",
    "cached_environment",
    "current_environment",
    "environment_for_key",
    "get_settings",
    "get_store",
    "store_of",
]

_FAILED = "Authentication failed. The provided secret key is invalid."


async def get_store(request: Request) -> Store:
    return store_of(request)


def store_of(request: Request) -> Store:
    """The app's store (for code that is not a dependency)."""
    store: Store = request.app.state.store
    return store


def environment_for_key(store: Store, authorization: str | None) -> Environment:
    """The environment of an `Authorization` header value, looked up now (no cache): for the
    few routes that accept a key or something else."""
    key = _key_of(authorization)
    environment = store.environments.find_by_secret_key(key)
    if environment is None:
        raise ApiError(401, "unknown_account", _FAILED, payload={})
    return environment


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


class KeyCache:
    """Environments by the SHA-256 of their keys, for a few seconds: most requests then need
    no database round trip to authenticate (a replaced key stops working within `ttl_s`)."""

    def __init__(self, ttl_s: float = 10.0, size: int = 256) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._found: dict[str, tuple[Environment, float]] = {}

    def get(self, digest: str) -> Environment | None:
        hit = self._found.get(digest)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, digest: str, environment: Environment) -> None:
        if len(self._found) >= self.size:
            self._found.clear()
        self._found[digest] = (environment, time.monotonic() + self.ttl_s)


def _key_cache(request: Request) -> KeyCache:
    cache: KeyCache | None = getattr(request.app.state, "key_cache", None)
    if cache is None:
        cache = request.app.state.key_cache = KeyCache()
    return cache


def cached_environment(state: State, authorization: str | None) -> Environment | None:
    """The environment of a well-formed key that `current_environment` met in the last few
    seconds; None for anything else (no header, a malformed key, a key not in the cache)."""
    cache: KeyCache | None = getattr(state, "key_cache", None)
    if cache is None:
        return None
    try:
        key = _key_of(authorization)
    except ApiError:
        return None
    return cache.get(hash_secret_key(key))


async def current_environment(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Environment:
    """The environment the request's secret key belongs to (unknown keys are always looked
    up; known ones are cached briefly)."""
    key = _key_of(authorization)
    cache = _key_cache(request)
    digest = hash_secret_key(key)
    environment = cache.get(digest)
    if environment is None:
        environment = await run_in_threadpool(store.environments.find_by_secret_key, key)
        if environment is None:
            raise ApiError(401, "unknown_account", _FAILED, payload={})
        cache.put(digest, environment)
    return environment


CurrentEnvironment = Annotated[Environment, Depends(current_environment)]
CurrentStore = Annotated[Store, Depends(get_store)]


async def get_settings(request: Request) -> RuntimeSettings:
    settings: RuntimeSettings = request.app.state.settings
    return settings


CurrentSettings = Annotated[RuntimeSettings, Depends(get_settings)]
