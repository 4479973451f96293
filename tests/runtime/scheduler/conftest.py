"""Scheduler tests that need a store use the store suite's fixtures (both databases)."""

from __future__ import annotations

from tests.runtime.store.conftest import (  # noqa: F401  (fixtures)
    postgres,
    postgres_store,
    sqlite_template,
    store,
    store_url,
    world,
)
