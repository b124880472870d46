"""On SQLite the index of each subject's events is kept in runs (`runs.py`, migration 0011): new
entries go into the newest run, full runs are merged into a base a range of subjects at a time,
and every read of a subject's events seeks each run. What a user would check: the reads answer
the same however the entries are spread over runs and whatever merges ran meanwhile; the runs stay
few; an index edited by hand is found by `audit verify`; a store from before migrates."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from socialcredit.scheme import load_scheme
from socialcredit.service import audit, runs
from socialcredit.service.core import Actor, Service
from socialcredit.service.db import make_engine
from socialcredit.service.store import Store

from .conftest import NOW, database_url, open_service
from .test_buckets import OLD_EVENT, batches, store_at
from .test_history import index_equals_events

OPERATOR = Actor("o1", "operator")
ADMIN = Actor("a1", "admin")

# the scoring read of every subject straight from the events table, in the order stored
FROM_THE_TABLE = ("SELECT subject, kind, time, value, weight FROM events WHERE status = 'active' AND time <= :t "
                  "ORDER BY subject, coalesce(entry, -1), coalesce(pos, -1), time, kind, value, weight")


@pytest.fixture
def small_runs(monkeypatch):
    """Runs of 7 entries, a merge due at 2 sealed runs, steps of about 4 entries."""
    monkeypatch.setattr(runs, "RUN_ENTRIES", 7)
    monkeypatch.setattr(runs, "MERGE_AT", 2)
    monkeypatch.setattr(runs, "STEP_ENTRIES", 4)


def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL keeps the index events_by_subject")


def scoring_read(service) -> list[tuple]:
    """What scoring reads of every subject's events, through the runs."""
    with service.engine.connect() as connection:
        subjects = sorted(connection.exec_driver_sql("SELECT DISTINCT subject FROM events").scalars())
        return Store.active_events(connection, subjects, NOW)


def run_sizes(service) -> dict[int, int]:
    with service.engine.connect() as connection:
        return {run: count for run, count in connection.execute(text(
            "SELECT runs.run, count(event_runs.run) FROM runs LEFT JOIN event_runs USING (run) GROUP BY runs.run"))}


def test_the_reads_are_the_same_however_the_runs_are_merged(backend, tmp_path, small_runs):
    """After each batch, a seal, one step of a merge, or a whole merge: the scoring read through the
    runs equals the same read of the events table, row for row in the same order, and the index
    holds every event once, as it is."""
    sqlite_only(backend)
    service, _ = open_service(database_url(backend, tmp_path), load_scheme("lending"))
    service.store._merger.stop()  # the merges run here, one step at a time
    try:
        seen: set[str] = set()
        for number, batch in enumerate(batches(12, 10)):
            service.ingest(batch, OPERATOR)
            service.store.merge_runs(steps=number % 3)  # none, one step, or two
            with service.engine.connect() as connection:
                expected = [tuple(row) for row in connection.execute(text(FROM_THE_TABLE), {"t": NOW})]
                seen.add("several sealed" if len(runs.sealed_runs(connection)) >= 2 else "")
                assert index_equals_events(connection)
            assert scoring_read(service) == expected
        assert "several sealed" in seen
        while service.store.merge_runs(steps=None):
            pass
        sizes = run_sizes(service)
        assert len(sizes) == 2 and sizes[0] >= 100, sizes  # the base, and the newest run
        with service.engine.connect() as connection:
            assert scoring_read(service) == [tuple(row) for row in connection.execute(text(FROM_THE_TABLE), {"t": NOW})]
    finally:
        service.close()


