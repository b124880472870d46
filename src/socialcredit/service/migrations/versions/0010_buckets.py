"""SQLite's indexes of a subject's events and scores lead with a bucket of arrival

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:20:00

An ingest's batch names about as many subjects as it holds events, and each of their entries in an
index ordered by subject fell on a page of its own anywhere in the index: SQLite wrote a thousand
whole pages of each such index to its log at every batch, and again into the file at the
checkpoint, so ingest slowed as the store grew. Each row now holds the bucket it was appended in
(every 16,384 rows of the table a new one: `buckets.py`), and on SQLite the indexes `events_by_subject`
and `ix_score_history_subject` lead with it, so that a batch's entries fall within the last bucket's
pages. On PostgreSQL the column is added (one schema) and every row's bucket stays 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ROWS_PER_BUCKET = 16_384  # as buckets.ROWS_PER_BUCKET was when this ran (a migration does not follow the code)
SCORED = ["subject", "entry", "pos", "status", "time", "kind", "value", "weight"]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # dropped first: setting the buckets then rewrites the tables only
        op.drop_index("events_by_subject", table_name="events")
        op.drop_index("ix_score_history_subject", table_name="score_history")
    for table in ("events", "score_history"):
        op.add_column(table, sa.Column("bucket", sa.Integer(), nullable=False, server_default="0"))
    if sqlite:
        op.execute(f"UPDATE events SET bucket = rowid / {ROWS_PER_BUCKET}")
        op.execute(f"UPDATE score_history SET bucket = seq / {ROWS_PER_BUCKET}")
        op.create_index("events_by_subject", "events", ["bucket", *SCORED])
        op.create_index("ix_score_history_subject", "score_history", ["bucket", "subject"])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index("events_by_subject", table_name="events")
        op.drop_index("ix_score_history_subject", table_name="score_history")
    for table in ("events", "score_history"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("bucket")
    if sqlite:
        op.create_index("events_by_subject", "events", SCORED)
        op.create_index("ix_score_history_subject", "score_history", ["subject"])
