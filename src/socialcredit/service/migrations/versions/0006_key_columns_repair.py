"""the key columns of 0003 added to a store that reached 0004 without them

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-11 12:00:00

0004 (the sealed audit log) and 0003 (keys that expire and can be revoked) were written side by
side, and 0004 was first released revising 0002. A store made then is at 0004 without 0003's
columns; since 0004 now revises 0003, Alembic takes 0003 as applied and never runs it, and every
authenticated request would fail on the missing `api_keys.expires_at`. This revision adds whichever
of those columns a store lacks, so every path to the head ends with the same schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KEY_COLUMNS = ("expires_at", "revoked_at", "last_used_at")


def upgrade() -> None:
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("api_keys")}
    missing = [name for name in KEY_COLUMNS if name not in present]
    if not missing:
        return
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        for name in missing:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # nothing to undo: a store that went through 0003 keeps its columns until 0003's own downgrade
    pass
