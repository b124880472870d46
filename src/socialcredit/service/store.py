"""Storage access: the connections every room reads and writes through, and the queries they run.

`db.py` says what is stored (the tables); this module says how it is reached: one writer at a time
(`writing`), hot reads on one kept connection (`reading`), and the statements of the reads, built
once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from sqlalchemy import bindparam, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from .auditkey import AuditKey, key_for
from .db import Event, Relation, make_sessions
from .errors import ServiceError

T = TypeVar("T")
Reader = Session | Connection  # the ORM session of a plain read, or the Core connection of a hot one

# The statements of the reads, built once: building a SELECT costs several times what SQLite takes
# to run it, and a statement built once also keys SQLAlchemy's compiled cache at no cost.
_EVENT_INPUTS = (Event.subject, Event.kind, Event.time, Event.value, Event.weight)
EVENTS_OF = select(*_EVENT_INPUTS).where(Event.subject == bindparam("subject"), Event.status == "active",
                                         Event.time <= bindparam("as_of"))
EVENTS_IN = select(*_EVENT_INPUTS).where(Event.subject.in_(bindparam("subjects", expanding=True)),
                                         Event.status == "active", Event.time <= bindparam("as_of"))
TIES_OF = select(Relation.a, Relation.b).where(or_(Relation.a == bindparam("subject"),
                                                   Relation.b == bindparam("subject")))
TIES_IN = select(Relation.a, Relation.b).where(or_(Relation.a.in_(bindparam("subjects", expanding=True)),
                                                   Relation.b.in_(bindparam("subjects", expanding=True))))
ANY_EVENT = select(Event.id).where(Event.subject == bindparam("subject")).limit(1)
ANY_TIE = select(Relation.a).where(or_(Relation.a == bindparam("subject"), Relation.b == bindparam("subject"))).limit(1)
EVENT_COLUMNS = (Event.id, Event.kind, Event.time, Event.value, Event.weight, Event.source, Event.status)
CONTESTABLE = select(*EVENT_COLUMNS).where(
    Event.subject == bindparam("subject"), Event.status == "active", Event.kind.in_(bindparam("kinds", expanding=True)),
    Event.time <= bindparam("as_of")).order_by(Event.time)
CHUNK = 500  # subjects or ids a statement names at most: SQLite binds at most a few thousand parameters


class Store:
    """The database as the rooms use it: `reader` sessions for reads, `writing()` for a change (one
    writer at a time: the audit chain and idempotent ingest read, then write), `reading(work)` for
    the hot reads, on a kept connection."""

    def __init__(self, engine: Engine, write_engine: Engine | None = None, audit_key: AuditKey | None = None):
        self.engine = engine
        self.write_engine = write_engine or engine
        self.audit_key = audit_key or key_for(engine.url.render_as_string(hide_password=False))
        self.reader: sessionmaker = make_sessions(engine, self.audit_key)
        self.sessions: sessionmaker = make_sessions(self.write_engine, self.audit_key)
        self.write_lock = threading.Lock()
        # The hot reads (record, entitlement) run on one kept Core connection: no ORM session, no
        # pool checkout and ping per read. A read that finds it in use takes one from the pool.
        self._kept: Connection | None = None
        self._kept_lock = threading.Lock()

    # --- writing ---------------------------------------------------------------------------
    def begin_write(self, session: Reader) -> None:
        """Serialise writers across processes too (the lock serialises this process's)."""
        if self.engine.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(726173)"))

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction, committed when the block ends, with no other writer meanwhile."""
        with self.write_lock, self.sessions.begin() as session:
            self.begin_write(session)
            yield session

    def insert_events(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Insert events; an id already stored is left as it is (the first ingest stands)."""
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        # the table's (Core) insert: the ORM's bulk insert would go through every key of every row again
        session.execute(insert(Event.__table__).on_conflict_do_nothing(index_elements=["id"]), rows)

    # --- reading ---------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A Core connection for one read, its transaction ended after (so the next read sees every
        commit made since). The kept one when free; one that failed is dropped, not kept."""
        if not self._kept_lock.acquire(blocking=False):
            with self.engine.connect() as connection:
                yield connection
            return
        try:
            connection = self._kept if self._kept is not None else self.engine.connect()
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
    def active_events(session: Reader, subjects: Sequence[str], as_of: float) -> list[Any]:
        """(subject, kind, time, value, weight) of these subjects' active events up to `as_of`."""
        if len(subjects) == 1:
            return list(session.execute(EVENTS_OF, {"subject": subjects[0], "as_of": as_of}).all())
        rows: list[Any] = []
        for start in range(0, len(subjects), CHUNK):
            rows += session.execute(EVENTS_IN, {"subjects": list(subjects[start:start + CHUNK]), "as_of": as_of}).all()
        return rows

    @staticmethod
    def contestable_events(session: Reader, subject: str, kinds: Sequence[str], as_of: float) -> list[Any]:
        """The subject's active events of these kinds up to `as_of`, oldest first (`EVENT_COLUMNS`)."""
        return list(session.execute(CONTESTABLE, {"subject": subject, "kinds": list(kinds), "as_of": as_of}).all())

    @staticmethod
    def subject_exists(session: Reader, subject: str) -> bool:
        """Whether an event or a tie names the subject."""
        if session.execute(ANY_EVENT, {"subject": subject}).first():
            return True
        return session.execute(ANY_TIE, {"subject": subject}).first() is not None

    @staticmethod
    def stored_ids(session: Session, ids: Sequence[str]) -> set[str]:
        """Which of these event ids are stored already."""
        found: set[str] = set()
        for start in range(0, len(ids), CHUNK):
            found |= set(session.execute(select(Event.id).where(Event.id.in_(ids[start:start + CHUNK]))).scalars())
        return found

    @staticmethod
    def all_subjects(session: Session) -> list[str]:
        """Every subject an event or a tie names, sorted."""
        return sorted(set(session.execute(select(Event.subject).distinct()).scalars())
                      | set(session.execute(select(Relation.a)).scalars())
                      | set(session.execute(select(Relation.b)).scalars()))
