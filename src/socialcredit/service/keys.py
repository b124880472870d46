"""API keys: a role, and for a subject key the one subject it may see. Shown once, stored hashed.
A key may be given an expiry when it is made, and may be revoked; either refuses it from its next
request on, in every server process (`KeyCheck`, asked by `auth.KeyRing` on every request). An
`Actor` is who a request comes from: the key's id and role."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..eventlog import text_problem
from .db import ApiKey, utcnow
from .errors import ServiceError
from .groupcommit import GroupCommit
from .store import Store

ROLES = ("admin", "operator", "reviewer", "auditor", "supplier", "subject")
# a supplier supplies the members of the scheme's input lists (another body's lists: a court's
# defaulters), and may do nothing else: it reads no one's record
READERS = ("admin", "operator", "reviewer", "auditor")  # the roles that read any subject's record
PREFIX = "sck"
DURATION = re.compile(r"([1-9][0-9]*)([mhd])")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
LONGEST = timedelta(days=36_500)  # a hundred years: an expiry past it is a typo, not a policy
LAST_USED_EVERY_S = 60.0  # a server process writes a key's last use at most this often


@dataclass
class Actor:
    key_id: str
    role: str
    subject: str | None = None  # for a subject key, the one subject it may see

    @property
    def name(self) -> str:
        """As the audit log names who acted."""
        return f"{self.role}:{self.key_id}"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def as_utc(moment: datetime) -> datetime:
    """A stored time in UTC (SQLite gives back the UTC time stored, without its zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def expiry_after(duration: str, now: datetime | None = None) -> datetime:
    """The time `duration` after now: a whole number of minutes, hours or days ('90m', '12h', '30d')."""
    match = DURATION.fullmatch(duration.strip())
    if match is None:
        raise ValueError(f"'{duration}' is not a duration: give a whole number and a unit, m (minutes), h (hours) "
                         "or d (days), e.g. 30d")
    try:
        length: timedelta | None = timedelta(**{UNITS[match[2]]: int(match[1])})
    except OverflowError:  # past what a timedelta holds: longer still
        length = None
    if length is None or length > LONGEST:
        raise ValueError(f"'{duration}' is longer than a hundred years; for a key that never expires, leave "
                         "--expires-in out")
    return (now or utcnow()) + length


def create_key(session: Session, role: str, subject: str | None = None, expires_at: datetime | None = None) -> str:
    """Create a key and return it: the only time its secret is seen."""
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}'; use one of: {', '.join(ROLES)}")
    if (role == "subject") != (subject is not None):
        raise ValueError("a subject key needs --subject ID, and only a subject key takes one")
    if subject is not None:  # checked as an event's subject is: the key's own page must be a URL path
        problem = "subject is empty; fix: give the subject's id" if not subject else \
            text_problem("subject", subject, in_a_path=True)
        if problem is not None:
            raise ValueError(problem)
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(24)}"
    session.add(ApiKey(id=key_id, secret_hash=_hash(key), role=role, subject=subject, expires_at=expires_at))
    return key


def key_id_of(key_or_id: str) -> str:
    """A key's id, given as the id `keys list` shows or as the whole key (sck_ID_SECRET)."""
    given = key_or_id.strip()
    return given.split("_", 2)[1] if looks_like_key(given) else given


def looks_like_key(key: str) -> bool:
    """Whether `key` has the form of one of ours (sck_ID_SECRET): one that has not is not looked up."""
    parts = key.split("_", 2)
    return len(parts) == 3 and parts[0] == PREFIX and all(parts)


def lookup(session: Session, key: str) -> ApiKey | None:
    """The key's row if the key is one of ours (its secret matches the stored hash), revoked or not."""
    if not looks_like_key(key):
        return None
    found = session.execute(select(ApiKey).where(ApiKey.id == key.split("_", 2)[1])).scalar_one_or_none()
    if found is None or not secrets.compare_digest(found.secret_hash, _hash(key)):
        return None
    return found


def refusal(key: ApiKey, now: datetime) -> str | None:
    """Why the key may no longer be used (revoked, or past its expiry), or None if it may."""
    if key.revoked_at is not None:
        return revoked()
    if key.expires_at is not None and as_utc(key.expires_at) <= now:
        return expired(as_utc(key.expires_at))
    return None


def revoked() -> str:
    return "authorization: this API key was revoked; ask an admin for a new one"


def expired(at: datetime) -> str:
    return f"authorization: this API key expired at {at:%Y-%m-%d %H:%M} UTC; ask an admin for a new one"


def listing(session: Session) -> list[dict[str, Any]]:
    """Every key, oldest first: what it may do and its dates (UTC); never its secret, nor its hash."""
    keys = session.execute(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).scalars()
    return [{"id": k.id, "role": k.role, "subject": k.subject, "created": as_utc(k.created_at),
             "last_used": k.last_used_at and as_utc(k.last_used_at), "expires": k.expires_at and as_utc(k.expires_at),
             "revoked": k.revoked_at and as_utc(k.revoked_at)} for k in keys]


