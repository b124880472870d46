"""The read log: who read whose record. Every read is committed to the read log before it is
answered (a read that cannot be logged is refused, 503; the commit does not wait for the disk,
which a thread syncs moments later: see below and the README's "What a crash can lose"), and
moved into the audit chain soon after; a read never waits for a change's write transaction.

Why two steps: the audit log is one hash chain, appended under the one write lock an ingest holds
while it writes its batch; a read whose entry went straight into it waited for that (issue 18,
point 5: reads stalled for seconds during an ingest). So a read's entry is first committed where
no change writes (`Staged`): on SQLite a database file of its own beside the store
(`<database>.reads`, WAL), on PostgreSQL a table of its own (`read_log`) appended under an advisory
lock of its own. The staged
entries are a hash chain of their own (numbered from 1, sealed with the server's audit key, naming
the subject by pseudonym, as the audit log does). A mover (`ReadLog.move`, a thread, and on demand
before the audit log is shown, checkpointed or exported) appends them to the audit log under the
write lock, between changes, each once: the audit entry keeps the staged entry's number
(`detail["read"]`), and the store's `meta` row `reads_moved` (written in the same transaction)
says how far the moving got, so a crash between the move and the staged rows' deletion moves
nothing twice. The last moved staged entry is kept, so the staged chain goes on from it.

`audit.verify` walks both: the moved numbers run 1, 2, 3, ... with no gap, the staged chain
recomputed from the moved entries leads to the first staged entry still waiting, and that one and
the rest follow each other and are sealed. What only that cannot show (staged entries deleted before
they were moved, the last ones or all of them, the staged file itself: the chain then goes on from
the `meta` rows as if they had never been) the signed checkpoints show: each anchors the staged
chain's head (`Staged.head`: its last entry's number and hash; `checkpoints.py`), outside the
database, and `verify` finds every anchored entry, moved or staged, as it was signed. The staged
entries after the latest checkpoint are anchored by nothing until the next one: `verify` says how
many.

When a read is answered, its entry is committed where a crash of the server (kill -9) cannot
undo it: in the operating system's file cache (SQLite: synchronous=NORMAL) or the database server's
WAL buffers (PostgreSQL: synchronous_commit=off), not yet on disk. Then it is made durable off the
read's path: on SQLite by a thread of its own (`Staged.sync`: an fsync of the `.reads` file's WAL)
within `SYNC_AFTER` seconds of the commit and the sync's own time; on PostgreSQL by the server's WAL
writer, within 3 x wal_writer_delay (0.6 s by default). Why: a read that waited for its own
fsync waited behind the megabytes an ingest had just written to the same disk (issue 18, point 5:
the read log's commit was most of a read's p99 during an ingest). What it costs: a power loss or an
operating-system crash (or a crash of PostgreSQL) can lose the reads answered in the last moments
before it (not yet synced); a read moved into the audit log is durable there (the move's commit is
synchronous).
Should the staged file lose entries that were moved meanwhile (synced into the store, not yet in
the `.reads` file), the chain goes on from the store's `meta`, never from an older staged entry
(`Staged._chained`): no number is given twice.

An erasure moves the staged entries in its own write transaction, before its entry, holding the
staged chain's lock until it commits (`ReadLog.moved_first`): the reads answered before it come
before it in the log, those answered after come after. What a subject's export and "who read my record" show is
both too: the staged entries first, then the log's (a staged entry moved meanwhile is in the log).

Subjects are named by pseudonym: an ingest draws one for every subject it stores (so a read looks
its subject's pseudonym up, a read of the store); one drawn for a subject no change named (rows
written by other hands) waits for the write lock, once.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from . import audit
from .auditkey import in_memory
from .db import AuditEntry, Meta
from .errors import ServiceError
from .groupcommit import GroupCommit
from .store import Store
from .worker import AskedWorker

Entry = tuple[str, str, str, dict[str, Any]]  # actor, action, subject, detail
Row = tuple[int, str, str, str, str | None, dict[str, Any], str, str, str | None]  # a staged entry, as COLUMNS
COLUMNS = ("seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash", "seal")
MOVED, HEAD = "reads_moved", "reads_head"  # the `meta` rows: staged entries moved so far, and the last one's hash
STAGED_LOCK = 726174  # PostgreSQL advisory lock of the staged chain's appenders (the log's: audit.WRITERS_LOCK)
MOVE_AFTER = 0.2  # seconds a staged entry waits to be moved with those that come meanwhile
SYNC_AFTER = 0.02  # seconds a committed entry waits to be synced to disk with those that come meanwhile
log = logging.getLogger("socialcredit.audit")

SQLITE_TABLE = ("CREATE TABLE IF NOT EXISTS read_log (seq INTEGER PRIMARY KEY, at VARCHAR(40) NOT NULL, "
                "actor VARCHAR(100) NOT NULL, action VARCHAR(50) NOT NULL, subject VARCHAR(200), "
                "detail TEXT NOT NULL, prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL, seal VARCHAR(64))")


def staged_path(url: str) -> Path | None:
    """The staged reads' SQLite file beside the store's (`socialcredit.db.reads`); None on PostgreSQL."""
    if not url.startswith("sqlite"):
        return None
    if in_memory(url):  # a store in memory: its staged reads live as long as the process
        return Path(tempfile.mkdtemp(prefix="socialcredit-reads-")) / "reads"
    return Path(f"{url.removeprefix('sqlite:///')}.reads")


class Staged:
    """The staged entries, through the driver's own connections (sqlite3 or psycopg): `append`
    (the read log's thread), `rows` and `forget_before` (the mover, `verify`)."""

    def __init__(self, store: Store):
        self.store = store
        self.path = staged_path(store.write_engine.url.render_as_string(hide_password=False))
        self.mark = "?" if self.path is not None else "%s"
        if self.path is not None:
            self.open(self.path).close()  # the file and its table made now, before the first read

    @staticmethod
    def open(path: Path | str, synchronous: str = "FULL") -> sqlite3.Connection:
        """A connection to the staged file; its commits synced to disk before they return (FULL), or
        only handed to the operating system (NORMAL: the read log's writer, whose `sync` follows)."""
        connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.execute("PRAGMA secure_delete=ON")
        # every opener makes the table if it is not there: the file may have been deleted meanwhile
        # (a new one, empty, is made; `audit verify` names the anchored reads it lost)
        connection.execute(SQLITE_TABLE)
        return connection

    @contextmanager
    def connection(self, synchronous: str = "FULL") -> Iterator[Any]:
        """A connection to the staged entries (autocommit on SQLite, `synchronous` as `open`'s; a
        transaction on PostgreSQL), closed after."""
        if self.path is not None:
            connection = self.open(self.path, synchronous)
            try:
                yield connection
            finally:
                connection.close()
            return
        raw = self.store.write_engine.raw_connection()
        try:
            yield raw.driver_connection
            raw.driver_connection.rollback()  # type: ignore[union-attr]
        finally:
            raw.close()

    def rows(self, connection: Any, after: int = 0, pseudonym: str | None = None) -> list[Row]:
        """The staged entries after number `after` (of one subject's pseudonym, if given), in order."""
        return self.read(connection, self.mark, after, pseudonym)

    @staticmethod
    def read(connection: Any, mark: str, after: int = 0, pseudonym: str | None = None) -> list[Row]:
        where = f"seq > {mark}" + (f" AND subject = {mark}" if pseudonym is not None else "")
        cursor = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM read_log WHERE {where} ORDER BY seq",
                                    (after,) if pseudonym is None else (after, pseudonym))
        return [(*row[:5], json.loads(row[5]), *row[6:]) for row in cursor.fetchall()]

    def sync(self) -> None:
        """Make every staged entry committed so far durable (they are committed without waiting
        for the disk): on SQLite an fsync of the staged file's WAL; on PostgreSQL (whose WAL writer
        flushes asynchronous commits by itself, within 3 x wal_writer_delay) a synchronous commit."""
        if self.path is not None:
            try:
                descriptor = os.open(f"{self.path}-wal", os.O_RDONLY)
            except FileNotFoundError:  # no WAL (checkpointed and removed): what was committed is in the file
                try:
                    descriptor = os.open(self.path, os.O_RDONLY)
                except FileNotFoundError:  # deleted under the server: the next read makes a new one
                    return
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            return
        with self.connection() as connection:
            # a commit that writes waits for the WAL to be flushed up to it, so past every commit
            # before it (one that writes nothing waits for nothing): the last staged row rewritten
            # as it is, under the appenders' lock; none staged: those moved were deleted by a
            # synchronous commit since
            connection.execute(f"SELECT pg_advisory_xact_lock({STAGED_LOCK})")
            connection.execute("SET LOCAL synchronous_commit TO on")
            connection.execute("UPDATE read_log SET seq = seq WHERE seq = (SELECT max(seq) FROM read_log)")
            connection.commit()

    def head(self) -> tuple[int, str] | None:
        """The staged chain's head (the number and hash of its last read), which a checkpoint
        anchors: the last staged read, else the last moved one (`meta`); None if no read was ever
        staged. Synced after the head is read, so that the sync covers every read up to it: a
        checkpoint anchors only reads on disk (synced first, a read committed between the sync and
        the head's read would be anchored unsynced)."""
        with self.connection() as connection:
            last = connection.execute("SELECT seq, hash FROM read_log ORDER BY seq DESC LIMIT 1").fetchone()
        self.sync()
        if last is not None:
            return int(last[0]), str(last[1])
        with self.store.reader() as session:
            found = dict(session.execute(select(Meta.key, Meta.value).where(Meta.key.in_((MOVED, HEAD)))).all())
        return (int(found[MOVED]), found[HEAD]) if int(found.get(MOVED) or 0) > 0 and HEAD in found else None

    def forget_before(self, seq: int) -> None:
        """Delete the staged entries before number `seq` (moved; the one numbered `seq` is kept,
        for the chain to go on from). Not synced before it returns: the moved entries are in the
        store, synced; should a power loss bring some back, they are known as moved (`append`,
        `audit.StagedCheck`), and a sync of the read log would wait for this."""
        with self.connection("NORMAL") as connection:
            connection.execute(f"DELETE FROM read_log WHERE seq < {self.mark}", (seq,))
            if self.path is None:
                connection.commit()

    # --- the read log's thread ---------------------------------------------------------------
    def append(self, staging: Any, main: Any, entries: Sequence[Entry], names: dict[str, str]) -> None:
        """SQLite: chain, seal and commit `entries` (each subject given by its pseudonym in `names`)
        on `staging` (the kept connection to the staged file; `main`: to the store)."""
        staging.execute("BEGIN IMMEDIATE")  # the staged chain's write lock first: one appender reads its end
        try:
            last = staging.execute("SELECT seq, hash FROM read_log ORDER BY seq DESC LIMIT 1").fetchone()
            found = dict(main.execute(f"SELECT key, value FROM meta WHERE key IN ({self.mark}, {self.mark})",
                                      (MOVED, HEAD)).fetchall())
            cursor = staging.cursor()
            cursor.executemany(self._insert, self._chained(entries, last, found, names))
            cursor.close()
            staging.execute("COMMIT")
        except BaseException:
            with suppress(Exception):
                staging.execute("ROLLBACK")
            raise

    def append_pipelined(self, connection: Any, entries: Sequence[Entry],
                         draw: Callable[[list[str]], dict[str, str]]) -> None:
        """PostgreSQL: chain, seal and commit `entries` in two round trips, each a pipeline of
        statements the server runs one after the other: the subjects' pseudonyms read, the
        appenders' lock taken, then the chain's end and the moved mark read (after the lock is held:
        each statement reads what was committed before it began); then the rows inserted and
        committed. Each round trip is a wait for the GIL after it, behind an ingest's Python: there
        were eight. A subject with no pseudonym yet has one drawn by `draw` (under the store's write
        lock), with this lock let go meanwhile, and the append begins again."""
        wanted = sorted({subject for _, _, subject, _ in entries})
        try:
            with connection.pipeline():
                # the pseudonyms as they were when the reads were answered, read before the lock: an
                # erasure holds it until it commits, and deletes the subject's; one drawn after
                # would outlive the erasure (`test_erasure.py`)
                named = connection.execute("SELECT id, pseudonym FROM subjects WHERE id = ANY(%s)", (wanted,))
                connection.execute(f"SELECT pg_advisory_xact_lock({STAGED_LOCK})")
                connection.execute("SET LOCAL synchronous_commit TO off")  # made durable by `sync`, off the read's path
                ends = connection.execute("SELECT seq, hash FROM read_log ORDER BY seq DESC LIMIT 1")
                marks = connection.execute("SELECT key, value FROM meta WHERE key IN (%s, %s)", (MOVED, HEAD))
            last, found, names = ends.fetchone(), dict(marks.fetchall()), dict(named.fetchall())
            missing = [s for s in wanted if s not in names]
            if missing:
                connection.rollback()
                draw(missing)
                self.append_pipelined(connection, entries, draw)
                return
            with connection.pipeline():
                connection.cursor().executemany(self._insert, self._chained(entries, last, found, names))
                connection.commit()
        except BaseException:
            with suppress(Exception):
                connection.rollback()
            raise

    @property
    def _insert(self) -> str:
        return f"INSERT INTO read_log ({', '.join(COLUMNS)}) VALUES ({', '.join(self.mark for _ in COLUMNS)})"

    def _chained(self, entries: Sequence[Entry], last: Any, found: dict[str, str],
                 names: dict[str, str]) -> list[tuple[Any, ...]]:
        """The entries as rows chained on from the staged chain's last (`last`), or from the last
        moved one (`found`: the `meta` rows)."""
        moved = (int(found.get(MOVED, 0)), found.get(HEAD, audit.GENESIS))
        if last is None or int(last[0]) < moved[0]:
            # nothing staged yet, or the staged file lost its tail (a power loss before its sync)
            # after those entries were moved: on from what was moved, not from an older entry
            last = moved
        return [tuple(json.dumps(row[c]) if c == "detail" else row[c] for c in COLUMNS)
                for row in audit.chain(entries, *last, names, self.store.audit_key)]


