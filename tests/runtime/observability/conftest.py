"""Observability tests use the store suite's fixtures (every case on SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.runtime.store.conftest import (  # noqa: F401  (fixtures)
    postgres,
    postgres_store,
    sqlite_template,
    store,
    store_url,
    world,
)


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """`configure_logging` (called by `serve`) changes process-wide loggers: put them back
    (on the root logger, only its own handlers go: pytest manages the others)."""
    loggers = [logging.getLogger(name) for name in ("nango", "uvicorn")]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_nango_handler", False)]:
        root.removeHandler(handler)
