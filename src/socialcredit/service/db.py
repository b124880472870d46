"""Storage: SQLAlchemy 2 tables, a SQLite file by default (WAL, synchronous=FULL) or PostgreSQL.

Events are append-only: an event is never edited, only voided (status) by an upheld appeal or
deleted by the retention purge. Scores are recomputed from events, never edited.
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


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # idempotent ingest: one row per id
    subject: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(100))
    time: Mapped[float] = mapped_column(Float, index=True)     # days since 1970-01-01
    value: Mapped[float] = mapped_column(Float, default=1.0)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | voided
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ingested_by: Mapped[str] = mapped_column(String(100))


class Relation(Base):
    __tablename__ = "relations"
    a: Mapped[str] = mapped_column(String(200), primary_key=True)  # a < b: one row per undirected tie
    b: Mapped[str] = mapped_column(String(200), primary_key=True)
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


class Appeal(Base):
    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    event_ids: Mapped[list] = mapped_column(JSON)
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending|voided|upheld
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    filed_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ScoreRecord(Base):
    """A subject's score each time it was recomputed (the history; the latest is the current one)."""

    __tablename__ = "score_history"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    as_of: Mapped[float] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)  # none while the subject is unscored
    tier: Mapped[str] = mapped_column(String(100))
    lists: Mapped[dict] = mapped_column(JSON)
    scheme_version: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    detail: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def make_engine(url: str = DEFAULT_URL, writer: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL and synchronous=FULL, so a commit is on disk.

    A `writer` engine on SQLite opens every transaction with BEGIN IMMEDIATE: it takes the write
    lock before reading, so writers in several server processes queue up instead of reading the
    same last audit entry and forking the chain."""
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
            cursor.close()
            if writer:
                connection.isolation_level = None  # SQLAlchemy's begin event below starts transactions

        if writer:
            @event.listens_for(engine, "begin")
            def _begin_immediate(connection) -> None:  # type: ignore[no-untyped-def]
                connection.exec_driver_sql("BEGIN IMMEDIATE")
    return engine


def make_sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False, future=True)