class ReadLog(GroupCommit[Entry]):
    """Reads' entries, group-committed to the staged chain by one thread (concurrent reads share a
    commit), and moved into the audit log by another."""

    def __init__(self, store: Store):
        self.store = store
        self.staged = Staged(store)
        self.staging: Any = None  # the writer thread's kept connection to the staged entries
        self.main: Any = None     # and, on SQLite, to the store (for pseudonyms)
        self._raw: Any = None     # on PostgreSQL, the pool's connection both are
        self._opened: tuple[int, int] | None = None  # on SQLite, the staged file the kept connection has open
        self.move_lock = threading.Lock()
        super().__init__(self._commit_entries, name="audit-reads")
        # those that come within MOVE_AFTER move in the same transaction; what a previous run
        # staged and did not move is moved at start
        self.mover = AskedWorker(self.move, "audit-reads-mover", gather=MOVE_AFTER, asked=True,
                                 failed="staged reads not moved yet (staged: the next read asks again)")
        # SQLite only: PostgreSQL's WAL writer flushes the read log's commits by itself, and a
        # synchronous commit of ours would hold the appenders' lock while it waits for the flush
        self.syncer = (AskedWorker(self.staged.sync, "audit-reads-sync", gather=SYNC_AFTER,
                                   failed="staged reads not synced to disk yet (the next read asks again)")
                       if self.staged.path is not None else None)

    @staticmethod
    def _refuse(error: BaseException) -> ServiceError:
        return ServiceError(503, f"audit: the read could not be logged ({error}); try again")

    @staticmethod
    def _read(actor: str, action: str, subject: str, detail: dict[str, Any]) -> Entry:
        # only reads: a change is found by an entry that records no read (`audit.changed_since`)
        if action not in audit.READS:
            raise ValueError(f"the read log records reads ({', '.join(audit.READS)}), not '{action}'")
        return actor, action, subject, detail

    def log(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """Append a read entry; return once it is committed."""
        error = self.wait(self._read(actor, action, subject, detail))
        if error is not None:
            raise self._refuse(error)

    async def log_async(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """Append a read entry; return (to the running event loop) once it is committed."""
        error = await self.wait_async(self._read(actor, action, subject, detail))
        if error is not None:
            raise self._refuse(error)

    # --- committing (the read log's thread) ----------------------------------------------------
    def _connect(self) -> None:
        if self.staged.path is not None:
            self.staging = Staged.open(self.staged.path, synchronous="NORMAL")  # made durable by `sync`
            self._opened = _identity(self.staged.path)
            url = self.store.engine.url
            self.main = sqlite3.connect(url.database or ":memory:", isolation_level=None, check_same_thread=False,
                                        timeout=30.0)
        else:
            self._raw = self.store.write_engine.raw_connection()  # kept out of the pool while this thread uses it
            self.staging = self.main = self._raw.driver_connection

    def _close(self) -> None:
        if self.staged.path is not None:
            for connection in (self.staging, self.main):
                with suppress(Exception):
                    connection.close()
        elif self._raw is not None:
            with suppress(Exception):
                self._raw.invalidate()
        self.staging = self.main = self._raw = None

    def _commit_entries(self, entries: list[Entry]) -> None:
        try:
            self._append(entries)
        except Exception as error:
            self._close()  # a failed connection is not reused: the next batch opens others
            if not _dropped(error):
                raise
            self._append(entries)  # the database dropped a kept connection meanwhile: once more on new ones

    def _append(self, entries: list[Entry]) -> None:
        if self.staging is not None and self.staged.path is not None and _identity(self.staged.path) != self._opened:
            # the file was deleted or replaced under the server: a kept connection would commit reads into
            # a file nobody else opens (answered, then lost, and verify none the wiser); the path's file instead
            log.error("audit: the read log %s was deleted or replaced while the server ran; reads go on in a "
                      "new one (audit verify names the anchored reads lost)", self.staged.path)
            self._close()
        if self.staging is None:
            self._connect()
        if self.staged.path is None:
            self.staged.append_pipelined(self.staging, entries, self._draw)
            return
        self.staged.append(self.staging, self.main, entries, self._pseudonyms({s for _, _, s, _ in entries}))

    def _pseudonyms(self, subjects: set[str]) -> dict[str, str]:
        """SQLite: the subjects' pseudonyms, read from the store; drawn for a subject who has none
        yet, which no change has named."""
        wanted = sorted(subjects)
        marks = ", ".join(self.staged.mark for _ in wanted)
        names = dict(self.main.execute(f"SELECT id, pseudonym FROM subjects WHERE id IN ({marks})",
                                       wanted).fetchall())
        missing = [s for s in wanted if s not in names]
        return names | self._draw(missing) if missing else names

    def _draw(self, subjects: list[str]) -> dict[str, str]:
        """Pseudonyms drawn for these subjects, who have none (waiting for the write lock)."""
        with self.store.write_lock, self.store.sessions.begin() as session:
            self.store.begin_write(session)
            return audit.pseudonyms(session, subjects)

    def after(self) -> None:
        """Ask for what was just committed to be synced to disk, and moved."""
        if self.syncer is not None:
            self.syncer.ask()
        self.mover.ask()

    def close(self) -> None:
        """Stop the threads (the reads committed meanwhile first), move what is staged, close the
        connections. A read after is refused (503)."""
        super().close()
        if self.syncer is not None:
            self.syncer.stop()
        self.mover.stop()
        with suppress(Exception):  # the move below syncs them too, when it can run
            self.staged.sync()
        try:
            self.move()
        except Exception as error:  # staged and durable: the next start moves them
            log.warning("audit: staged reads not moved at close (%s); the next start moves them", error)
        self._close()

    def move(self) -> int:
        """Append every staged entry not moved yet to the audit log, in one write transaction (it
        waits for a change's); how many were moved."""
        store = self.store
        with self.move_lock:
            with store.write_lock, store.sessions.begin() as session:
                store.begin_write(session)
                with self.staged.connection() as connection:
                    rows = self._move_into(session, connection)
                if not rows:
                    return 0
            self.staged.forget_before(rows[-1][0])
        store.checkpoint()
        return len(rows)

    @contextmanager
    def moved_first(self, session: Any) -> Iterator[None]:
        """Move every staged entry into the audit log in the caller's write transaction (`session`,
        the write lock held), and stage no read until that transaction ends: the entry the caller
        appends next (an erasure's) comes after every read answered before it, and before every
        read answered after. Enter it inside the transaction; it ends after the commit (an
        `ExitStack` around the transaction), when the moved entries are deleted from the staged ones."""
        if self.staged.path is not None:  # the staged chain's write lock, as an appender takes it
            connection: Any = Staged.open(self.staged.path)
            connection.execute("BEGIN IMMEDIATE")
        else:  # taken on the caller's transaction: held until it commits
            connection = session.connection().connection.driver_connection
            connection.execute(f"SELECT pg_advisory_xact_lock({STAGED_LOCK})")
        try:
            rows = self._move_into(session, connection)
            yield
        finally:
            if self.staged.path is not None:
                with suppress(Exception):
                    connection.execute("ROLLBACK")  # nothing written: the lock let go
                connection.close()
        if rows:  # committed
            self.staged.forget_before(rows[-1][0])

    def _move_into(self, session: Any, connection: Any) -> list[Row]:
        """Append the staged entries (read on `connection`) not moved yet to the audit log in
        `session`'s write transaction, and record how far the moving got; the entries moved."""
        moved = moved_so_far(session)
        rows = self.staged.rows(connection, moved)
        if not rows:
            return rows
        seq, prev = audit.last_seq(session), session.execute(audit.LAST).first()
        prev_hash = prev[1] if prev is not None else audit.GENESIS
        key = self.store.audit_key
        entries = []
        for number, at, actor, action, subject, detail, *_ in rows:
            seq += 1
            detail = {**detail, "read": number}
            digest = audit.entry_hash(prev_hash, seq, at, actor, action, subject, detail)
            entries.append({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                            "detail": detail, "prev_hash": prev_hash, "hash": digest, "seal": key.seal(digest)})
            prev_hash = digest
        session.execute(AuditEntry.__table__.insert(), entries)
        session.merge(Meta(key=MOVED, value=str(rows[-1][0])))
        session.merge(Meta(key=HEAD, value=rows[-1][7]))
        session.info["audit_last"] = (seq, prev_hash)  # an entry appended after in this session follows these
        return rows

    def settle(self) -> None:
        """Move now what is staged (before the log is shown whole, checkpointed or verified)."""
        self.move()

    def staged_of(self, pseudonym: str) -> list[Row]:
        """The staged entries that name the pseudonym (moved ones among them, until deleted)."""
        with self.staged.connection() as connection:
            return self.staged.rows(connection, 0, pseudonym)


def moved_so_far(session: Any) -> int:
    """How many staged entries the audit log holds (by the store's `meta`, in the reader's snapshot)."""
    return int(session.execute(select(Meta.value).where(Meta.key == MOVED)).scalar() or 0)


def without_number(detail: dict[str, Any] | None) -> dict[str, Any]:
    """A moved read's detail as it was staged (without its staged number)."""
    return {k: v for k, v in (detail or {}).items() if k != "read"}


def _identity(path: Path) -> tuple[int, int] | None:
    """The file at `path` (device and inode), None if there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


def _dropped(error: BaseException) -> bool:
    """Whether an error is a connection the database server closed (PostgreSQL restarted, or ended it)."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(error, psycopg.OperationalError)


def staged_rows(engine: Engine) -> list[Row]:
    """Every staged entry of the store on `engine` (for `audit verify`): none where nothing was
    ever staged."""
    path = staged_path(engine.url.render_as_string(hide_password=False))
    if path is not None:
        if not path.exists():
            return []
        with closing(Staged.open(path)) as connection:
            return Staged.read(connection, "?")
    raw = engine.raw_connection()
    try:
        if raw.driver_connection.execute("SELECT to_regclass('read_log')").fetchone()[0] is None:  # type: ignore[union-attr]
            return []
        return Staged.read(raw.driver_connection, "%s")
    finally:
        raw.close()
