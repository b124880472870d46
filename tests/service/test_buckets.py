"""On SQLite, a subject's score history is indexed by bucket of arrival, then by subject
(`buckets.py`, migration 0010): a batch's index entries fall on the last bucket's pages, and every
read of a subject's history seeks each bucket's range, finding every record whatever bucket it is
in. Reads of events keep their index by subject, and none scans the store."""

from __future__ import annotations

import re

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from socialcredit.scheme import load_scheme
from socialcredit.service import buckets
from socialcredit.service.api import create_app
from socialcredit.service.auditkey import key_for
from socialcredit.service.core import Actor
from socialcredit.service.db import make_engine
from socialcredit.service.inputlists import InputLists
from socialcredit.service.migrate import alembic_config

from .conftest import NOW, Keys, database_url, open_service

OPERATOR = Actor("o1", "operator")
ADMIN = Actor("a1", "admin")
KINDS = ["payment", "late_payment", "inquiry", "payment"]


def batches(count: int, size: int) -> list[list[dict]]:
    return [[{"id": f"e{b}-{i}", "subject": f"s{(b * size + i) % 5}", "kind": KINDS[(b + i) % 4],
              "time": NOW - 300 + b * 10 + i} for i in range(size)] for b in range(count)]


def whole_view(client: TestClient, keys: Keys, subject: str) -> dict:
    """What the API gives of a subject: record, events, history, export (times of writing dropped)."""
    got = {part: client.get(f"/v1/subjects/{subject}{path}", headers=keys.header(keys.admin)).json()
           for part, path in (("record", ""), ("events", "/events"), ("history", "/history"), ("export", "/export"))}
    export = got["export"]
    got["export"] = {name: export[name] for name in ("events", "history", "appeals")}
    for part, when in (("history", "recorded_at"), ("events", "ingested_at")):
        for row in got["export"][part]:
            row.pop(when)
    return got


