"""Storage access: the connections every room reads and writes through, and the queries they run.

`db.py` says what is stored (the tables); this module says how it is reached: one writer at a time
(`writing`), hot reads on one kept connection (`reading`), and the statements of the reads, built
once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from types import NoneType
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    TextClause,
    bindparam,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import audit, runs
from .auditkey import AuditKey, key_for
from .buckets import COUNTER, appending, seekable
from .columns import Columns
from .db import Event, Relation, ScoreRecord, make_sessions
from .errors import ServiceError
from .worker import AskedWorker

T = TypeVar("T")
log = logging.getLogger(__name__)
Reader = Session | Connection  # the ORM session of a plain read, or the Core connection of a hot one

# The statements of the reads, built once: building a SELECT costs several times what SQLite takes
# to run it, and a statement built once also keys SQLAlchemy's compiled cache at no cost.
TIES_OF = select(Relation.a, Relation.b).where(or_(Relation.a == bindparam("subject"),
                                                   Relation.b == bindparam("subject")))
TIES_IN = select(Relation.a, Relation.b).where(or_(Relation.a.in_(bindparam("subjects", expanding=True)),
                                                   Relation.b.in_(bindparam("subjects", expanding=True))))
ANY_EVENT = {dialect: select(runs.events_subject(dialect)).where(*runs.naming(dialect, bindparam("subject")))
             .limit(1) for dialect in ("sqlite", "postgresql")}
ANY_TIE = select(Relation.a).where(or_(Relation.a == bindparam("subject"), Relation.b == bindparam("subject"))).limit(1)
EVENT_COLUMNS = (Event.id, Event.kind, Event.time, Event.value, Event.weight, Event.source, Event.status)
CONTESTABLE = {dialect: select(*EVENT_COLUMNS).where(
    *runs.of_subject(dialect, bindparam("subject")), Event.status == "active",
    Event.kind.in_(bindparam("kinds", expanding=True)), Event.time <= bindparam("as_of")).order_by(Event.time)
    for dialect in ("sqlite", "postgresql")}
MERGE_PAUSE = 0.02  # seconds between two steps of a merge of runs, in which a change may write
CHUNK = 500  # subjects or ids a statement names at most: SQLite binds at most a few thousand parameters

# Scoring's read of subjects' active events, through the driver (a row of SQLAlchemy's costs more
# than SQLite takes to find it), from what holds every column read, a range for each subject: on
# SQLite each run of `event_runs` (`runs.py`), on PostgreSQL the index `events_by_subject`. A
# subject's events come in the order they were stored (the entry that stored them, then their
# place in it), the order in which the scores sum them (an event written by other hands, without
# an entry, first: -1 in `event_runs`, where a key is never null; among those, by content). Both
# databases sort what they read: SQLite merges the runs, and PostgreSQL's index holds the columns
# after `pos` unordered. Every read of events for scoring (`history.py` too) gives this order, so
# that scores summed from kept events and from a read agree to the bit.
_SCORED = "SELECT subject, kind, time, value, weight FROM {} WHERE {} AND status = 'active' AND time <= {}"
_IN_ORDER = f" ORDER BY {runs.ORDER}"
# the same order on PostgreSQL (its index holds the columns after `pos` unordered; kinds compared
# byte by byte, as SQLite compares them)
PG_ORDER = 'subject, coalesce(entry, -1), coalesce(pos, -1), time, kind COLLATE "C", value, weight'
SCORED_EVENTS = {
    ("sqlite", True): _SCORED.format("event_runs", f"{runs.IN_RUNS} AND subject = ?", "?") + _IN_ORDER,
    ("sqlite", False): _SCORED.format("event_runs", f"{runs.IN_RUNS} AND subject IN ({{}})", "?") + _IN_ORDER,
    ("postgresql", True): _SCORED.format("events", "subject = %s", "%s") + f" ORDER BY {PG_ORDER}",
    ("postgresql", False): _SCORED.format("events", "subject = ANY(%s)", "%s") + f" ORDER BY {PG_ORDER}",
}
STORED_IDS = {"sqlite": "SELECT id, entry FROM events WHERE id IN ({})",
              "postgresql": "SELECT id, entry FROM events WHERE id = ANY(%s)"}
NAMED = {"sqlite": "SELECT id FROM subjects WHERE id IN ({})",
         "postgresql": "SELECT id FROM subjects WHERE id = ANY(%s)"}


def dialect_of(reader: Reader) -> str:
    return (reader.get_bind() if isinstance(reader, Session) else reader).dialect.name


def scores_of(reader: Reader, subject: str) -> tuple[ColumnElement[bool] | TextClause, ...]:
    """The clauses that select a subject's score records: on SQLite with the walk of the buckets
    that lets the read seek them (`buckets.py`)."""
    return (*seekable(dialect_of(reader), "score_history"), ScoreRecord.subject == subject)


def events_of(reader: Reader, subject: str) -> tuple[ColumnElement[bool], ...]:
    """The clauses that select a subject's events: on SQLite by the runs of their index (`runs.py`)."""
    return runs.of_subject(dialect_of(reader), subject)


