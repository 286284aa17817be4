"""identity slots and sticky revocations

Each identity binding takes one numbered slot per (community, identity), with a unique index, so
the one-identity-per-community limit is kept by the database even when two processes race; and
revocations get a table of their own that outlives the verification they ended.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:00:00
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identity_bindings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot", sa.Integer(), nullable=True))
    _number_existing_bindings()
    with op.batch_alter_table("identity_bindings", schema=None) as batch_op:
        batch_op.create_index(
            "uq_identity_bindings_slot",
            ["network", "community_id", "identity_hash", "slot"],
            unique=True,
            sqlite_where=sa.text("slot IS NOT NULL"),
            postgresql_where=sa.text("slot IS NOT NULL"),
        )

    op.create_table(
        "revocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=255), nullable=True),
        sa.Column("revoked_by", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_at", bot.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", bot.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocations")),
    )
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revocations_network_identity_hash"),
            ["network", "identity_hash"],
            unique=False,
        )
        batch_op.create_index(
            "uq_revocations_active_account",
            ["network", "account_id"],
            unique=True,
            sqlite_where=sa.text("lifted_at IS NULL"),
            postgresql_where=sa.text("lifted_at IS NULL"),
        )
    _carry_over_revocations()


def _number_existing_bindings() -> None:
    """Bindings made before slots existed take slots 0, 1, ... in the order they were made."""
    bindings = sa.table(
        "identity_bindings",
        sa.column("id", sa.Integer()),
        sa.column("network", sa.String()),
        sa.column("community_id", sa.String()),
        sa.column("identity_hash", sa.String()),
        sa.column("refused", sa.Boolean()),
        sa.column("bound_at", sa.DateTime()),
        sa.column("slot", sa.Integer()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            bindings.c.id, bindings.c.network, bindings.c.community_id, bindings.c.identity_hash
        )
        .where(bindings.c.refused.is_(False))
        .order_by(bindings.c.bound_at, bindings.c.id)
    ).all()
    taken: defaultdict[tuple[str, str, str], int] = defaultdict(int)
    for row in rows:
        key = (row.network, row.community_id, row.identity_hash)
        connection.execute(
            sa.update(bindings).where(bindings.c.id == row.id).values(slot=taken[key])
        )
        taken[key] += 1


def _carry_over_revocations() -> None:
    """Verifications revoked before this table existed stay revoked, now stickily."""
    op.execute(
        "INSERT INTO revocations (network, account_id, identity_hash, community_id, revoked_by,"
        " reason, revoked_at) SELECT network, account_id, identity_hash, NULL, revoked_by,"
        " COALESCE(revoke_reason, ''), revoked_at FROM verifications"
        " WHERE revoked_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.drop_index("uq_revocations_active_account")
        batch_op.drop_index(batch_op.f("ix_revocations_network_identity_hash"))
    op.drop_table("revocations")
    with op.batch_alter_table("identity_bindings", schema=None) as batch_op:
        batch_op.drop_index("uq_identity_bindings_slot")
        batch_op.drop_column("slot")
