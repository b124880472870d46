"""The audit log: every read of a subject's record and every change, hash-chained, sealed, and
anchored outside the database by signed checkpoints (`checkpoints.py`).

- Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields in a
  canonical JSON form, so editing, deleting or reordering an entry breaks the chain from there on.
- Each entry is sealed as it is written: an HMAC of its hash under the server's audit key
  (`auditkey.py`), which is not in the database. Rewriting entries and recomputing their hashes,
  or appending an entry, leaves entries without a valid seal.
- An entry holds no personal data: a subject is named by a pseudonym (`Subject`, drawn at random
  and deleted with the subject's data), and the rows a change wrote are held as digests
  (`coverage.py`), so erasing a subject's rows leaves every entry as it was.
- What only a copy kept elsewhere can show (the log cut back to an earlier entry, emptied, or
  replaced by an older copy) the signed checkpoints show: `verify` checks the log against them.

`socialcredit audit verify` walks all of it and says what is wrong where.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import coverage, merkle
from .auditkey import AuditKey, key_for
from .db import AuditEntry, Subject, utcnow

GENESIS = "0" * 64


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str | None,
               detail: dict[str, Any]) -> str:
    body = json.dumps({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                       "detail": detail}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


LAST = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)


def key_of(session: Session | Connection) -> AuditKey:
    """The audit key a session appends with: the one its sessionmaker was given (`Store`), else the
    one beside its database (`auditkey.key_for`)."""
    key = session.info.get("audit_key")
    if key is None:
        bind = session.get_bind() if isinstance(session, Session) else session
        key = key_for(bind.engine.url.render_as_string(hide_password=False))
    return key


WRITERS_LOCK = 726173  # PostgreSQL advisory lock held by whoever appends to the log, whichever process


def serialise_writers(session: Session | Connection) -> None:
    """On PostgreSQL, wait for any other process's appender to commit (SQLite's write lock does this
    there): two that read the same last entry would both append the next number. Held to the end of
    the transaction; taking it again in it costs nothing."""
    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK})"))


def _last(session: Session | Connection) -> tuple[int, str]:
    # Entries appended earlier in this session's transaction. (A Connection's info outlives its
    # transactions, so on a Connection the last entry is always read: another writer may have
    # appended since.)
    pending = session.info.get("audit_last") if isinstance(session, Session) else None
    if pending is None:
        serialise_writers(session)  # a writer that did not take the lock (an admin command) takes it here
        last = session.execute(LAST).first()
        pending = (last[0], last[1]) if last else (0, GENESIS)
    return pending


def next_seq(session: Session) -> int:
    """The number the next entry appended in this session will have (for a `coverage.Cover`)."""
    return _last(session)[0] + 1


# The actions of the entries that record a read: the only entries that record no change
READS = ("read_record", "entitlement_check", "read_events", "read_history", "export")


def last_seq(session: Session | Connection) -> int:
    """The number of the log's last committed entry (0 for none)."""
    return int(session.execute(select(func.max(AuditEntry.seq))).scalar() or 0)


def changed_since(session: Session | Connection, seq: int) -> bool:
    """Whether a change was committed after entry `seq`: every change (an ingest, a decision, an
    erasure, a purge, whoever makes it) appends its entry in the transaction that makes it, so a
    change is an entry after `seq` that records no read."""
    return session.execute(select(AuditEntry.seq).where(AuditEntry.seq > seq, AuditEntry.action.not_in(READS))
                           .limit(1)).first() is not None


# --- pseudonyms --------------------------------------------------------------------------------

def pseudonyms(session: Session | Connection, subjects: Iterable[str | None]) -> dict[str, str]:
    """The pseudonym of each subject, drawn for those who have none yet."""
    wanted = sorted({s for s in subjects if s is not None})
    if not wanted:
        return {}
    found = dict(session.execute(select(Subject.id, Subject.pseudonym).where(Subject.id.in_(wanted))).all())
    missing = [s for s in wanted if s not in found]
    if missing:
        dialect = (session.get_bind() if isinstance(session, Session) else session).dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(Subject).on_conflict_do_nothing(index_elements=["id"]),
                        [{"id": s, "pseudonym": secrets.token_hex(16)} for s in missing])
        found |= dict(session.execute(select(Subject.id, Subject.pseudonym).where(Subject.id.in_(missing))).all())
    return found