def score_history(reader: Session, subject: str) -> Sequence[ScoreRecord]:
    """A subject's score records, oldest first."""
    return reader.execute(select(ScoreRecord).where(*scores_of(reader, subject)).order_by(ScoreRecord.seq)
                          ).scalars().all()


def places(statement: str, n: int) -> str:
    """A SQLite statement with `n` places where it has `{}` (for `IN (...)`)."""
    return statement.format(", ".join("?" * n))


EVENT_ROW = ("id", "subject", "kind", "time", "value", "weight", "source", "actor", "status", "ingested_at",
             "ingested_by", "entry", "pos", "salt", "digest")
SCORE_ROW = ("subject", "as_of", "score", "tier", "lists", "scheme_version", "recorded_at", "entry", "pos", "salt",
             "digest")


# what SQLAlchemy binds a Float with on SQLite (a float of the value)
FLOAT_BIND = Float().dialect_impl(sqlite_dialect()).bind_processor(sqlite_dialect())


class StoredMeanwhile(Exception):
    """A row's key was stored by someone else since the rows were made (an insert found it)."""


@dataclass
class DriverRows:
    """Rows of one table as the driver takes them, made before the write transaction (so that the
    transaction, which the reads' audit entries may wait for, only writes): a list per column of
    `columns`, each value as its column's type binds it on SQLite (a time as text, JSON as text),
    and as it is on PostgreSQL (a COPY writes each value as its column's type, JSON from the dict:
    binary, or text when work runs meanwhile, `_copy`). The audit entry that covers them is
    numbered in the transaction (`number`)."""

    table: str
    columns: tuple[str, ...]
    values: list[list[Any]]  # by column
    copy_types: tuple[str, ...] = ()  # on PostgreSQL, each column's type for a binary COPY

    @classmethod
    def of(cls, dialect: Dialect, table: Any, columns: tuple[str, ...], rows: Columns) -> DriverRows:
        """`rows` (with every column) of `table` (a SQLAlchemy table)."""
        if not rows:
            return cls(table.name, columns, [])
        made = [list(rows[name]) for name in columns]
        if dialect.name == "postgresql":  # COPY in binary: psycopg writes each value as its column's type
            return cls(table.name, columns, made, tuple(copy_type(table.c[name].type) for name in columns))
        for i, name in enumerate(columns):
            bind: Callable[[Any], Any] | None = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            column = made[i]
            if bind is None or (bind is FLOAT_BIND and set(map(type, column)) <= {float, NoneType}):
                continue  # (SQLite's Float processor makes a float of each value: these are floats already)
            # the rows of a change share their times, and the scores their `lists` dicts (one per
            # pattern of membership, `Scorer.score_rows`): each bound once (a dict by identity:
            # the rows hold it meanwhile)
            done: dict[Any, Any] = {}
            for at, given in enumerate(column):
                if given is None:
                    continue
                key = (id(given),) if isinstance(given, dict) else given
                column[at] = done[key] if key in done else done.setdefault(key, bind(given))
        return cls(table.name, columns, made)

    def __len__(self) -> int:
        return len(self.values[0]) if self.values else 0

    def rows(self) -> list[tuple[Any, ...]]:
        return list(zip(*self.values, strict=True))

    def number(self, seq: int) -> None:
        if self.values:
            self.values[self.columns.index("entry")] = [seq] * len(self)

    def insert(self, session: Session, meanwhile: Callable[[], None] | None = None) -> None:
        """INSERT (SQLite) or COPY (PostgreSQL) the rows, in a savepoint (SQLite's events: undone
        without one, `_insert_events`): a key stored already raises `StoredMeanwhile`, and none is
        inserted. `meanwhile` is run while the database stores them (on PostgreSQL, with the rows
        sent and the COPY not yet ended: the server works as this process does; on SQLite, after)."""
        connection = session.connection()
        if connection.dialect.name == "postgresql" and len(self):
            self._copy(connection, meanwhile)
            return
        if len(self):
            self._insert(connection)
        if meanwhile is not None:
            meanwhile()

    def _insert(self, connection: Connection) -> None:
        columns, values = ", ".join(self.columns), ", ".join("?" * len(self.columns))
        if self.table in COUNTER:  # appended in the table's last bucket (`buckets.py`)
            columns, values = f"{columns}, bucket", f"{values}, {appending(connection, self.table)}"
        rows = self.rows()
        if self.table == "events":
            self._insert_events(connection, f"INSERT OR IGNORE INTO events ({columns}) VALUES ({values})", rows)
            return
        connection.exec_driver_sql("SAVEPOINT driver_rows")
        try:
            connection.exec_driver_sql(f"INSERT INTO {self.table} ({columns}) VALUES ({values})", rows)
        except IntegrityError as error:
            connection.exec_driver_sql("ROLLBACK TO SAVEPOINT driver_rows")
            raise StoredMeanwhile(str(error.orig)) from error
        connection.exec_driver_sql("RELEASE SAVEPOINT driver_rows")

    def _insert_events(self, connection: Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
        """SQLite: insert the events with no savepoint, and if an id was stored meanwhile (an insert
        left it out), delete the rows it inserted (each holds this entry) and raise `StoredMeanwhile`.
        Within a savepoint SQLite journalled the pages of each row's insert and of its trigger's
        (`runs.py`): three times the time of the insert (benchmarks/RESULTS.md)."""
        driver = connection.connection.dbapi_connection
        before = driver.total_changes  # type: ignore[union-attr]
        inserted = connection.exec_driver_sql(statement, rows).rowcount
        if driver.total_changes - before != 2 * inserted:  # type: ignore[union-attr]
            # OR IGNORE holds for the trigger's insert too: an index entry left out (the index
            # edited by hand) would leave the event unread by scoring
            raise RuntimeError("events: the index of the events (event_runs) refused an entry; it was edited "
                               "by other hands: see `socialcredit audit verify`")
        if inserted == len(rows):
            return
        at_id, at_entry = self.columns.index("id"), self.columns.index("entry")
        ids = [row[at_id] for row in rows]
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            connection.exec_driver_sql(places("DELETE FROM events WHERE entry = ? AND id IN ({})", len(chunk)),
                                       (rows[0][at_entry], *chunk))
        raise StoredMeanwhile(f"{len(rows) - inserted} of {len(rows)} event ids were stored meanwhile")

    def _copy(self, connection: Connection, meanwhile: Callable[[], None] | None) -> None:
        import psycopg  # only where PostgreSQL is used

        # A COPY's rows are stored as they come in groups of 64 KB of text, or of 1,000 rows in
        # binary (PostgreSQL's buffer of rows to insert counts the bytes of text rows only): with
        # work to do meanwhile, text, so that the server stores a batch of 1,000 while it is done
        streamed = meanwhile is not None
        with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            if streamed:  # bytes as bytea's hex text (libpq's escaping depends on standard_conforming_strings)
                cursor.adapters.register_dumper(bytes, hex_bytea())
            cursor.execute("SAVEPOINT driver_rows")
            try:
                with cursor.copy(f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
                                 + ("" if streamed else " (FORMAT BINARY)")) as copy:
                    if not streamed:
                        copy.set_types(self.copy_types)
                    for row in self.rows():
                        copy.write_row(row)  # sent as psycopg's buffer fills
                    if meanwhile is not None:
                        meanwhile()
            except psycopg.errors.UniqueViolation as error:
                cursor.execute("ROLLBACK TO SAVEPOINT driver_rows")
                raise StoredMeanwhile(str(error)) from error
            cursor.execute("RELEASE SAVEPOINT driver_rows")


@cache
def hex_bytea() -> type:
    """psycopg's dumper of bytes as bytea's hex form (`\\x` and two digits a byte), which the server
    reads as the bytes whatever its standard_conforming_strings says: psycopg's own escapes the
    backslash once more when the setting is off, and a text COPY then stores the escape's characters."""
    from psycopg.adapt import Dumper  # only where PostgreSQL is used

    class HexBytea(Dumper):
        oid = 17  # bytea

        def dump(self, obj: Any) -> bytes:
            return b"\\x" + bytes(obj).hex().encode()

    return HexBytea


def copy_type(kind: Any) -> str:
    """A column's PostgreSQL type as psycopg names it for a binary COPY, which takes each value in
    its column's own binary form (floats as their 8 bytes, digests as they are, no text to parse):
    the types of the columns an ingest writes."""
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, LargeBinary):
        return "bytea"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, Float):
        return "float8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, String):  # Text too
        return "text" if kind.length is None else "varchar"
    raise TypeError(f"no binary COPY type for a column of {kind!r}")


