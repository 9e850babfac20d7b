"""reviewer dispositions: review status, holds and closures on tips; imported files

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

`tips` is changed with plain ADD/DROP COLUMN, never SQLite's batch
copy-and-move: with foreign_keys=ON (tipbox.db.make_engine) the batch's DROP
TABLE cascades to `attachments` and `attachment_chunks` and deletes them. So
the new columns carry no FOREIGN KEY (SQLite cannot drop such a column
in place either).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIP_COLUMNS = ("review_status", "hold_until", "hold_reason", "closed_at", "disposition_id")


def upgrade() -> None:
    op.create_table(
        "disposition_imports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reviewer_id", sa.String(length=32), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("applied_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["reviewers.id"], name=op.f("fk_disposition_imports_reviewer_id_reviewers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposition_imports")),
    )
    op.create_index(op.f("ix_disposition_imports_reviewer_id"), "disposition_imports", ["reviewer_id"], unique=False)

    op.add_column("tips", sa.Column("review_status", sa.String(length=16), server_default="new", nullable=False))
    op.add_column("tips", sa.Column("hold_until", sa.DateTime(), nullable=True))
    op.add_column("tips", sa.Column("hold_reason", sa.String(length=32), nullable=True))
    op.add_column("tips", sa.Column("closed_at", sa.DateTime(), nullable=True))
    op.add_column("tips", sa.Column("disposition_id", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_tips_review_status"), "tips", ["review_status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tips_review_status"), table_name="tips")
    for column in reversed(TIP_COLUMNS):
        op.drop_column("tips", column)
    op.drop_index(op.f("ix_disposition_imports_reviewer_id"), table_name="disposition_imports")
    op.drop_table("disposition_imports")
