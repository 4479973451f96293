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
    text,
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
    _timestamp("created_at"),
    _timestamp("updated_at"),
    _timestamp("deleted_at", nullable=True),
    _timestamp("pruned_at", nullable=True),
    # The record as `GET /records` returns it, `_nango_metadata` included; the payload inside
    # it is gone (the body holds the id alone) iff `pruned_at` is set. See `records.bodies`.
    Column("body", Text(), nullable=False),
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

# --- deployed scripts (migration 0002) -----------------------------------------------------------

# Content-addressed sources: a script, a models.py or a helper module, stored once whatever the
# number of versions that use it. `content` is zlib-compressed UTF-8.
sources = Table(
    "sources",
    metadata,
    Column("hash", Text(), primary_key=True),
    Column("content", LargeBinary(), nullable=False),
    Column("size", BigInteger(), nullable=False),
    _timestamp("created_at"),
)

deployments = Table(
    "deployments",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    _parent("environment_id", "environments.id"),
    Column("mode", Text(), nullable=False),
    Column("sdk_version", Text(), nullable=False),
    Column("summary", JsonText(), nullable=False),
    _timestamp("created_at"),
)

# One row per deployed version of a script; the active one of each (environment, integration,
# type, name) is what runs. `config` holds what nango.yaml declares for it (runs, auto_start,
# track_deletes, sync_type, input, output, endpoints, webhook subscriptions, event...); `files`
# maps the relative path of every other project module packed with it to its source hash.
scripts = Table(
    "scripts",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    _parent("environment_id", "environments.id"),
    _parent("integration_id", "integrations.id"),
    _parent("deployment_id", "deployments.id"),
    Column("name", Text(), nullable=False),
    Column("type", Text(), nullable=False),
    Column("version", Text(), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("config", JsonText(), nullable=False),
    Column("source_hash", Text(), ForeignKey("sources.hash"), nullable=False),
    Column("models_hash", Text(), ForeignKey("sources.hash"), nullable=False),
    Column("files", JsonText(), nullable=False),
    Column("content_hash", Text(), nullable=False),
    _timestamp("created_at"),
    _timestamp("deleted_at", nullable=True),
    Index(None, "environment_id", "integration_id", "type", "name"),
    Index(
        "uq_scripts_active",
        "integration_id",
        "type",
        "name",
        unique=True,
        sqlite_where=text("active"),
        postgresql_where=text("active"),
    ),
)

# --- schedules, tasks and their logs (migration 0002) --------------------------------------------

# One per (connection, sync, variant): when it runs next on its grid (`anchor_at` + k *
# `frequency_ms`), and what its last successful run started at (`last_sync_date`).
syncs = Table(
    "syncs",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    _parent("connection_id", "connections.id"),
    Column("name", Text(), nullable=False),
    Column("variant", Text(), nullable=False),
    Column("state", Text(), nullable=False),
    Column("frequency_ms", BigInteger(), nullable=False),
    _timestamp("anchor_at"),
    _timestamp("next_run_at", nullable=True),
    _timestamp("last_sync_date", nullable=True),
    Column("last_task_id", Text(), nullable=True),
    Column("last_result", JsonText(), nullable=True),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    _timestamp("deleted_at", nullable=True),
    UniqueConstraint("connection_id", "name", "variant"),
    Index(None, "state", "next_run_at"),
)

# Work handed out through the database: a run of a sync, an action, an on-event script or a
# webhook handler. A claim moves CREATED to STARTED with a fresh `lease_token`; every write of the
# run checks that token (fencing). At most one active task per sync.
tasks = Table(
    "tasks",
    metadata,
    Column("id", Text(), primary_key=True),
    _parent("environment_id", "environments.id"),
    Column("kind", Text(), nullable=False),
    Column("group_key", Text(), nullable=False),
    Column(
        "connection_id",
        BigInteger(),
        ForeignKey("connections.id", ondelete="CASCADE"),
        nullable=True,
    ),
    # SET NULL: a removed sync's runs stay readable (`nango runs`), its active ones CANCELLED.
    Column("sync_id", BigInteger(), ForeignKey("syncs.id", ondelete="SET NULL"), nullable=True),
    Column("script_id", BigInteger(), ForeignKey("scripts.id", ondelete="SET NULL"), nullable=True),
    Column("name", Text(), nullable=False),
    Column("payload", JsonText(), nullable=False),
    Column("state", Text(), nullable=False),
    Column("run_type", Text(), nullable=True),
    Column("attempt", Integer(), nullable=False),
    Column("max_retries", Integer(), nullable=False),
    Column("created_to_started_ms", BigInteger(), nullable=False),
    Column("started_to_completed_ms", BigInteger(), nullable=False),
    _timestamp("created_at"),
    _timestamp("starts_after"),
    _timestamp("started_at", nullable=True),
    _timestamp("finished_at", nullable=True),
    Column("lease_token", Text(), nullable=True),
    _timestamp("lease_expires_at", nullable=True),
    _timestamp("heartbeat_at", nullable=True),
    Column("owner", Text(), nullable=True),
    Column("output", JsonText(), nullable=True),
    Column("error", JsonText(), nullable=True),
    Column("counts", JsonText(), nullable=True),
    # A sync run's number for delete detection (records seen since it), from `counters`.
    Column("generation", BigInteger(), nullable=True),
    Index(None, "state", "starts_after"),
    Index(None, "state", "lease_expires_at"),
    Index(None, "connection_id", "name", "created_at"),
    Index(None, "environment_id", "created_at"),
    Index(
        "uq_tasks_active_sync",
        "sync_id",
        unique=True,
        sqlite_where=text("state IN ('CREATED', 'STARTED')"),
        postgresql_where=text("state IN ('CREATED', 'STARTED')"),
    ),
)

# Numbers that only grow, shared by every process (`generation`: one per sync run).
counters = Table(
    "counters",
    metadata,
    Column("name", Text(), primary_key=True),
    Column("value", BigInteger(), nullable=False),
)

task_logs = Table(
    "task_logs",
    metadata,
    Column("task_id", Text(), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("level", Text(), nullable=False),
    Column("message", Text(), nullable=False),
    _timestamp("created_at"),
    PrimaryKeyConstraint("task_id", "seq"),
)

# --- OAuth connect sessions (migration 0002) -----------------------------------------------------

# One attempt to connect an account through the provider's consent page. `state` is the random
# value the provider hands back to the callback; `link_hash` the SHA-256 of the random token of a
# connect link (the link a CLI opens in a browser, without the secret key). `status` goes
# PENDING -> EXCHANGING -> SUCCESS | ERROR once; `result` says what happened (no secret).
oauth_sessions = Table(
    "oauth_sessions",
    metadata,
    Column("state", Text(), primary_key=True),
    _parent("environment_id", "environments.id"),
    _parent("integration_id", "integrations.id"),
    Column("connection_id", Text(), nullable=False),
    Column("link_hash", Text(), nullable=True, unique=True),
    Column("status", Text(), nullable=False),
    Column("code_verifier_encrypted", LargeBinary(), nullable=True),
    Column("scopes", JsonText(), nullable=False),
    Column("connection_config", JsonText(), nullable=False),
    Column("metadata", JsonText(), nullable=True),
    Column("redirect_uri", Text(), nullable=False),
    Column("result", JsonText(), nullable=True),
    _timestamp("created_at"),
    _timestamp("expires_at"),
    Index(None, "expires_at"),
)

# --- outgoing webhooks and integration secrets (migration 0003) ----------------------------------

# Every webhook the runtime sends (a sync's result, a connection event, an async action's
# completion), kept until delivered or given up: sent from any worker, retried with backoff.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", _id_type(), primary_key=True, autoincrement=True),
    _parent("environment_id", "environments.id"),
    Column("kind", Text(), nullable=False),
    Column("url", Text(), nullable=False),
    Column("body", Text(), nullable=False),
    Column("state", Text(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    _timestamp("next_attempt_at", nullable=True),
    Column("last_status", Integer(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("task_id", Text(), nullable=True),
    _timestamp("created_at"),
    _timestamp("delivered_at", nullable=True),
    Index(None, "state", "next_attempt_at"),
    Index(None, "environment_id", "created_at"),
)

# The secret a provider signs its webhooks with (verified on `POST /webhook/...`), encrypted.
integration_secrets = Table(
    "integration_secrets",
    metadata,
    Column(
        "integration_id",
        BigInteger(),
        ForeignKey("integrations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("webhook_secret_encrypted", LargeBinary(), nullable=True),
    _timestamp("updated_at"),
)
