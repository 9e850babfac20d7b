"""tips.urgent, tips.urgent_alerted and notification_slots: telling teams that reports wait

``tips.urgent`` is set only when the source ticked "alert the team now" (the
server then knows the report is urgent, and the form says so);
``tips.urgent_alerted`` records that the lead channel was alerted, so
``tipbox notify run`` alerts once. ``notification_slots`` makes the
scheduled digests idempotent: one row per channel and slot, marked sent once
a target took it. Neither holds a time finer than the hour nor any content.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (see 0005 for why not a batch migration).
    op.add_column("tips", sa.Column("urgent", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("tips", sa.Column("urgent_alerted", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "notification_slots",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.DateTime(), nullable=False),
        sa.Column("sent", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "slot", name=op.f("pk_notification_slots")),
    )


def downgrade() -> None:
    op.drop_table("notification_slots")
    op.drop_column("tips", "urgent_alerted")
    op.drop_column("tips", "urgent")
