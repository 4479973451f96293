"""The tables, as SQLAlchemy Core objects the queries are built from.

The migrations under `migrations/versions/` create exactly these (a test compares the two on both
databases); a change here needs a new migration, never an edit of an old one.

Conventions: every timestamp is BIGINT microseconds since the epoch, UTC (`timestamps.py`);
JSON is text (`jsontext.JsonText`), never `jsonb`, so key order survives; secrets are
AES-256-GCM blobs (`crypto.py`) in columns named `*_encrypted`. Rows of an environment go when
the environment goes (ON DELETE CASCADE down to records and checkpoints).

Later migrations add: deployed scripts and versions, sync schedules, tasks with leases, runs
and their logs, webhook deliveries, OAuth sessions; they reference `environments.id` and
`connections.id` the same way.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from runtime.store.jsontext import JsonText

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id_type() -> TypeEngine[int]:
    # SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
    return BigInteger().with_variant(Integer(), "sqlite")


def _key_text() -> TypeEngine[str]:
    # Byte order ("C") on PostgreSQL: the same order as SQLite's, and cheaper to compare.
    return Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def _timestamp(name: str, *, nullable: bool = False) -> Column[int]:
    return Column(name, BigInteger(), nullable=nullable)


def _parent(name: str, target: str) -> Column[int]:
    return Column(name, BigInteger(), ForeignKey(target, ondelete="CASCADE"), nullable=False)


store_settings = Table(
    "store_settings",
    metadata,
    Column("name", Text(), primary_key=True),
    Column("value", Text(), nullable=False),
)

environments = Table(
    "environments",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    Column("name", Text(), nullable=False, unique=True),
    Column("secret_key_hash", Text(), nullable=True, unique=True),
    Column("secret_key_encrypted", LargeBinary(), nullable=True),
    Column("webhook_urls", JsonText(), nullable=False),
    Column("webhook_settings", JsonText(), nullable=False),
    _timestamp("created_at"),
    _timestamp("updated_at"),
)

environment_variables = Table(
    "environment_variables",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    _parent("environment_id", "environments.id"),
    Column("name", Text(), nullable=False),
    Column("value_encrypted", LargeBinary(), nullable=False),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    UniqueConstraint("environment_id", "name"),
)

integrations = Table(
    "integrations",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    _parent("environment_id", "environments.id"),
    Column("unique_key", Text(), nullable=False),
    Column("provider", Text(), nullable=False),
    Column("display_name", Text(), nullable=True),
    Column("oauth_client_id", Text(), nullable=True),
    Column("oauth_client_secret_encrypted", LargeBinary(), nullable=True),
    Column("oauth_scopes", JsonText(), nullable=False),
    Column("base_url_override", Text(), nullable=True),
    Column("forward_webhooks", Boolean(), nullable=False),
    Column("custom", JsonText(), nullable=True),
    Column("config", JsonText(), nullable=True),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    UniqueConstraint("environment_id", "unique_key"),
)

connections = Table(
    "connections",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    _parent("environment_id", "environments.id"),
    _parent("integration_id", "integrations.id"),
    Column("connection_id", Text(), nullable=False),
    Column("provider", Text(), nullable=False),
    Column("credentials_encrypted", LargeBinary(), nullable=False),
    _timestamp("credentials_expires_at", nullable=True),
    Column("connection_config", JsonText(), nullable=False),
    Column("metadata", JsonText(), nullable=True),
    Column("tags", JsonText(), nullable=False),
    Column("end_user", JsonText(), nullable=True),
    Column("end_user_id", Text(), nullable=True),
    Column("end_user_organization_id", Text(), nullable=True),
    Column("refresh_error", Text(), nullable=True),
    Column("refresh_attempts", Integer(), nullable=False),
    _timestamp("refresh_next_at", nullable=True),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    _timestamp("last_fetched_at", nullable=True),
    UniqueConstraint("environment_id", "integration_id", "connection_id"),
    Index(None, "integration_id"),
)

# `id` (UUIDv5 of connection, model and external id) is the key of every point lookup: the only
# index it leads, so no planner can prefer the paging index (as PostgreSQL does when a bulk load
# has left its statistics stale). Uniqueness of (connection, model, external id) follows from it.
records = Table(
    "records",
    metadata,
    Column("id", _key_text(), nullable=False),
    _parent("connection_id", "connections.id"),
    Column("model", _key_text(), nullable=False),
    Column("external_id", _key_text(), nullable=False),
    Column("data_hash", Text(), nullable=False),
    Column("payload", Text(), nullable=True),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    _timestamp("deleted_at", nullable=True),
    _timestamp("pruned_at", nullable=True),
    PrimaryKeyConstraint("id"),
    Index(None, "connection_id", "model", "updated_at", "id"),
)

# Delete detection: each save made with a generation (a run) adds one row naming the internal
# ids it saw, a JSON array; a record no row since the run's starting generation names is gone.
records_seen = Table(
    "records_seen",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    _parent("connection_id", "connections.id"),
    Column("model", _key_text(), nullable=False),
    Column("generation", BigInteger(), nullable=False),
    Column("record_ids", Text(), nullable=False),
    Index(None, "connection_id", "model", "generation"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    _parent("connection_id", "connections.id"),
    Column("key", _key_text(), nullable=False),
    Column("value", Text(), nullable=True),
    Column("version", BigInteger(), nullable=False),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    _timestamp("deleted_at", nullable=True),
    PrimaryKeyConstraint("connection_id", "key"),
)
