"""Outgoing webhook deliveries, and the secrets providers sign incoming webhooks with.

Revision 0003. Never edit a migration once committed: add the next one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "environment_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "environments.id",
                name="fk_webhook_deliveries_environment_id_environments",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at", nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("task_id", sa.Text(), nullable=True),
        _at("created_at"),
        _at("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index(
        "ix_webhook_deliveries_state_next_attempt_at",
        "webhook_deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_index(
        "ix_webhook_deliveries_environment_id_created_at",
        "webhook_deliveries",
        ["environment_id", "created_at"],
    )
    op.create_table(
        "integration_secrets",
        sa.Column(
            "integration_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "integrations.id",
                name="fk_integration_secrets_integration_id_integrations",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("webhook_secret_encrypted", sa.LargeBinary(), nullable=True),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("integration_id", name="pk_integration_secrets"),
    )


def downgrade() -> None:
    op.drop_table("integration_secrets")
    op.drop_table("webhook_deliveries")
