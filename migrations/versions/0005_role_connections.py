"""The Discord profile badge (Linked Roles): an encrypted refresh token per member who chose it.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.tables

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "role_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("sealed_token", sa.Text(), nullable=False),
        sa.Column("updated_at", bot.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_connections")),
        sa.UniqueConstraint(
            "network", "account_id", name=op.f("uq_role_connections_network_account_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("role_connections")
