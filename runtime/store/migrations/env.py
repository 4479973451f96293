"""Alembic's entry point. Always run through `runtime.store.migrate`, which hands over a connection
already inside the transaction (and, on PostgreSQL, the lock) that the whole upgrade runs in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from runtime.store.schema import metadata


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("Run the store's migrations through runtime.store.migrate.upgrade()")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