def name(session: Session | Connection, subjects: Sequence[str]) -> None:
    """Draw pseudonyms for these subjects (a change that stores a subject names them, so that a
    read, whose entry names the subject by pseudonym, need not wait for the write lock to draw
    one: `readlog.py`); one who has one keeps it."""
    if subjects:  # a Core statement on the connection: the ORM's bulk insert costs ten times more a row
        connection = session.connection() if isinstance(session, Session) else session
        insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        connection.execute(insert(Subject.__table__).on_conflict_do_nothing(index_elements=["id"]),
                           [{"id": s, "pseudonym": secrets.token_hex(16)} for s in subjects])


def pseudonym_of(session: Session | Connection, subject: str) -> str | None:
    """The subject's pseudonym, if they have one (without drawing one)."""
    return session.execute(select(Subject.pseudonym).where(Subject.id == subject)).scalar()


# --- appending ---------------------------------------------------------------------------------

Entries = Sequence[tuple[str, str, str | None, dict[str, Any]]]  # (actor, action, subject, detail)


def chain(entries: Entries, seq: int, prev: str, names: dict[str, str], key: AuditKey) -> list[dict[str, Any]]:
    """The rows of these entries after entry `seq` whose hash is `prev`, chained in order and
    sealed, each subject given by its pseudonym (`names`)."""
    rows = []
    for actor, action, subject, detail in entries:
        seq += 1
        at = utcnow().isoformat()
        named = names[subject] if subject is not None else None
        digest = entry_hash(prev, seq, at, actor, action, named, detail)
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "subject": named, "detail": detail,
                     "prev_hash": prev, "hash": digest, "seal": key.seal(digest)})
        prev = digest
    return rows


def append_many(session: Session | Connection, entries: Entries, key: AuditKey | None = None) -> None:
    """Append (actor, action, subject, detail) entries in one statement, chained in order, in the
    caller's transaction (a Session's, or a Connection's: one without the ORM, for the read log)."""
    key = key or key_of(session)
    names = pseudonyms(session, (subject for _, _, subject, _ in entries))
    rows = chain(entries, *_last(session), names, key)
    if rows:
        session.execute(AuditEntry.__table__.insert(), rows)
        if isinstance(session, Session):
            session.info["audit_last"] = (rows[-1]["seq"], rows[-1]["hash"])


_COLUMNS = ("seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash", "seal")
_SQLITE_LAST = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
_SQLITE_INSERT = f"INSERT INTO audit ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


def commit_many_sqlite(connection: Any, entries: Entries, key: AuditKey) -> None:
    """`append_many` in a transaction of its own on a bare sqlite3 connection: BEGIN IMMEDIATE
    (the write lock first, so no other process appends between the read of the last entry and
    the insert), read the last entry and the subjects' pseudonyms, insert, COMMIT. The same rows as
    `append_many` writes (the detail as the JSON text SQLAlchemy's JSON type stores), without
    SQLAlchemy's work per statement: for the read log, whose transactions are many and small."""
    cursor = connection.cursor()
    try:
        cursor.execute("BEGIN IMMEDIATE")
        last = cursor.execute(_SQLITE_LAST).fetchone()
        names: dict[str, str] = {}
        for subject in {s for _, _, s, _ in entries if s is not None}:
            found = cursor.execute("SELECT pseudonym FROM subjects WHERE id = ?", (subject,)).fetchone()
            if found is None:
                found = (secrets.token_hex(16),)
                cursor.execute("INSERT INTO subjects (id, pseudonym) VALUES (?, ?)", (subject, found[0]))
            names[subject] = found[0]
        seq, prev = last or (0, GENESIS)
        rows = chain(entries, seq, prev, names, key)
        cursor.executemany(_SQLITE_INSERT, [tuple(json.dumps(row[c]) if c == "detail" else row[c] for c in _COLUMNS)
                                            for row in rows])
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        cursor.close()


