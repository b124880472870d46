"""One core: the service gives what `socialcredit score` gives; the audit chain catches tampering;
retention purges events but keeps the audit."""

from __future__ import annotations

import csv

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from socialcredit.cli import app as cli
from socialcredit.scheme import scheme_from_data
from socialcredit.scorejob import run_score
from socialcredit.service import audit
from socialcredit.service.api import create_app

from .conftest import NETWORK_SCHEME, NOW, Keys, audit_options

H = Keys.header


def test_service_scores_equal_socialcredit_score(friends, tmp_path):
    service, keys, _ = friends
    client = TestClient(create_app(service))
    events = [{"id": f"e{i}", "subject": f"s{i % 7}", "kind": "late_payment" if i % 3 == 0 else "payment",
               "time": NOW - 400 + i * 9} for i in range(45)]
    ties = [("s0", "s1"), ("s1", "s2"), ("s2", "s0"), ("s3", "s4"), ("s5", "s6"), ("s6", "s9")]
    client.post("/v1/events", json={"events": events}, headers=H(keys.operator))
    client.post("/v1/relations", json={"relations": [{"subject": a, "other": b} for a, b in ties]},
                headers=H(keys.operator))
    with (tmp_path / "events.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subject", "kind", "time", "id"])
        writer.writerows([e["subject"], e["kind"], e["time"], e["id"]] for e in events)
    with (tmp_path / "ties.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("subject", "other"), *ties])
    batch = run_score(tmp_path / "events.csv", scheme_from_data(NETWORK_SCHEME), NOW, tmp_path / "ties.csv")
    rows = batch.table.to_pylist()
    assert {r["subject"] for r in rows} == {f"s{i}" for i in range(7)} | {"s9"}
    for row in rows:
        record = client.get(f"/v1/subjects/{row['subject']}", headers=H(keys.admin)).json()
        assert record["score"] == pytest.approx(row["score"], rel=1e-12), row["subject"]
        assert record["pre"] == pytest.approx(row["pre"], rel=1e-12)
        assert record["tier"] == row["tier"] and record["lists"]["watch"] == row["watch"]
        assert record["entitlements"]["loan"] == row["loan"]
        assert ";".join(r["component"] for r in record["reasons"]) == row["reasons"]


def test_a_friends_events_move_ones_score(friends):
    service, keys, _ = friends
    client = TestClient(create_app(service))
    client.post("/v1/relations", json={"relations": [{"subject": "bob", "other": "eve"}]}, headers=H(keys.operator))
    before = client.get("/v1/subjects/bob", headers=H(keys.bob)).json()["score"]
    client.post("/v1/events", json={"events": [{"id": "e1", "subject": "eve", "kind": "late_payment",
                                               "time": NOW - 1}]}, headers=H(keys.operator))
    after = client.get("/v1/subjects/bob", headers=H(keys.bob)).json()["score"]
    assert before == 700 and after == 650  # 0.5 * (600 - 700)
    history = client.get("/v1/subjects/bob/history", headers=H(keys.bob)).json()
    assert [h["score"] for h in history] == [700, 650]  # eve's ingest recomputed her neighbour too


@pytest.mark.parametrize("tamper, words", [
    ("UPDATE audit SET detail = '{\"stored\": 999}' WHERE seq = 2", "entry 2: its content does not match"),
    ("DELETE FROM audit WHERE seq = 2", "entry 3: expected entry 2"),
    ("UPDATE audit SET seq = 100 WHERE seq = 2", "does not follow"),
])
def test_audit_verify_detects_edits_deletions_and_reordering(lending, tamper, words):
    service, keys, url = lending
    client = TestClient(create_app(service))
    for i in range(3):
        client.post("/v1/events", json={"events": [{"id": f"p{i}", "subject": "bob", "kind": "payment",
                                                   "time": NOW - i}]}, headers=H(keys.operator))
    # the server's audit key and checkpoints, wherever the test keeps them (beside a SQLite file; in a
    # folder of their own for PostgreSQL)
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", url, *audit_options(service)])
    assert result.exit_code == 0 and "audit log intact" in result.output, result.output
    with service.engine.begin() as connection:
        connection.execute(text(tamper))
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", url, *audit_options(service)])
    assert result.exit_code == 1 and "TAMPERED" in result.output and words in result.output
    with service.sessions() as session:
        assert not audit.verify(session).intact


def test_purge_deletes_events_past_retention_and_keeps_the_audit(lending):
    service, keys, _ = lending
    client = TestClient(create_app(service))
    old, recent = NOW - 2555 - 10, NOW - 10  # lending keeps 7 years
    client.post("/v1/events", json={"events": [{"id": "old", "subject": "bob", "kind": "default", "time": old},
                                               {"id": "new", "subject": "bob", "kind": "payment", "time": recent}]},
                headers=H(keys.operator))
    entries = len(client.get("/v1/audit", headers=H(keys.auditor)).json())
    from socialcredit.service.core import Actor

    assert service.purge(Actor("cli", "admin"))["events"] == 1
    assert [e["id"] for e in client.get("/v1/subjects/bob/events", headers=H(keys.admin)).json()] == ["new"]
    log = client.get("/v1/audit", headers=H(keys.auditor)).json()
    assert len(log) >= entries + 1 and any(e["action"] == "purge" for e in log)
    with service.sessions() as session:
        assert audit.verify(session).intact


def test_cli_keys_create_and_serve_refuses_an_unlawful_scheme(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(cli, ["keys", "create", "--role", "operator", "--db", url])
    assert result.exit_code == 0 and result.output.startswith("sck_")
    result = CliRunner().invoke(cli, ["keys", "create", "--role", "subject", "--db", url])
    assert result.exit_code == 2 and "--subject" in result.output
    result = CliRunner().invoke(cli, ["serve", "--scheme", "rongcheng", "--db", url])
    assert result.exit_code == 3 and "refuses scheme 'rongcheng'" in result.output
