"""One set of rules for events wherever they come in: a log's row in `socialcredit score` and an
event sent to `serve` are accepted and refused alike, with the same words (`eventlog.check_events`)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from socialcredit.eventlog import EVENT_FIELDS, read_event_log
from socialcredit.service.errors import ServiceError
from socialcredit.service.keys import Actor

OPERATOR = Actor("test", "operator")
GOOD = {"id": "g1", "subject": "bob", "kind": "payment", "time": "2024-09-01"}
# Each event as it could come in both ways: JSON's numbers are a CSV's numbers, its text a CSV's text.
EVENTS = [
    GOOD,
    {**GOOD, "subject": 5},                                   # an id that is a whole number, read as "5"
    {**GOOD, "subject": ""}, {**GOOD, "subject": "   "}, {"kind": "payment", "time": 19990},
    {**GOOD, "kind": "bribe"}, {**GOOD, "kind": "paymnt"}, {"subject": "bob", "time": 19990},
    {**GOOD, "time": "soon"}, {**GOOD, "time": "2024-13-45"}, {"subject": "bob", "kind": "payment"},
    {**GOOD, "time": 19990}, {**GOOD, "time": "1850-01-01"}, {**GOOD, "time": "9999-12-31"}, {**GOOD, "time": 1e300},
    {**GOOD, "value": "lots"}, {**GOOD, "value": float("inf")}, {**GOOD, "value": 2.5},
    {**GOOD, "kind": "late_payment", "value": -1}, {**GOOD, "kind": "late_payment", "value": 5000},
    {**GOOD, "kind": "late_payment", "value": -1e308}, {**GOOD, "kind": "late_payment", "value": 30},
    {**GOOD, "weight": -1}, {**GOOD, "weight": 0},
    # what any database stores alike: names of at most 200 characters without NUL, values and weights
    # a double sums exactly (PostgreSQL refused the long or NUL text with a 500; SQLite stored it)
    {**GOOD, "subject": "x" * 200}, {**GOOD, "subject": "x" * 201}, {**GOOD, "subject": "a\x00b"},
    {**GOOD, "source": "s" * 201}, {**GOOD, "actor": "nul\x00"}, {**GOOD, "id": "i" * 201},
    {**GOOD, "value": 1e15}, {**GOOD, "value": 2.0 ** 64}, {**GOOD, "value": -1e300}, {**GOOD, "weight": 1e20},
    {"subject": "", "kind": "bribe", "time": "soon", "value": "lots"},  # several problems: the first is said
]
FUTURE_IN_SCORE = ", or pass --allow-future to score records dated ahead of today"  # score's own way out


def score_says(tmp_path, event: dict, scheme) -> tuple[str, str] | None:
    """The first problem `score` finds in a log of this one event (None if it scores it)."""
    path = tmp_path / "one.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EVENT_FIELDS)
        writer.writerow(["" if event.get(name) is None else event[name] for name in EVENT_FIELDS])
    bad = read_event_log(path, scheme).bad
    if not bad.count:
        return None
    problems = sorted(zip(bad.columns, np.concatenate(bad.problems).tolist(), strict=True),
                      key=lambda found: EVENT_FIELDS.index(found[0]))
    return problems[0]


@pytest.fixture
def serving(lending):
    service, _, _ = lending
    return service


@pytest.mark.parametrize("event", EVENTS, ids=[repr(e) for e in EVENTS])
def test_score_and_serve_accept_and_refuse_an_event_alike(serving, tmp_path, event):
    event = {"id": "e1", **event}  # serve requires an id (below); score takes a log without
    answer = serving.ingest([event], OPERATOR)
    serve = (answer["rejected"][0]["field"], answer["rejected"][0]["problem"]) if answer["rejected"] else None
    score = score_says(tmp_path, event, serving.scheme)
    if score is not None and score[1].endswith(FUTURE_IN_SCORE):
        score = (score[0], score[1].removesuffix(FUTURE_IN_SCORE))
    assert serve == score
    assert answer["stored"] == (serve is None)


def test_an_id_is_kept_once_in_a_batch_as_in_a_log(serving, tmp_path):
    answer = serving.ingest([{**GOOD, "id": "x"}, {**GOOD, "id": "x", "time": 19991}, {**GOOD, "id": 7}], OPERATOR)
    assert answer == {"stored": 2, "duplicates": ["x"], "rejected": []}
    again = serving.ingest([{**GOOD, "id": "7"}], OPERATOR)  # a whole-number id is its digits, as in a log
    assert again == {"stored": 0, "duplicates": ["7"], "rejected": []}
    path = tmp_path / "twice.csv"
    path.write_text("subject,kind,time,id\nbob,payment,2024-09-01,x\nbob,payment,19991,x\nbob,payment,2024-09-01,7\n")
    assert read_event_log(path, serving.scheme).duplicates == 1


@pytest.mark.parametrize(("event", "field", "words"), [
    ({**GOOD, "value": "30"}, "value", "value '30' is not a number"),   # JSON has numbers: text is not one
    ({**GOOD, "weight": True}, "weight", "weight True is not a number"),
    ({**GOOD, "subject": 5.5}, "subject", "subject 5.5 is not text or a whole number"),
    ({**GOOD, "source": {"bank": 1}}, "source", "source {'bank': 1} is not text or a whole number"),
    ({**GOOD, "actor": ["clerk"]}, "actor", "actor ['clerk'] is not text or a whole number"),
    ({**GOOD, "id": [1]}, "id", "id [1] is not text or a whole number"),
    ({**GOOD, "kind": ["payment"]}, "kind", "kind ['payment'] is not text or a whole number"),
    ({**GOOD, "value": 10 ** 400}, "value", "value 1000000000"),   # a whole number past any double
    # JSON can carry a lone surrogate, which no UTF-8 table or database holds (it gave a 500)
    ({**GOOD, "subject": "\ud800"}, "subject", "subject '\\ud800' is not UTF-8 text"),
    ({**GOOD, "source": "a\udfffb"}, "source", "source 'a\\udfffb' is not UTF-8 text"),
    ({**GOOD, "kind": "\udc00"}, "kind", "kind '\\udc00' is not UTF-8 text"),
    ({**GOOD, "time": "2024-\ud800"}, "time", "cannot read '2024-\\ud800' as a time"),
])
def test_a_field_of_a_type_no_log_column_holds_is_refused_by_name(serving, event, field, words):
    # as `score` refuses a Parquet column of such a type by name (before, a source that was an object
    # failed the whole batch with a database error)
    answer = serving.ingest([event, {**GOOD, "id": "good"}], OPERATOR)
    assert answer["stored"] == 1
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(0, field)]
    assert answer["rejected"][0]["problem"].startswith(words)


def test_serve_requires_an_id_so_that_a_batch_sent_again_is_stored_once(serving):
    # an event without an id got a random one, and a retried batch was stored twice
    batch = [{k: v for k, v in GOOD.items() if k != "id"}, {**GOOD, "id": "  "}, {**GOOD, "id": "p-1"}]
    answer = serving.ingest(batch, OPERATOR)
    assert answer["stored"] == 1 and [(r["index"], r["field"]) for r in answer["rejected"]] == [(0, "id"), (1, "id")]
    assert "so that a batch sent again is stored once" in answer["rejected"][0]["problem"]
    assert serving.ingest(batch, OPERATOR)["stored"] == 0


def test_a_repeated_id_in_a_batch_is_a_duplicate_and_moves_no_one_else(serving):
    # the second event of an id named another subject: it was counted as stored, and that subject got
    # an audit entry and a score
    answer = serving.ingest([{**GOOD, "id": "x"}, {**GOOD, "id": "x", "subject": "carol"}], OPERATOR)
    assert answer == {"stored": 1, "duplicates": ["x"], "rejected": []}
    ingest = [e for e in serving.audit_log() if e["action"] == "ingest"][-1]
    assert ingest["detail"]["stored"] == 1 and ingest["detail"]["duplicates"] == 1
    assert ingest["detail"]["rows"]["events"][0] == 1, "the entry covers the one event stored (count, digest)"
    with pytest.raises(ServiceError) as refused:
        serving.record("carol", OPERATOR)
    assert refused.value.status == 404


@pytest.mark.parametrize(("event", "field", "words"), [
    ({**GOOD, "subject": "x" * 201}, "subject", "subject of 201 characters is longer than 200"),
    ({**GOOD, "subject": "x" * 1_000_000}, "subject", "subject of 1,000,000 characters is longer than 200"),
    ({**GOOD, "subject": "a\x00b"}, "subject", "subject 'a\\x00b' holds a NUL character"),
    ({**GOOD, "source": "s" * 201}, "source", "source of 201 characters"),
    ({**GOOD, "actor": "nul\x00"}, "actor", "holds a NUL character"),
    ({**GOOD, "id": "i" * 201}, "id", "id of 201 characters"),
    ({**GOOD, "value": 2.0 ** 64}, "value", "is outside what a 'payment' may carry (from -1e+15 to 1e+15)"),
    ({**GOOD, "weight": 1e20}, "weight", "weight 1e+20 is more than 1e+15"),
])
def test_a_name_or_number_no_database_holds_alike_is_refused_and_the_rest_stored(serving, tmp_path, event, field,
                                                                                 words):
    # PostgreSQL answered 500 for text over 200 characters or with a NUL and stored none of the batch;
    # SQLite stored a megabyte subject; 2**64 and 1e20 were stored and summed towards infinity
    answer = serving.ingest([event, {**GOOD, "id": "good"}], OPERATOR)
    assert answer["stored"] == 1
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(0, field)]
    assert words in answer["rejected"][0]["problem"]
    assert score_says(tmp_path, event, serving.scheme) == (field, answer["rejected"][0]["problem"])


def test_serve_refuses_a_subject_no_url_path_can_name(serving):
    # /v1/subjects/a%2Fevents reached the events of 'a': a subject holding '/' could be stored and never read
    answer = serving.ingest([{**GOOD, "subject": "a/events"}, GOOD], OPERATOR)
    assert answer["stored"] == 1 and [(r["index"], r["field"]) for r in answer["rejected"]] == [(0, "subject")]
    assert "holds a '/', and no URL path could name it" in answer["rejected"][0]["problem"]