def _found(session: Reader, statements: dict[str, str], keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows a statement of `statements` (by dialect) finds for these keys."""
    if dialect_of(session) == "postgresql":
        return driver_rows(session, statements["postgresql"], (list(keys),))
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        found += driver_rows(session, places(statements["sqlite"], len(chunk)), chunk)
    return found


def driver_rows(reader: Reader, statement: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of a statement in the driver's own form (tuples), run by SQLAlchemy (its errors,
    a connection the database dropped among them, are SQLAlchemy's) in the reader's transaction."""
    connection = reader.connection() if isinstance(reader, Session) else reader
    result = connection.exec_driver_sql(statement, tuple(parameters))
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


class Store:
    """The database as the rooms use it: `reader` sessions for reads, `writing()` for a change (one
    writer at a time: the audit chain and idempotent ingest read, then write), `reading(work)` for
    the hot reads, on a kept connection.

    Two locks: `write_lock` is held for a write transaction, by a change, by a step of the merges
    of SQLite's runs of the events' index (`runs.py`), and by the read log's
    commits (each read's entry); `change_lock` is held for the whole of a change, by one change at
    a time in this process. An ingest holds `change_lock` while it checks and scores its batch
    outside any transaction, and `write_lock` only to write what it made, so the read log waits for
    that write alone."""

    def __init__(self, engine: Engine, write_engine: Engine | None = None, audit_key: AuditKey | None = None):
        self.engine = engine
        self.write_engine = write_engine or engine
        self.audit_key = audit_key or key_for(engine.url.render_as_string(hide_password=False))
        self.reader: sessionmaker = make_sessions(engine, self.audit_key)
        self.sessions: sessionmaker = make_sessions(self.write_engine, self.audit_key)
        self.write_lock = threading.Lock()
        self.change_lock = threading.RLock()
        # held by whoever checkpoints in this process: SQLite runs one checkpoint at a time and
        # answers another that comes meanwhile with "busy" (a truncation would not truncate)
        self.checkpoint_lock = threading.Lock()
        self._checkpointer = (AskedWorker(self._checkpoint, "wal-checkpoints", failed="checkpoint not run")
                              if self.write_engine.dialect.name == "sqlite" else None)
        # SQLite's runs of the events' index: sealed and merged between changes (`runs.py`)
        self._merging = False
        self._behind = False  # more than twice `runs.MERGE_AT` runs sealed when last looked
        self._merger = (AskedWorker(self._merge_runs, "event-runs", failed="runs not merged")
                        if self.write_engine.dialect.name == "sqlite" else None)
        # The hot reads (record, entitlement) run on one kept Core connection: no ORM session, no
        # pool checkout and ping per read. A read that finds it in use takes one from the pool.
        self._kept: Connection | None = None
        self._kept_lock = threading.Lock()

    # --- writing ---------------------------------------------------------------------------
    def begin_write(self, session: Reader) -> None:
        """Serialise writers across processes too (the lock serialises this process's)."""
        audit.serialise_writers(session)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction, committed when the block ends, with no other writer meanwhile (and,
        in this process, no other change); then, on SQLite, the pages it wrote are checkpointed."""
        with self.change_lock:
            with self.write_lock, self.sessions.begin() as session:
                self.begin_write(session)
                yield session
            self.checkpoint()
        if self._merger is not None:
            self._merger.ask()
            if self._behind:  # the merges fell behind (or keep failing): this change takes a step itself
                try:
                    self.merge_runs(steps=1)
                except Exception as error:  # the change is committed: it is not failed for this
                    log.warning("event-runs: a change's merge step failed (%s)", error)

    def checkpoint(self) -> None:
        """On SQLite, have what the write-ahead log holds copied into the database file, as far as
        no reader still needs it (PASSIVE: waiting for no one), by a thread of its own.

        The writer's connections do not do it as they commit (`db.make_engine`): a commit that did
        would hold the write lock meanwhile, and the reads' audit entries would wait for the
        checkpoint of an ingest's thousands of pages. Each change asks for one after its commit,
        and the read log every so many commits; the thread runs one for all the asks made while
        the last ran, so an ingest's next batch is checked and scored meanwhile."""
        if self._checkpointer is not None:
            self._checkpointer.ask()

    def _checkpoint(self) -> None:
        with self.checkpoint_lock, self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")  # not the writer's: no BEGIN IMMEDIATE

    def merge_runs(self, steps: int | None = 1) -> bool:
        """Begin the next run of the events' index if the newest is full; then, while a merge is due
        or under way, move `steps` steps of it into the base (None: all), each in a write
        transaction of its own (`runs.py`). Whether the merge is still under way."""
        with self.engine.connect() as connection:
            full = runs.newest_full(connection)
            sealed = len(runs.sealed_runs(connection))
            self._merging = self._merging or sealed >= runs.MERGE_AT
            self._behind = sealed > 2 * runs.MERGE_AT
        if full is not None:
            with self.write_lock, self.write_engine.begin() as connection:
                runs.seal(connection)
                self._merging = self._merging or runs.merge_due(connection)
        done = 0
        while self._merging and (steps is None or done < steps):
            with self.write_lock, self.write_engine.begin() as connection:
                self._merging = runs.merge_step(connection)
            self.checkpoint()
            done += 1
        return self._merging

    def _merge_runs(self) -> None:
        """The merges' thread: a step at a time, asked again after a pause while a merge is under
        way, so that the changes meanwhile take the write lock between steps."""
        if self.merge_runs() and self._merger is not None:
            time.sleep(MERGE_PAUSE)
            self._merger.ask()

    def close(self) -> None:
        """Stop the checkpoints' and merges' threads and close the kept read connection (the service
        is closing)."""
        if self._merger is not None:
            self._merger.stop()
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._kept_lock:
            if self._kept is not None:
                with suppress(Exception):
                    self._kept.close()
                self._kept = None

    def events_if_new(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Insert events (dicts of `EVENT_ROW`), leaving an id stored already as it is (the first
        ingest stands)."""
        if rows:
            insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(Event.__table__).on_conflict_do_nothing(index_elements=["id"]), rows)

    # --- reading ---------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A Core connection for one read, its transaction ended after (so the next read sees every
        commit made since). The kept one when free; one that failed is dropped, not kept."""
        if not self._kept_lock.acquire(blocking=False):
            with self._read_connection() as connection:
                yield connection
            return
        try:
            connection = self._kept if self._kept is not None else self._read_connection()
            self._kept = None
            try:
                yield connection
                connection.rollback()
            except ServiceError:
                connection.rollback()
                self._kept = connection
                raise
            except BaseException:
                with suppress(Exception):
                    connection.close()
                raise
            self._kept = connection
        finally:
            self._kept_lock.release()

    def _read_connection(self) -> Connection:
        connection = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            # each statement sees what was committed before it began, in a transaction or not (READ
            # COMMITTED): none spares the BEGIN and the ROLLBACK, two of a one-query read's three
            # round trips (each a wait for the GIL after it, behind an ingest's Python)
            connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    def reading(self, work: Callable[[Connection], T]) -> T:
        """`work` on a read connection. The kept connection is not pinged before each read (a ping
        is a round trip): if the server dropped it meanwhile, the read runs once more on a new one."""
        try:
            with self._connection() as connection:
                return work(connection)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        with self._connection() as connection:
            return work(connection)

    # --- queries ---------------------------------------------------------------------------
    @staticmethod
    def ties(session: Reader, subjects: Sequence[str]) -> list[tuple[str, str]]:
        """The ties that name any of these subjects."""
        if len(subjects) == 1:
            return [(a, b) for a, b in session.execute(TIES_OF, {"subject": subjects[0]})]
        ties: list[tuple[str, str]] = []
        for start in range(0, len(subjects), CHUNK):
            ties += [(a, b) for a, b in session.execute(TIES_IN, {"subjects": list(subjects[start:start + CHUNK])})]
        return ties

    @staticmethod
    def active_events(session: Reader, subjects: Sequence[str], as_of: float) -> list[tuple[Any, ...]]:
        """(subject, kind, time, value, weight) of these subjects' active events up to `as_of`, each
        subject's in the order they were stored."""
        dialect = dialect_of(session)
        if len(subjects) == 1:
            return driver_rows(session, SCORED_EVENTS[dialect, True], (subjects[0], as_of))
        if dialect == "postgresql":
            return driver_rows(session, SCORED_EVENTS[dialect, False], (list(subjects), as_of))
        rows = []
        for start in range(0, len(subjects), CHUNK):
            chunk = subjects[start:start + CHUNK]
            rows += driver_rows(session, places(SCORED_EVENTS[dialect, False], len(chunk)), (*chunk, as_of))
        return rows

    @staticmethod
    def contestable_events(session: Reader, subject: str, kinds: Sequence[str], as_of: float) -> list[Any]:
        """The subject's active events of these kinds up to `as_of`, oldest first (`EVENT_COLUMNS`)."""
        asked = {"subject": subject, "kinds": list(kinds), "as_of": as_of}
        return list(session.execute(CONTESTABLE[dialect_of(session)], asked).all())

    @staticmethod
    def subject_exists(session: Reader, subject: str) -> bool:
        """Whether an event or a tie names the subject."""
        if session.execute(ANY_EVENT[dialect_of(session)], {"subject": subject}).first():
            return True
        return session.execute(ANY_TIE, {"subject": subject}).first() is not None

    @staticmethod
    def stored_ids(session: Reader, ids: Sequence[str]) -> dict[str, int | None]:
        """Which of these event ids are stored already, each with the audit entry that stored it
        (None: written by other hands than a server's)."""
        return dict(_found(session, STORED_IDS, ids))

    @staticmethod
    def named(session: Reader, subjects: Sequence[str]) -> set[str]:
        """Which of these subjects have a pseudonym already."""
        return {row[0] for row in _found(session, NAMED, subjects)}

    @staticmethod
    def all_subjects(session: Session) -> list[str]:
        """Every subject an event or a tie names, sorted."""
        return sorted(set(session.execute(select(Event.subject).distinct()).scalars())
                      | set(session.execute(select(Relation.a)).scalars())
                      | set(session.execute(select(Relation.b)).scalars()))
