"""Appeals reveal nothing of other people's events: an id of someone else's event gets the answer
an unknown id gets, word for word; an appeal names at most MAX_EVENT_IDS events."""

from __future__ import annotations

import pytest

from socialcredit.service.appeals import MAX_EVENT_IDS
from socialcredit.service.errors import ServiceError
from socialcredit.service.keys import Actor

from .conftest import NOW, Keys

H = Keys.header




@pytest.mark.parametrize("who", ["bob", "operator"])
def test_another_persons_event_is_answered_as_an_unknown_id_is(api, who):
    client, keys, _ = api
    key = keys.bob if who == "bob" else keys.operator

    def appeal(event_ids: list[str]):
        return client.post("/v1/appeals", json={"subject": "bob", "event_ids": event_ids, "statement": "not mine"},
                           headers=H(key))

    alices, unknown = appeal(["a1"]), appeal(["zz"])  # a1 is alice's payment; zz was never stored
    assert alices.status_code == unknown.status_code == 404
    assert alices.text.replace("a1", "ID") == unknown.text.replace("zz", "ID")
    # among the subject's own events too: nothing says which of the others exist
    mixed, unknowns = appeal(["d1", "a1", "zz"]), appeal(["d1", "yy", "zz"])
    assert mixed.status_code == unknowns.status_code == 404
    assert mixed.text.replace("a1", "ID") == unknowns.text.replace("yy", "ID")
    assert appeal(["d1"]).status_code == 201


def test_an_appeal_names_at_most_max_event_ids_events(api):
    client, keys, service = api
    events = [{"id": f"late-{i}", "subject": "bob", "kind": "late_payment", "time": NOW - 200 + i, "value": 5}
              for i in range(MAX_EVENT_IDS)]
    stored = client.post("/v1/events", json={"events": events}, headers=H(keys.operator)).json()["stored"]
    assert stored == MAX_EVENT_IDS
    ids = [e["id"] for e in events]
    too_many = client.post("/v1/appeals", json={"subject": "bob", "event_ids": [*ids, "d1"], "statement": "x"},
                           headers=H(keys.bob))
    assert too_many.status_code == 422 and [p["field"] for p in too_many.json()["detail"]] == ["event_ids"]
    assert f"at most {MAX_EVENT_IDS}" in too_many.json()["detail"][0]["problem"]
    with pytest.raises(ServiceError, match=f"at most {MAX_EVENT_IDS} events, got 101"):  # the room, without HTTP
        service.appeals.file("bob", [*ids, "d1"], "x", Actor("cli", "admin"))
    filed = client.post("/v1/appeals", json={"subject": "bob", "event_ids": ids, "statement": "x"}, headers=H(keys.bob))
    assert filed.status_code == 201 and len(filed.json()["event_ids"]) == MAX_EVENT_IDS
    assert f"at most {MAX_EVENT_IDS}" in client.get("/openapi.json").text
