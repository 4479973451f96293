"""Opening databases, migrations, and concurrent writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from runtime.store import Store, open_store, sqlite_url, upgrade
from runtime.store.database import connect, normalise_url
from runtime.store.errors import DatabaseUnavailableError, SchemaVersionError, StoreBusyError
from runtime.store.migrate import current_revision, head_revision
from runtime.store.schema import metadata
from tests.runtime.store.conftest import POSTGRES_ADMIN_URL, TEST_KEY, PostgresServer, World


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@db:5432/nango", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/nango", "postgresql+psycopg"),
        ("postgres://u@db/nango", "postgresql+psycopg"),
        ("sqlite:////var/lib/nango/nango.db", "sqlite+pysqlite"),
        ("sqlite:///relative.db", "sqlite+pysqlite"),
    ],
)
def test_accepted_urls(url: str, driver: str) -> None:
    assert normalise_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@db/nango", "Unsupported database 'mysql'"),
        ("sqlite://", "needs a file"),
        ("sqlite:///:memory:", "needs a file"),
        ("not a url", "Not a database URL"),
    ],
)
def test_refused_urls(url: str, message: str) -> None:
    with pytest.raises(DatabaseUnavailableError, match=message):
        normalise_url(url)


def test_unreachable_postgresql_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailableError, match="Cannot open the database") as caught:
        open_store("postgresql://nango:hunter2@127.0.0.1:1/nango")
    assert "hunter2" not in str(caught.value)
    assert "***" in str(caught.value)


def test_sqlite_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailableError, match="does not exist"):
        open_store(sqlite_url(tmp_path / "missing" / "nango.db"))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    with open_store(sqlite_url(tmp_path / "n.db")) as store, store.database.read() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def _new_database(backend: str, tmp_path: Path, postgres: Callable[[], PostgresServer]) -> str:
    if backend == "sqlite":
        return sqlite_url(tmp_path / "fresh.db")
    return postgres().create_database()


@pytest.fixture
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    backend = request.param
    return _new_database(backend, tmp_path, lambda: request.getfixturevalue("postgres"))


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_a_fresh_database_migrates_and_twice_is_a_no_op(fresh_url: str) -> None:
    assert upgrade(fresh_url) == (None, head_revision())
    assert upgrade(fresh_url) == (head_revision(), head_revision())
    database = connect(fresh_url)
    try:
        assert current_revision(database) == head_revision()
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []  # migrations == schema.py
    finally:
        database.dispose()


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_without_migration_an_old_schema_is_refused(fresh_url: str) -> None:
    with pytest.raises(SchemaVersionError, match="no store schema yet"):
        open_store(fresh_url, migrate=False)
    upgrade(fresh_url)
    open_store(fresh_url, migrate=False).close()
    database = connect(fresh_url)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    database.dispose()
    with pytest.raises(SchemaVersionError, match="migrated by a newer version") as caught:
        open_store(fresh_url, migrate=False)
    assert "nango runtime migrate" in (caught.value.hint or "")


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_processes_starting_together_migrate_once(fresh_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        try:
            open_store(fresh_url, encryption_key=TEST_KEY).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    database = connect(fresh_url)
    assert current_revision(database) == head_revision()
    database.dispose()


def test_concurrent_writers_never_fail(world: World, store_url: str) -> None:
    """Threads with stores of their own (separate pools) write the same tables at once."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def writer(index: int) -> None:
        store = open_store(store_url, encryption_key=TEST_KEY)
        try:
            barrier.wait()
            for round_ in range(15):
                batch = [{"id": f"{index}-{round_}-{i}", "v": i} for i in range(20)]
                store.records.save(world.connection_id, "Issue", batch)
                store.records.save(
                    world.connection_id, "Shared", [{"id": i, "v": round_} for i in range(1, 31)]
                )
                store.checkpoints.save(world.connection_id, f"sync:{index}", {"round": round_})
                store.connections.update_metadata(
                    world.environment_id, "github", ["acme"], {str(index): round_}
                )
                store.records.list_page(world.connection_id, "Shared", limit=10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = world.store.records
    assert records.count_live(world.connection_id) == {"Issue": 6 * 15 * 20, "Shared": 30}
    metadata_ = world.store.connections.get_by_id(world.connection_id).metadata  # type: ignore[union-attr]
    assert metadata_ == {str(i): 14 for i in range(6)}


def test_threads_sharing_one_store_never_fail(world: World) -> None:
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for round_ in range(20):
                world.store.records.save(
                    world.connection_id, "Issue", [{"id": i, "v": round_} for i in range(1, 51)]
                )
                world.store.records.delete(world.connection_id, "Issue", [{"id": index + 1}])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


WRITER = """
import sys
from runtime.store import open_store
store = open_store(sys.argv[1], migrate=False)
connection, name = int(sys.argv[2]), sys.argv[3]
for round_ in range(25):
    store.records.save(connection, "Issue", [{"id": f"{name}-{round_}-{i}"} for i in range(40)])
store.close()
"""


def test_writer_processes_on_one_sqlite_file_never_fail(world: World, store_url: str) -> None:
    if world.store.backend != "sqlite":
        pytest.skip("the SQLite single-writer path")
    root = Path(__file__).resolve().parents[3]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, store_url, str(world.connection_id), str(i)],
            cwd=root,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outcomes = [(p.communicate(timeout=120)[1], p.returncode) for p in processes]
    assert [stderr for stderr, code in outcomes if code != 0] == []
    assert world.store.records.count_live(world.connection_id) == {"Issue": 4 * 25 * 40}


