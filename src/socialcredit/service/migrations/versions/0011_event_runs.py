"""SQLite keeps the index of a subject's events in runs, merged into a base in the background

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:10:00

The index `events_by_subject` put each of a batch's ~1,000 events on a page of its own anywhere in
the index once the store held a page or more of each subject's events, and SQLite wrote each of
those pages whole to its log at every batch: ingest slowed as the store grew (issue 18, point 10).
On SQLite that index is replaced by a table, `event_runs`, that the triggers below keep equal to
the events' scored columns: a new event's entry goes into the newest run (a few hundred pages),
and the service merges full runs into the base (run 0) a range of subjects at a time
(`runs.py`), so each page of the base is written once for many events. PostgreSQL keeps the
index: it logs changed tuples, not whole pages.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# as `runs.py` had them when this ran (a migration does not follow the code)
COLUMNS = "run, subject, entry, pos, id, status, time, kind, value, weight"
ENTRY = "coalesce({0}.entry, -1), coalesce({0}.pos, -1), {0}.id, {0}.status, {0}.time, {0}.kind, {0}.value, {0}.weight"
OF_OLD = ("run IN (SELECT run FROM runs) AND subject = OLD.subject AND entry = coalesce(OLD.entry, -1) "
          "AND pos = coalesce(OLD.pos, -1) AND id = OLD.id")
TRIGGERS = {
    "event_runs_insert": "AFTER INSERT ON events BEGIN "
                         f"INSERT INTO event_runs ({COLUMNS}) VALUES ((SELECT max(run) FROM runs), NEW.subject, "
                         f"{ENTRY.format('NEW')}); END",
    "event_runs_delete": f"AFTER DELETE ON events BEGIN DELETE FROM event_runs WHERE {OF_OLD}; END",
    "event_runs_update": "AFTER UPDATE OF id, subject, kind, time, value, weight, status, entry, pos ON events BEGIN "
                         f"DELETE FROM event_runs WHERE {OF_OLD}; "
                         f"INSERT INTO event_runs ({COLUMNS}) VALUES ((SELECT max(run) FROM runs), NEW.subject, "
                         f"{ENTRY.format('NEW')}); END",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE runs (run INTEGER PRIMARY KEY)")
    op.execute("INSERT INTO runs (run) VALUES (0), (1)")  # the base, and the run new entries go to
    op.execute("CREATE TABLE event_runs (run INTEGER NOT NULL, subject VARCHAR(200) NOT NULL, "
               "entry INTEGER NOT NULL, pos INTEGER NOT NULL, id VARCHAR(200) NOT NULL, status VARCHAR(10), "
               "time FLOAT, kind VARCHAR(100), value FLOAT, weight FLOAT, "
               "PRIMARY KEY (run, subject, entry, pos, id)) WITHOUT ROWID")
    op.execute(f"INSERT INTO event_runs ({COLUMNS}) SELECT 0, events.subject, {ENTRY.format('events')} FROM events "
               "ORDER BY events.subject, coalesce(events.entry, -1), coalesce(events.pos, -1), events.id")
    op.drop_index("events_by_subject", table_name="events")
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE event_runs")
    op.execute("DROP TABLE runs")
    op.create_index("events_by_subject", "events",
                    ["subject", "entry", "pos", "status", "time", "kind", "value", "weight"])
