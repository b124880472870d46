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


def test_an_appeal_is_granted_or_rejected_over_the_api_and_stored_as_before(api):
    """The API's words (grant/reject, granted/rejected) are the simulation's; the database keeps
    the status words it had (voided/upheld: covered by the audit log's digests), translated at the
    edge both ways, so a filter by status finds what the answer said."""
    from sqlalchemy import select

    from socialcredit.service.db import Appeal

    client, keys, service = api
    ids = []
    for event in ("d1", "l1"):
        filed = client.post("/v1/appeals", json={"subject": "bob", "event_ids": [event], "statement": "not mine"},
                            headers=H(keys.bob))
        ids.append(filed.json()["id"])
    granted = client.post(f"/v1/appeals/{ids[0]}/decision", json={"decision": "grant"}, headers=H(keys.reviewer))
    rejected = client.post(f"/v1/appeals/{ids[1]}/decision", json={"decision": "reject"}, headers=H(keys.reviewer))
    assert granted.json()["status"] == "granted" and rejected.json()["status"] == "rejected"
    for status, appeal in (("granted", ids[0]), ("rejected", ids[1])):
        found = client.get(f"/v1/appeals?status={status}", headers=H(keys.reviewer)).json()
        assert [a["id"] for a in found] == [appeal]
    assert client.get("/v1/appeals?status=upheld", headers=H(keys.reviewer)).status_code == 422
    events = {e["id"]: e["status"] for e in client.get("/v1/subjects/bob/events", headers=H(keys.bob)).json()}
    assert events["d1"] == "voided" and events["l1"] == "active"  # a rejected appeal's event stands
    with service.store.reader() as session:
        stored = dict(session.execute(select(Appeal.id, Appeal.status)).all())
    assert stored == {ids[0]: "voided", ids[1]: "upheld"}
    again = client.post(f"/v1/appeals/{ids[1]}/decision", json={"decision": "grant"}, headers=H(keys.reviewer))
    assert again.status_code == 409 and "already decided (rejected)" in again.text
