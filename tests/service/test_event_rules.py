"""One set of rules for events wherever they come in: a log's row in `socialcredit score` and an
event sent to `serve` are accepted and refused alike, with the same words (`eventlog.check_events`)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from socialcredit.eventlog import EVENT_FIELDS, read_event_log
from socialcredit.service.keys import Actor

OPERATOR = Actor("test", "operator")
GOOD = {"subject": "bob", "kind": "payment", "time": "2024-09-01"}
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
])
def test_a_field_of_a_type_no_log_column_holds_is_refused_by_name(serving, event, field, words):
    # as `score` refuses a Parquet column of such a type by name (before, a source that was an object
    # failed the whole batch with a database error)
    answer = serving.ingest([event, GOOD], OPERATOR)
    assert answer["stored"] == 1
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [(0, field)]
    assert answer["rejected"][0]["problem"].startswith(words)
