"""initial schema: channels, reviewers, key manifests, tips, attachments

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
    )
    op.create_table(
        "key_manifests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_key_manifests_channel_id_channels")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_manifests")),
    )
    with op.batch_alter_table("key_manifests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_manifests_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "reviewers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=128), nullable=False),
        sa.Column("signing_key", sa.String(length=64), nullable=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_reviewers_channel_id_channels")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviewers")),
        sa.UniqueConstraint("channel_id", "recipient", name=op.f("uq_reviewers_channel_id")),
    )
    with op.batch_alter_table("reviewers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviewers_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "tips",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sealed_by", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("upload_expires_at", sa.DateTime(), nullable=True),
        sa.Column("upload_token_hash", sa.String(length=64), nullable=True),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("payload_size", sa.Integer(), nullable=True),
        sa.Column("payload_sha256", sa.String(length=64), nullable=True),
        sa.Column("receipt_lookup", sa.String(length=64), nullable=True),
        sa.Column("exported_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_tips_channel_id_channels")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tips")),
        sa.UniqueConstraint("receipt_lookup", name=op.f("uq_tips_receipt_lookup")),
    )
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tips_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_upload_expires_at"), ["upload_expires_at"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tip_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_attachments_tip_id_tips"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", "tip_id", name=op.f("pk_attachments")),
    )
    op.create_table(
        "attachment_chunks",
        sa.Column("tip_id", sa.String(length=32), nullable=False),
        sa.Column("attachment_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tip_id", "attachment_id"],
            ["attachments.tip_id", "attachments.id"],
            name=op.f("fk_attachment_chunks_tip_id_attachments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tip_id", "attachment_id", "seq", name=op.f("pk_attachment_chunks")),
    )


def downgrade() -> None:
    op.drop_table("attachment_chunks")
    op.drop_table("attachments")
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tips_upload_expires_at"))
        batch_op.drop_index(batch_op.f("ix_tips_state"))
        batch_op.drop_index(batch_op.f("ix_tips_received_at"))
        batch_op.drop_index(batch_op.f("ix_tips_channel_id"))

    op.drop_table("tips")
    with op.batch_alter_table("reviewers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewers_channel_id"))

    op.drop_table("reviewers")
    with op.batch_alter_table("key_manifests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_manifests_channel_id"))

    op.drop_table("key_manifests")
    op.drop_table("channels")
