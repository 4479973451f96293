"""What the runtime runs: deployed scripts (sources, deployments, scripts), sync schedules, tasks
with leases (and the counter of sync run generations) and their logs, and OAuth connect
sessions.

Revision 0002. Never edit a migration once committed: add the next one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ACTIVE_TASK = "state IN ('CREATED', 'STARTED')"


def _id() -> sa.Column[int]:
    return sa.Column("id", _ID, primary_key=True, autoincrement=True)


def _at(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _parent(name: str, table: str, owner: str) -> sa.Column[int]:
    constraint = f"fk_{owner}_{name}_{table}"
    target = sa.ForeignKey(f"{table}.id", name=constraint, ondelete="CASCADE")
    return sa.Column(name, sa.BigInteger(), target, nullable=False)


def upgrade() -> None:
    _create_scripts()
    _create_tasks()
    op.create_table(
        "oauth_sessions",
        sa.Column("state", sa.Text(), nullable=False),
        _parent("environment_id", "environments", "oauth_sessions"),
        _parent("integration_id", "integrations", "oauth_sessions"),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("link_hash", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("code_verifier_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("connection_config", sa.Text(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        _at("created_at"),
        _at("expires_at"),
        sa.PrimaryKeyConstraint("state", name="pk_oauth_sessions"),
        sa.UniqueConstraint("link_hash", name="uq_oauth_sessions_link_hash"),
    )
    op.create_index("ix_oauth_sessions_expires_at", "oauth_sessions", ["expires_at"])


def _create_scripts() -> None:
    op.create_table(
        "sources",
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("hash", name="pk_sources"),
    )
    op.create_table(
        "deployments",
        _id(),
        _parent("environment_id", "environments", "deployments"),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("sdk_version", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_deployments"),
    )
    op.create_table(
        "scripts",
        _id(),
        _parent("environment_id", "environments", "scripts"),
        _parent("integration_id", "integrations", "scripts"),
        _parent("deployment_id", "deployments", "scripts"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column(
            "source_hash",
            sa.Text(),
            sa.ForeignKey("sources.hash", name="fk_scripts_source_hash_sources"),
            nullable=False,
        ),
        sa.Column(
            "models_hash",
            sa.Text(),
            sa.ForeignKey("sources.hash", name="fk_scripts_models_hash_sources"),
            nullable=False,
        ),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        _at("created_at"),
        _at("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_scripts"),
    )
    op.create_index(
        "ix_scripts_environment_id_integration_id_type_name",
        "scripts",
        ["environment_id", "integration_id", "type", "name"],
    )
    op.create_index(
        "uq_scripts_active",
        "scripts",
        ["integration_id", "type", "name"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )


def _create_tasks() -> None:
    op.create_table(
        "syncs",
        _id(),
        _parent("connection_id", "connections", "syncs"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("variant", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("frequency_ms", sa.BigInteger(), nullable=False),
        _at("anchor_at"),
        _at("next_run_at", nullable=True),
        _at("last_sync_date", nullable=True),
        sa.Column("last_task_id", sa.Text(), nullable=True),
        sa.Column("last_result", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _at("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_syncs"),
        sa.UniqueConstraint(
            "connection_id", "name", "variant", name="uq_syncs_connection_id_name_variant"
        ),
    )
    op.create_index("ix_syncs_state_next_run_at", "syncs", ["state", "next_run_at"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.Text(), nullable=False),
        _parent("environment_id", "environments", "tasks"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column(
            "connection_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "connections.id", name="fk_tasks_connection_id_connections", ondelete="CASCADE"
            ),
            nullable=True,
        ),
        sa.Column(
            "sync_id",
            sa.BigInteger(),
            sa.ForeignKey("syncs.id", name="fk_tasks_sync_id_syncs", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "script_id",
            sa.BigInteger(),
            sa.ForeignKey("scripts.id", name="fk_tasks_script_id_scripts", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("run_type", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("created_to_started_ms", sa.BigInteger(), nullable=False),
        sa.Column("started_to_completed_ms", sa.BigInteger(), nullable=False),
        _at("created_at"),
        _at("starts_after"),
        _at("started_at", nullable=True),
        _at("finished_at", nullable=True),
        sa.Column("lease_token", sa.Text(), nullable=True),
        _at("lease_expires_at", nullable=True),
        _at("heartbeat_at", nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("generation", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
    )
    op.create_index("ix_tasks_state_starts_after", "tasks", ["state", "starts_after"])
    op.create_index("ix_tasks_state_lease_expires_at", "tasks", ["state", "lease_expires_at"])
    op.create_index(
        "ix_tasks_connection_id_name_created_at", "tasks", ["connection_id", "name", "created_at"]
    )
    op.create_index("ix_tasks_environment_id_created_at", "tasks", ["environment_id", "created_at"])
    op.create_index(
        "uq_tasks_active_sync",
        "tasks",
        ["sync_id"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE_TASK),
        postgresql_where=sa.text(_ACTIVE_TASK),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )
    op.create_table(
        "task_logs",
        sa.Column(
            "task_id",
            sa.Text(),
            sa.ForeignKey("tasks.id", name="fk_task_logs_task_id_tasks", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _at("created_at"),
        sa.PrimaryKeyConstraint("task_id", "seq", name="pk_task_logs"),
    )


def downgrade() -> None:
    for table in (
        "oauth_sessions",
        "task_logs",
        "counters",
        "tasks",
        "syncs",
        "scripts",
        "deployments",
        "sources",
    ):
        op.drop_table(table)
