"""Schema migrations, run in-process (no `alembic.ini`): at every start of the runtime and by
`nango runtime migrate`.

The whole upgrade runs in one transaction: on PostgreSQL behind an advisory lock, so processes
starting together migrate once and the others wait and find nothing to do; on SQLite inside the
write lock. A failed migration leaves the previous schema intact.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from runtime.store.database import Database, connect
from runtime.store.errors import SchemaVersionError

MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK_KEY = 0x6E616E676F  # "nango": one key for every migration of any store


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision this code's schema is at."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(database: Database) -> str | None:
    """The revision the database is at (None before the first migration)."""
    with database.read() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(target: str | Database, revision: str = "head") -> tuple[str | None, str]:
    """Migrate a store (a URL or an open `Database`) to the head revision (or `revision`).

    Returns the revisions before and after. Running it on an up-to-date database changes nothing.
    """
    return _migrate(target, revision, command.upgrade)


def downgrade(target: str | Database, revision: str) -> tuple[str | None, str]:
    """Take a store back to `revision` (each migration's `downgrade`): for tests of
    migrations, and for going back to an older version of nango-py after a backup."""
    return _migrate(target, revision, command.downgrade)


def _migrate(
    target: str | Database, revision: str, step: Callable[[Config, str], None]
) -> tuple[str | None, str]:
    database = connect(target) if isinstance(target, str) else target
    try:
        database.ping()
        with database.write() as connection:
            database.advisory_lock(connection, _MIGRATION_LOCK_KEY)
            before = MigrationContext.configure(connection).get_current_revision()
            step(_config(connection), revision)
            after = MigrationContext.configure(connection).get_current_revision()
        return before, after or ""
    finally:
        if isinstance(target, str):
            database.dispose()


def check_revision(database: Database) -> None:
    """A `SchemaVersionError` unless the database is at this code's revision."""
    found, expected = current_revision(database), head_revision()
    if found == expected:
        return
    if found is None:
        message = "The database has no store schema yet"
    elif _is_known(found):
        message = f"The database schema is at revision {found}; this version needs {expected}"
    else:
        message = (
            f"The database schema is at revision {found}, which this version does not know "
            "(it was migrated by a newer version)"
        )
    raise SchemaVersionError(message, hint="Run `nango runtime migrate` (or upgrade nango-py).")


def _is_known(revision: str) -> bool:
    scripts = ScriptDirectory.from_config(_config())
    return any(script.revision == revision for script in scripts.walk_revisions())
