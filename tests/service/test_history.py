"""An ingest scores the subjects it moves from their events kept in memory (`history.KeptHistory`),
not read again from the database: the scores it records are, to the bit, those that scoring every
stored event from scratch gives, over a long history and after every kind of change to a subject's
events (late events, future-dated ones, voided ones, an erasure, a purge, another process's ingest,
a restart with another version of the scheme), and, on SQLite, with the events' index in many runs
merged meanwhile (`runs.py`)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from socialcredit.scheme import scheme_from_data
from socialcredit.service import history, runs
from socialcredit.service.core import Actor, Service
from socialcredit.service.db import make_engine

from .conftest import NOW, database_url, open_service
from .test_ingest import SUMMING_SCHEME

OPERATOR, ADMIN = Actor("o1", "operator"), Actor("a1", "admin")
SUBJECTS = 12


def a_batch(rng: np.random.Generator, first: int, size: int, today: float) -> list[dict]:
    """Events of 12 subjects, dated anywhere from 500 days ago to within the day's grace ahead (so,
    out of the order they are sent in, and some not yet counted), with fractional values."""
    kinds = rng.choice(["payment", "late_payment", "rating"], size)
    tops = {"payment": 1000.0, "late_payment": 100.0}
    return [{"id": f"e{first + i}", "subject": f"s{rng.integers(0, SUBJECTS)}", "kind": str(kind),
             "time": float(today - rng.uniform(-0.9, 500)),
             "value": float(rng.integers(1, 6)) if kind == "rating" else float(rng.uniform(0, tops[kind])),
             "weight": float(rng.uniform(0.1, 3))} for i, kind in enumerate(kinds)]


def recorded_now(service: Service, today: float) -> dict[str, float | None]:
    """Each subject's score as recorded at `today` (the last recorded, if several)."""
    with service.store.reader() as session:
        return {subject: score for subject, score in session.execute(text(
            "SELECT subject, score FROM score_history WHERE as_of = :today ORDER BY seq"), {"today": today})}


def from_scratch(service: Service, subjects: list[str], today: float) -> dict[str, float | None]:
    """These subjects' scores at `today` from every stored event, read from the database."""
    with service.store.reader() as session:
        scores, ids, _ = service.scorer.score(session, subjects, today)
    return {s: float(scores.score[i]) if scores.scored[i] else None for i, s in enumerate(ids) if s in subjects}


