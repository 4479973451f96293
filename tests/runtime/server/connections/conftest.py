"""Fixtures of the connection and OAuth endpoint tests: the runtime's app in-process over a
store on each backend, with the fake OAuth provider and its integrations (see
tests/runtime/credentials/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from runtime.server.app import create_app
from tests.runtime.credentials.conftest import (
    Env,
    env,
    oauth,
    oauth_server,
    postgres,
    postgres_store,
    settings,
    sqlite_template,
    store,
    store_url,
)

__all__ = [
    "env",
    "oauth",
    "oauth_server",
    "postgres",
    "postgres_store",
    "settings",
    "sqlite_template",
    "store",
    "store_url",
]


@dataclass
class Api:
    """The app in-process (httpx's ASGI transport, driven from this thread through a portal),
    called with the `dev` environment's key unless told otherwise."""

    portal: BlockingPortal
    client: httpx.AsyncClient
    env: Env

    def call(
        self, method: str, path: str, *, key: str | None = "", **options: Any
    ) -> httpx.Response:
        headers = dict(options.pop("headers", {}))
        if key is not None:
            headers.setdefault("authorization", f"Bearer {key or self.env.secret_key}")
        return self.portal.call(
            lambda: self.client.request(method, path, headers=headers, **options)
        )

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.call("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.call("POST", path, **options)

    def delete(self, path: str, **options: Any) -> httpx.Response:
        return self.call("DELETE", path, **options)


@pytest.fixture
def api(env: Env) -> Iterator[Api]:
    app = create_app(env.settings, env.store)
    transport = httpx.ASGITransport(app=app)
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=transport, base_url="http://runtime.test")
        yield Api(portal, client, env)
        portal.call(client.aclose)
