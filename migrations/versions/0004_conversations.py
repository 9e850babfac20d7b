"""conversations: source recipient, disclosed agency kind, messages (follow-ups and replies)

Reports received before this revision keep their old receipt hash (Argon2id of a
server-made receipt), which the status page's keyed hash never matches, and have
no source recipient: their sources cannot open the status page and reviewers
cannot reply to them. tipbox had no production deployment before this revision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tips", sa.Column("source_recipient", sa.String(length=128), nullable=True))
    op.add_column("tips", sa.Column("disclosed_agency", sa.String(length=32), nullable=True))
    op.add_column("attachments", sa.Column("message_id", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_attachments_message_id"), "attachments", ["message_id"], unique=False)
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tip_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sealed_by", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("upload_expires_at", sa.DateTime(), nullable=True),
        sa.Column("upload_token_hash", sa.String(length=64), nullable=True),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("payload_size", sa.Integer(), nullable=True),
        sa.Column("payload_sha256", sa.String(length=64), nullable=True),
        sa.Column("disposition_id", sa.String(length=32), nullable=True),
        sa.Column("exported_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name=op.f("fk_messages_tip_id_tips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index(op.f("ix_messages_tip_id"), "messages", ["tip_id"], unique=False)
    op.create_index(op.f("ix_messages_state"), "messages", ["state"], unique=False)
    op.create_index(op.f("ix_messages_upload_expires_at"), "messages", ["upload_expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_upload_expires_at"), table_name="messages")
    op.drop_index(op.f("ix_messages_state"), table_name="messages")
    op.drop_index(op.f("ix_messages_tip_id"), table_name="messages")
    op.drop_table("messages")
    op.drop_index(op.f("ix_attachments_message_id"), table_name="attachments")
    op.drop_column("attachments", "message_id")
    op.drop_column("tips", "disclosed_agency")
    op.drop_column("tips", "source_recipient")
