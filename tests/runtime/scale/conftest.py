"""Scale and fault tests: runtimes of several processes over a PostgreSQL database of their own
(skipped without PostgreSQL, failed under CI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.scale.harness import Cluster, cluster_of
from tests.runtime.store.conftest import PostgresServer, postgres  # noqa: F401  (fixture)


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:  # noqa: F811
    return postgres.create_database()


@pytest.fixture
def cluster(tmp_path: Path, database_url: str) -> Iterator[Cluster]:
    with cluster_of(tmp_path, database_url, settings={"NANGO_LEASE_SECONDS": "3"}) as made:
        yield made
