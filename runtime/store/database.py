"""Engines and transactions for the two databases the store runs on.

SQLite (one file, the default): WAL journal so readers never wait for the writer, foreign keys
on, and writers serialised: a write transaction starts with `BEGIN IMMEDIATE` (it takes SQLite's
single write lock up front, so it can never fail half-way with "database is locked"), behind a
per-file lock in this process and SQLite's busy timeout across processes.

PostgreSQL (`postgresql://` or `postgresql+psycopg://`, psycopg 3): a connection pool with
pre-ping, so a restarted server is reconnected without the caller noticing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, OperationalError

from runtime.store.errors import DatabaseUnavailableError, StoreBusyError

SQLITE_BUSY_TIMEOUT_SECONDS = 60.0
_WRITE_OPTION = "nango_write"
_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
_URL_HINT = "Use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE."

_sqlite_locks: dict[str, threading.Lock] = {}
_sqlite_locks_guard = threading.Lock()


def sqlite_url(path: Path) -> str:
    """The store URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


def normalise_url(url: str) -> URL:
    """The SQLAlchemy URL of a store URL: SQLite files, or PostgreSQL through psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailableError(f"Not a database URL: {url!r}", hint=_URL_HINT) from None
    if parsed.drivername in _POSTGRES_SCHEMES:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseUnavailableError(
                "The SQLite store needs a file (an in-memory database is private to one "
                "connection)",
                hint=_URL_HINT,
            )
        return parsed.set(drivername="sqlite+pysqlite")
    raise DatabaseUnavailableError(
        f"Unsupported database {parsed.drivername!r}: the store runs on SQLite or PostgreSQL",
        hint=_URL_HINT,
    )


def redacted(url: URL | str) -> str:
    """The URL with its password hidden, for messages."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


