"""No input gives a 5xx, on either database: what a request names beyond an event's fields (a subject
in a path, a relation, an appeal, a number in a path or query) meets the same limits as events do,
and a refusal says which field and why, in the body the OpenAPI document gives it."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from socialcredit.service.schemas import Invalid, Refused

from .conftest import Keys

H = Keys.header




def post(client: TestClient, path: str, body: object, key: str):
    """POST a body as ASCII JSON (a lone surrogate goes as \\ud800, as clients send it)."""
    return client.post(path, content=json.dumps(body).encode(),
                       headers={**H(key), "content-type": "application/json"})


@pytest.mark.parametrize(("path", "field"), [
    ("/v1/audit?after=" + str(10 ** 30), "query.after"),        # a 500 on both databases
    ("/v1/audit?after=-1", "query.after"),
    ("/v1/subjects/a%00b", "subject"),                          # a NUL: a 500 on PostgreSQL
    ("/v1/subjects/a%00b/events", "subject"),
    ("/v1/subjects/a%00b/history", "subject"),
    ("/v1/subjects/a%00b/entitlements/loan", "subject"),
    ("/v1/subjects/" + "x" * 201, "subject"),
])
def test_a_number_or_name_no_database_holds_is_a_422_naming_it(api, path, field):
    client, keys, _ = api
    answer = client.get(path, headers=H(keys.admin))
    assert answer.status_code == 422, answer.text
    assert [p.field for p in Invalid.model_validate(answer.json()).detail] == [field]


@pytest.mark.parametrize("appeal", [2 ** 63, 2 ** 63 + 5, 2 ** 31, 0])
def test_an_appeal_number_past_what_the_table_holds_is_a_422(api, appeal):
    # 2**63 gave a 500 on both databases, 2**31 on PostgreSQL (a 32-bit column)
    client, keys, _ = api
    answer = client.post(f"/v1/appeals/{appeal}/decision", json={"decision": "grant"}, headers=H(keys.reviewer))
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "path.appeal_id"


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"relations": [{"subject": "a\x00", "other": "b"}]}, "relations.0.subject", "holds a NUL character"),
    ({"relations": [{"subject": "x" * 201, "other": "b"}]}, "relations.0.subject", "201 characters"),
    ({"relations": [{"subject": "a", "other": "b/c"}]}, "relations.0.other", "holds a '/'"),
    ({"relations": [{"subject": "\ud800", "other": "b"}]}, "relations.0.subject", ""),
])
def test_a_relation_names_subjects_as_events_do(api, body, field, words):
    # on PostgreSQL a NUL or a long subject gave a 500; SQLite stored them
    client, keys, _ = api
    answer = post(client, "/v1/relations", body, keys.operator)
    assert answer.status_code == 422, answer.text
    problem = Invalid.model_validate(answer.json()).detail[0]
    assert problem.field == field and words in problem.problem


@pytest.mark.parametrize(("body", "field"), [
    ({"subject": "bob", "event_ids": ["\ud800"], "statement": "x"}, "event_ids.0"),   # a 500 on both
    ({"subject": "bob", "event_ids": ["d1\x00"], "statement": "x"}, "event_ids.0"),   # a 500 on PostgreSQL
    ({"subject": "bob", "event_ids": ["d1"], "statement": "not\x00mine"}, "statement"),
    ({"subject": "bob", "event_ids": ["d1"], "statement": "x" * 10_001}, "statement"),
    ({"subject": "b\x00b", "event_ids": ["d1"], "statement": "x"}, "subject"),
])
def test_an_appeal_holds_only_text_a_database_can_store(api, body, field):
    client, keys, _ = api
    answer = post(client, "/v1/appeals", body, keys.operator)
    assert answer.status_code == 422, answer.text
    assert Invalid.model_validate(answer.json()).detail[0].field == field


def test_a_decision_is_grant_or_reject_and_the_document_says_so(api):
    client, keys, _ = api
    answer = client.post("/v1/appeals/1/decision", json={"decision": "maybe"}, headers=H(keys.reviewer))
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "decision"
    spec = client.get("/openapi.json").json()
    assert spec["components"]["schemas"]["DecisionIn"]["properties"]["decision"]["enum"] == ["grant", "reject"]


def test_every_refusal_a_route_can_answer_is_in_the_document_with_its_body(api):
    # the 422 body, 404 and 400 were undocumented: a client could not know what a refusal holds
    client, _, _ = api
    spec = client.get("/openapi.json").json()
    refusals = {(path, method): set(operation["responses"]) - {"200", "201"}
                for path, operations in spec["paths"].items() for method, operation in operations.items()}
    assert refusals[("/v1/events", "post")] == {"400", "401", "403", "422"}
    assert refusals[("/v1/subjects/{subject}", "get")] == {"401", "403", "404", "422", "503"}
    assert refusals[("/v1/appeals/{appeal_id}/decision", "post")] == {"400", "401", "403", "404", "409", "422"}
    for (path, method), statuses in refusals.items():
        if path.startswith("/v1"):
            assert {"401", "403", "422"} <= statuses, (path, method)
            for status in statuses:
                body = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/" + ("Invalid" if status == "422" else "Refused")}


def test_every_refusal_has_the_body_the_document_gives_it(api):
    client, keys, _ = api
    answers = {
        "room 422": post(client, "/v1/events", {"events": [{"id": "x", "subject": "x", "kind": "bribe", "time": 1}],
                                                "atomic": True}, keys.operator),
        "FastAPI 422": post(client, "/v1/events", {"evnts": []}, keys.operator),
        "not JSON": client.post("/v1/events", content=b"{", headers={**H(keys.operator),
                                                                    "content-type": "application/json"}),
        "401": client.get("/v1/subjects/bob"), "403": client.get("/v1/audit", headers=H(keys.operator)),
        "404": client.get("/v1/subjects/nobody", headers=H(keys.admin)),
        "400": client.post("/v1/events", content=b'{"events": ["\xff"]}',
                           headers={**H(keys.operator), "content-type": "application/json"}),
    }
    for name, answer in answers.items():
        model = Invalid if answer.status_code == 422 else Refused
        model.model_validate(answer.json()), name
    assert answers["400"].status_code == 400
    assert answers["not JSON"].json()["detail"][0]["field"] == "body"


def test_a_method_a_path_does_not_take_is_a_405_naming_every_method_it_takes(api):
    # Starlette named the methods of the first route of the path only: OPTIONS /v1/appeals said POST
    client, keys, _ = api
    for path, allowed in (("/v1/appeals", "GET, POST"), ("/v1/events", "POST"), ("/v1/subjects/bob", "DELETE, GET")):
        answer = client.request("OPTIONS", path, headers=H(keys.admin))
        assert answer.status_code == 405 and answer.headers["allow"] == allowed
        Refused.model_validate(answer.json())
