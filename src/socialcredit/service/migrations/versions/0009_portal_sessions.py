"""portal sessions: the portal's cookie holds a random session id kept here, never the API key

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index(op.f("ix_portal_sessions_key_id"), "portal_sessions", ["key_id"], unique=False)


def downgrade() -> None:
    # the older portal kept the key in its cookie: every session ends, and people sign in again
    op.drop_index(op.f("ix_portal_sessions_key_id"), table_name="portal_sessions")
    op.drop_table("portal_sessions")