class Database:
    """An engine plus the two kinds of transaction the store uses: `read()` and `write()`.

    A bound database (`bound(connection)`) runs every read and write in that one connection's
    transaction: how `Store.transaction()` makes several operations commit together.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        write_lock: threading.Lock | None = None,
        connection: Connection | None = None,
    ) -> None:
        self.engine = engine
        self.is_postgresql = engine.dialect.name == "postgresql"
        self._write_lock = write_lock
        self._connection = connection

    @property
    def is_bound(self) -> bool:
        return self._connection is not None

    def bound(self, connection: Connection) -> Database:
        return Database(self.engine, write_lock=self._write_lock, connection=connection)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction that only reads (a consistent snapshot on both databases)."""
        if self._connection is not None:
            yield self._connection
            return
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def read_once(self) -> Iterator[Connection]:
        """A connection for reads that need no snapshot across statements (each statement
        sees a consistent one): no transaction around them, which spares PostgreSQL the round
        trips of BEGIN and COMMIT on every request of the records API."""
        if self._connection is not None:
            yield self._connection
            return
        with self.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that writes; on SQLite it holds the database's write lock throughout."""
        if self._connection is not None:
            yield self._connection
            return
        with self._writer_turn(), self.engine.connect() as connection:
            connection.execution_options(**{_WRITE_OPTION: True})
            with _busy_as_error(), connection.begin():
                yield connection

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        if self._write_lock is None:
            yield
            return
        if not self._write_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
            raise StoreBusyError(
                "Timed out waiting for another writer of the SQLite database",
                hint="A transaction is taking too long; PostgreSQL serves many writers at once.",
            )
        try:
            yield
        finally:
            self._write_lock.release()

    def advisory_lock(self, connection: Connection, key: int) -> None:
        """Hold a PostgreSQL transaction-level lock on `key` (SQLite writers are serial)."""
        if self.is_postgresql:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def ping(self) -> None:
        """Connect once: a `DatabaseUnavailableError` naming the database when that fails."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except OperationalError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise DatabaseUnavailableError(
                f"Cannot open the database {redacted(self.engine.url)}: {reason}",
                hint="Check the database URL (NANGO_DATABASE_URL) and that the server is up.",
            ) from exc

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _busy_as_error() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if "database is locked" in str(exc.orig):
            raise StoreBusyError(
                "The SQLite database stayed locked by another process past the busy timeout",
                hint="Another process holds a long write transaction on the same file.",
            ) from exc
        raise


#: How long PostgreSQL keeps a session of ours that sits idle inside a transaction before it
#: ends it. Our transactions run their statements back to back; one left open is a process that
#: was cut off (partitioned, stopped) between its lease check and its commit, and its row locks
#: would otherwise keep the expiring pass (which skips locked rows) from failing its run.
IDLE_IN_TRANSACTION_S = 30
#: TCP keepalives, on both ends: a peer gone without a word (a host down, a link cut) is noticed
#: in about 10 + 3 x 5 s, not the kernel's two hours, and PostgreSQL then ends its session
#: (releasing its locks).
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 10, 5, 3


def postgresql_session_options(idle_in_transaction_s: float = IDLE_IN_TRANSACTION_S) -> str:
    """The `options` connection parameter: settings PostgreSQL applies to each of our sessions."""
    settings = {
        "idle_in_transaction_session_timeout": f"{round(idle_in_transaction_s * 1000)}",
        "tcp_keepalives_idle": f"{KEEPALIVE_IDLE_S}",
        "tcp_keepalives_interval": f"{KEEPALIVE_INTERVAL_S}",
        "tcp_keepalives_count": f"{KEEPALIVE_COUNT}",
    }
    return " ".join(f"-c {name}={value}" for name, value in settings.items())


def connect(
    url: str,
    *,
    pool_size: int = 5,
    max_overflow: int = 10,
    idle_in_transaction_s: float = IDLE_IN_TRANSACTION_S,
) -> Database:
    """A `Database` for a store URL (no I/O yet: connections open on first use)."""
    parsed = normalise_url(url)
    if parsed.drivername.startswith("sqlite"):
        return _sqlite_database(parsed)
    engine = create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        connect_args=_postgresql_connect_args(parsed, idle_in_transaction_s),
    )
    event.listen(engine, "connect", _configure_postgresql_connection)
    return Database(engine)


def _postgresql_connect_args(parsed: URL, idle_in_transaction_s: float) -> dict[str, Any]:
    """Our connection parameters, as defaults: a parameter the URL's query sets is the URL's,
    and its `options` come after ours (PostgreSQL keeps the last `-c` of a setting)."""
    defaults: dict[str, Any] = {
        "connect_timeout": 10,
        "application_name": "nango-runtime",
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE_S,
        "keepalives_interval": KEEPALIVE_INTERVAL_S,
        "keepalives_count": KEEPALIVE_COUNT,
    }
    arguments = {name: value for name, value in defaults.items() if name not in parsed.query}
    theirs = parsed.query.get("options")
    theirs = " ".join(theirs) if isinstance(theirs, tuple) else theirs
    ours = postgresql_session_options(idle_in_transaction_s)
    arguments["options"] = f"{ours} {theirs}" if theirs else ours
    return arguments


def _sqlite_database(parsed: URL) -> Database:
    assert parsed.database is not None
    path = Path(parsed.database).resolve()
    if not path.parent.is_dir():
        raise DatabaseUnavailableError(f"The folder of the SQLite database does not exist: {path}")
    engine = create_engine(
        parsed.set(database=str(path)),
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    with _sqlite_locks_guard:
        lock = _sqlite_locks.setdefault(str(path), threading.Lock())
    return Database(engine, write_lock=lock)


def _configure_postgresql_connection(dbapi_connection: Any, _record: Any) -> None:
    # Arrays (of record payloads, of ids) are sent in binary: psycopg's text format escapes
    # every quote of every JSON payload in Python, some 30 times slower.
    from psycopg.types.array import ListBinaryDumper

    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is turned off: transactions start in `_begin_...`.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":  # `read_once`: each statement alone
        return
    is_write = options.get(_WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if is_write else "BEGIN")
