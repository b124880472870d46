"""Storage: SQLAlchemy 2 tables, a SQLite file by default (WAL, synchronous=FULL) or PostgreSQL.

Events are append-only: an event is never edited, only voided (status) by a granted appeal or
deleted by the retention purge or an erasure. Scores are recomputed from events, never edited.

Every row that holds personal data and is written by a change (an event, a score in the history, a
tie, an appeal's filing and its decision) is covered by the audit entry of that change: the row
keeps the entry's number (`entry`), its place among the rows the entry covers (`pos`), a random
`salt` and its `digest` (SHA-256 over the salt and the row's content, `coverage.py`); the entry
holds a digest of its rows' digests. A row deleted by retention or erasure leaves its digest in
`erased` (a tombstone: with the salt gone, nothing about the row can be learnt from it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

DEFAULT_URL = "sqlite:///socialcredit.db"


def utcnow() -> datetime:
    return datetime.now(UTC)


def on_day(days: float) -> datetime:
    """The instant `days` days after 1970-01-01 (the service's clock) in UTC: when a row that
    retention ages out (a tie, an appeal) was written, by the clock retention reads."""
    return datetime.fromtimestamp(days * 86_400.0, UTC)


class Base(DeclarativeBase):
    pass


class Digest(LargeBinary):
    """Bytes as both drivers take them (sqlite3 and psycopg bind `bytes` as a BLOB or bytea): no
    wrapping per value, which costs as much as the rest of a row's parameters at ingest."""

    cache_ok = True

    def bind_processor(self, dialect):  # type: ignore[no-untyped-def]
        return None


class Event(Base):
    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # idempotent ingest: one row per id
    subject: Mapped[str] = mapped_column(String(200))  # indexed by `events_by_subject` (SQLite: `runs.py`)
    kind: Mapped[str] = mapped_column(String(100))
    time: Mapped[float] = mapped_column(Float)     # days since 1970-01-01
    value: Mapped[float] = mapped_column(Float, default=1.0)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | voided
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ingested_by: Mapped[str] = mapped_column(String(100))
    # the audit entry that recorded the row, and the row's digest (`coverage.py`)
    entry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pos: Mapped[int | None] = mapped_column(Integer, nullable=True)
    salt: Mapped[bytes | None] = mapped_column(Digest(16), nullable=True)
    digest: Mapped[bytes | None] = mapped_column(Digest(32), nullable=True)
    # what scoring reads of a subject's events, in the order they were stored: one range of one index
    # (migration 0005; on PostgreSQL the columns after `pos` are included, not keys). On SQLite the
    # index is dropped and `event_runs` does its work, in runs (migration 0011, `runs.py`).
    __table_args__ = (Index("events_by_subject", "subject", "entry", "pos", "status", "time", "kind", "value",
                            "weight"),)


class Relation(Base):
    __tablename__ = "relations"
    a: Mapped[str] = mapped_column(String(200), primary_key=True)  # a < b: one row per undirected tie
    b: Mapped[str] = mapped_column(String(200), primary_key=True)
    added_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # for retention
    # the audit entry that recorded the row, and the row's digest (`coverage.py`)
    entry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pos: Mapped[int | None] = mapped_column(Integer, nullable=True)
    salt: Mapped[bytes | None] = mapped_column(Digest(16), nullable=True)
    digest: Mapped[bytes | None] = mapped_column(Digest(32), nullable=True)
    __table_args__ = (Index("relations_b", "b"),)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)      # public part, shown in the audit log
    secret_hash: Mapped[str] = mapped_column(String(64))               # sha256 of the whole key
    role: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # none: never
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # to the minute


class PortalSession(Base):
    """A portal sign-in: its cookie holds a random id, this row only the id's hash (the table alone signs
    no one in), the key it stands for (revoking the key ends it) and when it ends."""

    __tablename__ = "portal_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Appeal(Base):
    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    event_ids: Mapped[list] = mapped_column(JSON)
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending|voided|upheld
    # (stored words; the API says granted for voided and rejected for upheld: appeals.STATUS)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    filed_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # the filing and the decision are recorded by two entries, each covering its own fields (`coverage.py`)
    salt: Mapped[bytes | None] = mapped_column(Digest(16), nullable=True)
    filed_entry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    filed_digest: Mapped[bytes | None] = mapped_column(Digest(32), nullable=True)
    decided_entry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_digest: Mapped[bytes | None] = mapped_column(Digest(32), nullable=True)


