"""Fixtures of the credentials tests: a fake OAuth provider, a catalog naming it, and a store on
each backend (the store suite's fixtures) with an environment and integrations of the fakes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from runtime.settings import RuntimeSettings
from runtime.store import Store
from runtime.store.schema import metadata
from tests.runtime.credentials.fake_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeOAuth,
    FakeOAuthServer,
    write_catalog,
)
from tests.runtime.store.conftest import (  # the store suite's fixtures, on both backends
    postgres,
    postgres_store,
    sqlite_template,
    store,
    store_url,
)

__all__ = ["postgres", "postgres_store", "sqlite_template", "store", "store_url"]


def database_bytes(store: Store) -> bytes:
    """Everything the store keeps: a SQLite file with its write-ahead log, or every row of every
    table of a PostgreSQL database (text as UTF-8, binary as is)."""
    if store.backend == "sqlite":
        path = Path(store.database.engine.url.database or "")
        parts = (path, path.with_name(path.name + "-wal"))
        return b"".join(part.read_bytes() for part in parts if part.exists())
    found = []
    with store.database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    found.append(
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else str(value).encode()
                    )
    return b"\n".join(found)


@pytest.fixture
def oauth_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOAuthServer]:
    """The fake provider, with NANGO_PROVIDERS_FILE naming a catalog of its providers."""
    server = FakeOAuthServer()
    catalog = write_catalog(tmp_path / "providers.yaml", server.url)
    monkeypatch.setenv("NANGO_PROVIDERS_FILE", str(catalog))
    yield server
    server.stop()


@pytest.fixture
def oauth(oauth_server: FakeOAuthServer) -> FakeOAuth:
    return oauth_server.state


@pytest.fixture
def settings(tmp_path: Path) -> RuntimeSettings:
    return RuntimeSettings(data_dir=tmp_path / "data", server_url="http://runtime.test")


@dataclass(frozen=True)
class Env:
    """Environment `dev` with integrations `fake` (OAUTH2), `plain` and `cc` (OAUTH2_CC)."""

    store: Store
    id: int
    settings: RuntimeSettings
    secret_key: str


@pytest.fixture
def env(store: Store, settings: RuntimeSettings, oauth_server: FakeOAuthServer) -> Env:
    secret_key = str(uuid.uuid4())
    environment = store.environments.ensure("dev", secret_key=secret_key).environment
    for key, provider in (("fake", "fake-oauth"), ("plain", "fake-oauth-plain")):
        store.integrations.create(
            environment.id,
            key,
            provider,
            oauth_client_id=CLIENT_ID,
            oauth_client_secret=CLIENT_SECRET,
            oauth_scopes=["read", "write", "offline"],
        )
    store.integrations.create(environment.id, "cc", "fake-cc")
    return Env(store, environment.id, settings, secret_key)
