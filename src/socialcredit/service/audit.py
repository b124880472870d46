"""The audit log: every read of a subject's record and every change, hash-chained.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields in a
canonical JSON form, so editing, deleting or reordering any entry breaks the chain from there on,
and `socialcredit audit verify` says where."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .db import AuditEntry, utcnow

GENESIS = "0" * 64


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str | None,
               detail: dict[str, Any]) -> str:
    body = json.dumps({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                       "detail": detail}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


LAST = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)


def _last(session: Session | Connection) -> tuple[int, str]:
    # Entries appended earlier in this session's transaction. (A Connection's info outlives its
    # transactions, so on a Connection the last entry is always read: another writer may have
    # appended since.)
    pending = session.info.get("audit_last") if isinstance(session, Session) else None
    if pending is None:
        last = session.execute(LAST).first()
        pending = (last[0], last[1]) if last else (0, GENESIS)
    return pending


Entries = Sequence[tuple[str, str, str | None, dict[str, Any]]]  # (actor, action, subject, detail)


def _chain(entries: Entries, seq: int, prev: str) -> list[dict[str, Any]]:
    """The rows of these entries after entry `seq` whose hash is `prev`, chained in order."""
    rows = []
    for actor, action, subject, detail in entries:
        seq += 1
        at = utcnow().isoformat()
        digest = entry_hash(prev, seq, at, actor, action, subject, detail)
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "detail": detail,
                     "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def append_many(session: Session | Connection, entries: Entries) -> None:
    """Append (actor, action, subject, detail) entries in one statement, chained in order, in the
    caller's transaction (a Session's, or a Connection's: one without the ORM, for the read log)."""
    rows = _chain(entries, *_last(session))
    if rows:
        session.execute(AuditEntry.__table__.insert(), rows)
        if isinstance(session, Session):
            session.info["audit_last"] = (rows[-1]["seq"], rows[-1]["hash"])


_COLUMNS = ("seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash")
_SQLITE_LAST = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
_SQLITE_INSERT = f"INSERT INTO audit ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


def commit_many_sqlite(connection: Any, entries: Entries) -> None:
    """`append_many` in a transaction of its own on a bare sqlite3 connection: BEGIN IMMEDIATE
    (the write lock first, so no other process appends between the read of the last entry and
    the insert), read the last entry, insert, COMMIT. The same rows as `append_many` writes (the
    detail as the JSON text SQLAlchemy's JSON type stores), without SQLAlchemy's work per
    statement: for the read log, whose transactions are many and small."""
    cursor = connection.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
        last = cursor.execute(_SQLITE_LAST).fetchone()
        rows = _chain(entries, *(last or (0, GENESIS)))
        cursor.executemany(_SQLITE_INSERT, [tuple(json.dumps(row[c]) if c == "detail" else row[c] for c in _COLUMNS)
                                            for row in rows])
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        cursor.close()


def append(session: Session, actor: str, action: str, subject: str | None = None,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append an entry in the caller's transaction (it commits with the change it records)."""
    detail = detail or {}
    seq, prev = _last(session)
    seq += 1
    at = utcnow().isoformat()
    entry = AuditEntry(seq=seq, at=at, actor=actor, action=action, subject=subject, detail=detail, prev_hash=prev,
                       hash=entry_hash(prev, seq, at, actor, action, subject, detail))
    session.add(entry)
    session.flush()
    session.info["audit_last"] = (seq, entry.hash)
    return entry


def entries(session: Session, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """The entries after entry `after`, at most `limit` of them, in order."""
    rows = session.execute(select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
                           .limit(limit)).scalars().all()
    return [{"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "subject": r.subject,
             "detail": r.detail, "hash": r.hash} for r in rows]


@dataclass
class Verdict:
    entries: int
    problems: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(session: Session) -> Verdict:
    """Walk the chain; report every entry whose hash, link or sequence number is wrong."""
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0
    for entry in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        count += 1
        if entry.seq != expected_seq:
            problems.append(f"entry {entry.seq}: expected entry {expected_seq} here (entries deleted or reordered)")
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.seq}: does not follow the entry before it (deleted, inserted or "
                            f"reordered entries)")
        if entry.hash != entry_hash(entry.prev_hash, entry.seq, entry.at, entry.actor, entry.action, entry.subject,
                                    entry.detail):
            problems.append(f"entry {entry.seq}: its content does not match its hash (edited)")
        prev, expected_seq = entry.hash, entry.seq + 1
    return Verdict(count, problems)
