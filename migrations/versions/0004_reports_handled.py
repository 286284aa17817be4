"""reports: urgency, the reported message's text, outcome, moderators' note, overdue reminders;
audit entries found by their target

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.tables

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("message_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("moderator_note", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("raised_at", bot.storage.tables.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_reports_status_answer_due_at"), ["status", "answer_due_at"]
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column("urgent", server_default=None)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_network_target"), ["network", "target"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_network_target"))
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_status_answer_due_at"))
        batch_op.drop_column("raised_at")
        batch_op.drop_column("moderator_note")
        batch_op.drop_column("outcome")
        batch_op.drop_column("message_text")
        batch_op.drop_column("urgent")
