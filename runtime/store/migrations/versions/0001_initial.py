"""The first schema: environments, environment variables, integrations, connections, records
(and the ids each run saw), checkpoints, and the store's own settings.

Revision 0001. Never edit a migration once committed: add the next one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEY_TEXT = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def _id() -> sa.Column[int]:
    return sa.Column("id", _ID, primary_key=True, autoincrement=True)


def _at(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _parent(name: str, table: str, constraint: str) -> sa.Column[int]:
    target = sa.ForeignKey(f"{table}.id", name=constraint, ondelete="CASCADE")
    return sa.Column(name, sa.BigInteger(), target, nullable=False)


def upgrade() -> None:
    op.create_table(
        "store_settings",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_store_settings"),
    )
    op.create_table(
        "environments",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_key_hash", sa.Text(), nullable=True),
        sa.Column("secret_key_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("webhook_urls", sa.Text(), nullable=False),
        sa.Column("webhook_settings", sa.Text(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_environments"),
        sa.UniqueConstraint("name", name="uq_environments_name"),
        sa.UniqueConstraint("secret_key_hash", name="uq_environments_secret_key_hash"),
    )
    op.create_table(
        "environment_variables",
        _id(),
        _parent(
            "environment_id", "environments", "fk_environment_variables_environment_id_environments"
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value_encrypted", sa.LargeBinary(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_environment_variables"),
        sa.UniqueConstraint(
            "environment_id", "name", name="uq_environment_variables_environment_id_name"
        ),
    )
    _create_integrations()
    _create_connections()
    _create_records()
    _create_checkpoints()


def _create_integrations() -> None:
    op.create_table(
        "integrations",
        _id(),
        _parent("environment_id", "environments", "fk_integrations_environment_id_environments"),
        sa.Column("unique_key", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("oauth_client_id", sa.Text(), nullable=True),
        sa.Column("oauth_client_secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("oauth_scopes", sa.Text(), nullable=False),
        sa.Column("base_url_override", sa.Text(), nullable=True),
        sa.Column("forward_webhooks", sa.Boolean(), nullable=False),
        sa.Column("custom", sa.Text(), nullable=True),
        sa.Column("config", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_integrations"),
        sa.UniqueConstraint(
            "environment_id", "unique_key", name="uq_integrations_environment_id_unique_key"
        ),
    )


def _create_connections() -> None:
    op.create_table(
        "connections",
        _id(),
        _parent("environment_id", "environments", "fk_connections_environment_id_environments"),
        _parent("integration_id", "integrations", "fk_connections_integration_id_integrations"),
        sa.Column("connection_id", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("credentials_encrypted", sa.LargeBinary(), nullable=False),
        _at("credentials_expires_at", nullable=True),
        sa.Column("connection_config", sa.Text(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("end_user", sa.Text(), nullable=True),
        sa.Column("end_user_id", sa.Text(), nullable=True),
        sa.Column("end_user_organization_id", sa.Text(), nullable=True),
        sa.Column("refresh_error", sa.Text(), nullable=True),
        sa.Column("refresh_attempts", sa.Integer(), nullable=False),
        _at("refresh_next_at", nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _at("last_fetched_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_connections"),
        sa.UniqueConstraint(
            "environment_id",
            "integration_id",
            "connection_id",
            name="uq_connections_environment_id_integration_id_connection_id",
        ),
    )
    op.create_index("ix_connections_integration_id", "connections", ["integration_id"])


def _create_records() -> None:
    op.create_table(
        "records",
        sa.Column("id", _KEY_TEXT, nullable=False),
        _parent("connection_id", "connections", "fk_records_connection_id_connections"),
        sa.Column("model", _KEY_TEXT, nullable=False),
        sa.Column("external_id", _KEY_TEXT, nullable=False),
        sa.Column("data_hash", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        _at("deleted_at", nullable=True),
        _at("pruned_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_records"),
    )
    op.create_index(
        "ix_records_connection_id_model_updated_at_id",
        "records",
        ["connection_id", "model", "updated_at", "id"],
    )
    op.create_table(
        "records_seen",
        _id(),
        _parent("connection_id", "connections", "fk_records_seen_connection_id_connections"),
        sa.Column("model", _KEY_TEXT, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("record_ids", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_records_seen"),
    )
    op.create_index(
        "ix_records_seen_connection_id_model_generation",
        "records_seen",
        ["connection_id", "model", "generation"],
    )


def _create_checkpoints() -> None:
    op.create_table(
        "checkpoints",
        _parent("connection_id", "connections", "fk_checkpoints_connection_id_connections"),
        sa.Column("key", _KEY_TEXT, nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _at("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("connection_id", "key", name="pk_checkpoints"),
    )


def downgrade() -> None:
    for table in (
        "checkpoints",
        "records_seen",
        "records",
        "connections",
        "integrations",
        "environment_variables",
        "environments",
        "store_settings",
    ):
        op.drop_table(table)