def test_a_transaction_commits_everything_or_nothing(world: World) -> None:
    store = world.store
    with store.transaction() as tx:
        tx.records.save(world.connection_id, "Issue", [{"id": 1}])
        tx.checkpoints.save(world.connection_id, "sync:issues", {"page": 1})
    assert store.records.count_live(world.connection_id) == {"Issue": 1}
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.records.save(world.connection_id, "Issue", [{"id": 2}])
        tx.records.delete(world.connection_id, "Issue", [{"id": 1}])
        tx.checkpoints.save(world.connection_id, "sync:issues", {"page": 2})
        raise RuntimeError("the run lost its lease")
    assert store.records.count_live(world.connection_id) == {"Issue": 1}
    assert store.checkpoints.get(world.connection_id, "sync:issues").value == {"page": 1}


def test_backend_and_url_name_the_database(store: Store) -> None:
    assert store.backend in {"sqlite", "postgresql"}
    assert store.url.startswith(store.backend)


def test_postgresql_connections_lost_under_the_pool_are_replaced(
    world: World, store_url: str
) -> None:
    """A restarted server (here: every connection to the database killed) costs no error."""
    if world.store.backend != "postgresql":
        pytest.skip("PostgreSQL's connection pool")
    store = world.store
    store.records.save(world.connection_id, "Issue", [{"id": 1}])
    database = make_url(store_url).database
    admin_url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql")
    with psycopg.connect(admin_url.render_as_string(False), autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    assert store.records.count_live(world.connection_id) == {"Issue": 1}
    store.records.save(world.connection_id, "Issue", [{"id": 2}])
    assert store.records.count_live(world.connection_id) == {"Issue": 2}


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_stores_opened_together_record_one_key_check(fresh_url: str) -> None:
    upgrade(fresh_url)
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        try:
            open_store(fresh_url, encryption_key=TEST_KEY, migrate=False).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_nested_transactions_are_one(world: World) -> None:
    store = world.store
    with pytest.raises(RuntimeError), store.transaction() as outer:
        with outer.transaction() as inner:
            inner.records.save(world.connection_id, "Issue", [{"id": 1}])
            assert inner.records.count_live(world.connection_id) == {"Issue": 1}
        raise RuntimeError("roll everything back")
    assert store.records.count_live(world.connection_id) == {}


def test_reads_through_a_reading_view_share_one_connection(world: World) -> None:
    store = world.store
    store.checkpoints.save(world.connection_id, "sync:issues", {"page": 1})
    with store.reading() as view:
        assert view.database.is_bound and not store.database.is_bound
        with view.database.read() as first, view.database.read() as second:
            assert first is second
        assert view.checkpoints.get(world.connection_id, "sync:issues").value == {"page": 1}
        assert view.connections.get_by_id(world.connection_id) is not None
        with view.reading() as nested:
            assert nested is view


def test_a_stuck_sqlite_writer_gives_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("runtime.store.database.SQLITE_BUSY_TIMEOUT_SECONDS", 0.2)
    path = tmp_path / "busy.db"
    store = open_store(sqlite_url(path))
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        with pytest.raises(StoreBusyError, match="stayed locked by another process"):
            store.environments.set_webhooks("dev", urls=[])
        blocker.execute("ROLLBACK")
        held = threading.Event()
        release = threading.Event()

        def hold_in_this_process() -> None:
            with store.database.write():
                held.set()
                release.wait(5)

        thread = threading.Thread(target=hold_in_this_process)
        thread.start()
        held.wait(5)
        with pytest.raises(StoreBusyError, match="Timed out waiting for another writer"):
            store.environments.set_webhooks("dev", urls=[])
        release.set()
        thread.join()
    finally:
        blocker.close()
        store.close()


def test_postgresql_sessions_end_a_transaction_left_idle_and_keep_tcp_alive(
    postgres: PostgresServer,
) -> None:
    """A process cut off between its lease check and its commit must not keep its row locks
    (the expiring pass skips locked rows): PostgreSQL ends a session idle in a transaction."""
    url = postgres.create_database()
    database = connect(url, idle_in_transaction_s=0.5)
    try:
        with database.engine.connect() as connection:
            shown = {
                name: connection.exec_driver_sql(f"SHOW {name}").scalar()
                for name in ("tcp_keepalives_idle", "tcp_keepalives_interval")
            }
            assert shown == {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5"}
        held = database.engine.connect()
        held.exec_driver_sql("CREATE TABLE t (n int)")
        held.exec_driver_sql("INSERT INTO t VALUES (1)")  # a transaction left open
        deadline = time.monotonic() + 30
        while True:  # ended by the server after 0.5 s idle
            with database.engine.connect() as other:
                sessions = other.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND starts_with(state, 'idle in transaction')"
                ).scalar()
            if sessions == 0:
                break
            assert time.monotonic() < deadline, "the idle transaction was never ended"
            time.sleep(0.2)
        with pytest.raises(DBAPIError, match=r"idle-in-transaction timeout|closed"):
            held.exec_driver_sql("SELECT 1")
        held.invalidate()
        held.close()
        with database.engine.connect() as connection:  # nothing of it was kept
            assert connection.exec_driver_sql("SELECT to_regclass('t')").scalar() is None
    finally:
        database.dispose()


def test_postgresql_parameters_in_the_url_are_kept(postgres: PostgresServer) -> None:
    """Our session settings are defaults: the URL's own `options` and parameters still apply."""
    url = postgres.create_database()
    own = f"{url}?options=-c%20search_path%3Dpublic%2Cpg_catalog&application_name=mine"
    database = connect(own)
    try:
        with database.engine.connect() as connection:
            shown = [
                connection.exec_driver_sql(f"SHOW {name}").scalar()
                for name in (
                    "search_path",
                    "application_name",
                    "idle_in_transaction_session_timeout",
                )
            ]
    finally:
        database.dispose()
    assert shown == ["public,pg_catalog", "mine", "30s"]
