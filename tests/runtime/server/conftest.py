"""Fixtures of the API's tests: the app over a store on SQLite and on PostgreSQL (the store
suite's servers and key), a client with the dev key, and a world to call it on."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from sqlalchemy import delete

from runtime.server.app import create_app
from runtime.settings import RuntimeSettings
from runtime.store import Store, open_store, sqlite_url
from runtime.store.schema import environments
from tests.runtime.store.conftest import (
    IN_CI,
    POSTGRES_ADMIN_URL,
    START_HINT,
    TEST_KEY,
    PostgresServer,
    _admin_connection,
)

DEV_KEY = "2f0e7a52-6f5c-4d39-8b1e-3c9a5d7e1f00"
PROD_KEY = "8d4b1c36-0a7e-4f2b-9c5d-6e1f2a3b4c50"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def api_postgres() -> Iterator[PostgresServer]:
    try:
        _admin_connection().close()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL!r} is unreachable ({exc}); "
        if IN_CI:
            pytest.fail(message + "CI needs it: " + START_HINT)
        pytest.skip(message + START_HINT)
    server = PostgresServer()
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def api_postgres_store(api_postgres: PostgresServer) -> Iterator[Store]:
    store = open_store(api_postgres.create_database(), encryption_key=TEST_KEY)
    yield store
    store.close()


@pytest.fixture(scope="session")
def api_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api-template") / "template.db"
    open_store(sqlite_url(path), encryption_key=TEST_KEY).close()
    return path


@pytest.fixture(params=BACKENDS)
def api_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store with the environments dev and prod (known keys)."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copyfile(request.getfixturevalue("api_sqlite_template"), path)
        store = open_store(sqlite_url(path), encryption_key=TEST_KEY)
    else:
        store = request.getfixturevalue("api_postgres_store")
        with store.database.engine.begin() as connection:
            connection.execute(delete(environments))
    store.environments.ensure("dev", secret_key=DEV_KEY)
    store.environments.ensure("prod", secret_key=PROD_KEY)
    yield store
    if request.param == "sqlite":
        store.close()


@pytest.fixture
def settings(tmp_path: Path) -> RuntimeSettings:
    return RuntimeSettings(data_dir=tmp_path / "data", max_body_bytes=64 * 1024)


class ApiClient:
    """A blocking client of the app in-process (httpx's ASGI transport, on one event loop that
    lives as long as the test, as the app's own HTTP client needs)."""

    def __init__(self, portal: BlockingPortal, client: httpx.AsyncClient) -> None:
        self._portal = portal
        self._client = client

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        return self._portal.call(lambda: self._client.request(method, url, **options))

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)

    def put(self, url: str, **options: Any) -> httpx.Response:
        return self.request("PUT", url, **options)

    def patch(self, url: str, **options: Any) -> httpx.Response:
        return self.request("PATCH", url, **options)

    def delete(self, url: str, **options: Any) -> httpx.Response:
        return self.request("DELETE", url, **options)


@contextmanager
def api_client(app: FastAPI, key: str | None = DEV_KEY) -> Iterator[ApiClient]:
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://runtime", headers=auth
        )
        try:
            yield ApiClient(portal, client)
        finally:
            portal.call(client.aclose)
            portal.call(app.state.http_client.aclose)


@pytest.fixture
def app(api_store: Store, settings: RuntimeSettings) -> FastAPI:
    return create_app(settings, api_store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[ApiClient]:
    """The API with the dev key in every request."""
    with api_client(app) as found:
        yield found


@dataclass(frozen=True)
class World:
    """dev: integration `github` (OAuth client) with connection `acme`; `key` its integration."""

    store: Store
    environment_id: int
    key: str
    connection_id: str
    connection_pk: int


@pytest.fixture
def world(api_store: Store) -> World:
    environment = api_store.environments.get("dev")
    assert environment is not None
    api_store.integrations.create(
        environment.id,
        "github",
        "github",
        oauth_client_id="client-id",
        oauth_client_secret="client-secret-9c1d",
    )
    connection, _ = api_store.connections.upsert(
        environment.id,
        "github",
        "acme",
        credentials={"type": "OAUTH2", "access_token": "gho_secret_token_51f"},
    )
    return World(api_store, environment.id, "github", "acme", connection.id)


def headers(world: World, **extra: str) -> dict[str, str]:
    return {"Connection-Id": world.connection_id, "Provider-Config-Key": world.key, **extra}
