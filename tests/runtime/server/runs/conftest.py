"""The deploy, sync, action and run routes run the app in-process over the store suite's
databases and its `world` (a store with an environment and a connection), which override the
API suite's fixtures of the same names."""

from __future__ import annotations

from tests.runtime.store.conftest import (  # noqa: F401  (fixtures)
    postgres,
    postgres_store,
    sqlite_template,
    store,
    store_url,
    world,
)