def test_the_merges_thread_keeps_the_runs_few_as_batches_come(backend, tmp_path, small_runs, caplog):
    """With the server's own merges' thread: after 40 batches of 10 (~300 events stored, some 40
    runs' worth), fewer than `MERGE_AT` sealed runs are left once it is done, most entries are in
    the base, and the subjects' records are those of the same events all in one run."""
    sqlite_only(backend)
    service, _ = open_service(database_url(backend, tmp_path), load_scheme("lending"))
    try:
        for batch in batches(40, 10):
            service.ingest(batch, OPERATOR)
        deadline = time.monotonic() + 60
        while service.store._merging and time.monotonic() < deadline:
            time.sleep(0.05)
        sizes = run_sizes(service)
        with service.engine.connect() as connection:
            stored = connection.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
        # runs begun as batches came (one each time the thread looked: a batch or more each), and
        # fewer than `MERGE_AT` sealed ones left beside the base and the newest
        assert max(sizes) >= 8 and len(sizes) <= runs.MERGE_AT + 1, sizes
        assert sizes[0] > stored - 2 * runs.RUN_ENTRIES * runs.MERGE_AT, (sizes, stored)
        with service.engine.connect() as connection:
            assert index_equals_events(connection)
        records = {s: service.record(s, ADMIN)["score"] for s in ("s0", "s1", "s2", "s3", "s4")}
        service.intake.history.drop()
        service.store._merger.stop()
        with service.engine.begin() as connection:  # the same events, all in one run
            connection.exec_driver_sql("UPDATE event_runs SET run = 0")
            connection.exec_driver_sql("DELETE FROM runs WHERE run NOT IN (0, (SELECT max(run) FROM runs))")
        assert {s: service.record(s, ADMIN)["score"] for s in records} == records
        assert not [r.getMessage() for r in caplog.records if "event-runs" in r.getMessage()]  # no merge failed
    finally:
        service.close()


