"""Observability tests use the store suite's fixtures (every case on SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.runtime.store.conftest import (  # noqa: F401  (fixtures)
    postgres,
    postgres_store,
    sqlite_template,
    store,
    store_url,
    world,
)
