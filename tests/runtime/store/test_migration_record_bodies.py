"""Migration 0004: records stored before it (a `payload` column) read exactly as they did, and
going back to 0003 gives every payload back."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text

from runtime.store import open_store, sqlite_url
from runtime.store.database import connect
from runtime.store.migrate import downgrade, upgrade
from runtime.store.records.format import RecordIds
from tests.runtime.store.conftest import TEST_KEY, PostgresServer

T = 1_714_564_800_000_000  # 2024-05-01T12:00:00Z, in microseconds
INSERT_0003 = text(
    "INSERT INTO records (id, connection_id, model, external_id, data_hash, payload, "
    "created_at, updated_at, deleted_at, pruned_at) VALUES (:id, :connection_id, 'Issue', "
    ":external_id, 'h', :payload, :created_at, :updated_at, :deleted_at, :pruned_at)"
)
# external id, payload, created, updated, deleted, pruned (seconds after T)
ROWS_0003 = [
    ("added", '{"id":"added","v":1}', 0, 0, None, None),
    ("changed", '{"n":{"_nango_metadata":1},"id":"changed"}', 0, 5.25, None, None),
    ("gone", '{"id":"gone","v":3}', 1, 7, 7, None),
    ('p"x', None, 2, 2, None, 9),
]


def _us(seconds: float | None) -> int | None:
    return None if seconds is None else T + int(seconds * 1_000_000)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "old.db")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


def _store_at_0003(url: str) -> int:
    """A store at revision 0003 holding `ROWS_0003`; returns the connection's key."""
    with open_store(url, encryption_key=TEST_KEY) as store:
        environment = store.environments.ensure("dev").environment
        store.integrations.create(environment.id, "github", "github")
        connection, _ = store.connections.upsert(environment.id, "github", "acme", credentials={})
    assert downgrade(url, "0003")[1] == "0003"
    ids = RecordIds(connection.id, "Issue")
    database = connect(url)
    try:
        with database.write() as db:
            for external_id, payload, created, updated, deleted, pruned in ROWS_0003:
                values = {
                    "id": ids.of(external_id),
                    "connection_id": connection.id,
                    "external_id": external_id,
                    "payload": payload,
                    "created_at": _us(created),
                    "updated_at": _us(updated),
                    "deleted_at": _us(deleted),
                    "pruned_at": _us(pruned),
                }
                db.execute(INSERT_0003, values)
    finally:
        database.dispose()
    return connection.id


def test_existing_records_read_as_before_and_a_downgrade_gives_their_payloads_back(
    url: str,
) -> None:
    connection_id = _store_at_0003(url)
    assert upgrade(url) == ("0003", "0004")
    with open_store(url, encryption_key=TEST_KEY, migrate=False) as store:
        body = store.records.list_page_json(connection_id, "Issue", limit=1)
        records = store.records.list_page(connection_id, "Issue").records
        found = store.records.get_by_ids(connection_id, "Issue", ["added", "changed", 'p"x'])
    # the exact bytes the records API sent before the migration
    cursor = base64.b64encode(
        f"2024-05-01T12:00:00+00:00||{RecordIds(connection_id, 'Issue').of('added')}".encode()
    ).decode()
    assert body == (
        b'{"records":[{"id":"added","v":1,"_nango_metadata":{'
        b'"first_seen_at":"2024-05-01T12:00:00+00:00",'
        b'"last_modified_at":"2024-05-01T12:00:00+00:00","last_action":"ADDED",'
        b'"deleted_at":null,"pruned_at":null,"cursor":"' + cursor.encode() + b'"}}],'
        b'"next_cursor":"' + cursor.encode() + b'"}'
    )
    by_id = {record["id"]: record for record in records}
    assert [r["id"] for r in records] == ["added", 'p"x', "changed", "gone"]
    assert by_id["changed"]["_nango_metadata"]["last_action"] == "UPDATED"
    assert by_id["changed"]["_nango_metadata"]["last_modified_at"] == "2024-05-01T12:00:05.25+00:00"
    assert by_id["gone"]["_nango_metadata"]["deleted_at"] == "2024-05-01T12:00:07+00:00"
    assert by_id["gone"]["v"] == 3
    assert by_id['p"x'] == {"id": 'p"x', "_nango_metadata": by_id['p"x']["_nango_metadata"]}
    assert by_id['p"x']["_nango_metadata"]["pruned_at"] == "2024-05-01T12:00:09+00:00"
    assert found == {
        "added": {"id": "added", "v": 1},
        "changed": orjson.loads(ROWS_0003[1][1] or ""),
        'p"x': {"id": 'p"x'},
    }
    downgrade(url, "0003")
    database = connect(url)
    try:
        with database.read() as db:
            query = text("SELECT external_id, payload FROM records ORDER BY external_id")
            payloads = dict(db.execute(query).all())
    finally:
        database.dispose()
    assert payloads == {row[0]: row[1] for row in ROWS_0003}