def test_scores_from_kept_events_equal_scores_from_every_stored_event_after_every_change(backend, tmp_path,
                                                                                          monkeypatch, closed_after):
    monkeypatch.setattr(history, "REGROUP_FROM", 100)  # the kept rows grouped by subject again and again
    # on SQLite, a run of the events' index every 2-3 batches, merged into the base by the merges'
    # threads of both services as the batches come: the reads from scratch go through it
    monkeypatch.setattr(runs, "RUN_ENTRIES", 97)
    monkeypatch.setattr(runs, "MERGE_AT", 2)
    monkeypatch.setattr(runs, "STEP_ENTRIES", 40)
    url = database_url(backend, tmp_path)
    opened = closed_after(open_service(url, scheme_from_data(SUMMING_SCHEME))[0])
    clock = [NOW]
    service = closed_after(Service(opened.engine, opened.scheme, now=lambda: clock[0],
                                   audit_key=opened.store.audit_key, checkpoints=opened.checkpoints.path))
    other = closed_after(Service(make_engine(url), opened.scheme, now=lambda: clock[0],
                                 audit_key=opened.store.audit_key, checkpoints=opened.checkpoints.path))
    # (`other`: another server process on the same database)
    service.add_relations([("s0", "s1"), ("s1", "s2"), ("s3", "s4"), ("s5", "s11")], OPERATOR)
    rng = np.random.default_rng(5)
    sent = 0
    kept_after: list[int] = []

    def ingest_and_compare(by: Service = service) -> None:
        nonlocal sent
        clock[0] += 3.7  # time passes: events leave windows and the retention, decays move on
        answer = by.ingest(a_batch(rng, sent, 40, clock[0]), OPERATOR)
        sent += 40
        assert answer["stored"] == 40 and not answer["rejected"]
        recorded = recorded_now(service, clock[0])
        assert recorded and recorded == from_scratch(service, sorted(recorded), clock[0])  # ==: to the bit
        kept_after.append(len(service.intake.history))

    for _ in range(40):  # 1,600 events over 12 subjects, over 148 days
        ingest_and_compare()
    assert kept_after[-1] > 1000  # the events were kept, not read again
    # an appeal granted: the events it names are voided
    with service.store.reader() as session:
        contested = [row[0] for row in session.execute(text(
            "SELECT id FROM events WHERE subject = 's1' AND status = 'active' ORDER BY time DESC LIMIT 5"))]
    appeal = service.appeals.file("s1", contested, "not mine", ADMIN)
    service.appeals.decide(appeal["id"], "grant", "agreed", ADMIN)
    ingest_and_compare()
    # an erasure, then new events of the erased subject
    service.erase("s3", ADMIN)
    for _ in range(3):
        ingest_and_compare()
    # a purge past the retention, a year on (and of events dated ahead)
    clock[0] += 365
    assert service.purge(ADMIN)["events"] > 0
    for _ in range(3):
        ingest_and_compare()
    # another process's ingests, between this one's
    for _ in range(3):
        ingest_and_compare(by=other)
        ingest_and_compare()
    # a restart with a new version of the scheme: nothing kept yet, scores all the same
    newer = scheme_from_data(dict(SUMMING_SCHEME, version="2"))
    service = closed_after(Service(opened.engine, newer, now=lambda: clock[0], audit_key=opened.store.audit_key,
                                   checkpoints=opened.checkpoints.path))
    for _ in range(3):
        ingest_and_compare()
    if backend == "sqlite":
        with service.store.reader() as session:
            assert index_equals_events(session)
            newest = session.execute(text("SELECT max(run) FROM runs")).scalar_one()
            in_base = session.execute(text("SELECT count(*) FROM event_runs WHERE run = 0")).scalar_one()
        assert newest > 10 and in_base > 100, (newest, in_base)  # many runs made, and merged (a purge left 273)


def index_equals_events(session) -> bool:
    """Whether SQLite's index of the events in runs holds each event once, as it is, in a run that is."""
    projection = ("subject, coalesce(entry, -1), coalesce(pos, -1), id, status, time, kind, value, weight",
                  "subject, entry, pos, id, status, time, kind, value, weight")
    return all(session.execute(text(statement)).first() is None for statement in (
        f"SELECT {projection[0]} FROM events EXCEPT SELECT {projection[1]} FROM event_runs",
        f"SELECT {projection[1]} FROM event_runs EXCEPT SELECT {projection[0]} FROM events",
        "SELECT id FROM event_runs GROUP BY id HAVING count(*) > 1",
        "SELECT run FROM event_runs WHERE run NOT IN (SELECT run FROM runs)"))


