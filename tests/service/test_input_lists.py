"""Input lists supplied to `serve` (issue 19, joint punishment): a supplier lists and delists the
members of another body's list the scheme reads; each change is checked whole, idempotent, audited
and covered like ingest, and moves the subjects' entitlements at once; a subject sees their places
and a denial through a list names it; an appeal against a place is not this scheme's to decide;
erasure, export and retention cover the places; and serve agrees with `score --list`."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from socialcredit.scheme import load_scheme
from socialcredit.scorejob import run_score
from socialcredit.service import audit
from socialcredit.service.api import create_app
from socialcredit.service.core import Actor
from socialcredit.service.db import make_sessions
from socialcredit.service.keys import create_key
from socialcredit.service.migrate import alembic_config
from socialcredit.service.schemas import Entitlement, Export, Invalid, Record

from .conftest import NOW, Keys, database_url, open_service

H = Keys.header
EXAMPLES = Path(__file__).parents[2] / "examples"
LIST = "court_defaulters"
KEPT_BY = "the courts' list of judgment defaulters"


@pytest.fixture
def court(backend, tmp_path):
    """The lending scheme reading the courts' list (examples/), bob's good record, and a supplier key."""
    url = database_url(backend, tmp_path)
    service, keys = open_service(url, load_scheme(str(EXAMPLES / "lending-with-court-list.yaml")))
    with make_sessions(service.engine, service.store.audit_key).begin() as session:
        supplier = create_key(session, "supplier")
    client = TestClient(create_app(service))
    events = [{"id": f"p{i}", "subject": "bob", "kind": "payment", "time": NOW - 30 * i} for i in range(1, 6)]
    events += [{"id": "a1", "subject": "alice", "kind": "payment", "time": NOW - 10}]
    assert client.post("/v1/events", json={"events": events}, headers=H(keys.operator)).status_code == 200
    yield client, keys, supplier, service
    service.close()


def supply(client, key, listed=(), delisted=(), name=LIST):
    return client.post(f"/v1/input-lists/{name}", json={"listed": list(listed), "delisted": list(delisted)},
                       headers=H(key))


def loan(client, keys, subject="bob"):
    return client.get(f"/v1/subjects/{subject}/entitlements/loan", headers=H(keys.admin)).json()


def test_a_listing_denies_at_once_names_the_list_and_a_delisting_lifts_it(court):
    client, keys, supplier, _ = court
    assert loan(client, keys)["allowed"] is True
    answer = supply(client, supplier, [{"subject": "bob", "on": "2024-09-20", "source": "case 2024-77"}])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"list": LIST, "listed": 1, "delisted": 0, "unchanged": 0, "rescored": 1, "unknown": []}
    denied = Entitlement.model_validate(loan(client, keys))
    assert denied.allowed is False and denied.because is not None and denied.appeal is not None
    assert denied.because.input_lists == [{"list": LIST, "since": "2024-09-20", "source": "case 2024-77",
                                           "kept_by": KEPT_BY}]
    assert denied.because.lists == []  # none of the scheme's own: the court's list alone denies it
    [said] = denied.appeal.not_decided_here or []
    assert f"'{LIST}' ({KEPT_BY}), since 2024-09-20, on their reference 'case 2024-77'" in said
    assert "not this scheme's to decide" in said
    # the change recorded the new score in bob's history (the rescoring), and the record shows the place
    history = client.get("/v1/subjects/bob/history", headers=H(keys.admin)).json()
    assert len(history) == 2
    record = Record.model_validate(client.get("/v1/subjects/bob", headers=H(keys.bob)).json())
    assert record.input_lists[LIST].model_dump() == {"member": True, "since": "2024-09-20",
                                                     "source": "case 2024-77", "kept_by": KEPT_BY}
    assert record.entitlements["loan"] is False
    answer = supply(client, supplier, delisted=[{"subject": "bob", "on": NOW - 1, "source": "paid, case 2024-77"}])
    assert answer.json()["delisted"] == 1
    assert loan(client, keys)["allowed"] is True
    record = client.get("/v1/subjects/bob", headers=H(keys.bob)).json()
    assert record["input_lists"][LIST] == {"member": False, "since": None, "source": None, "kept_by": KEPT_BY}


def test_a_listing_dated_after_now_counts_from_its_day(court):
    client, keys, supplier, _ = court
    supply(client, supplier, [{"subject": "bob", "on": NOW + 0.5, "source": "case 9"}])  # within the day's grace
    assert loan(client, keys)["allowed"] is True


def test_a_change_sent_again_changes_nothing(court):
    client, keys, supplier, service = court
    listed = [{"subject": "bob", "on": "2024-09-01", "source": "case 1"},
              {"subject": "carol", "on": "2024-09-02", "source": "case 2"}]
    first = supply(client, supplier, listed).json()
    again = supply(client, supplier, listed).json()
    assert (first["listed"], first["unchanged"]) == (2, 0) and (again["listed"], again["unchanged"]) == (0, 2)
    delisted = [{"subject": "carol", "on": "2024-09-30", "source": "quashed"}]
    assert supply(client, supplier, delisted=delisted).json()["delisted"] == 1
    assert supply(client, supplier, delisted=delisted).json() == {"list": LIST, "listed": 0, "delisted": 0,
                                                                   "unchanged": 1, "rescored": 0, "unknown": []}
    # the first listing sent again after its delisting is still the one given before, not a new one
    assert supply(client, supplier, listed[1:]).json()["unchanged"] == 1
    with service.store.reader() as session:
        assert session.execute(text("SELECT count(*) FROM input_list_members")).scalar() == 2
        changes = [e for e in audit.entries(session) if e["action"] == "input_list"]
        assert [e["detail"]["listed"] for e in changes] == [2, 0, 0, 0, 0]
        assert audit.verify(session).problems == []
    # carol, on no event of the scheme's, is a subject: scored at the base, as `score --list` scores her
    carol = client.get("/v1/subjects/carol", headers=H(keys.admin))
    assert carol.status_code == 200 and carol.json()["input_lists"][LIST]["member"] is False


@pytest.mark.parametrize(("listed", "delisted", "field", "words"), [
    ([{"subject": "bob", "on": "yesterday", "source": "c"}], [], "listed.0.on", "cannot read 'yesterday'"),
    ([{"subject": "bob", "on": "1899-12-31", "source": "c"}], [], "listed.0.on", "before 1900"),
    ([{"subject": "bob", "on": NOW + 2, "source": "c"}], [], "listed.0.on", "in the future"),
    ([{"subject": "b/b", "on": NOW, "source": "c"}], [], "listed.0.subject", "holds a '/'"),
    ([{"subject": "bob", "on": NOW, "source": "c\x00"}], [], "listed.0.source", "NUL"),
    ([{"subject": "bob", "on": NOW, "source": "c"}], [{"subject": "bob", "on": NOW, "source": "c"}],
     "delisted.0.subject", "named twice"),
    ([], [{"subject": "alice", "on": NOW, "source": "c"}], "delisted.0.subject", "'alice' is not on"),
    ([], [{"subject": "eve", "on": "2024-08-01", "source": "c"}], "delisted.0.on", "before 'eve' was listed"),
    ([{"subject": "eve", "on": "2024-09-05", "source": "c"}], [], "listed.0.on", "which this listing overlaps"),
])
def test_a_change_is_checked_whole_and_stored_whole_or_not_at_all(court, listed, delisted, field, words):
    client, keys, supplier, service = court
    supply(client, supplier, [{"subject": "eve", "on": "2024-09-01", "source": "case 5"}])
    good = {"subject": "zed", "on": NOW - 5, "source": "case 6"}
    answer = supply(client, supplier, [good, *listed], delisted)
    assert answer.status_code == 422, answer.text
    problems = Invalid.model_validate(answer.json()).detail
    shifted = field.replace("listed.0", "listed.1") if field.startswith("listed") else field
    assert [p.field for p in problems] == [shifted] and words in problems[0].problem, problems
    with service.store.reader() as session:  # zed's good listing was not stored either
        assert session.execute(text("SELECT subject FROM input_list_members")).scalars().all() == ["eve"]


def test_a_change_holds_at_most_a_thousand_listings_and_delistings(court):
    client, _, supplier, _ = court
    many = [{"subject": f"s{i}", "on": NOW - 1, "source": "c"} for i in range(1001)]
    answer = supply(client, supplier, many[:500], many[500:])
    assert answer.status_code == 422 and "at most 1,000 listings and delistings, got 1,001" in answer.text


def test_only_a_supplier_or_an_admin_supplies_a_list_and_the_supplier_reads_no_one(court):
    client, keys, supplier, _ = court
    change = [{"subject": "bob", "on": NOW - 3, "source": "case 3"}]
    for key in (keys.operator, keys.reviewer, keys.auditor, keys.bob):
        assert supply(client, key, change).status_code == 403
    assert supply(client, keys.admin, change).status_code == 200
    assert client.get("/v1/subjects/bob", headers=H(supplier)).status_code == 403
    answer = supply(client, supplier, change, name="blacklist")
    assert answer.status_code == 404 and "reads no input list 'blacklist' (it reads: court_defaulters)" in answer.text


def test_an_appeal_against_a_place_on_the_list_is_not_taken_and_says_who_decides(court):
    client, keys, supplier, service = court
    supply(client, supplier, [{"subject": "bob", "on": NOW - 3, "source": "case 3"}])
    answer = client.post("/v1/appeals", json={"subject": "bob", "event_ids": [LIST], "statement": "not me"},
                         headers=H(keys.bob))
    assert answer.status_code == 422
    [problem] = Invalid.model_validate(answer.json()).detail
    assert problem.field == "event_ids" and f"'{LIST}' is another body's list ({KEPT_BY})" in problem.problem
    assert client.get("/v1/appeals", headers=H(keys.admin)).json() == []


def test_erasure_export_and_retention_cover_places_on_lists(court):
    client, keys, supplier, service = court
    supply(client, supplier, [{"subject": "bob", "on": "2020-01-01", "source": "case 1"},
                              {"subject": "alice", "on": "2018-01-01", "source": "case 2"}])
    supply(client, supplier, delisted=[{"subject": "bob", "on": "2020-06-01", "source": "paid"}])
    supply(client, supplier, [{"subject": "bob", "on": "2024-09-01", "source": "case 3"}])
    export = Export.model_validate(client.get("/v1/subjects/bob/export", headers=H(keys.bob)).json())
    assert [(p.listed_on, p.listed_source, p.delisted_on, p.delisted_source) for p in export.input_lists] == [
        ("2020-01-01", "case 1", "2020-06-01", "paid"), ("2024-09-01", "case 3", None, None)]
    assert export.input_lists[0].listed_by.startswith("supplier:")
    assert export.record is not None and export.record.input_lists[LIST].since == "2024-09-01"
    # retention (7 years) deletes a place that ended before its cutoff, as an event by its date; not one
    # that goes on, however old
    service.scheme = service.scheme.model_copy(update={"retention_days": 365})
    deleted = service.purge(Actor("k1", "admin"))
    assert deleted["input_lists"] == 1
    with service.store.reader() as session:
        assert sorted(session.execute(text("SELECT subject, listed_on FROM input_list_members")).all()) == [
            ("alice", pytest.approx(17532.0)), ("bob", pytest.approx(19967.0))]
    erased = client.delete("/v1/subjects/bob", headers=H(keys.admin)).json()
    assert erased["erased"]["input_lists"] == 1
    with service.store.reader() as session:
        assert session.execute(text("SELECT subject FROM input_list_members")).scalars().all() == ["alice"]
        assert audit.verify(session).problems == []


def test_an_edited_or_deleted_place_is_found_by_audit_verify(court):
    client, _, supplier, service = court
    supply(client, supplier, [{"subject": "bob", "on": NOW - 40, "source": "case 1"},
                              {"subject": "carol", "on": NOW - 40, "source": "case 2"}])
    supply(client, supplier, delisted=[{"subject": "carol", "on": NOW - 3, "source": "quashed"}])
    with service.store.sessions.begin() as session:
        session.execute(text(f"UPDATE input_list_members SET listed_on = {NOW - 400} WHERE subject = 'bob'"))
        session.execute(text("UPDATE input_list_members SET delisted_source = 'never' WHERE subject = 'carol'"))
    with service.store.reader() as session:
        problems = audit.verify(session).problems
    assert any("input list membership" in p and "does not match the digest" in p for p in problems), problems
    assert any("the delisting of input list membership" in p for p in problems), problems
    with service.store.sessions.begin() as session:
        session.execute(text("DELETE FROM input_list_members WHERE subject = 'bob'"))
    with service.store.reader() as session:
        problems = audit.verify(session).problems
    assert any("listing(s) at place(s) 0" in p and "gone" in p for p in problems), problems


def test_serve_with_the_members_supplied_agrees_with_score_given_the_same_file(court, tmp_path):
    client, keys, supplier, service = court
    events = [{"id": f"e{i}", "subject": f"s{i % 9}", "time": NOW - 600 + 13 * i,
               "kind": ("late_payment", "payment", "default", "inquiry", "payment")[i % 5],
               **({"value": 10 + i} if i % 5 == 0 else {})} for i in range(60)]
    client.post("/v1/events", json={"events": events}, headers=H(keys.operator))
    members = ["s1", "s4", "s7", "ghost"]  # ghost: on the list, named by no event
    supply(client, supplier, [{"subject": s, "on": NOW - 100, "source": f"case {s}"} for s in [*members, "s2"]])
    supply(client, supplier, delisted=[{"subject": "s2", "on": NOW - 5, "source": "paid"}])  # off it by now
    with (tmp_path / "events.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subject", "kind", "time", "value", "id"])
        writer.writerows([e["subject"], e["kind"], e["time"], e.get("value", ""), e["id"]] for e in events)
    (tmp_path / "members.csv").write_text("subject\n" + "\n".join(members) + "\n")
    batch = run_score(tmp_path / "events.csv", service.scheme, NOW, input_lists={LIST: tmp_path / "members.csv"})
    rows = batch.table.to_pylist()
    assert {r["subject"] for r in rows} == {f"s{i}" for i in range(9)} | {"ghost"}
    assert sum(r[LIST] for r in rows) == 4 and sum(not r["loan"] for r in rows) >= 4
    for row in rows:
        record = client.get(f"/v1/subjects/{row['subject']}", headers=H(keys.admin)).json()
        assert record["score"] == pytest.approx(row["score"], rel=1e-12), row["subject"]
        assert record["tier"] == row["tier"] and record["lists"]["high_risk"] == row["high_risk"]
        assert record["input_lists"][LIST]["member"] == row[LIST]
        assert record["entitlements"] == {"loan": row["loan"], "rent_without_deposit": row["rent_without_deposit"]}
        assert ";".join(r["component"] for r in record["reasons"]) == row["reasons"]
    stats = client.get("/v1/stats", headers=H(keys.admin)).json()  # ghost is counted among the subjects
    assert stats["subjects"] == 10 + 2 and stats["entitlements_denied"]["loan"] == sum(not r["loan"] for r in rows)
    # and an ingest's scoring (from the events kept in memory) reads the list as the reads do
    client.post("/v1/events", json={"events": [{"id": "x1", "subject": "s1", "kind": "payment", "time": NOW - 1}]},
                headers=H(keys.operator))
    latest = client.get("/v1/subjects/s1/history", headers=H(keys.admin)).json()[-1]
    assert latest["score"] == client.get("/v1/subjects/s1", headers=H(keys.admin)).json()["score"]
    assert loan(client, keys, "s1")["allowed"] is False


def test_the_portal_shows_a_subject_their_places_and_a_denial_through_a_list(court):
    from .test_portal import signed_in, words_of

    client, keys, supplier, _ = court
    supply(client, supplier, [{"subject": "bob", "on": "2024-09-20", "source": "case 2024-77"}])
    page = signed_in(client.app, keys.bob).get("/portal/subjects/bob")
    assert page.status_code == 200
    said = words_of(page.text)
    assert (f"Other bodies' lists on {LIST} ({KEPT_BY}) since 2024-09-20, on its keeper's reference case 2024-77 "
            "As of") in said, said
    assert "Why you may not: loan" in said
    assert f"you are on {LIST} , another body's list ({KEPT_BY}), since 2024-09-20" in said, said
    assert f"Your place on '{LIST}' ({KEPT_BY}), since 2024-09-20, on their reference 'case 2024-77', is not this " \
           "scheme's to decide" in said, said
    # an administrator reads the same of bob, in the third person
    admin = words_of(signed_in(client.app, keys.admin).get("/portal/subjects/bob").text)
    assert f"bob is on {LIST} , another body's list" in admin and f"Their place on '{LIST}'" in admin
    # the supplier's key opens nothing there: it reads no one
    home = words_of(signed_in(client.app, supplier).get("/portal").text)
    assert "Signed in as a list's supplier" in home and "This key opens nothing in the portal" in home
    assert signed_in(client.app, supplier).get("/portal/subjects/bob").status_code == 403


def test_revision_0007_adds_the_table_and_goes_back(backend, tmp_path):
    url = database_url(backend, tmp_path)
    service, _ = open_service(url, load_scheme("lending"))
    config = alembic_config(url)
    try:
        with service.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
            assert "input_list_members" not in inspect(connection).get_table_names()
            command.upgrade(config, "head")
            assert {c["name"] for c in inspect(connection).get_columns("input_list_members")} >= {
                "list", "subject", "listed_on", "listed_source", "delisted_on", "listed_digest", "delisted_digest"}
    finally:
        service.close()


def test_the_answer_names_the_listed_subjects_no_event_names(court):
    """A supplier's typo ('bbo' for 'bob') is listed, as a subject with no event yet may be, and named."""
    client, _, supplier, _ = court
    answer = supply(client, supplier, [{"subject": "bbo", "on": "2024-09-20", "source": "case 1"},
                                       {"subject": "alice", "on": "2024-09-20", "source": "case 2"},
                                       {"subject": "zed", "on": "2024-09-21", "source": "case 3"}])
    assert answer.status_code == 200, answer.text
    assert answer.json()["unknown"] == ["bbo", "zed"]
    assert supply(client, supplier, delisted=[{"subject": "zed", "on": "2024-09-30", "source": "quashed"}]
                  ).json()["unknown"] == []  # a delisting names no one new


