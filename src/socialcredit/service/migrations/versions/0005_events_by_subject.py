"""a subject's events read from one index, in the order they were stored; no index on time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 12:00:00

Scoring reads every active event of the subjects it scores (a read: one; an ingest: every subject
of the batch). Through the index on `subject` alone each event was a look-up in the table at the
row's place, and a subject's events are spread over the whole table: a batch's reads touched more
of the table as it grew. This index holds what scoring reads, ordered by subject and then by the
entry and place that stored each event (the order they were stored, in which the scores sum them),
so a subject's events are one range of it. It replaces the index on `subject` (its first column).

The index on `time` goes: only retention's purge asks for events by time, and it can read the
table through once; every ingest, though, wrote a page of it for each event, at a random place,
inside its write transaction (what that cost: benchmarks/RESULTS.md, issue 18 point 10).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KEY = ["subject", "entry", "pos"]
SCORED = ["status", "time", "kind", "value", "weight"]


def upgrade() -> None:
    op.drop_index("ix_events_subject", table_name="events")
    op.drop_index("ix_events_time", table_name="events")
    if op.get_bind().dialect.name == "postgresql":  # the scored columns only in the leaves
        op.create_index("events_by_subject", "events", KEY, postgresql_include=SCORED)
    else:
        op.create_index("events_by_subject", "events", KEY + SCORED)


def downgrade() -> None:
    op.drop_index("events_by_subject", table_name="events")
    op.create_index("ix_events_subject", "events", ["subject"])
    op.create_index("ix_events_time", "events", ["time"])