def test_an_ingest_reads_from_the_database_only_the_subjects_it_has_not_kept(lending, closed_after):
    """The first batch that names a subject reads their events; the next ones read none of theirs;
    a server that has warmed up (read every stored event as it started) reads none."""
    service, _, _ = lending
    reads: list[int] = []
    real = service.scorer.score

    def score(*args, **kwargs):
        scored = real(*args, **kwargs)
        reads.append(scored[2])
        return scored

    service.scorer.score = score  # type: ignore[method-assign]
    events = [{"id": f"p{i}", "subject": "bob", "kind": "payment", "time": NOW - 100 + i} for i in range(50)]
    service.ingest(events[:40], OPERATOR)
    fresh = closed_after(Service(service.engine, service.scheme, now=lambda: NOW, audit_key=service.store.audit_key,
                                 checkpoints=service.checkpoints.path))  # a restart: nothing kept
    fresh.scorer.score = score  # type: ignore[method-assign]
    fresh.ingest(events[40:45], OPERATOR)
    fresh.ingest(events[45:], OPERATOR)
    warmed = closed_after(Service(service.engine, service.scheme, now=lambda: NOW,
                                  audit_key=service.store.audit_key, checkpoints=service.checkpoints.path))
    warmed.warm()  # as a server starts: every stored event read at once
    warmed.scorer.score = score  # type: ignore[method-assign]
    warmed.ingest([{"id": "q1", "subject": "bob", "kind": "late_payment", "time": NOW - 1}], OPERATOR)
    assert reads == [0, 40, 0, 0]
    assert len(warmed.intake.history) == 51
    assert service.record("bob", ADMIN)["score"] == warmed.subjects.history("bob", ADMIN)[-1]["score"]


def test_kept_events_are_refused_before_the_state_is_brought_to_the_log(lending):
    """Kept events asked for before the state was brought to the log's last entry (`sync`) would be
    kept with no entry to hold later changes against (an appeal decided since would go unseen):
    refused, not answered from a state that may be stale."""
    service, _, _ = lending
    service.ingest([{"id": "p0", "subject": "bob", "kind": "payment", "time": NOW - 9}], OPERATOR)
    kept = history.KeptHistory(service.scorer.codes)
    with service.store.reader() as session:
        with pytest.raises(RuntimeError, match="sync"):
            kept.events(session, ["bob"], NOW)
        kept.sync(session)
        events, read = kept.events(session, ["bob"], NOW)
    assert read == 1 and len(events) == 1


# a score that is the sum itself, to the last bit (no cap, no rounding away of its low bits)
PLAIN_SUM = {"id": "plain", "title": "Plain sum (test)", "version": "1",
             "scale": {"min": 0, "max": 100000, "base": 0}, "retention_days": 400,
             "events": {"payment": {"category": "financial", "value": [0, 1000]},
                        "rating": {"category": "peer", "value": [1, 5]}},
             "features": {"paid": {"sum": "payment", "window_days": 300}},
             "components": {"paying": {"feature": "paid", "per_unit": 1.0, "max": 100000}},
             "tiers": [{"name": "good", "min": 600}, {"name": "poor", "min": 0}]}


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_a_warmed_server_sums_events_written_by_other_hands_as_a_read_from_scratch_does(backend, tmp_path, seed):
    """Events with no audit entry (written by other hands, or stored before entries were kept), with
    fractional values and inserted out of time order: the state a server loads as it starts orders
    them as every read of a subject does, so the score an ingest records is, to the bit, the one
    from scratch (summed in the order they were inserted, the last bits differed)."""
    url = database_url(backend, tmp_path)
    service, _ = open_service(url, scheme_from_data(PLAIN_SUM))
    rng = np.random.default_rng(seed)
    try:
        with service.engine.begin() as connection:
            for i in range(40):
                connection.execute(text(
                    "INSERT INTO events (id, subject, kind, time, value, weight, status, ingested_at, ingested_by) "
                    "VALUES (:id, 'bob', 'payment', :t, :v, :w, 'active', '2024-10-01 00:00:00', 'elsewhere')"),
                    {"id": f"o{i}", "t": NOW - float(rng.uniform(1, 290)), "v": float(rng.uniform(0, 10)),
                     "w": float(rng.uniform(0.1, 3))})
        service.warm()  # as `serve` starts: every stored event read at once
        service.ingest([{"id": "n1", "subject": "bob", "kind": "rating", "time": NOW - 1, "value": 4}], OPERATOR)
        recorded = recorded_now(service, NOW)
        assert list(recorded) == ["bob"]
        assert recorded == from_scratch(service, ["bob"], NOW)  # ==: to the bit
    finally:
        service.close()