def test_rows_spread_over_many_buckets_are_all_read_and_scored_as_in_one(backend, tmp_path, monkeypatch):
    """With buckets of 3 rows, each batch's score records lie in a bucket of their own; every read of
    a subject (record, events, history, export) answers as a store whose records are all in one."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL's indexes lead with the subject: every row's bucket is 0")
    views = []
    for rows_per_bucket, folder in ((buckets.ROWS_PER_BUCKET, "one"), (3, "many")):
        monkeypatch.setattr(buckets, "ROWS_PER_BUCKET", rows_per_bucket)
        (tmp_path / folder).mkdir()
        service, keys = open_service(database_url(backend, tmp_path / folder), load_scheme("lending"))
        try:
            for batch in batches(6, 10):
                assert service.ingest(batch, OPERATOR)["stored"] == 10
            with service.engine.connect() as connection:
                spread = connection.execute(text("SELECT count(DISTINCT bucket) FROM score_history")).scalar()
            with TestClient(create_app(service)) as client:
                views.append([whole_view(client, keys, f"s{n}") for n in range(5)])
        finally:
            service.close()
        if folder == "many":
            assert spread == 6  # each batch's records in a bucket of their own
        else:
            assert spread == 1
    assert views[0] == views[1]
    assert len(views[1][0]["events"]) == 12 and len(views[1][0]["history"]) == 6


@pytest.mark.parametrize("edited", ["'x'", "-5", "1000000000", "2.5"])
def test_a_score_record_whose_bucket_was_edited_is_still_read(backend, tmp_path, edited):
    """The reads walk the buckets the records hold, not a range of numbers: a record moved to any
    bucket by an edit of the file is still read."""
    if backend != "sqlite":
        pytest.skip("on PostgreSQL no read goes by bucket")
    service, keys = open_service(database_url(backend, tmp_path), load_scheme("lending"))
    try:
        service.ingest(batches(1, 10)[0], OPERATOR)
        with TestClient(create_app(service)) as client:
            before = whole_view(client, keys, "s1")
            with service.engine.begin() as connection:
                connection.execute(text(f"UPDATE score_history SET bucket = {edited} "
                                    "WHERE seq = (SELECT min(seq) FROM score_history WHERE subject = 's1')"))
            assert whole_view(client, keys, "s1") == before
    finally:
        service.close()


def plans_of(service, work) -> list[tuple[str, str]]:
    """(statement, SQLite's plan) of each read `work` runs that names events or score_history."""
    seen: list[tuple[str, tuple]] = []

    def capture(_connection, _cursor, statement, parameters, _context, executemany):  # type: ignore[no-untyped-def]
        if not executemany and re.search(r"\b(events|event_runs|score_history)\b", statement) \
                and statement.lstrip().upper().startswith(("SELECT", "DELETE", "WITH")):
            seen.append((statement, parameters))

    engines = {service.engine, service.store.write_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", capture)
    try:
        work()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", capture)
    with service.engine.connect() as connection:
        return [(statement, " / ".join(str(row[-1]) for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters).all())) for statement, parameters in seen]


def test_every_read_of_a_subjects_rows_seeks_and_none_scans_the_store(tmp_path):
    """Each read of one subject's events or scores (record, entitlement, events, history, export,
    an ingest's read of its subjects' events, an input list's check of who has events, erasure)
    seeks an index on SQLite: the events' by subject, the history's by bucket and subject. None
    reads the table or an index through, which at a million events takes 50 ms where a seek takes
    a fraction of one."""
    service, keys = open_service(database_url("sqlite", tmp_path), load_scheme("lending"))
    try:
        for batch in batches(3, 10):
            service.ingest(batch, OPERATOR)
        client = TestClient(create_app(service)).__enter__()  # the kept state loaded whole as a server starts
        service.intake.history.drop()  # so that an ingest reads its subjects' events from the database

        def work() -> None:
            whole_view(client, keys, "s1")
            service.entitlement("s2", "loan", ADMIN)
            service.ingest([{"id": "late", "subject": "s3", "kind": "late_payment", "time": NOW - 1}], OPERATOR)
            with service.sessions() as session:
                assert InputLists._without_events(session, ["s1", "nobody"]) == ["nobody"]
            service.erase("s4", ADMIN)

        found = plans_of(service, work)
        client.__exit__(None, None, None)
    finally:
        service.close()
    reads = [(statement, plan) for statement, plan in found
             if re.search(r"FROM (events|event_runs|score_history)\b", statement)]
    assert len(reads) >= 8, found
    scans = [(statement, plan) for statement, plan in reads
             if re.search(r"\bSCAN (events|event_runs|score_history)\b", plan)]
    # but an erasure's: it reads the events table itself on SQLite, so that an entry missing from
    # the events' index (not covered by the audit chain) cannot hide an event from it
    erasures = [(statement, plan) for statement, plan in scans
                if re.search(r"FROM events\s+WHERE events.subject = \?( AND events.entry IS NOT NULL)?$", statement)]
    assert len(erasures) == 2 and scans == erasures, scans
    assert any("SEARCH event_runs USING PRIMARY KEY (run=? AND subject=?)" in plan for _, plan in reads)
    assert any("ix_score_history_subject (bucket=? AND subject=?)" in plan for _, plan in reads)


OLD_EVENT = ("INSERT INTO events (id, subject, kind, time, value, weight, status, ingested_at, ingested_by) "
             "VALUES ('old1', 'bob', 'late_payment', :t, 1, 1, 'active', '2024-10-01 00:00:00', 'elsewhere')")


def store_at(url: str, revision: str, *statements: str) -> None:
    """A store migrated as far as `revision`, with these statements run in it (`:t` is two days ago)."""
    engine = make_engine(url)
    config = alembic_config(url)
    config.attributes["audit_key"] = key_for(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        for statement in statements:
            connection.execute(text(statement), {"t": NOW - 2})
    engine.dispose()


def test_a_store_from_before_buckets_migrates(tmp_path):
    """A store at revision 0009 gets each score record's bucket from the order it was appended in, and
    an index that leads with it; its events and history are read as before."""
    url = database_url("sqlite", tmp_path)
    store_at(url, "0009", OLD_EVENT,
             "INSERT INTO score_history (subject, as_of, score, tier, lists, scheme_version, recorded_at) "
             "VALUES ('bob', :t, 700, 'prime', '{}', 'lending@1', '2024-10-01 00:00:00')")
    service, keys = open_service(url, load_scheme("lending"))
    try:
        with service.engine.connect() as connection:
            assert connection.execute(text("SELECT bucket FROM score_history")).scalars().all() == [0]
            leading = [row[2] for row in connection.execute(text("PRAGMA index_info(ix_score_history_subject)"))]
            assert leading[:2] == ["bucket", "subject"]
        assert [e["id"] for e in service.subjects.events("bob", ADMIN)] == ["old1"]
        assert service.record("bob", ADMIN)["score"] < 1000
        assert [r["score"] for r in service.subjects.history("bob", ADMIN)] == [700]
    finally:
        service.close()
