"""The read log (issue 18, point 5): a read is answered, its entry committed, while a change holds the
write lock; the entry is moved into the audit chain after, each once; it survives a restart before
it is moved; `verify`, the export and "who read my record" cover the entries not moved yet, and
editing or deleting one of them is named."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from socialcredit.service import audit, readlog
from socialcredit.service.api import create_app
from socialcredit.service.checkpoints import read_file
from socialcredit.service.core import Actor, Service
from socialcredit.service.db import make_engine
from socialcredit.service.portal.routes import reads_of
from socialcredit.service.readlog import staged_rows

from .conftest import NOW, Keys, audit_files

H = Keys.header
OPERATOR, READER = Actor("o1", "operator"), Actor("a1", "admin")
BOB = [{"id": "p1", "subject": "bob", "kind": "payment", "time": NOW - 5}]


@contextmanager
def ingest_held_open(service: Service) -> Iterator[None]:
    """An ingest's write transaction, its entry appended (nothing stored), held open for the block:
    the database's write lock and the service's taken, as while an ingest writes its batch."""
    with service.store.writing() as session:
        audit.append(session, "operator:o1", "ingest", None, {"stored": 0, "duplicates": 0, "rejected": 0})
        yield


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """`work`'s answer, if it comes within `seconds` (it runs in a thread of its own)."""
    answers: list[Any] = []
    worker = threading.Thread(target=lambda: answers.append(work()), daemon=True)
    started = time.perf_counter()
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), f"not answered within {seconds} s: it waited for the ingest"
    return answers[0], time.perf_counter() - started


def verdict(service: Service) -> audit.Verdict:
    staged = staged_rows(service.store.write_engine)
    with service.sessions() as session:
        return audit.verify(session, service.store.audit_key, staged=staged)


def hold_back_the_mover(service: Service) -> None:
    """The reads staged from now on stay staged: the mover's thread stopped, and nothing moves on demand."""
    service.reads.mover.stop()
    service.reads.move = lambda: 0  # type: ignore[method-assign]


def test_reads_are_answered_and_logged_while_an_ingest_holds_the_write_lock(lending):
    service, keys, _ = lending
    service.ingest(BOB, OPERATOR)
    client = TestClient(create_app(service))
    with ingest_held_open(service):
        record, seconds = within(10, lambda: service.record("bob", READER))
        assert record["score"] == 780 and seconds < 10  # on a quiet machine, milliseconds
        check, _ = within(10, lambda: client.get("/v1/subjects/bob/entitlements/loan", headers=H(keys.bob)))
        assert check.status_code == 200 and check.json()["allowed"] is True
        events, _ = within(10, lambda: service.subjects.events("bob", READER))
        assert [e["id"] for e in events] == ["p1"]
        # who read bob's file, the reads of now included, while the ingest still holds the lock
        exported, _ = within(10, lambda: service.export("bob", READER))
        assert [r["read"] for r in exported["reads"]] == ["read_record", "entitlement_check", "read_events"]
        assert exported["reads"][0]["by"] == "admin:a1"
        total, shown = within(10, lambda: reads_of(service, "bob"))[0]
        assert total == 4 and [r["action"] for r in shown] == ["export", "read_events", "entitlement_check",
                                                                "read_record"]
    log = service.audit_log()  # the staged reads moved into the log, after the ingest's entry
    actions = [e["action"] for e in log]
    assert actions == ["ingest", "ingest", "read_record", "entitlement_check", "read_events", "export"]
    assert [e["detail"].get("read") for e in log[2:]] == [1, 2, 3, 4]
    assert service.reads.move() == 0  # each moved once
    found = verdict(service)
    assert found.intact, found.problems
    assert "4 reads moved from the read log in order" in found.checked[-1]


def test_a_reads_entry_staged_before_a_crash_is_moved_by_the_next_start(lending):
    service, _, url = lending
    service.ingest(BOB, OPERATOR)
    hold_back_the_mover(service)  # the process dies before it moves anything
    service.record("bob", READER)  # answered: its entry is committed
    with service.sessions() as session:
        assert [e["action"] for e in audit.entries(session)] == ["ingest"]
    key_path, checkpoints = audit_files(url)
    again = Service(make_engine(url), service.scheme, now=lambda: NOW, audit_key=service.store.audit_key,
                    checkpoints=checkpoints)  # a new server on the same store
    try:
        log = again.audit_log()
        assert [(e["actor"], e["action"]) for e in log] == [("operator:o1", "ingest"), ("admin:a1", "read_record")]
        assert [(r["by"], r["read"]) for r in again.export("bob", READER)["reads"]][:1] == [("admin:a1",
                                                                                              "read_record")]
        found = verdict(again)
        assert found.intact, found.problems
    finally:
        again.close()