def revoke(session: Session, key_id: str, now: datetime | None = None) -> tuple[ApiKey, bool]:
    """Revoke a key: (its row, whether this revoked it; False if it was revoked already). LookupError
    for no such key."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise LookupError(f"no key '{key_id}'; `socialcredit keys list` shows every key's id")
    if key.revoked_at is not None:
        return key, False
    key.revoked_at = now or utcnow()
    return key, True


@dataclass
class Question:
    """Does this key still stand? Asked of `KeyCheck`'s thread, which writes the answer in."""
    key_id: str
    stands: bool | None = None


class KeyCheck:
    """Whether a key still stands, asked of its row on every request, so that a revocation (or a
    deleted row) refuses the key from the next request on, whichever process made it: a read by
    primary key, through the driver, on a connection of its own outside the pool, each read a
    transaction of its own (it sees every commit made before it).

    On SQLite the read takes a few microseconds (a file, no network): the event loop asks it
    itself (`stands`). On PostgreSQL it is a round trip, which the event loop must not wait on: a
    thread of its own asks it, for all the requests waiting at the time in one statement, as the
    read log commits its entries (`GroupCommit`), so the busier the server, the less a check
    costs. Measured against a thread-pool call and an asynchronous connection, it costs the least
    CPU once requests overlap (benchmarks/RESULTS.md, "API keys")."""

    QUERIES = {"sqlite": "SELECT id, revoked_at IS NULL FROM api_keys WHERE id = ?",
               "postgresql": "SELECT id, revoked_at IS NULL FROM api_keys WHERE id = ANY(%s)"}

    def __init__(self, engine: Engine):
        self.engine = engine
        self.query = self.QUERIES[engine.dialect.name]
        self.local = engine.dialect.name == "sqlite"
        self.lock = threading.Lock()
        self.connection: Any = None
        self.asker = None if self.local else GroupCommit[Question](self._answer, name="key-check")

    def _connect(self) -> Any:
        pooled = self.engine.raw_connection()
        connection: Any = pooled.driver_connection
        pooled.detach()  # its own: set to autocommit, and never handed back to the pool
        if not self.local:
            connection.autocommit = True  # one round trip a read: no BEGIN, no ROLLBACK
        return connection

    def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with suppress(Exception):  # a connection that failed may fail to close: it is gone either way
                connection.close()

    def _standing(self, key_ids: list[str]) -> dict[str, bool]:
        """{key id: whether it stands} for those of `key_ids` that have a row (SQLite: one id). A
        connection that fails is replaced once; if the keys still cannot be checked, 503."""
        with self.lock:
            for attempt in (1, 2):
                try:
                    if self.connection is None:
                        self.connection = self._connect()
                    cursor = self.connection.cursor()
                    cursor.execute(self.query, (key_ids[0],) if self.local else (key_ids,))
                    rows = cursor.fetchall()  # to the end: on SQLite, the read ends with it
                    cursor.close()
                    return {key_id: bool(stands) for key_id, stands in rows}
                except Exception as error:
                    self._drop()
                    if attempt == 2:
                        raise ServiceError(503, f"authorization: the API key could not be checked ({error}); "
                                                "try again") from error
        raise AssertionError("unreachable")

    def _answer(self, questions: list[Question]) -> None:
        standing = self._standing(sorted({question.key_id for question in questions}))
        for question in questions:
            question.stands = standing.get(question.key_id)

    async def stands(self, key_id: str) -> bool | None:
        """True if the key stands, False if it was revoked, None if its row is gone."""
        if self.asker is None:
            return self._standing([key_id]).get(key_id)
        question = Question(key_id)
        error = await self.asker.wait_async(question)
        if error is not None:
            raise error if isinstance(error, ServiceError) else ServiceError(
                503, f"authorization: the API key could not be checked ({error}); try again")
        return question.stands

    def close(self) -> None:
        with self.lock:
            self._drop()


LAST_USED = (update(ApiKey).where(ApiKey.id == bindparam("key"),
                                  or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < bindparam("at")))
             .values(last_used_at=bindparam("at")))


class KeyUses(GroupCommit[tuple[str, datetime]]):
    """When each key was last used: written to its row by a thread of its own, at most once a minute
    a key for each server process, so `keys list` is right to the minute and no request waits on it
    (a write that fails is lost: the next use a minute later writes again)."""

    def __init__(self, store: Store, every_s: float = LAST_USED_EVERY_S):
        self.store = store
        self.every_s = every_s
        self.written: dict[str, float] = {}  # key id -> when this process last wrote its use (clock seconds)
        super().__init__(self._write, name="key-uses")

    def note(self, key_id: str, now_s: float) -> None:
        """The key was used now (seconds since the epoch)."""
        if now_s - self.written.get(key_id, float("-inf")) < self.every_s:
            return
        self.written[key_id] = now_s
        self.submit((key_id, datetime.fromtimestamp(now_s, UTC)))

    def _write(self, uses: list[tuple[str, datetime]]) -> None:
        # behind this process's other writers (on SQLite, rather than in SQLite's busy wait beside them)
        with self.store.write_lock, self.store.write_engine.begin() as connection:
            connection.execute(LAST_USED, [{"key": key_id, "at": at} for key_id, at in uses])