def append(session: Session, actor: str, action: str, subject: str | None = None,
           detail: dict[str, Any] | None = None, cover: coverage.Cover | None = None) -> AuditEntry:
    """Append an entry in the caller's transaction (it commits with the change it records). With a
    `cover`, the entry also holds the digests of the rows the change wrote (and it must be the
    entry the cover was made for)."""
    detail = dict(detail or {})
    seq, prev = _last(session)
    seq += 1
    if cover is not None:
        if cover.seq != seq:
            raise RuntimeError(f"audit: rows covered for entry {cover.seq}, appended as entry {seq}")
        detail["rows"] = cover.rows()
    at = utcnow().isoformat()
    named = pseudonyms(session, [subject]).get(subject) if subject is not None else None
    digest = entry_hash(prev, seq, at, actor, action, named, detail)
    entry = AuditEntry(seq=seq, at=at, actor=actor, action=action, subject=named, detail=detail, prev_hash=prev,
                       hash=digest, seal=key_of(session).seal(digest))
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


# --- verifying ---------------------------------------------------------------------------------

class StagedCheck:
    """What `verify` checks of the staged entries as it walks the log: the moved entries'
    numbers run on with no gap, and the staged chain recomputed from them leads to the staged
    entries still waiting, which follow each other and are sealed; and each staged read a signed
    checkpoint anchored (`anchors`: the checkpoint's staged head, number and hash) is still there,
    moved or waiting, as it was signed."""

    def __init__(self, rows: Sequence[Sequence[Any]], anchors: Sequence[tuple[int, str, str]] = ()):
        self.rows = list(rows)
        self.anchors = sorted(anchors)  # (number, hash, the checkpoint's origin)
        self.moved = 0
        self.head = GENESIS  # the staged chain's hash after the moved entries
        self.hashes: dict[int, str] = {}  # of moved entries still staged (kept), by number
        self.anchored: dict[int, str] = {}  # of moved entries a checkpoint anchored, by number
        self.problems: list[str] = []
        self.first = self.rows[0][0] if self.rows else None
        self.wanted = {number for number, _, _ in self.anchors}

    def moved_entry(self, seq: int, at: str, actor: str, action: str, subject: str | None,
                    detail: dict[str, Any]) -> None:
        """An entry of the log; a moved read's entry has its staged number in `detail["read"]`."""
        number = (detail or {}).get("read")
        if action not in READS or not isinstance(number, int):
            return
        if number != self.moved + 1:
            self.problems.append(f"entry {seq}: moved staged read {number} where {self.moved + 1} was due (staged "
                                 "reads lost, repeated or reordered)")
        own = {k: v for k, v in detail.items() if k != "read"}
        self.head = entry_hash(self.head, number, at, actor, action, subject, own)
        self.moved = number
        if self.first is not None and number >= self.first:
            self.hashes[number] = self.head
        if number in self.wanted:
            self.anchored[number] = self.head

    def finish(self, sealer: Any) -> list[str]:
        prev = None
        for seq, at, actor, action, subject, detail, prev_hash, digest, seal in self.rows:
            where = f"staged read {seq}"
            if digest != entry_hash(prev_hash, seq, at, actor, action, subject, detail):
                self.problems.append(f"{where}: its content does not match its hash (edited)")
            if sealer is not None and not sealer.seal_holds(digest, seal):
                self.problems.append(f"{where}: not sealed by the server's audit key (forged, or rewritten)")
            if seq <= self.moved:
                if self.hashes.get(seq) != digest:
                    self.problems.append(f"{where}: not what the audit log's moved copy records (edited)")
            elif prev is None or prev[0] <= self.moved:  # the first waiting (moved ones kept before it)
                if seq != self.moved + 1 or prev_hash != self.head:
                    self.problems.append(f"{where}: does not follow staged read {self.moved}, the last the log "
                                         "holds (reads deleted from the log, or from the read log before they "
                                         "were moved)")
            elif seq != prev[0] + 1 or prev_hash != prev[1]:
                self.problems.append(f"{where}: does not follow staged read {prev[0]} (deleted or reordered)")
            prev = (seq, digest)
        self._check_anchors()
        return self.problems

    def _check_anchors(self) -> None:
        """Each anchored read is in the log (moved) or staged, with the hash the checkpoint signed;
        those anchored and in neither are named, by the latest checkpoint that anchored them."""
        staged = {row[0]: row[7] for row in self.rows}
        gone_to, gone_by = 0, ""
        for number, digest, origin in self.anchors:
            found = self.anchored.get(number) if number <= self.moved else staged.get(number)
            if found is None and number > self.moved:
                gone_to, gone_by = number, origin
            elif found != digest:
                self.problems.append(f"staged read {number}: not the read {origin} anchored (the read log or the "
                                     "reads moved from it rewritten)")
        if gone_to:
            missing = [n for n in range(self.moved + 1, gone_to + 1) if n not in staged]
            self.problems.append(f"staged read{'s' if len(missing) > 1 else ''} {_ranges(missing)} anchored by "
                                 f"{gone_by} {'are' if len(missing) > 1 else 'is'} gone (deleted from the read log "
                                 "before they were moved into the audit log)")

    def unanchored(self) -> str | None:
        """How far the staged tail is unanchored: the reads waiting after the last one a checkpoint
        anchored, which a deletion could take unnoticed until the next checkpoint anchors them."""
        last = self.anchors[-1][0] if self.anchors else 0
        waiting = [row[0] for row in self.rows if row[0] > max(last, self.moved)]
        if not waiting:
            return None
        since = f"after read {last}, the last a signed checkpoint anchors" if last else "and no checkpoint anchors any"
        return (f"{len(waiting)} staged read(s) waiting {since}: not anchored until the next checkpoint (deleted "
                "before then, they would go unnoticed)")