LOOK_ALIKES = [("bob ", "begins or ends with white space", "remove the white space"),
               (" bob", "begins or ends with white space", "remove the white space"),
               ("\uff42\uff4f\uff42", "its NFKC form (Unicode compatibility normalisation) is 'bob'", "send 'bob'"),
               ("bob\u202eecila", "invisible format character U+202E (RIGHT-TO-LEFT OVERRIDE)", "remove it"),
               ("bo\u200bb", "invisible format character U+200B (ZERO WIDTH SPACE)", "remove it"),
               ("bob\t", "begins or ends with white space", "remove the white space"),
               ("bob\u00a0", "begins or ends with white space", "remove the white space"),
               ("\u3000bob", "begins or ends with white space", "remove the white space"),
               ("bob\u2028", "begins or ends with white space", "remove the white space"),
               ("b\x07ob", "control character U+0007", "remove it"),
               ("bob\ufe0f", "invisible character U+FE0F (VARIATION SELECTOR-16)", "remove it"),
               ("bo\u034fb", "invisible character U+034F (COMBINING GRAPHEME JOINER)", "remove it"),
               ("bob\u2800", "invisible character U+2800 (BRAILLE PATTERN BLANK)", "remove it")]


@pytest.mark.parametrize(("subject", "says", "fix"), LOOK_ALIKES)
def test_a_look_alike_subject_id_is_refused_on_a_list_as_in_an_ingest(court, subject, says, fix):
    client, keys, supplier, service = court
    answer = supply(client, supplier, [{"subject": "alice", "on": "2024-09-20", "source": "case 1"},
                                       {"subject": subject, "on": "2024-09-20", "source": "case 2"}])
    assert answer.status_code == 422
    [problem] = Invalid.model_validate(answer.json()).detail
    assert problem.field == "listed.1.subject" and says in problem.problem and f"fix: {fix}" in problem.problem
    events = [{"id": "ok", "subject": "alice", "kind": "payment", "time": NOW - 2},
              {"id": "twin", "subject": subject, "kind": "payment", "time": NOW - 2}]
    stored = client.post("/v1/events", json={"events": events}, headers=H(keys.operator)).json()
    assert stored["stored"] == 1
    [rejected] = stored["rejected"]
    assert rejected["index"] == 1 and rejected["field"] == "subject" and says in rejected["problem"]
    with service.store.reader() as session:
        assert session.execute(text("SELECT count(*) FROM input_list_members")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM events WHERE id = 'twin'")).scalar() == 0


def test_ids_past_ascii_in_their_nfkc_form_are_subjects_like_any_other(court):
    client, keys, supplier, _ = court
    events = [{"id": "j1", "subject": "Jos\u00e9", "kind": "payment", "time": NOW - 2},
              {"id": "b1", "subject": "\u5317\u4eac-7", "kind": "payment", "time": NOW - 2}]
    assert client.post("/v1/events", json={"events": events}, headers=H(keys.operator)).json()["stored"] == 2
    answer = supply(client, supplier, [{"subject": "Jos\u00e9", "on": "2024-09-20", "source": "case 1"}])
    assert answer.status_code == 200 and answer.json()["unknown"] == []
    decomposed = supply(client, supplier, [{"subject": "Jose\u0301", "on": "2024-09-20", "source": "case 2"}])
    assert decomposed.status_code == 422 and "send 'Jos\u00e9'" in decomposed.json()["detail"][0]["problem"]
