"""API keys can expire and be revoked, and say when they were last used

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # every existing key stays as it was: no expiry, not revoked, not known to have been used
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # the older schema can hold neither a revocation nor an expiry: a key that has one is deleted,
    # rather than left to work for ever
    api_keys = sa.table("api_keys", sa.column("revoked_at"), sa.column("expires_at"))
    op.execute(api_keys.delete().where(sa.or_(api_keys.c.revoked_at.is_not(None), api_keys.c.expires_at.is_not(None))))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
