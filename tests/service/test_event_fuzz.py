"""Fuzzed event fields, through HTTP on each database: whatever an event holds, the batch is answered
(never a 5xx), each bad event is named by index and field, the good ones are stored as sent, and
every subject stored can be read afterwards (an event accepted with a time of 1e7 broke its
subject's `/events` for good)."""

from __future__ import annotations

import itertools
import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.eventlog import EVENT_FIELDS
from socialcredit.service.api import create_app

from .conftest import NOW, Keys

H = Keys.header
KINDS = ["payment", "late_payment", "default", "inquiry"]  # the lending scheme's

# Text as JSON can carry it: any code point, a lone surrogate, a NUL, past the length limit, a '/'.
odd_text = st.one_of(st.text(max_size=12), st.sampled_from(["\ud800", "a\udfffb", "nul\x00", "x" * 201, "a/b",
                                                            "", "   ", "Ωμέγα", "1e400"]))
numbers = st.one_of(st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.floats(allow_nan=True),
                    st.sampled_from([10 ** 400, 2 ** 64, 1e15, -1e15, 1e16, 0, -0.0]))
anything = st.one_of(st.none(), st.booleans(), numbers, odd_text, st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
times = st.one_of(st.floats(min_value=NOW - 40_000, max_value=NOW + 5), st.sampled_from([1e7, -1e6, 1e300]),
                  st.sampled_from(["2024-09-01", "2024-09-01T08:00:00+02:00", "soon", "9999-12-31", "1850-01-01"]),
                  anything)
fields = {"subject": st.one_of(st.sampled_from(["bob", "alice", "c-3"]), odd_text, anything),
          "kind": st.one_of(st.sampled_from(KINDS), odd_text, anything), "time": times,
          "value": st.one_of(st.sampled_from([1, 30, 3650, -100_000]), numbers, anything),
          "weight": st.one_of(st.sampled_from([0, 1, 2.5]), numbers, anything),
          "source": st.one_of(st.none(), odd_text, anything), "actor": st.one_of(st.none(), odd_text, anything),
          "id": st.one_of(st.none(), odd_text, anything)}
# an event: some fields fuzzed, the others good (so that most events have one problem, and many none)
event_shapes = st.fixed_dictionaries({}, optional={name: strategy for name, strategy in fields.items()})
serial = itertools.count()


def good_event(fuzzed: dict) -> dict:
    return {"id": f"e{next(serial)}", "subject": "bob", "kind": "payment", "time": NOW - 3, **fuzzed}


@pytest.fixture
def client(lending):
    service, keys, _ = lending
    return TestClient(create_app(service)), keys


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(batch=st.lists(event_shapes.map(good_event), min_size=1, max_size=6))
def test_fuzzed_events_are_answered_named_stored_as_sent_and_readable(client, batch):
    client, keys = client
    body = json.dumps({"events": batch}).encode()  # ASCII JSON: a lone surrogate goes as \ud800, as clients send it
    answer = client.post("/v1/events", content=body, headers={**H(keys.operator), "content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    rejected = {r["index"]: r for r in result["rejected"]}
    assert sorted(rejected) == [r["index"] for r in result["rejected"]] and set(rejected) <= set(range(len(batch)))
    assert all(r["field"] in EVENT_FIELDS and r["problem"] for r in result["rejected"])
    good = [event for index, event in enumerate(batch) if index not in rejected]
    assert result["stored"] <= len(good)
    for event in good:
        subject = str(event["subject"])
        stored = client.get(f"/v1/subjects/{quote(subject, safe='')}/events", headers=H(keys.admin))
        assert stored.status_code == 200, stored.text
        same = [e for e in stored.json() if e["id"] == str(event["id"])]
        assert len(same) == 1
        if str(event["id"]) not in result["duplicates"]:  # else an earlier event of that id stands
            value, weight, source = (event.get(name) for name in ("value", "weight", "source"))
            assert (same[0]["kind"], same[0]["value"], same[0]["weight"], same[0]["source"]) == (
                event["kind"], 1.0 if value is None else float(value), 1.0 if weight is None else float(weight),
                None if source is None else str(source))
        for path in ("", "/history", "/entitlements/loan"):
            read = client.get(f"/v1/subjects/{quote(subject, safe='')}{path}", headers=H(keys.admin))
            assert read.status_code == 200, (path, read.text)
