"""The HTTP API: ingest, explain, check, appeal, audit; roles; bad input is a 4xx naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from socialcredit.scheme import load_scheme
from socialcredit.service import audit
from socialcredit.service.api import create_app
from socialcredit.service.core import MAX_BATCH

from .conftest import BOB, NOW, Keys, database_url, open_service

H = Keys.header





def test_ingest_is_idempotent_and_reports_bad_events_by_index(lending):
    service, keys, _ = lending
    client = TestClient(create_app(service))
    batch = BOB + [{"subject": "x", "kind": "bribe", "time": 1}, {"subject": "x", "kind": "payment", "time": "soon"},
                   {"subject": "", "kind": "payment", "time": 1}, {"subject": "x", "kind": "payment", "time": 1,
                                                                     "value": "lots"}]
    first = client.post("/v1/events", json={"events": batch}, headers=H(keys.operator)).json()
    assert first["stored"] == 4
    assert [(r["index"], r["field"]) for r in first["rejected"]] == [(4, "kind"), (5, "time"), (6, "subject"),
                                                                    (7, "value")]
    assert "unknown event kind 'bribe'" in first["rejected"][0]["problem"]
    again = client.post("/v1/events", json={"events": BOB}, headers=H(keys.operator)).json()
    assert again["stored"] == 0 and again["duplicates"] == sorted(e["id"] for e in BOB)
    assert len(client.get("/v1/subjects/bob/events", headers=H(keys.admin)).json()) == 3


def test_atomic_batch_is_all_or_nothing(lending):
    service, keys, _ = lending
    client = TestClient(create_app(service))
    batch = [{"id": "ok", "subject": "carol", "kind": "payment", "time": 1}, {"subject": "carol", "kind": "x",
                                                                               "time": 1}]
    answer = client.post("/v1/events", json={"events": batch, "atomic": True}, headers=H(keys.operator))
    assert answer.status_code == 422
    assert [p["field"] for p in answer.json()["detail"]] == ["events", "events.1.kind"]
    assert answer.json()["detail"][0]["problem"] == "nothing was stored (atomic batch): 1 of 2 events are invalid"
    assert client.get("/v1/subjects/carol", headers=H(keys.admin)).status_code == 404  # nothing half-written


def test_bad_requests_are_4xx_naming_the_field(api):
    client, keys, _ = api
    bad_json = client.post("/v1/events", content=b"{not json", headers={**H(keys.admin),
                                                                         "content-type": "application/json"})
    assert bad_json.status_code == 422
    missing = client.post("/v1/events", json={"evnts": []}, headers=H(keys.admin))
    assert missing.status_code == 422 and {p["field"] for p in missing.json()["detail"]} >= {"events"}
    too_many = client.post("/v1/events", json={"events": [BOB[0]] * (MAX_BATCH + 1)}, headers=H(keys.admin))
    assert too_many.status_code == 422 and too_many.json()["detail"] == [
        {"field": "events", "problem": "List should have at most 10000 items after validation, not 10001"}]
    unknown = client.get("/v1/subjects/nobody", headers=H(keys.admin))
    assert unknown.status_code == 404 and "nobody" in unknown.json()["detail"]
    action = client.get("/v1/subjects/bob/entitlements/fly", headers=H(keys.admin))
    assert action.status_code == 404 and "unknown entitlement 'fly'" in action.json()["detail"]
    decision = client.post("/v1/appeals/99/decision", json={"decision": "maybe"}, headers=H(keys.reviewer))
    assert decision.status_code == 422


def test_roles_and_keys(api):
    client, keys, _ = api
    assert client.get("/v1/subjects/bob").status_code == 401
    assert client.get("/v1/subjects/bob", headers=H("sck_nope_nope")).status_code == 401
    assert client.post("/v1/events", json={"events": []}, headers=H(keys.auditor)).status_code == 403
    assert client.post("/v1/events", json={"events": []}, headers=H(keys.bob)).status_code == 403
    assert client.get("/v1/audit", headers=H(keys.operator)).status_code == 403
    assert client.get("/v1/audit", headers=H(keys.auditor)).status_code == 200
    decided = client.post("/v1/appeals/1/decision", json={"decision": "grant"}, headers=H(keys.operator))
    assert decided.status_code == 403
    # a subject reads its own record, nothing of anyone else's
    assert client.get("/v1/subjects/bob", headers=H(keys.bob)).status_code == 200
    for path in ("/v1/subjects/alice", "/v1/subjects/alice/events", "/v1/subjects/alice/history",
                 "/v1/subjects/alice/entitlements/loan"):
        answer = client.get(path, headers=H(keys.bob))
        assert answer.status_code == 403 and "alice" not in answer.text
    assert client.get("/v1/stats", headers=H(keys.bob)).status_code == 403


def test_record_explains_every_point(api):
    client, keys, _ = api
    record = client.get("/v1/subjects/bob", headers=H(keys.bob)).json()
    assert record["scheme"] == "lending" and record["scheme_version"] == "1" and record["as_of"] == "2024-10-04"
    # 700 - 150 (1 late of 1 paid) - 30 (30 days late) - 200 (a default) - 30 (late 24 days ago) = 290
    assert record["score"] == 290 and record["tier"] == "deep_subprime" and record["lists"] == {"high_risk": True}
    assert [r["component"] for r in record["reasons"]] == ["payment_history", "defaults", "recency", "lateness"]


def test_denied_entitlement_says_why_and_how_to_appeal(api):
    client, keys, _ = api
    check = client.get("/v1/subjects/bob/entitlements/loan", headers=H(keys.operator)).json()
    assert check["allowed"] is False
    because = check["because"]
    assert because["lists"] == ["high_risk"] and because["tier"] == "deep_subprime"
    assert {e["id"] for e in because["events"]} == {"p1", "l1", "d1"}
    assert "POST /v1/appeals" in check["appeal"]["how"]
    assert client.get("/v1/subjects/alice/entitlements/loan", headers=H(keys.operator)).json() == {
        "subject": "alice", "action": "loan", "allowed": True, "as_of": "2024-10-04", "scheme": "lending",
        "scheme_version": "1"}


def test_appeal_voids_events_and_the_score_is_recomputed(api):
    client, keys, _ = api
    filed = client.post("/v1/appeals", json={"subject": "bob", "event_ids": ["d1"], "statement": "not my debt"},
                        headers=H(keys.bob))
    assert filed.status_code == 201 and filed.json()["status"] == "pending"
    assert [a["id"] for a in client.get("/v1/appeals?status=pending", headers=H(keys.reviewer)).json()] == [
        filed.json()["id"]]
    decided = client.post(f"/v1/appeals/{filed.json()['id']}/decision",
                          json={"decision": "grant", "note": "another person's debt"}, headers=H(keys.reviewer))
    assert decided.status_code == 200 and decided.json()["status"] == "granted"
    assert client.get("/v1/subjects/bob", headers=H(keys.bob)).json()["score"] == 490  # the default dropped out
    events = {e["id"]: e["status"] for e in client.get("/v1/subjects/bob/events", headers=H(keys.bob)).json()}
    assert events == {"p1": "active", "l1": "active", "d1": "voided"}
    history = client.get("/v1/subjects/bob/history", headers=H(keys.bob)).json()
    assert [h["score"] for h in history] == [290, 490]
    twice = client.post(f"/v1/appeals/{filed.json()['id']}/decision", json={"decision": "grant"},
                        headers=H(keys.reviewer))
    assert twice.status_code == 409


def test_a_subject_cannot_appeal_someone_elses_events(api):
    client, keys, _ = api
    answer = client.post("/v1/appeals", json={"subject": "bob", "event_ids": ["a1"], "statement": "x"},
                         headers=H(keys.bob))
    assert answer.status_code == 404 and "not events of 'bob'" in answer.json()["detail"]
    answer = client.post("/v1/appeals", json={"subject": "alice", "event_ids": ["a1"], "statement": "x"},
                         headers=H(keys.bob))
    assert answer.status_code == 403


def test_every_read_and_change_is_in_the_audit_log(api):
    client, keys, service = api
    client.get("/v1/subjects/bob", headers=H(keys.bob))
    client.get("/v1/subjects/bob/entitlements/loan", headers=H(keys.operator))
    log = client.get("/v1/audit", headers=H(keys.auditor)).json()
    actions = [(e["action"], e["subject"]) for e in log]
    with service.sessions() as session:
        bob = audit.pseudonym_of(session, "bob")  # the log names subjects by pseudonym only
    assert bob is not None and "bob" not in str(log)
    assert ("ingest", None) in actions
    assert ("read_record", bob) in actions and ("entitlement_check", bob) in actions
    reader = next(e for e in log if e["action"] == "read_record")
    assert reader["actor"].startswith("subject:")


def test_stats_and_openapi(api):
    client, keys, _ = api
    stats = client.get("/v1/stats", headers=H(keys.auditor)).json()
    assert stats["subjects"] == 2 and stats["lists"] == {"high_risk": 1}
    assert stats["entitlements_denied"]["loan"] == 1
    spec = client.get("/openapi.json").json()
    assert "/v1/subjects/{subject}/entitlements/{action}" in spec["paths"]
    assert client.get("/healthz").json()["status"] == "ok"


def serving(backend, tmp_path, scheme: str, events: list[dict]):
    """A service of `scheme` holding `events`: (client, keys), the database closed afterwards."""
    service, keys = open_service(database_url(backend, tmp_path), load_scheme(scheme))
    client = TestClient(create_app(service))
    assert client.post("/v1/events", json={"events": events}, headers=H(keys.operator)).status_code == 200
    yield client, keys
    service.close()


@pytest.fixture
def rongcheng(backend, tmp_path):
    # `serve` refuses Rongcheng's scheme for real people (it crosses contexts); the service runs it here
    # to check what a capped grade's explanation says.
    yield from serving(backend, tmp_path, "rongcheng", [
        {"id": "h1", "subject": "bob", "kind": "heroic_act", "time": "2024-06-01"},
        {"id": "h2", "subject": "bob", "kind": "heroic_act", "time": "2024-07-01"},
        {"id": "t1", "subject": "bob", "kind": "traffic_violation", "time": "2024-08-01"},
        {"id": "dd1", "subject": "bob", "kind": "drunk_driving", "time": "2024-09-01"},
        {"id": "h3", "subject": "li", "kind": "heroic_act", "time": "2024-06-01"}])


def test_a_loan_denied_by_a_capped_grade_names_the_cap(rongcheng):
    client, keys = rongcheng
    check = client.get("/v1/subjects/bob/entitlements/standard_loan_terms", headers=H(keys.bob)).json()
    assert check["allowed"] is False
    because = check["because"]
    # 1055 points (AAA), held at C by drunk driving: the cap decided the grade that denies the loan
    assert because["score"] == 1055 and because["tier"] == "C"
    assert because["tier_cap"] == {"code": "drunk_driving", "tier_cap": "drunk_driving",
                                   "when": "drunk_driving_2y >= 1", "at_most": "C", "tier_by_score": "AAA",
                                   "values": {"drunk_driving_2y": 1.0}}
    assert "dd1" in check["appeal"]["events_you_can_contest"]
    assert [r["component"] for r in because["components"]] == ["traffic"]
    # li, not capped, gets the loan; bob's heating discount (AAA only) is denied by the cap too
    assert client.get("/v1/subjects/li/entitlements/standard_loan_terms", headers=H(keys.operator)).json()["allowed"]
    heating = client.get("/v1/subjects/bob/entitlements/heating_discount", headers=H(keys.operator)).json()
    assert heating["because"]["tier_cap"]["code"] == "drunk_driving"


def test_a_capped_subjects_record_gives_the_cap_as_the_first_reason(rongcheng):
    client, keys = rongcheng
    record = client.get("/v1/subjects/bob", headers=H(keys.bob)).json()
    assert record["tier"] == "C" and record["capped_by"] == "drunk_driving"
    assert [r["code"] for r in record["reasons"]] == ["drunk_driving", "traffic"]
    assert client.get("/v1/subjects/li", headers=H(keys.operator)).json()["capped_by"] is None


@pytest.fixture
def fico(backend, tmp_path):
    def ago(days: int) -> float:  # days since 1970-01-01, before the service's fixed clock
        return NOW - days

    # bob: a card opened a month ago and paid since: too new to score; li: a loan opened 400 days ago
    yield from serving(backend, tmp_path, "fico", [
        {"id": "b1", "subject": "bob", "kind": "account_opened", "time": ago(30), "value": 1},
        {"id": "b2", "subject": "bob", "kind": "payment", "time": ago(5)},
        {"id": "l1", "subject": "li", "kind": "account_opened", "time": ago(400), "value": 2},
        {"id": "l2", "subject": "li", "kind": "payment", "time": ago(5)}])


def test_an_unscored_subjects_record_says_so_with_the_reason(fico):
    client, keys = fico
    record = client.get("/v1/subjects/bob", headers=H(keys.bob)).json()
    assert record["scored"] is False and record["unscored_by"] == ["no_account_six_months_old"]
    assert record["score"] is None and record["pre"] is None and record["tier"] is None
    assert [r["code"] for r in record["reasons"]] == ["no_account_six_months_old"]
    assert record["reasons"][0]["when"].startswith("accounts_opened_10y - accounts_opened_6m")
    li = client.get("/v1/subjects/li", headers=H(keys.operator)).json()
    assert li["scored"] is True and li["unscored_by"] == [] and li["score"] >= 300 and li["tier"]
    history = client.get("/v1/subjects/bob/history", headers=H(keys.operator)).json()
    assert history and history[-1]["score"] is None
    stats = client.get("/v1/stats", headers=H(keys.operator)).json()
    assert stats["unscored"] == 1 and stats["score"]["mean"] == li["score"]


def test_an_unscored_subject_is_denied_the_mortgage_by_the_schemes_rule(fico):
    client, keys = fico
    check = client.get("/v1/subjects/bob/entitlements/fha_mortgage", headers=H(keys.bob)).json()
    assert check["allowed"] is False
    because = check["because"]
    assert because["rule"] == "scored and score >= 500" and because["score"] is None and because["tier"] is None
    assert [r["code"] for r in because["unscored"]] == ["no_account_six_months_old"]
    assert because["unscored"][0]["values"]["accounts_opened_6m"] == 1.0
    assert client.get("/v1/subjects/li/entitlements/fha_mortgage", headers=H(keys.operator)).json()["allowed"]


def test_a_serving_app_shortens_the_gil_switch_interval_and_restores_it_after(lending):
    import sys

    from socialcredit.service.api import GIL_SWITCH_SECONDS

    service, _keys, _ = lending
    before = sys.getswitchinterval()
    with TestClient(create_app(service)):  # the lifespan runs: the app serves
        assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_SECONDS)
    assert sys.getswitchinterval() == pytest.approx(before)
