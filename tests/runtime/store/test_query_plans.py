"""The queries that must stay fast use their indexes, even on a table PostgreSQL has not
analyzed yet (right after a bulk load, as in a fresh database): plans are asserted, not timed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.sql import Select

from runtime.store import open_store, sqlite_url
from runtime.store.records.format import RecordIds
from runtime.store.records.pages import (
    PageQuery,
    encode_cursor,
    page_statement,
    page_values,
    select_page,
    shape_of,
)
from runtime.store.records.statements import id_in
from runtime.store.schema import records
from tests.runtime.store.conftest import BACKENDS, TEST_KEY, World

ZERO = "00000000-0000-0000-0000-000000000000"


def plan(world: World, statement: Select[Any]) -> str:
    with world.store.database.read() as connection:
        compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
        if world.store.backend == "postgresql":
            rows = connection.exec_driver_sql(f"EXPLAIN {compiled}").scalars()
        else:
            rows = (row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
        return "\n".join(rows)


RECORDS = 30_000  # on PostgreSQL without statistics, from about here a sort looks cheaper


@pytest.fixture(params=BACKENDS)
def fresh_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A world in a database of its own, records just loaded, no statistics yet."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "plans.db")
    else:
        url = request.getfixturevalue("postgres").create_database()
    store = open_store(url, encryption_key=TEST_KEY)
    environment = store.environments.ensure("dev").environment
    store.integrations.create(environment.id, "github", "github")
    connection, _ = store.connections.upsert(environment.id, "github", "acme", credentials={})
    batch = [{"id": i, "body": "x" * 300} for i in range(1, RECORDS + 1)]
    for start in range(0, RECORDS, 1000):
        store.records.save(connection.id, "Issue", batch[start : start + 1000])
    yield World(store, environment.id, "github", connection.id)
    store.close()


def test_pages_walk_the_ordering_index_without_sorting(fresh_world: World) -> None:
    world = fresh_world
    for query in (
        PageQuery(model="Issue", limit=100),
        PageQuery(
            model="Issue", limit=100, cursor=encode_cursor("2024-01-01T00:00:00+00:00", ZERO)
        ),
        PageQuery(model="Issue", limit=100, actions=frozenset({"ADDED"})),
    ):
        found = plan(world, page_statement(world.connection_id, query))
        assert "ix_records_connection_id_model_updated_at_id" in found, found[:300]
        assert "Sort" not in found and "TEMP B-TREE" not in found, found[:300]


def test_a_page_of_a_connection_named_by_the_api_walks_the_same_index(fresh_world: World) -> None:
    world = fresh_world
    names = {"environment_id": world.environment_id, "integration_key": "github"}
    names["connection_name"] = "acme"
    query = PageQuery(model="Issue", limit=100)
    statement = select_page(shape_of(query, as_bytes=False, named=True))
    found = plan(world, statement.params(page_values(query, names)))
    assert "ix_records_connection_id_model_updated_at_id" in found, found[:500]
    assert "Sort" not in found and "TEMP B-TREE" not in found, found[:500]


def test_point_lookups_use_the_primary_key(fresh_world: World) -> None:
    world = fresh_world
    ids = RecordIds(world.connection_id, "Issue")
    with world.store.database.read() as connection:
        condition = id_in(connection, [ids.of(str(i)) for i in range(1, 30)])
    found = plan(world, select(records.c.id, records.c.data_hash).where(condition))
    expected = "pk_records" if world.store.backend == "postgresql" else "sqlite_autoindex_records_1"
    assert expected in found, found[:300]
