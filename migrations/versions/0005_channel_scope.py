"""channels: public names, scope (regions, categories) and the coordinating flag

Scope lists are stored as canonical sorted comma-separated strings ('' = no
restriction), which read and compare the same on SQLite and PostgreSQL
without JSON operators. The existing channel (one "default" per deployment)
gets names and an empty scope, which makes it the catch-all: existing
single-channel deployments keep receiving every tip. A downgrade drops names
and scopes (re-upgrading gives every channel the default names and an empty
scope again): run `tipbox channels update` afterwards if there were several.

`channels` is changed with plain ADD/DROP COLUMN, never SQLite's batch
copy-and-move: `reviewers`, `key_manifests` and `tips` reference it, and the
batch's DROP TABLE would fail or cascade with foreign_keys=ON.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ("name_id", "name_en", "scope_regions", "scope_categories", "coordinating")


def upgrade() -> None:
    op.add_column("channels", sa.Column("name_id", sa.String(length=100), server_default="", nullable=False))
    op.add_column("channels", sa.Column("name_en", sa.String(length=100), server_default="", nullable=False))
    op.add_column("channels", sa.Column("scope_regions", sa.Text(), server_default="", nullable=False))
    op.add_column("channels", sa.Column("scope_categories", sa.Text(), server_default="", nullable=False))
    op.add_column("channels", sa.Column("coordinating", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Every channel that exists now is a deployment's single channel: name it; its empty scope is the catch-all.
    op.execute(
        sa.text("UPDATE channels SET name_id = :name_id, name_en = :name_en WHERE name_id = ''").bindparams(
            name_id="Tim peninjau", name_en="Review team"
        )
    )


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.drop_column("channels", column)
