"""Fixtures of the store's suite: every test that takes `store` runs on SQLite and on PostgreSQL.

PostgreSQL: `NANGO_TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/postgres`,
trust auth) is the server; each test run creates a database `nango_test_<random>` of its own,
migrates it once, empties its tables between tests, and drops it at the end. When the server
is unreachable those tests are skipped with a message, or fail when `CI` is set.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from runtime.store import Store, open_store, sqlite_url
from runtime.store.schema import environments, sources

# Read at import: the suite's autouse fixture removes `CI` and `NANGO_*` from each test's env.
IN_CI = bool(os.environ.get("CI"))
POSTGRES_ADMIN_URL = os.environ.get(
    "NANGO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
START_HINT = (
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
)
# A fixed key: test modules import this one, and one key must open every store of the run.
TEST_KEY = base64.b64encode(bytes(range(32))).decode()
BACKENDS = ("sqlite", "postgresql")


def _admin_connection() -> psycopg.Connection[object]:
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=3)


class PostgresServer:
    """The test server: makes and drops databases of this run."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create_database(self) -> str:
        name = f"nango_test_{secrets.token_hex(6)}"
        with _admin_connection() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)

    def drop_all(self) -> None:
        with _admin_connection() as admin:
            for name in self.created:
                statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                admin.execute(statement.format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    try:
        _admin_connection().close()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL)!r} is unreachable ({reason}); "
        if IN_CI:
            pytest.fail(message + "CI needs it: " + START_HINT)
        pytest.skip(message + START_HINT)
    server = PostgresServer()
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_store(postgres: PostgresServer) -> Iterator[Store]:
    store = open_store(postgres.create_database(), encryption_key=TEST_KEY)
    yield store
    store.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store-template") / "template.db"
    open_store(sqlite_url(path), encryption_key=TEST_KEY).close()
    return path


def _empty(store: Store) -> None:
    # Faster than TRUNCATE for the few rows a test leaves; everything cascades from here but
    # the content-addressed sources (scripts, which point at them, are gone by then).
    with store.database.engine.begin() as connection:
        connection.execute(delete(environments))
        connection.execute(delete(sources))


def _sqlite_store(template: Path, folder: Path) -> Store:
    path = folder / "store.db"
    shutil.copyfile(template, path)
    return open_store(sqlite_url(path), encryption_key=TEST_KEY)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store on each backend."""
    if request.param == "sqlite":
        opened = _sqlite_store(request.getfixturevalue("sqlite_template"), tmp_path)
        yield opened
        opened.close()
        return
    shared: Store = request.getfixturevalue("postgres_store")
    _empty(shared)
    yield shared


@pytest.fixture
def store_url(request: pytest.FixtureRequest, store: Store) -> str:
    """The URL of `store` (password included), to open more stores on the same database."""
    return store.database.engine.url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class World:
    """An environment `dev` with an integration `github` and a connection `acme`."""

    store: Store
    environment_id: int
    integration_key: str
    connection_id: int

    def add_connection(self, name: str) -> int:
        connection, _ = self.store.connections.upsert(
            self.environment_id, self.integration_key, name, credentials={"type": "NONE"}
        )
        return connection.id


@pytest.fixture
def world(store: Store) -> World:
    environment = store.environments.ensure("dev").environment
    store.integrations.create(environment.id, "github", "github")
    connection, _ = store.connections.upsert(
        environment.id, "github", "acme", credentials={"type": "OAUTH2", "access_token": "t"}
    )
    return World(store, environment.id, "github", connection.id)


@pytest.fixture
def make_records() -> Callable[..., list[dict[str, object]]]:
    def build(count: int, *, start: int = 1, title: str = "item") -> list[dict[str, object]]:
        return [{"id": i, "title": f"{title} {i}", "n": i} for i in range(start, start + count)]

    return build
