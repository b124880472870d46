"""The portal at /portal, page by page and role by role, as a browser would use it (TestClient keeps
the cookie): sign-in, a subject's record with every denial explained, contesting and following an
appeal, the reviewers' queue, the audit log and its verification; and no page shows a role what the
API refuses it."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from socialcredit.service.keys import create_key, key_id_of, revoke
from socialcredit.service.portal import words

from .conftest import Keys

H = Keys.header


def signed_in(app, key: str) -> TestClient:
    client = TestClient(app)
    answer = client.post("/portal/sign-in", data={"key": key}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def words_of(page: str) -> str:
    """A page's text as a reader sees it: no tags, entities read, spaces collapsed."""
    page = re.sub(r"<head>.*?</head>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def token_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no form token on the page"
    return found[1]


@pytest.fixture
def portal(api):
    client, keys, service = api
    with service.sessions.begin() as session:
        alice = create_key(session, "subject", "alice")
    return client.app, keys, service, alice, client


def test_the_sign_in_form_takes_a_key_and_keeps_it_in_a_strict_httponly_cookie(portal):
    app, keys, _, _, _ = portal
    client = TestClient(app)
    form = client.get("/portal")
    assert form.status_code == 200
    assert '<label for="key">' in form.text and 'id="key" name="key" type="password"' in form.text
    answer = client.post("/portal/sign-in", data={"key": keys.bob}, follow_redirects=False)
    assert answer.status_code == 303 and keys.bob not in answer.headers["location"]
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/portal" in cookie
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/portal/subjects/bob"


def test_a_wrong_or_revoked_key_is_refused_with_why(portal):
    app, keys, service, _, _ = portal
    client = TestClient(app)
    wrong = client.post("/portal/sign-in", data={"key": "sck_000000000000_nothing"})
    assert wrong.status_code == 401 and "unknown API key" in wrong.text and "set-cookie" not in wrong.headers
    client = signed_in(app, keys.bob)
    with service.sessions.begin() as session:
        revoke(session, key_id_of(keys.bob))
    page = client.get("/portal/subjects/bob")
    assert page.status_code == 401 and "was revoked" in page.text
    assert client.get("/portal/subjects/bob", follow_redirects=False).headers["location"] == "/portal"  # signed out


def test_a_page_without_signing_in_sends_to_the_sign_in_form_and_a_post_is_refused(portal):
    app, _, _, _, _ = portal
    client = TestClient(app)
    for path in ("/portal/subjects/bob", "/portal/appeals", "/portal/audit", "/portal/audit/verify"):
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/portal"), path
    post = client.post("/portal/subjects/bob/appeals", data={"event_id": "d1", "statement": "x"})
    assert post.status_code == 401 and "Sign in" in post.text


def test_a_subject_sees_score_tier_lists_and_each_denial_in_plain_words(portal):
    app, keys, _, _, api = portal
    record = api.get("/v1/subjects/bob", headers=H(keys.bob)).json()
    page = signed_in(app, keys.bob).get("/portal")
    said = words_of(page.text)
    assert page.url.path == "/portal/subjects/bob"
    assert f"Score {record['score']:.0f} on a scale of 0 to 1000" in said
    assert f"Tier {record['tier']}" in said and "Lists on high_risk" in said
    # the loan's denial: the rule, the list (and its rule), the tier, the components and the events
    assert "loan is allowed when not high_risk and tier >= 'subprime' . It is denied because:" in said
    assert "you are on the list high_risk , which holds everyone for whom defaults_on_file >= 1" in said
    assert "defaults: -200 points, because defaults_on_file is 1" in said
    denial = said[said.index("Why you may not: loan"):said.index("Why you may not: rent_without_deposit")]
    assert "d1 default 2024-09-24 1 not given Counts" in denial
    assert "Why you may not: rent_without_deposit" in said  # the perk too: every denied entitlement
    # everything the page loads or links is the portal's own: no CDN, no script
    assert all(link.startswith(("/portal", "#")) for link in re.findall(r'(?:href|src|action)="([^"]*)"', page.text))
    assert "<script" not in page.text


def test_a_subject_sees_who_read_their_record(portal):
    app, keys, _, _, api = portal
    api.get("/v1/subjects/bob/entitlements/loan", headers=H(keys.operator))
    operator_id = keys.operator.split("_")[1]
    said = words_of(signed_in(app, keys.bob).get("/portal/subjects/bob").text)
    reads = said[said.index("Who read your record"):]
    assert f"an operator (key {operator_id}) checked whether 'loan' is allowed (denied)" in reads
    assert "you (this key) read the record" in reads  # opening the page is a read, logged as the API's


def test_an_appeal_end_to_end_the_subject_contests_a_reviewer_decides_the_subject_sees_it(portal):
    app, keys, _, _, api = portal
    before = api.get("/v1/subjects/bob", headers=H(keys.bob)).json()["score"]
    bob = signed_in(app, keys.bob)
    page = bob.get("/portal/subjects/bob").text
    filed = bob.post("/portal/subjects/bob/appeals", follow_redirects=False,
                     data={"csrf": token_of(page), "event_id": ["d1"], "statement": "This debt is not mine."})
    assert filed.status_code == 303 and filed.headers["location"].endswith("#appeal-1")
    said = words_of(bob.get("/portal/subjects/bob").text)
    assert f"Appeal 1: {words.appeal_outcome('pending')}" in said
    assert "d1 default 2024-09-24 1 not given Counts; contested, waiting for a reviewer" in said

    reviewer = signed_in(app, keys.reviewer)
    queue = reviewer.get("/portal/appeals")
    shown = words_of(queue.text)
    assert "Appeal 1 by bob" in shown and "This debt is not mine." in shown
    assert "The contested events Event Kind Date Value Source Status d1 default 2024-09-24" in shown
    decided = reviewer.post("/portal/appeals/1/decision", follow_redirects=False,
                            data={"csrf": token_of(queue.text), "decision": "grant", "note": "a namesake's debt"})
    assert decided.status_code == 303
    assert "No appeals here." in reviewer.get("/portal/appeals").text  # the queue is empty

    said = words_of(bob.get("/portal/subjects/bob").text)
    after = api.get("/v1/subjects/bob", headers=H(keys.bob)).json()["score"]
    assert after > before and f"Score {after:.0f} on a scale" in said
    assert f"Appeal 1: {words.appeal_outcome('granted')}" in said and "a namesake's debt" in said
    assert f"d1 default 2024-09-24 1 not given {words.event_status('voided')}" in said
    assert api.get("/v1/appeals", headers=H(keys.bob)).json()[0]["status"] == "granted"
    again = reviewer.post("/portal/appeals/1/decision", data={"csrf": token_of(queue.text), "decision": "reject"})
    assert again.status_code == 409 and "already decided" in again.text


def test_a_form_from_another_site_or_without_the_page_s_token_files_nothing(portal):
    app, keys, _, _, api = portal
    bob = signed_in(app, keys.bob)
    token = token_of(bob.get("/portal/subjects/bob").text)
    body = {"event_id": "d1", "statement": "x"}
    assert bob.post("/portal/subjects/bob/appeals", data=body).status_code == 403
    assert bob.post("/portal/subjects/bob/appeals", data={**body, "csrf": "0" * 64}).status_code == 403
    foreign = bob.post("/portal/subjects/bob/appeals", data={**body, "csrf": token},
                       headers={"Origin": "https://elsewhere.example"})
    assert foreign.status_code == 403 and "another site" in foreign.text
    assert api.get("/v1/appeals", headers=H(keys.admin)).json() == []


def test_a_contest_without_events_or_statement_says_which_field(portal):
    app, keys, _, _, api = portal
    bob = signed_in(app, keys.bob)
    token = token_of(bob.get("/portal/subjects/bob").text)
    answer = bob.post("/portal/subjects/bob/appeals", data={"csrf": token, "statement": "wrong"})
    assert answer.status_code == 422 and "event_ids" in words_of(answer.text)
    answer = bob.post("/portal/subjects/bob/appeals", data={"csrf": token, "event_id": "a1", "statement": "mine?"})
    # alice's event: answered as the API answers it
    assert answer.status_code == 404 and "not events of 'bob': a1" in words_of(answer.text)
    assert api.get("/v1/appeals", headers=H(keys.admin)).json() == []


def test_an_auditor_sees_the_log_a_checkpoint_and_the_verification_which_finds_an_edit(portal):
    app, keys, service, _, _ = portal
    auditor = signed_in(app, keys.auditor)
    log = words_of(auditor.get("/portal/audit").text)
    operator_id = keys.operator.split("_")[1]
    assert f"operator:{operator_id} ingest" in log and "stored: 4" in log
    assert "A checkpoint of the log now Signed by the server's audit key" in log and "Entries 1" in log
    verdict = words_of(auditor.get("/portal/audit/verify").text)
    assert "Intact :" in verdict and "each sealed by the server's key" in verdict
    with service.engine.begin() as connection:
        connection.execute(text("UPDATE audit SET actor = 'admin:someone' WHERE seq = 1"))
    verdict = words_of(auditor.get("/portal/audit/verify").text)
    assert "Tampered" in verdict and "entry 1: its content does not match its hash (edited)" in verdict


# --- nothing shown to a role that the API refuses it ----------------------------------------------

ROLES = ("admin", "operator", "reviewer", "auditor", "bob", "alice")


def key_of(keys: Keys, alice: str, role: str) -> str:
    return alice if role == "alice" else getattr(keys, role)


def allowed(status: int) -> bool:
    return status in (200, 201, 303)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_lets_a_role_through_exactly_where_the_api_does(portal, role):
    app, keys, _, alice, api = portal
    key = key_of(keys, alice, role)
    browser = signed_in(app, key)
    token = token_of(browser.get("/portal", follow_redirects=True).text)
    reads = [("/portal/subjects/bob", "/v1/subjects/bob"), ("/portal/subjects/alice", "/v1/subjects/alice"),
             ("/portal/appeals", "/v1/appeals"), ("/portal/audit", "/v1/audit"),
             ("/portal/audit/verify", "/v1/audit/checkpoint")]
    for page, route in reads:
        shown, answered = browser.get(page).status_code, api.get(route, headers=H(key)).status_code
        assert allowed(shown) == allowed(answered), (role, page, shown, answered)
        if not allowed(answered):
            assert shown == answered == 403, (role, page)
    # filing for bob, in the portal and over the API
    shown = browser.post("/portal/subjects/bob/appeals", follow_redirects=False,
                         data={"csrf": token, "event_id": "p1", "statement": "s"}).status_code
    answered = api.post("/v1/appeals", headers=H(key),
                        json={"subject": "bob", "event_ids": ["p1"], "statement": "s"}).status_code
    assert allowed(shown) == allowed(answered), (role, "file", shown, answered)
    # deciding: two pending appeals, one decided in each
    first, second = (api.post("/v1/appeals", headers=H(keys.admin),
                              json={"subject": "bob", "event_ids": ["l1"], "statement": "s"}).json()["id"]
                     for _ in range(2))
    shown = browser.post(f"/portal/appeals/{first}/decision", follow_redirects=False,
                         data={"csrf": token, "decision": "reject"}).status_code
    answered = api.post(f"/v1/appeals/{second}/decision", headers=H(key), json={"decision": "reject"}).status_code
    assert allowed(shown) == allowed(answered), (role, "decide", shown, answered)


@pytest.mark.parametrize("role", ROLES)
def test_a_page_shows_a_section_or_a_form_only_where_the_api_allows_it(portal, role):
    app, keys, _, alice, api = portal
    key = key_of(keys, alice, role)
    browser = signed_in(app, key)
    api.post("/v1/appeals", headers=H(keys.admin), json={"subject": "bob", "event_ids": ["l1"], "statement": "s"})
    page = browser.get("/portal/subjects/bob")
    if page.status_code == 200:
        # who read a file is in its export; filing is POST /v1/appeals
        exports = api.get("/v1/subjects/bob/export", headers=H(key)).status_code == 200
        assert ("Who read" in page.text) == exports, role
        files = api.post("/v1/appeals", headers=H(key), json={"subject": "bob", "event_ids": ["p1"],
                                                                "statement": "s"}).status_code == 201
        assert ('action="/portal/subjects/bob/appeals"' in page.text) == files, role
        lists = api.get("/v1/appeals", headers=H(key)).status_code == 200
        assert ("Appeal 1:" in page.text) == lists, role
    queue = browser.get("/portal/appeals")
    if queue.status_code == 200:
        decides = api.post("/v1/appeals/1/decision", headers=H(key), json={"decision": "sideways"}).status_code == 422
        assert ('action="/portal/appeals/1/decision"' in queue.text) == decides, role
        for someone_else in {"bob", "alice"} - {role}:
            if role in ("bob", "alice"):
                assert f"by {someone_else}" not in words_of(queue.text)


def test_a_subject_cannot_reach_another_s_page_or_file_for_them(portal):
    app, keys, _, alice, api = portal
    bob = signed_in(app, keys.bob)
    other = bob.get("/portal/subjects/alice")
    assert other.status_code == 403 and "a subject key reads only its own record" in other.text
    assert not re.search(r"\ba1\b", words_of(other.text)) and "Signed in: subject bob" in words_of(other.text)
    token = token_of(bob.get("/portal/subjects/bob").text)
    refused = bob.post("/portal/subjects/alice/appeals", data={"csrf": token, "event_id": "a1", "statement": "s"})
    assert refused.status_code == 403
    assert api.get("/v1/appeals", headers=H(keys.admin)).json() == []


def test_an_unscored_subject_is_told_which_condition_holds(backend, tmp_path, closed_after):
    from socialcredit.scheme import load_scheme
    from socialcredit.service.api import create_app

    from .conftest import NOW, database_url, open_service

    service, keys = open_service(database_url(backend, tmp_path), load_scheme("fico"))
    app = create_app(closed_after(service))
    stored = TestClient(app).post("/v1/events", headers=H(keys.operator), json={"events": [
        {"id": "p1", "subject": "bob", "kind": "payment", "time": NOW - 20}]})
    assert stored.status_code == 200
    said = words_of(signed_in(app, keys.bob).get("/portal/subjects/bob").text)
    assert "Score none: you are unscored (no_account_six_months_old)" in said
    assert ("there is no score while accounts_opened_10y - accounts_opened_6m + payments_on_file - payments_6m < 1"
            in said)


def test_the_cookie_holds_a_session_id_never_the_api_key_and_signing_out_ends_it(portal):
    """A copied cookie is no API credential, and after signing out it opens nothing, in any browser."""
    app, keys, _, _, api = portal
    client = signed_in(app, keys.bob)
    session_id = client.cookies.get("socialcredit_portal")
    assert session_id and keys.bob not in session_id and key_id_of(keys.bob) not in session_id
    assert api.get("/v1/subjects/bob", headers=H(session_id)).status_code == 401
    copied = TestClient(app, cookies={"socialcredit_portal": session_id})
    assert copied.get("/portal/subjects/bob").status_code == 200
    page = client.get("/portal/subjects/bob")
    signed_out = client.post("/portal/sign-out", data={"csrf": token_of(page.text)}, follow_redirects=False)
    assert signed_out.status_code == 303
    ended = copied.get("/portal/subjects/bob")
    assert ended.status_code == 401 and "session ended" in ended.text
    assert signed_in(app, keys.bob).cookies.get("socialcredit_portal") != session_id  # a new id each time


def test_a_session_ends_with_its_time_and_with_its_key_revoked(portal):
    app, keys, service, _, _ = portal
    client = signed_in(app, keys.auditor)
    with service.sessions.begin() as session:
        session.execute(text("UPDATE portal_sessions SET expires_at = '2000-01-01 00:00:00'"))
    expired = client.get("/portal/audit")
    assert expired.status_code == 401 and "session ended" in expired.text
    client = signed_in(app, keys.auditor)
    with service.sessions.begin() as session:
        revoke(session, key_id_of(keys.auditor))
    refused = client.get("/portal/audit")
    assert refused.status_code == 401 and "was revoked" in refused.text


@pytest.mark.parametrize("after", ["²", "١٢", "-1", "1.5", "x"])
def test_the_audit_page_says_after_must_be_a_whole_number(portal, after):
    app, keys, _, _, _ = portal
    page = signed_in(app, keys.auditor).get("/portal/audit", params={"after": after})
    assert page.status_code == 422 and "after: a whole number of entries" in words_of(page.text)