def test_two_processes_ingesting_and_merging_at_once_keep_the_index_whole(backend, tmp_path, small_runs,
                                                                         closed_after, caplog):
    """`serve --workers 2`: two services on one database, each with its own merges' thread, ingest at
    the same time; once both are done, the index holds every event once, as it is, and the scoring
    read through it is the events table's."""
    sqlite_only(backend)
    url = database_url(backend, tmp_path)
    opened = closed_after(open_service(url, load_scheme("lending"))[0])
    opened.store._merger.stop()
    first, second = (closed_after(Service(make_engine(url), opened.scheme, now=lambda: NOW,
                                          write_engine=make_engine(url, writer=True),  # as `serve`'s
                                          audit_key=opened.store.audit_key, checkpoints=opened.checkpoints.path))
                     for _ in range(2))
    failures: list[BaseException] = []

    def ingest(service: Service, name: str) -> None:
        try:
            for number, batch in enumerate(batches(25, 8)):
                service.ingest([{**event, "id": f"{name}-{number}-{event['id']}"} for event in batch], OPERATOR)
        except BaseException as error:  # told to the test below
            failures.append(error)

    threads = [threading.Thread(target=ingest, args=(service, name)) for service, name in ((first, "a"), (second, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    deadline = time.monotonic() + 60
    while (first.store._merging or second.store._merging) and time.monotonic() < deadline:
        time.sleep(0.05)
    with first.engine.connect() as connection:
        assert index_equals_events(connection)
        assert connection.exec_driver_sql("SELECT count(*) FROM events").scalar_one() > 250
        assert connection.exec_driver_sql("SELECT count(*) FROM event_runs WHERE run = 0").scalar_one() > 100
        expected = [tuple(row) for row in connection.execute(text(FROM_THE_TABLE), {"t": NOW})]
    assert scoring_read(first) == expected
    assert not [r.getMessage() for r in caplog.records if "event-runs" in r.getMessage()]  # no merge failed


@pytest.mark.parametrize("edit, named", [
    ("UPDATE event_runs SET value = 9 WHERE id = 'e0-3'", "holds them otherwise than they are"),
    ("DELETE FROM event_runs WHERE id = 'e0-3'", "no entry in the index"),
    ("INSERT INTO event_runs SELECT run, subject, entry, pos + 100, 'forged', status, time, kind, value, weight "
     "FROM event_runs WHERE id = 'e0-3'", "holds them otherwise than they are"),
    ("UPDATE event_runs SET run = 99 WHERE id = 'e0-3'", "in a run there is not"),
    ("DELETE FROM runs WHERE run = 1", "no entry in the index"),  # the newest, which holds them
])
def test_an_index_of_the_events_edited_by_hand_fails_verify(backend, tmp_path, edit, named):
    """Scores are read from the index, which the audit chain does not cover: each edit (a value, an
    entry deleted, one forged, one moved to a run there is not, a run forgotten) is named by
    `audit verify`, which passes before."""
    sqlite_only(backend)
    service, _ = open_service(database_url(backend, tmp_path), load_scheme("lending"))
    try:
        for batch in batches(2, 10):
            service.ingest(batch, OPERATOR)
        service.store._merger.stop()
        with service.sessions() as session:
            assert audit.verify(session).intact
        with service.engine.begin() as connection:
            connection.exec_driver_sql(edit)
        with service.sessions() as session:
            problems = audit.verify(session).problems
        assert any(named in problem and ("'e0-3'" in problem or "'forged'" in problem)
                   for problem in problems), problems
    finally:
        service.close()


def test_a_store_from_before_runs_migrates(tmp_path):
    """A store at revision 0010 gets every event's entry in the base, an event written without an
    entry among them (-1 for its entry and place), and loses the index events_by_subject; its
    events are read and scored as before, and a new one goes into the newest run."""
    url = database_url("sqlite", tmp_path)
    store_at(url, "0010", OLD_EVENT)
    service, _ = open_service(url, load_scheme("lending"))
    try:
        with service.engine.connect() as connection:
            assert connection.execute(text("SELECT run, subject, entry, pos, id FROM event_runs")).all() == [
                (0, "bob", -1, -1, "old1")]
            assert connection.execute(text("SELECT name FROM sqlite_master WHERE name = 'events_by_subject'")
                                      ).first() is None
        assert [e["id"] for e in service.subjects.events("bob", ADMIN)] == ["old1"]
        assert service.record("bob", ADMIN)["score"] < 1000
        service.ingest([{"id": "new1", "subject": "bob", "kind": "payment", "time": NOW - 1}], OPERATOR)
        with service.engine.connect() as connection:
            assert connection.execute(text("SELECT run FROM event_runs WHERE id = 'new1'")).scalar_one() == 1
            assert index_equals_events(connection)
    finally:
        service.close()


def test_an_ingest_into_a_damaged_index_stores_nothing(backend, tmp_path):
    """With the runs' table emptied by hand, the trigger cannot place a new event's entry: the ingest
    fails and stores nothing (under INSERT OR IGNORE the event would have been stored unindexed,
    unread by scoring)."""
    sqlite_only(backend)
    service, _ = open_service(database_url(backend, tmp_path), load_scheme("lending"))
    try:
        service.ingest(batches(1, 5)[0], OPERATOR)
        service.store._merger.stop()
        with service.engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM runs")
            stored = connection.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
        with pytest.raises(RuntimeError, match="index of the events"):
            service.ingest([{"id": "late", "subject": "s1", "kind": "payment", "time": NOW - 1}], OPERATOR)
        with service.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM events").scalar_one() == stored
    finally:
        service.close()


def test_an_erasure_finds_events_the_index_lost(backend, tmp_path):
    """An index entry deleted by hand hides the event from scoring's reads (and `audit verify` says
    so), but not from an erasure, which reads the events table itself: nothing of the subject is
    left, and nothing is held about them after."""
    sqlite_only(backend)
    service, _ = open_service(database_url(backend, tmp_path), load_scheme("lending"))
    try:
        service.ingest([{"id": f"b{i}", "subject": "bob", "kind": "payment", "time": NOW - 5 - i} for i in range(3)],
                       OPERATOR)
        with service.engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM event_runs WHERE id = 'b1'")
        assert service.erase("bob", ADMIN)["erased"]["events"] == 3
        with service.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM events WHERE subject = 'bob'").scalar_one() == 0
            assert index_equals_events(connection)
    finally:
        service.close()
