"""input lists' members, supplied to `serve` (another body's list: issue 19, joint punishment)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00

One table, `input_list_members`: a subject's place on an input list from its listing to its
delisting, each covered by the audit entry of the change that wrote it (`db.InputListMember`).
Nothing stored before changes: a store had no input list (`serve` refused schemes that read one).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "input_list_members",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("list", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("listed_on", sa.Float(), nullable=False),
        sa.Column("listed_source", sa.String(200), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("listed_by", sa.String(100), nullable=False),
        sa.Column("delisted_on", sa.Float(), nullable=True),
        sa.Column("delisted_source", sa.String(200), nullable=True),
        sa.Column("delisted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delisted_by", sa.String(100), nullable=True),
        sa.Column("salt", sa.LargeBinary(16), nullable=True),
        sa.Column("listed_entry", sa.Integer(), nullable=True),
        sa.Column("listed_pos", sa.Integer(), nullable=True),
        sa.Column("listed_digest", sa.LargeBinary(32), nullable=True),
        sa.Column("delisted_entry", sa.Integer(), nullable=True),
        sa.Column("delisted_pos", sa.Integer(), nullable=True),
        sa.Column("delisted_digest", sa.LargeBinary(32), nullable=True),
    )
    op.create_index("input_list_members_by_subject", "input_list_members", ["subject", "list"])


def downgrade() -> None:
    op.drop_index("input_list_members_by_subject", table_name="input_list_members")
    op.drop_table("input_list_members")
