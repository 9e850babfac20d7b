"""recipient_sets and channels.forward_only: who stored ciphertext opens for; forward-only channels

Tips and messages store the fingerprint of the recipient set they were sealed
to (tips.key_fingerprint, messages.key_fingerprint). To tell an operator
which stored tips a removed reviewer can still open (so a reseal is due),
the server keeps the set behind each fingerprint. Existing deployments get
the sets of every key manifest ever issued, which covers everything stored
so far: before channels, a tip was sealed to exactly one manifest's set.

``channels.forward_only`` marks a channel that is never routed to and never
shown on the form: an agency desk that only receives forwards. Added with a
plain ADD COLUMN (see 0005 for why not a batch migration).

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
    op.add_column("channels", sa.Column("forward_only", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column("channels", "forward_only")
    op.drop_table("recipient_sets")