@pytest.fixture
def staged(lending):
    """Five reads staged and not moved (the mover held back), after two moved."""
    service, _, _ = lending
    service.ingest(BOB, OPERATOR)
    for _ in range(2):
        service.record("bob", READER)
    service.reads.settle()
    hold_back_the_mover(service)
    for _ in range(5):
        service.record("bob", READER)
    assert verdict(service).intact
    return service


def staged_sql(service: Service, statement: str) -> None:
    with service.reads.staged.connection() as connection:
        connection.execute(statement)
        if service.reads.staged.path is None:
            connection.commit()


def test_an_edited_staged_read_is_named(staged):
    staged_sql(staged, "UPDATE read_log SET actor = 'a2' WHERE seq = 4")
    assert "staged read 4: its content does not match its hash (edited)" in verdict(staged).problems


def test_a_staged_read_deleted_before_it_was_moved_is_named(staged):
    staged_sql(staged, "DELETE FROM read_log WHERE seq = 5")
    assert any(p.startswith("staged read 6: does not follow staged read 4") for p in verdict(staged).problems)
    staged_sql(staged, "DELETE FROM read_log WHERE seq <= 4")  # the first waiting one, and the last moved (kept)
    assert any(p.startswith("staged read 6: does not follow staged read 2, the last the log holds")
               for p in verdict(staged).problems)


def test_a_forged_staged_read_is_named(staged):
    row = staged_rows(staged.store.write_engine)[-1]
    forged = audit.entry_hash(row[7], 8, row[1], "a2", "read_record", row[4], {})
    staged_sql(staged, f"INSERT INTO read_log (seq, at, actor, action, subject, detail, prev_hash, hash, seal) VALUES "
                       f"(8, '{row[1]}', 'a2', 'read_record', '{row[4]}', '{{}}', '{row[7]}', '{forged}', 'x')")
    assert "staged read 8: not sealed by the server's audit key (forged, or rewritten)" in verdict(staged).problems


def anchored_verdict(service: Service) -> audit.Verdict:
    """`verify` as `socialcredit audit verify` runs it: with the server's checkpoint file."""
    signed = [c for c, _ in read_file(service.checkpoints.path)[0]]
    staged = staged_rows(service.store.write_engine)
    with service.sessions() as session:
        return audit.verify(session, service.store.audit_key, signed, staged=staged)


def test_staged_reads_a_checkpoint_anchored_and_deleted_before_they_were_moved_are_named(staged):
    """Reads 3..7 wait, staged (the mover held back, as when it fails or the server is down); a
    checkpoint signs the read log's head. Deleting them, or the whole read log, leaves the audit
    log and the staged chain consistent, but not with the checkpoint."""
    checkpoint = staged.checkpoint()
    assert checkpoint.reads is not None and checkpoint.reads[0] == 7
    found = anchored_verdict(staged)
    assert found.intact, found.problems
    assert "every staged read up to read 7 there, as signed checkpoints anchored it" in found.checked
    staged.record("bob", READER)  # read 8: after the checkpoint, not anchored yet
    tail = anchored_verdict(staged)
    assert tail.intact and any(c.startswith("1 staged read(s) waiting after read 7, the last a signed checkpoint "
                                            "anchors") for c in tail.checked)
    staged_sql(staged, "DELETE FROM read_log WHERE seq >= 5")
    assert "staged reads 5..8 anchored by" not in " ".join(anchored_verdict(staged).problems)
    assert any(p.startswith("staged reads 5..7 anchored by") and p.endswith("are gone (deleted from the read log "
                                                                           "before they were moved into the audit log)")
               for p in anchored_verdict(staged).problems)
    path = staged.reads.staged.path
    if path is not None:  # SQLite: the read log's whole file deleted
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    else:
        staged_sql(staged, "DELETE FROM read_log")
    assert any(p.startswith("staged reads 3..7 anchored by") for p in anchored_verdict(staged).problems)
    staged.checkpoint()  # a later checkpoint, over the emptied read log, does not wash it out
    assert any(p.startswith("staged reads 3..7 anchored by") for p in anchored_verdict(staged).problems)


def test_a_checkpoint_made_while_nothing_is_staged_anchors_the_reads_moved(lending):
    service, _, _ = lending
    assert service.checkpoint().reads is None  # no read ever staged
    service.ingest(BOB, OPERATOR)
    service.record("bob", READER)
    service.reads.settle()
    assert service.checkpoint().reads == (1, staged_rows(service.store.write_engine)[-1][7])
    assert anchored_verdict(service).intact


