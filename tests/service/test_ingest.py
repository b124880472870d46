"""Ingest makes its batch ready (checks, stored ids, the scores it moves, digests) before its write
transaction, and only writes inside it (on PostgreSQL it scores there, while the server stores the
events): the scores it records are those a read of the store gives once the batch is stored, to
the bit; a change another process commits meanwhile is not missed; and scoring reads a subject's
events from one range of one index, so a batch's reads grow with the subjects it names, not with
the store."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from sqlalchemy import make_url, text

from socialcredit.scheme import load_scheme, scheme_from_data
from socialcredit.service import audit
from socialcredit.service.core import Actor, Service
from socialcredit.service.db import make_engine
from socialcredit.service.store import SCORED_EVENTS, Store

from .conftest import NOW, database_url, open_service

OPERATOR = Actor("o1", "operator")

# every kind of feature whose value depends on the order a subject's events are summed in: sums and
# means of fractional values, decayed counts, merged runs; with a network term, so that an ingest
# also rescores the neighbours of the subjects it names
SUMMING_SCHEME = {
    "id": "summing", "title": "Fractional sums (test)", "version": "1",
    "scale": {"min": 0, "max": 1000, "base": 600}, "retention_days": 400,
    "events": {"payment": {"category": "financial", "value": [0, 1000]},
               "late_payment": {"category": "financial", "value": [0, 100]},
               "rating": {"category": "peer", "value": [1, 5]}},
    "features": {"paid": {"sum": "payment", "window_days": 300},
                 "late_days": {"sum": "late_payment", "half_life_days": 45},
                 "rated": {"mean": "rating", "window_days": 200, "default": 3.0},
                 "late_runs": {"count": "late_payment", "merge_within_days": 20},
                 "quiet": {"days_since": "late_payment", "default": 400}},
    "components": {"paying": {"feature": "paid", "per_unit": 0.0137, "max": 150},
                   "lateness": {"feature": "late_days", "per_unit": -1.31, "min": -300},
                   "rating": {"feature": "rated", "per_unit": 17.3},
                   "runs": {"feature": "late_runs", "per_unit": -9.7},
                   "quietness": {"feature": "quiet", "per_unit": 0.113}},
    "network": {"weight": 0.3},
    "tiers": [{"name": "good", "min": 600}, {"name": "poor", "min": 0}],
    "lists": {"watch": "late_runs >= 3"},
    "entitlements": {"loan": {"allow": "tier >= 'good'", "context": "financial", "uses": ["social"]}},
}


@pytest.fixture
def summing(backend, tmp_path):
    url = database_url(backend, tmp_path)
    service, keys = open_service(url, scheme_from_data(SUMMING_SCHEME))
    yield service, keys, url
    service.close()


def random_batch(rng: np.random.Generator, start: int, size: int) -> list[dict]:
    kinds = rng.choice(["payment", "late_payment", "rating"], size)
    tops = {"payment": 1000.0, "late_payment": 100.0}
    return [{"id": f"e{rng.integers(0, start + size)}", "subject": f"s{rng.integers(0, 12)}", "kind": str(kind),
             "time": float(NOW - rng.uniform(0, 500)),
             "value": float(rng.integers(1, 6)) if kind == "rating" else float(rng.uniform(0, tops[kind])),
             "weight": float(rng.uniform(0.1, 3))} for kind in kinds]


def test_the_scores_an_ingest_records_are_those_a_read_gives_after_it_to_the_bit(summing):
    """Each ingest scores the subjects it moves with its batch before storing it: the history's
    latest score of every subject is what scoring the stored events gives (same clock), for sums,
    means and decays of fractional values, whose bits depend on the order they are added in."""
    service, _, _ = summing
    service.add_relations([("s0", "s1"), ("s1", "s2"), ("s3", "s4"), ("s5", "s11")], OPERATOR)
    rng = np.random.default_rng(18)
    for n in range(12):
        answer = service.ingest(random_batch(rng, 40 * n, 40), OPERATOR)
        assert answer["stored"] and answer["duplicates"] and not answer["rejected"]
    with service.store.reader() as session:
        subjects = Store.all_subjects(session)
        latest = {subject: (score, tier, lists) for subject, score, tier, lists in session.execute(text(
            "SELECT subject, score, tier, lists FROM score_history h WHERE seq = "
            "(SELECT max(seq) FROM score_history WHERE subject = h.subject)"))}
        scores, ids, _ = service.scorer.score(session, subjects, NOW)
    assert set(latest) == set(subjects) and len(subjects) == 12
    tiers = scores.tier_names()
    for i, subject in enumerate(ids):
        score, tier, lists = latest[subject]
        assert score == float(scores.score[i]), subject  # ==: to the bit
        assert tier == str(tiers[i])
        assert (lists if isinstance(lists, dict) else json.loads(lists)) == {"watch": bool(scores.lists["watch"][i])}
    with service.sessions() as session:
        assert audit.verify(session).intact


def blocked_after(owner: object, name: str, on_thread: list[threading.Thread]):
    """Make `owner.name` stop the first time it has returned on the given thread, until `release`
    is set; `stopped` is set when it has stopped there."""
    stopped, release = threading.Event(), threading.Event()
    real = getattr(owner, name)

    def stopping(*args, **kwargs):
        done = real(*args, **kwargs)
        if threading.current_thread() in on_thread and not stopped.is_set():
            stopped.set()
            assert release.wait(60)
        return done

    setattr(owner, name, stopping)
    return stopped, release


def blocked_in_scoring(service: Service, on_thread: list[threading.Thread]):
    """Stop `service`'s scoring once it has scored (it has read the events): on SQLite outside the
    write transaction, on PostgreSQL inside it, while the server stores the events."""
    return blocked_after(service.scorer, "score", on_thread)


def blocked_in_making_ready(service: Service, on_thread: list[threading.Thread]):
    """Stop an ingest of `service` once it has made its batch ready, outside the write transaction
    (on SQLite scored, its ids looked up; on PostgreSQL neither, both done in the transaction)."""
    return blocked_after(service.intake, "prepare", on_thread)


def test_a_read_is_answered_and_logged_while_an_ingest_scores_its_batch(lending):
    """A read waits for no ingest: while an ingest scores the subjects its batch moves (the most of
    its work), a read of a subject is answered, its entry committed, within seconds; the ingest
    then completes, and the log holds both in one chain."""
    service, _, _ = lending
    service.ingest([{"id": "p0", "subject": "bob", "kind": "payment", "time": NOW - 9}], OPERATOR)
    ingest = threading.Thread(target=service.ingest, args=([{"id": "p1", "subject": "amy", "kind": "payment",
                                                             "time": NOW - 5}], OPERATOR))
    scoring, release = blocked_in_scoring(service, [ingest])
    ingest.start()
    try:
        assert scoring.wait(30)
        answered: list[dict] = []
        reader = threading.Thread(target=lambda: answered.append(service.record("bob", Actor("a1", "admin"))))
        reader.start()
        reader.join(timeout=20)  # on a quiet machine, milliseconds; behind the ingest, for ever
        assert not reader.is_alive() and answered[0]["score"] == 780, "the read waited for the ingest"
    finally:
        release.set()
        ingest.join(timeout=60)
    assert not ingest.is_alive()
    service.reads.settle()  # the read's entry, staged before it was answered, moved into the log
    with service.sessions() as session:
        log = audit.entries(session)
        assert sorted(e["action"] for e in log) == ["ingest", "ingest", "read_record"]
        assert audit.verify(session).intact


def test_on_postgresql_the_server_stores_a_batchs_events_while_it_is_scored(lending, backend):
    """On PostgreSQL the COPY of a batch's events is under way while the batch is scored: the
    server has stored some of them by the time scoring ends (on SQLite storing them is the
    process's own work, done after)."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite the events are stored by the ingest's own thread")
    service, _, _ = lending
    batch = [{"id": f"p{i}", "subject": f"s{i % 300}", "kind": "payment", "time": NOW - 5} for i in range(1000)]
    ingest = threading.Thread(target=service.ingest, args=(batch, OPERATOR))
    scoring, release = blocked_in_scoring(service, [ingest])
    ingest.start()
    try:
        assert scoring.wait(30)
        with service.engine.connect() as connection:
            read = connection.execute(text("SELECT tuples_processed FROM pg_stat_progress_copy "
                                           "WHERE relid = 'events'::regclass")).scalars().all()
            # rows stored, not only read: the table (empty before) has pages (a binary COPY
            # stores its rows in groups of 1,000: none of a batch of 1,000 until it ends)
            pages = connection.execute(text("SELECT pg_relation_size('events')")).scalar_one()
    finally:
        release.set()
        ingest.join(timeout=60)
    assert not ingest.is_alive()
    assert len(read) == 1 and 0 < read[0] <= 1000, read
    assert pages > 0, "no event stored while the batch was scored"
    assert service.record("s7", Actor("a1", "admin"))["score"] == 780


def test_on_postgresql_a_batchs_bytes_are_stored_as_they_are_whatever_standard_conforming_strings_says(
        backend, tmp_path):
    """The events' salts and digests go as text in the COPY: on a database whose (legacy)
    standard_conforming_strings is off they are stored as the bytes they are, not as the characters
    of an escape, so the log verifies."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's setting")
    url = database_url(backend, tmp_path)
    database = make_url(url).database
    owner = make_engine(url)

    def database_sets(setting: str) -> None:
        with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" {setting}'))

    database_sets("SET standard_conforming_strings = off")
    try:
        service, _ = open_service(url, load_scheme("lending"))  # its connections take the setting
        try:
            with service.engine.connect() as connection:
                assert connection.execute(text("SHOW standard_conforming_strings")).scalar_one() == "off"
            answer = service.ingest([{"id": f"p{i}", "subject": "bob", "kind": "payment", "time": NOW - 5}
                                     for i in range(3)], OPERATOR)
            assert answer["stored"] == 3
            with service.sessions() as session:
                sizes = session.execute(text("SELECT length(salt), length(digest) FROM events")).all()
                assert set(sizes) == {(16, 32)}, sizes
                assert audit.verify(session).intact
        finally:
            service.close()
    finally:
        database_sets("RESET standard_conforming_strings")
        owner.dispose()


def test_a_batch_whose_scoring_fails_stores_nothing_and_the_next_batch_is_stored_and_scored(lending):
    """Scoring that fails (here, made to) fails its ingest whole, on either database (on
    PostgreSQL, with the events' COPY under way): nothing of the batch is stored, the log stays
    whole, and the next batch is stored and its subjects scored from what is stored."""
    service, _, _ = lending
    service.ingest([{"id": "p0", "subject": "bob", "kind": "payment", "time": NOW - 9}], OPERATOR)
    real = service.scorer.score

    def failing(*args, **kwargs):
        service.scorer.score = real  # type: ignore[method-assign]  # once
        raise RuntimeError("made to fail")

    service.scorer.score = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="made to fail"):
        service.ingest([{"id": f"d{i}", "subject": "bob", "kind": "default", "time": NOW - 5} for i in range(600)],
                       OPERATOR)
    with service.store.reader() as session:
        assert session.execute(text("SELECT count(*) FROM events")).scalar_one() == 1
    answer = service.ingest([{"id": "p1", "subject": "bob", "kind": "payment", "time": NOW - 4}], OPERATOR)
    assert answer["stored"] == 1
    history = service.subjects.history("bob", Actor("a1", "admin"))
    assert len(history) == 2 and history[-1]["score"] == service.record("bob", Actor("a1", "admin"))["score"] == 780
    with service.sessions() as session:
        assert audit.verify(session).intact


def test_a_batch_sent_again_is_answered_as_duplicates_and_keeps_the_events_kept(lending):
    """A batch sent again (a client's retry) stores nothing and names every id a duplicate, on
    either database (on PostgreSQL the ids are not looked up before the COPY: it fails, and the
    batch is made again, looked up); the events the ingest keeps between batches are kept (a
    server's own entries record the ids found), not read again from the database."""
    service, _, _ = lending
    batch = [{"id": f"p{i}", "subject": f"s{i % 7}", "kind": "payment", "time": NOW - 5 - i} for i in range(20)]
    assert service.ingest(batch, OPERATOR)["stored"] == 20
    kept = len(service.intake.history)
    assert kept == 20
    answer = service.ingest(batch, OPERATOR)
    assert answer == {"stored": 0, "duplicates": sorted(e["id"] for e in batch), "rejected": []}
    assert len(service.intake.history) == kept, "the kept events were dropped"
    half = batch[10:] + [{"id": "q1", "subject": "s1", "kind": "default", "time": NOW - 1}]
    answer = service.ingest(half, OPERATOR)
    assert answer["stored"] == 1 and len(answer["duplicates"]) == 10
    assert service.subjects.history("s1", Actor("a1", "admin"))[-1]["score"] == \
        service.record("s1", Actor("a1", "admin"))["score"]
    with service.sessions() as session:
        assert audit.verify(session).intact


def test_a_change_another_process_commits_while_a_batch_is_made_ready_is_not_missed(lending, closed_after):
    """Another server process (here, a second service on the same database) ingests an event for
    the same subject while this one makes its batch ready outside its write transaction: this one
    sees the other's entry when it writes, makes its batch again, and records a score that counts
    both."""
    service, _, url = lending
    other = closed_after(Service(make_engine(url), service.scheme, now=lambda: NOW,
                                 write_engine=make_engine(url, writer=True), audit_key=service.store.audit_key,
                                 checkpoints=service.checkpoints.path))
    ingest = threading.Thread(target=service.ingest, args=([{"id": "p1", "subject": "bob", "kind": "payment",
                                                             "time": NOW - 5}], OPERATOR))
    ready, release = blocked_in_making_ready(service, [ingest])
    ingest.start()
    try:
        assert ready.wait(30)
        other.ingest([{"id": "d1", "subject": "bob", "kind": "default", "time": NOW - 3}], OPERATOR)
    finally:
        release.set()
        ingest.join(timeout=60)
    assert not ingest.is_alive()
    history = service.subjects.history("bob", Actor("a1", "admin"))
    now = service.record("bob", Actor("a1", "admin"))
    assert [h["score"] for h in history] == [580, now["score"]] and now["score"] == 580 + 200 - 200
    with service.sessions() as session:
        assert [e["action"] for e in audit.entries(session)][:2] == ["ingest", "ingest"]
        assert audit.verify(session).intact


def test_an_id_written_by_other_hands_while_a_batch_is_made_ready_is_a_duplicate(lending):
    """An event written into the database by other hands than a server's (no audit entry says so)
    with an id of the batch, while the batch is made ready: the first stands, as it would have had
    it come before, and the batch's answer calls it a duplicate."""
    service, _, _ = lending
    ingest_answer: list[dict] = []
    batch = [{"id": f"p{i}", "subject": "bob", "kind": "payment", "time": NOW - 5 - i} for i in range(3)]
    ingest = threading.Thread(target=lambda: ingest_answer.append(service.ingest(batch, OPERATOR)))
    ready, release = blocked_in_making_ready(service, [ingest])
    ingest.start()
    try:
        assert ready.wait(30)
        with service.engine.begin() as connection:
            connection.execute(text("INSERT INTO events (id, subject, kind, time, value, weight, status, ingested_at, "
                                    "ingested_by) VALUES ('p1', 'bob', 'default', :t, 1, 1, 'active', "
                                    "'2024-10-01 00:00:00', 'elsewhere')"), {"t": NOW - 2})
    finally:
        release.set()
        ingest.join(timeout=60)
    assert ingest_answer[0]["stored"] == 2 and ingest_answer[0]["duplicates"] == ["p1"]
    history = service.subjects.history("bob", Actor("a1", "admin"))
    assert history[-1]["score"] == service.record("bob", Actor("a1", "admin"))["score"]  # counts the default
    with service.sessions() as session:
        assert audit.verify(session).problems == ["event 'p1': no audit entry records it (written outside the server)"]
        # (on SQLite the batch's rows inserted before 'p1' was met were undone, with their index entries)
        assert [row[0] for row in session.execute(text("SELECT id FROM events ORDER BY id"))] == ["p0", "p1", "p2"]


def test_an_id_written_by_other_hands_before_the_batch_looks_its_ids_up_drops_the_kept_events(lending):
    """Other hands write two events of a subject this server keeps, one under an id of the batch,
    after the batch has brought its kept events up to date and before it looks its ids up: the id is
    a duplicate, and it tells the server its kept events may lack what the other hands wrote, so the
    score it records counts both of their events, as a read of the store does."""
    service, _, _ = lending
    service.ingest([{"id": "p0", "subject": "bob", "kind": "payment", "time": NOW - 9}], OPERATOR)  # bob kept
    history = service.intake.history
    real_sync = history.sync

    def sync_then_other_hands_write(reader, last=None):
        real_sync(reader, last)
        if history.sync is sync_then_other_hands_write:
            history.sync = real_sync  # once
            with service.engine.begin() as connection:
                for event_id, time in (("p1", NOW - 2), ("h9", NOW - 3)):
                    connection.execute(text("INSERT INTO events (id, subject, kind, time, value, weight, status, "
                                            "ingested_at, ingested_by) VALUES (:id, 'bob', 'default', :t, 1, 1, "
                                            "'active', '2024-10-01 00:00:00', 'elsewhere')"),
                                       {"id": event_id, "t": time})

    history.sync = sync_then_other_hands_write
    answer = service.ingest([{"id": f"p{i}", "subject": "bob", "kind": "payment", "time": NOW - 5 - i}
                             for i in (1, 2)], OPERATOR)
    assert answer["stored"] == 1 and answer["duplicates"] == ["p1"]
    with service.store.reader() as session:
        recorded = session.execute(text("SELECT score FROM score_history WHERE subject = 'bob' ORDER BY seq DESC")
                                   ).scalars().first()
        scores, _, _ = service.scorer.score(session, ["bob"], NOW)
    assert recorded == float(scores.score[0]), "the kept events lacked the other hands' (h9)"


def plan(connection, backend: str, statement: str, parameters: tuple) -> str:
    if backend == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        return " / ".join(str(row[-1]) for row in rows)
    # a table this small is read whole unless told not to: what is asked is which index serves
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    return " / ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all())


def test_scoring_reads_a_subjects_events_from_one_range_of_one_index(lending, backend):
    """What scoring reads of a subject's events is all in the index of them (on SQLite each run of
    `event_runs`, on PostgreSQL `events_by_subject`): a batch's reads find each subject's events
    in one place a run, however many others the store holds (the table itself is not read)."""
    service, _, _ = lending
    service.ingest([{"id": f"e{i}", "subject": f"s{i % 3}", "kind": "payment", "time": NOW - i}
                    for i in range(30)], OPERATOR)
    with service.engine.connect() as connection, connection.begin():
        one, many = SCORED_EVENTS[backend, True], SCORED_EVENTS[backend, False]
        if backend == "sqlite":
            found_one = plan(connection, backend, one, ("s1", NOW))
            found_many = plan(connection, backend, many.format("?, ?"), ("s1", "s2", NOW))
            # a seek of the subject in each run of the index (`runs.py`), never the table
            for found in (found_one, found_many):
                assert "SEARCH event_runs USING PRIMARY KEY (run=? AND subject=?)" in found, found
                assert "events" not in found.replace("event_runs", ""), found
        else:
            found_one = plan(connection, backend, one, ("s1", NOW))
            found_many = plan(connection, backend, many, (["s1", "s2"], NOW))
            for found in (found_one, found_many):
                assert "Index Only Scan using events_by_subject" in found, found