@dataclass
class Verdict:
    entries: int
    problems: list[str]
    checked: list[str] = field(default_factory=list)  # what was verified, for the report

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(session: Session | Connection, key: AuditKey | None = None, checkpoints: Sequence[Any] = (),
           check_seals: bool = True, staged: Sequence[Sequence[Any]] = ()) -> Verdict:
    """Walk the log and every covered row; report every entry whose hash, link, number or seal is
    wrong, every row that is not what its entry recorded, and every checkpoint the log no longer
    holds (`checkpoints`: `checkpoints.Checkpoint`s, signed by the server's key: those whose
    signature fails are reported, not used).

    Seals are checked with `key` when it can seal (a private key: the server's, the operator's);
    with only a public key, or `check_seals=False`, they are not. `staged`: the read log's entries
    not moved into the log yet (`readlog.staged_rows`), checked against the reads moved (`StagedCheck`)."""
    if key is None and check_seals:  # the key the session seals with; never one made here
        key = session.info.get("audit_key")
    sealer = key if check_seals and key is not None and key.can_sign else None
    problems: list[str] = []
    rows = coverage.check_rows(session)
    problems += rows.problems

    anchors: dict[int, list[Any]] = {}  # checkpoints.Checkpoint (that module builds on this one) by size
    for checkpoint in checkpoints:
        if key is not None and not checkpoint.signed_by(key):
            problems.append(f"{checkpoint.origin}: its signature does not hold under the audit key "
                            f"{key.fingerprint} (not the server's, or edited)")
            continue
        anchors.setdefault(checkpoint.size, []).append(checkpoint)

    frontier = merkle.Frontier()
    held: list[Any] = []  # checkpoints the log still holds, for naming where a rewrite begins
    prev, expected_seq, count = GENESIS, 1, 0
    unsealed: list[int] = []
    reads = StagedCheck(staged, [(c.reads[0], c.reads[1], c.origin) for signed in anchors.values() for c in signed
                                 if c.reads is not None])
    for checkpoint in anchors.get(0, []):
        held.append(checkpoint)
    query = select(AuditEntry.__table__).order_by(AuditEntry.seq)  # rows, on a Session or a Connection
    for entry in session.execute(query.execution_options(yield_per=5000)):
        count += 1
        if entry.seq != expected_seq:
            problems.append(f"entry {entry.seq}: expected entry {expected_seq} here (entries deleted or reordered)")
        if entry.prev_hash != prev:
            problems.append(f"entry {entry.seq}: does not follow the entry before it (deleted, inserted or "
                            f"reordered entries)")
        if entry.hash != entry_hash(entry.prev_hash, entry.seq, entry.at, entry.actor, entry.action, entry.subject,
                                    entry.detail):
            problems.append(f"entry {entry.seq}: its content does not match its hash (edited)")
        if sealer is not None and not sealer.seal_holds(entry.hash, entry.seal):
            unsealed.append(entry.seq)
        reads.moved_entry(entry.seq, entry.at, entry.actor, entry.action, entry.subject, entry.detail)
        for part, recorded in ((entry.detail or {}).get("rows") or {}).items():
            found = rows.found.pop((entry.seq, part), None)
            problem = coverage.describe(entry.seq, entry.action, part, recorded, found)
            if problem:
                problems.append(problem)
        frontier.add(bytes.fromhex(entry.hash) if _is_hash(entry.hash) else entry.hash.encode())
        for checkpoint in anchors.get(frontier.size, []):
            if checkpoint.root == frontier.root().hex() and checkpoint.head == entry.hash:
                held.append(checkpoint)
            else:
                since = max((c.size for c in held), default=0)
                problems.append(f"entries {since + 1}..{checkpoint.size}: the log's first {checkpoint.size} entries "
                                f"are not those {checkpoint.origin} signed (rewritten, their hashes recomputed)")
        prev, expected_seq = entry.hash, entry.seq + 1
    if unsealed and sealer is not None:
        problems.append(f"entr{'y' if len(unsealed) == 1 else 'ies'} {_ranges(unsealed)}: not sealed by the server's "
                        f"audit key {sealer.fingerprint} (written into the database by other hands: forged, or "
                        "rewritten with their hashes recomputed)")
    for (seq, part), found in sorted(rows.found.items()):
        noun = coverage.PARTS[part].noun if part in coverage.PARTS else "tombstone"
        problems.append(f"{found.count} {noun}(s) claim entry {seq}, which records none (inserted, or the entry "
                        "deleted)")
    for size in sorted(s for s in anchors if s > count):
        for checkpoint in anchors[size]:
            problems.append(f"entries {count + 1}..{size}: {checkpoint.origin} signed a log of {size} entries, the "
                            f"log has {count} ({'every entry deleted' if count == 0 else 'its tail deleted'})")
    problems += reads.finish(sealer)
    checked = [f"{count} entries chained" + (", each sealed by the server's key" if sealer is not None else
                                             " (seals not checked: no private audit key)")]
    if reads.moved or staged:
        checked.append(f"{reads.moved} reads moved from the read log in order, {len(staged) - len(reads.hashes)} "
                       "waiting there, chained on from them")
    if reads.anchors:
        checked.append(f"every staged read up to read {reads.anchors[-1][0]} there, as signed checkpoints anchored it")
    tail = reads.unanchored()
    if tail is not None:
        checked.append(tail)
    if checkpoints:
        checked.append(f"consistent with {len(held)} of {len(checkpoints)} signed checkpoint(s)")
    return Verdict(count, problems, checked)


def _is_hash(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _ranges(numbers: Sequence[int]) -> str:
    """1, 2, 3, 7 -> '1..3, 7'."""
    spans: list[str] = []
    start = last = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == last + 1:
            last = n
            continue
        spans.append(str(start) if start == last else f"{start}..{last}")
        if n is not None:
            start = last = n
    return ", ".join(spans[:20]) + (", ..." if len(spans) > 20 else "")
