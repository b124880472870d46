"""reads logged apart from the changes' write lock: the staged read log, and a pseudonym for every stored subject

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12 12:00:00

A read's audit entry is committed first to a log of its own and moved into the audit chain soon
after (`readlog.py`), so that a read never waits for an ingest's write transaction. On PostgreSQL
that log is the table `read_log`; on SQLite it is the same table in a file of its own beside the
store's (`<database>.reads`, made by the server), since one SQLite file has one write lock.

A read names its subject by pseudonym and looks it up; every change that stores a subject now draws
one, and this revision draws one for every subject stored before that has none, so that reads of
them do not wait for the write lock to draw it.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.create_table(
            "read_log",
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("at", sa.String(40), nullable=False),
            sa.Column("actor", sa.String(100), nullable=False),
            sa.Column("action", sa.String(50), nullable=False),
            sa.Column("subject", sa.String(200), nullable=True),
            sa.Column("detail", sa.Text, nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
            sa.Column("seal", sa.String(64), nullable=True),
        )
    unnamed = [row[0] for row in bind.execute(sa.text(
        "SELECT subject FROM events UNION SELECT a FROM relations UNION SELECT b FROM relations "
        "EXCEPT SELECT id FROM subjects"))]
    subjects = sa.table("subjects", sa.column("id"), sa.column("pseudonym"))
    for start in range(0, len(unnamed), 10_000):
        op.bulk_insert(subjects, [{"id": s, "pseudonym": secrets.token_hex(16)} for s in unnamed[start:start + 10_000]])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("read_log")
    # the pseudonyms drawn stay: the audit log may name them since
