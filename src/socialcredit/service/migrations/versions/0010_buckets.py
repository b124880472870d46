"""SQLite's index of a subject's score history leads with a bucket of arrival

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:20:00

An ingest records the scores of about as many subjects as its batch holds events, and each of
their entries in an index ordered by subject fell on a page of its own anywhere in the index:
SQLite wrote that many whole pages to its log at every batch, and again into the file at the
checkpoint, so ingest slowed as the store grew. Each score record now holds the bucket it was
appended in (every 16,384 records a new one: `buckets.py`), and on SQLite the index
`ix_score_history_subject` leads with it, so that a batch's entries fall within the last bucket's
pages. On PostgreSQL the column is added (one schema) and every record's bucket stays 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ROWS_PER_BUCKET = 16_384  # as buckets.ROWS_PER_BUCKET was when this ran (a migration does not follow the code)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # dropped first: setting the buckets then rewrites the table only
        op.drop_index("ix_score_history_subject", table_name="score_history")
    op.add_column("score_history", sa.Column("bucket", sa.Integer(), nullable=False, server_default="0"))
    if sqlite:
        op.execute(f"UPDATE score_history SET bucket = seq / {ROWS_PER_BUCKET}")
        op.create_index("ix_score_history_subject", "score_history", ["bucket", "subject"])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index("ix_score_history_subject", table_name="score_history")
    with op.batch_alter_table("score_history") as batch:
        batch.drop_column("bucket")
    if sqlite:
        op.create_index("ix_score_history_subject", "score_history", ["subject"])