def test_a_checkpoint_anchors_the_staged_reads_when_they_cannot_be_moved(staged):
    """The mover failing (the write lock held too long, the database refusing) is when reads wait
    longest: the checkpoint is signed all the same, over the reads where they wait."""
    def refused() -> int:
        raise RuntimeError("database is locked")

    staged.reads.move = refused  # type: ignore[method-assign]
    assert staged.checkpoint().reads == (7, staged_rows(staged.store.write_engine)[-1][7])


def test_reads_answered_after_the_read_log_file_was_deleted_reach_the_audit_log(lending):
    """A `.reads` file deleted under a running server: the writer's kept connection once went on
    committing reads into the deleted file, answered and then never moved (verify said intact)."""
    service, _, _ = lending
    path = service.reads.staged.path
    if path is None:
        pytest.skip("PostgreSQL keeps its read log in a table of the store")
    service.ingest(BOB, OPERATOR)
    for _ in range(2):
        service.record("bob", READER)
    service.reads.settle()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    for _ in range(5):
        service.record("bob", READER)
    log = service.audit_log()
    assert [e["action"] for e in log].count("read_record") == 7
    assert len(service.export("bob", READER)["reads"]) == 7
    found = verdict(service)
    assert found.intact, found.problems


def test_a_read_is_synced_to_disk_after_it_is_answered(lending, monkeypatch):
    """A read's entry is committed without waiting for the disk (a crash of the server cannot undo
    it), and the read log's own thread syncs it within moments."""
    service, _, _ = lending
    path = service.reads.staged.path
    if path is None:
        pytest.skip("PostgreSQL's WAL writer flushes the read log's commits (synchronous_commit=off)")
    synced: list[str] = []
    real_fsync = readlog.os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(readlog.os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(readlog.os, "fsync", fsync)
    service.ingest(BOB, OPERATOR)
    service.record("bob", READER)
    deadline = time.monotonic() + 10
    while f"{path}-wal" not in synced and time.monotonic() < deadline:
        time.sleep(0.01)
    assert f"{path}-wal" in synced
    assert service.reads.staging.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: no fsync in the read


def test_the_staged_chain_goes_on_from_the_moved_reads_when_the_staged_file_lost_its_tail(lending):
    """A power loss can take the staged file back to before its last commits, after the reads they
    held were moved into the (synced) store: the next read is numbered after the moved ones, and
    reaches the log (numbered from the staged file's older end, it was never moved)."""
    service, _, url = lending
    path = service.reads.staged.path
    if path is None:
        pytest.skip("PostgreSQL's read log is in the store's own WAL: its tail cannot be lost apart")
    service.ingest(BOB, OPERATOR)
    for _ in range(3):
        service.record("bob", READER)
    service.reads.settle()
    older = path.with_name("older.reads")
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(older)) as copy:
        source.backup(copy)  # the staged file as a power loss could leave it, later
    for _ in range(3):
        service.record("bob", READER)
    service.reads.settle()
    service.close()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    older.rename(path)
    key_path, checkpoints = audit_files(url)
    again = Service(make_engine(url), service.scheme, now=lambda: NOW, audit_key=service.store.audit_key,
                    checkpoints=checkpoints)
    try:
        hold_back_the_mover(again)
        again.record("bob", READER)
        assert [row[0] for row in staged_rows(again.store.write_engine)] == [3, 7]  # 3 moved, and come back
        found = verdict(again)
        assert found.intact, found.problems
        del again.reads.move  # the mover's work again, on demand
        log = again.audit_log()
        assert [e["detail"].get("read") for e in log if e["action"] == "read_record"] == [1, 2, 3, 4, 5, 6, 7]
        found = verdict(again)
        assert found.intact, found.problems
    finally:
        again.close()


def test_a_checkpoint_anchors_no_read_committed_after_its_sync(lending):
    """The head a checkpoint anchors is read before the read log is synced: a read committed just
    after the sync (another request's, not yet on disk) was once anchored all the same, so a power
    loss then made `audit verify` name an anchored read as deleted."""
    service, _, _ = lending
    service.ingest(BOB, OPERATOR)
    hold_back_the_mover(service)
    service.record("bob", READER)
    staged = service.reads.staged
    real_sync = staged.sync
    synced_up_to: list[int] = []

    def sync_then_a_read_arrives() -> None:
        real_sync()
        synced_up_to.append(max(row[0] for row in staged_rows(service.store.write_engine)))
        service.record("bob", READER)  # committed right after the sync

    staged.sync = sync_then_a_read_arrives  # type: ignore[method-assign]
    head = staged.head()
    staged.sync = real_sync  # type: ignore[method-assign]
    assert head is not None and head[0] <= synced_up_to[0]
