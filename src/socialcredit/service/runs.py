"""Where SQLite keeps the index of each subject's events: a newest run, sealed runs, and a base.

A batch of 1,000 events names about as many subjects. In one index ordered by subject, once the
store holds a page or more of each subject's events, each of them falls on a page of its own
anywhere in the index, and SQLite's write-ahead log holds whole pages: at 1M events stored every
batch wrote ~900 pages of that index to the log, and the checkpoint wrote them again at random
places in the file (issue 18 point 10, benchmarks/RESULTS.md). Here a log-structured merge does
the index's work on SQLite:

- `event_runs` holds, for every event, what scoring reads of it (subject, order stored, status,
  time, kind, value, weight), ordered by run, then subject. Triggers on `events` keep it equal to
  the events (migration 0011): an insert goes into the newest run, a delete leaves it, an update
  moves it to the newest run. `audit verify` checks that it still is equal (`coverage.py`).
- The newest run takes `RUN_ENTRIES` entries (a few hundred pages, which a batch writes over and
  over), then the next is begun (`seal`).
- Once `MERGE_AT` runs are sealed, the service merges them into the base (run 0) a range of
  subjects at a time (`merge_step`, its own short transaction each, between ingests): the base's
  pages of a range of subjects are written once for all of the sealed runs' entries of them, many
  events a page, in subject order.
- A read of some subjects' events seeks each run (`LIVE`): the base, the sealed runs and the
  newest, a few whatever the store holds (past twice `MERGE_AT` sealed runs, each change takes a
  merge step itself: `Store.writing`).

PostgreSQL keeps the index `events_by_subject`: it logs changed tuples, not whole pages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    select,
)
from sqlalchemy.engine import Connection

from .db import Event

RUN_ENTRIES = 16_384  # entries of the newest run before the next is begun
MERGE_AT = 4          # sealed runs that start a merge into the base
STEP_ENTRIES = 4_096  # about as many entries a merge step moves (more where one subject has more)

# SQLite only (migration 0011): kept out of the tables' metadata, which both databases have
metadata = MetaData()
runs = Table("runs", metadata, Column("run", Integer, primary_key=True))
event_runs = Table(
    "event_runs", metadata,
    Column("run", Integer, primary_key=True), Column("subject", String(200), primary_key=True),
    Column("entry", Integer, primary_key=True), Column("pos", Integer, primary_key=True),
    Column("id", String(200), primary_key=True), Column("status", String(10)), Column("time", Float),
    Column("kind", String(100)), Column("value", Float), Column("weight", Float),
)
# every run, one seek each in a read that names subjects
LIVE = select(runs.c.run)
IN_RUNS = "run IN (SELECT run FROM runs)"
# a subject's entries in the order the events were stored (then, for events with no entry, by
# content: as the index `events_by_subject` had them)
ORDER = "subject, entry, pos, time, kind, value, weight"
# an entry's key within its run
KEY = "subject, entry, pos, id"
# the columns of an entry, as they are in events (where an event has no entry or place: -1)
COLUMNS = "subject, entry, pos, id, status, time, kind, value, weight"


def events_subject(dialect: str) -> Any:
    """The column to ask which subjects have events: on SQLite `event_runs`' (each run seeked:
    `within_runs`), on PostgreSQL that of `events`, which its index leads with."""
    return event_runs.c.subject if dialect == "sqlite" else Event.subject


def within_runs(dialect: str) -> tuple[ColumnElement[bool], ...]:
    """What a read by `events_subject` adds to its clauses: on SQLite, every run."""
    return (event_runs.c.run.in_(LIVE),) if dialect == "sqlite" else ()


def naming(dialect: str, subject: Any) -> tuple[ColumnElement[bool], ...]:
    """The clauses on `events_subject`'s table that select a subject's rows, by a seek (a run)."""
    return (*within_runs(dialect), events_subject(dialect) == subject)


def of_subject(dialect: str, subject: Any) -> tuple[ColumnElement[bool], ...]:
    """The clauses on `events` that select a subject's events: on SQLite by the ids that the runs
    hold of the subject (the events have no index by subject there)."""
    if dialect != "sqlite":
        return (Event.subject == subject,)
    return (Event.id.in_(select(event_runs.c.id).where(*naming(dialect, subject))), Event.subject == subject)


def newest_full(connection: Connection) -> int | None:
    """The newest run, if it holds `RUN_ENTRIES` entries (None if not)."""
    newest = connection.exec_driver_sql("SELECT max(run) FROM runs").scalar_one()
    full = connection.exec_driver_sql("SELECT 1 FROM event_runs WHERE run = ? LIMIT 1 OFFSET ?",
                                      (newest, RUN_ENTRIES - 1)).first()
    return int(newest) if full else None


def seal(connection: Connection) -> None:
    """In a write transaction: begin the next run if the newest holds `RUN_ENTRIES` entries."""
    newest = newest_full(connection)
    if newest is not None:
        # (a writer that does not take the write lock first may have begun it meanwhile)
        connection.exec_driver_sql("INSERT OR IGNORE INTO runs (run) VALUES (?)", (newest + 1,))


def sealed_runs(connection: Connection) -> list[int]:
    """The runs that are neither the base nor the newest, oldest first."""
    found = [run for (run,) in connection.exec_driver_sql("SELECT run FROM runs ORDER BY run")]
    return [run for run in found[:-1] if run != 0]


def merge_due(connection: Connection) -> bool:
    """Whether `MERGE_AT` runs are sealed: a merge of them all into the base is due."""
    return len(sealed_runs(connection)) >= MERGE_AT


def merge_step(connection: Connection) -> bool:
    """In a write transaction: move the sealed runs' next entries (from the least key they hold,
    about `STEP_ENTRIES` of them) into the base, and forget the runs left empty. Whether sealed
    runs are left (a merge goes on until none is: `merge_due` starts it).

    A step is bounded by whole keys, not subjects, so a subject with many entries is moved over
    several steps: meanwhile their entries are partly in the base, partly in the sealed runs,
    which every read reads alike."""
    sealed = sealed_runs(connection)
    if not sealed:
        return False
    # each run's least key by one seek, then the key `STEP_ENTRIES / runs` entries on in each run:
    # the step ends at the least of those, so no run gives more than its share
    lows = [connection.exec_driver_sql(f"SELECT {KEY} FROM event_runs WHERE run = ? ORDER BY {KEY} LIMIT 1",
                                       (run,)).first() for run in sealed]
    low = min((tuple(found) for found in lows if found is not None), default=None)
    if low is not None:
        share = max(1, STEP_ENTRIES // len(sealed))
        ends = [connection.exec_driver_sql(f"SELECT {KEY} FROM event_runs WHERE run = ? AND ({KEY}) >= (?, ?, ?, ?) "
                                           f"ORDER BY {KEY} LIMIT 1 OFFSET ?", (run, *low, share)).first()
                for run in sealed]
        high = min((tuple(found) for found in ends if found is not None), default=None)
        within = f"run = ? AND ({KEY}) >= (?, ?, ?, ?)" + (f" AND ({KEY}) <= (?, ?, ?, ?)" if high else "")
        for run in sealed:
            bounds = (run, *low, *(high or ()))
            connection.exec_driver_sql(f"INSERT INTO event_runs (run, {COLUMNS}) SELECT 0, {COLUMNS} FROM event_runs "
                                       f"WHERE {within} ORDER BY {KEY}", bounds)
            connection.exec_driver_sql(f"DELETE FROM event_runs WHERE {within}", bounds)
    among = ", ".join(str(run) for run in sealed)
    connection.exec_driver_sql(f"DELETE FROM runs WHERE run IN ({among}) AND NOT EXISTS "
                               "(SELECT 1 FROM event_runs WHERE event_runs.run = runs.run)")
    return bool(sealed_runs(connection))


# an event as its entry in the runs holds it, from either table
_AS_HELD = {"events": "subject, coalesce(entry, -1), coalesce(pos, -1), id, status, time, kind, value, weight",
            "event_runs": COLUMNS}
SHOWN = 10  # ids a problem names at most


def mismatches(connection: Connection) -> list[str]:
    """For `audit verify`, on SQLite: where the index of the events in runs is not the events as
    they are. Scores are read from it, and the audit chain covers the events, not it: an entry
    edited, deleted or added by hand would change a score unseen."""
    if connection.dialect.name != "sqlite":
        return []
    # first whether they are equal, by one seek a run for each event: every event has an entry that
    # holds it as it is, in a run there is, and there are as many entries as events (an entry's key
    # holds its event's id, so the matches are one to one); the lists of ids only where not
    held = connection.exec_driver_sql(
        "SELECT NOT EXISTS (SELECT 1 FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_runs r WHERE "
        f"r.{IN_RUNS} AND r.subject = e.subject AND r.entry = coalesce(e.entry, -1) AND r.pos = coalesce(e.pos, -1) "
        "AND r.id = e.id AND r.status IS e.status AND r.time IS e.time AND r.kind IS e.kind AND r.value IS e.value "
        "AND r.weight IS e.weight)) AND (SELECT count(*) FROM events) = (SELECT count(*) FROM event_runs) "
        f"AND NOT EXISTS (SELECT 1 FROM event_runs WHERE NOT {IN_RUNS})").scalar()
    if held:
        return []
    found = {
        "no entry in the index of the events holds them as they are (the index edited)": (
            f"SELECT id FROM (SELECT {_AS_HELD['events']} FROM events EXCEPT SELECT {COLUMNS} FROM event_runs "
            f"WHERE {IN_RUNS})"),
        "the index of the events holds them otherwise than they are (the index edited)": (
            f"SELECT id FROM (SELECT {COLUMNS} FROM event_runs EXCEPT SELECT {_AS_HELD['events']} FROM events)"),
        "the index of the events holds them more than once, or in a run there is not (the index edited)": (
            f"SELECT id FROM event_runs GROUP BY id HAVING count(*) > 1 OR max(NOT {IN_RUNS}) > 0"),
    }
    problems = []
    for problem, statement in found.items():
        ids = sorted({row[0] for row in connection.exec_driver_sql(statement)})
        if ids:
            more = f" and {len(ids) - SHOWN:,} more" if len(ids) > SHOWN else ""
            named = ", ".join(repr(i) for i in ids[:SHOWN]) + more
            problems.append(f"events {named}: {problem}")
    return problems
