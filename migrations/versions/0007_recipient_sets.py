"""recipient_sets: the recipients behind each key fingerprint anything was sealed to

Tips and messages store the fingerprint of the recipient set they were sealed
to (tips.key_fingerprint, messages.key_fingerprint). To tell an operator
which stored tips a removed reviewer can still open (so a reseal is due),
the server keeps the set behind each fingerprint. Existing deployments get
the sets of every key manifest ever issued, which covers everything stored
so far: before channels, a tip was sealed to exactly one manifest's set.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "recipient_sets",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_recipient_sets")),
    )
    rows = op.get_bind().execute(sa.text("SELECT fingerprint, document FROM key_manifests")).all()
    sets = {}
    for fingerprint, document in rows:
        reviewers = json.loads(document)["body"]["reviewers"]
        sets[fingerprint] = "\n".join(sorted(r["recipient"] for r in reviewers))
    if sets:
        op.bulk_insert(table, [{"fingerprint": f, "recipients": r} for f, r in sets.items()])


def downgrade() -> None:
    op.drop_table("recipient_sets")
