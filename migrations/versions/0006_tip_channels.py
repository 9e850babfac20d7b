"""tip_channels and channel_directories: which channels hold a tip, and the signed channel set

A tip is sealed to the reviewers of several channels (crypto/FORMAT.md §14):
the lead (``tips.channel_id``, as before) and every coordinating channel whose
scope contains it. Each holding channel exports on its own schedule, so "has
this channel seen the tip and its thread" is kept per channel: when it last
exported the tip and the highest message number it has exported.

Existing tips were sealed to their one channel: each gets one row for it,
marked exported when the tip was (and up to the newest message then
exported). ``channel_directories`` keeps every signed channel directory
(FORMAT.md §7) the admin CLI issues; `tipbox db upgrade` issues the first.
A downgrade drops both tables: tips keep their lead channel, and
readers other than the lead are forgotten (their ciphertext stays sealed to
them, but the old code exports a tip only to its lead).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_directories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_directories")),
    )
    op.create_table(
        "tip_channels",
        sa.Column("tip_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=True),
        sa.Column("exported_seq", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name=op.f("fk_tip_channels_tip_id_tips"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_tip_channels_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("tip_id", "channel_id", name=op.f("pk_tip_channels")),
    )
    op.create_index(op.f("ix_tip_channels_channel_id"), "tip_channels", ["channel_id"], unique=False)
    op.execute(
        "INSERT INTO tip_channels (tip_id, channel_id, position, exported_at, exported_seq) "
        "SELECT t.id, t.channel_id, 0, t.exported_at, "
        "COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.tip_id = t.id AND m.exported_at IS NOT NULL), 0) "
        "FROM tips t"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_tip_channels_channel_id"), table_name="tip_channels")
    op.drop_table("tip_channels")
    op.drop_table("channel_directories")