class ScoreRecord(Base):
    """A subject's score each time it was recomputed (the history; the latest is the current one)."""

    __tablename__ = "score_history"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200))  # indexed by `ix_score_history_subject`, below
    as_of: Mapped[float] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)  # none while the subject is unscored
    tier: Mapped[str] = mapped_column(String(100))
    lists: Mapped[dict] = mapped_column(JSON)
    scheme_version: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the audit entry that recorded the row, and the row's digest (`coverage.py`)
    entry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pos: Mapped[int | None] = mapped_column(Integer, nullable=True)
    salt: Mapped[bytes | None] = mapped_column(Digest(16), nullable=True)
    digest: Mapped[bytes | None] = mapped_column(Digest(32), nullable=True)
    # the bucket of arrival the record was appended in (`buckets.py`; on PostgreSQL always 0)
    bucket: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # a subject's records: on SQLite one range in each bucket (migration 0010), on PostgreSQL an
    # index on `subject` alone
    __table_args__ = (Index("ix_score_history_subject", "bucket", "subject"),)


class InputListMember(Base):
    """A subject's place on one of the scheme's input lists (another body's list, supplied through
    `POST /v1/input-lists/{name}`), from the day they were listed to the day they were delisted
    (none: still listed). A delisting closes the row, never deletes it: listed and delisted are two
    parts of the row, each covered by the entry of the change that wrote it, as an appeal's filing
    and decision are (`coverage.py`)."""

    __tablename__ = "input_list_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    listed_on: Mapped[float] = mapped_column(Float)  # days since 1970-01-01, as events' times
    listed_source: Mapped[str] = mapped_column(String(200))  # the supplier's reference: a case, a decision
    listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    listed_by: Mapped[str] = mapped_column(String(100))
    delisted_on: Mapped[float | None] = mapped_column(Float, nullable=True)  # none: still on the list
    delisted_source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    delisted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delisted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    salt: Mapped[bytes | None] = mapped_column(Digest(16), nullable=True)
    listed_entry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listed_pos: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listed_digest: Mapped[bytes | None] = mapped_column(Digest(32), nullable=True)
    delisted_entry: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delisted_pos: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delisted_digest: Mapped[bytes | None] = mapped_column(Digest(32), nullable=True)
    __table_args__ = (Index("input_list_members_by_subject", "subject", "list"),)


class AuditEntry(Base):
    __tablename__ = "audit"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)  # a pseudonym (`Subject`)
    detail: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str | None] = mapped_column(String(64), nullable=True)  # HMAC of the hash under the server's key


class StagedRead(Base):
    """A read's entry, committed before the read is answered and moved into `audit` soon after
    (`readlog.py`): the staged chain. On PostgreSQL this table; on SQLite the same table in a file of
    its own beside the store's (`<database>.reads`), which no change's write lock holds."""

    __tablename__ = "read_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)  # a pseudonym
    detail: Mapped[str] = mapped_column(Text)  # JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Subject(Base):
    """A subject's pseudonym: the audit log names subjects only by it. Drawn at random, so once this
    row is deleted (erasure, or retention when nothing else about the subject is held) the log's
    entries about the subject can no longer be tied to them."""

    __tablename__ = "subjects"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(32), unique=True)


class Erased(Base):
    """The digest of a covered row deleted by retention or erasure, where its entry expects it; the
    entry that deleted it (`erased_by`) holds a digest of all the tombstones it left."""

    __tablename__ = "erased"
    entry: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[str] = mapped_column(String(20), primary_key=True)
    pos: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[bytes] = mapped_column(Digest(32))
    erased_by: Mapped[int] = mapped_column(Integer, index=True)


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def make_engine(url: str = DEFAULT_URL, writer: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL and synchronous=FULL, so a commit is on disk.

    A `writer` engine on SQLite opens every transaction with BEGIN IMMEDIATE: it takes the write
    lock before reading, so writers in several server processes queue up instead of reading the
    same last audit entry and forking the chain. Its commits do not checkpoint the write-ahead log
    (who uses it does, outside the write lock: `store.Store.checkpoint`)."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten: an erasure leaves no trace
            cursor.close()
            if writer:
                connection.isolation_level = None  # SQLAlchemy's begin event below starts transactions
                # no checkpoint inside a commit (under the write lock): `Store.checkpoint` does it after;
                # and the pages of the indexes an ingest writes at random places kept at hand (64 MiB)
                cursor = connection.cursor()
                cursor.execute("PRAGMA wal_autocheckpoint=0")
                cursor.execute("PRAGMA cache_size=-65536")
                cursor.close()

        if writer:
            @event.listens_for(engine, "begin")
            def _begin_immediate(connection) -> None:  # type: ignore[no-untyped-def]
                connection.exec_driver_sql("BEGIN IMMEDIATE")
    return engine


def make_sessions(engine: Engine, audit_key: object | None = None) -> sessionmaker:
    """Sessions on `engine`; those that append to the audit log seal its entries with `audit_key`
    (`auditkey.AuditKey`; without one, `audit` finds the key beside the database)."""
    return sessionmaker(engine, expire_on_commit=False, future=True,
                        info={"audit_key": audit_key} if audit_key is not None else None)
