"""Erasure, export and retention (GDPR Art. 15, 17, 20): erasing a subject removes every personal
datum of theirs from every table (and, on SQLite, from the database's files, before and after a
VACUUM), records the erasure, and leaves the audit log verifying; the export gives a subject
everything held about them, who read it included; the purge applies retention to every table
that holds personal data, events dated in the future included."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from socialcredit.cli import app as cli
from socialcredit.scheme import scheme_from_data
from socialcredit.service import audit
from socialcredit.service.api import create_app
from socialcredit.service.core import Actor, Service
from socialcredit.service.db import make_sessions
from socialcredit.service.keys import create_key

from .conftest import NETWORK_SCHEME, NOW, Keys, audit_options

H = Keys.header
ZEBRA = "zebra-7391"  # found nowhere but in what is about this subject
STATEMENT = "Unique statement qv8: my diagnosis explains the late payments"
NOTE = "Reviewer note kw5: the hospital letter confirms it"


@pytest.fixture
def zebra(friends):
    """zebra-7391 with events (one whose id holds their id), a tie to yak, an appeal decided with
    a note, a subject key, and their file read by an admin; yak and wolf with events of their own."""
    service, keys, url = friends
    client = TestClient(create_app(service))
    with make_sessions(service.engine, service.store.audit_key).begin() as session:
        own = create_key(session, "subject", ZEBRA)
        audit.append(session, "cli", "key_created", ZEBRA, {"role": "subject", "key": own.split("_")[1]})
    events = [{"id": f"{ZEBRA}-late-1", "subject": ZEBRA, "kind": "late_payment", "time": NOW - 40, "source": "bank"},
              {"id": "z2", "subject": ZEBRA, "kind": "late_payment", "time": NOW - 30},
              {"id": "z3", "subject": ZEBRA, "kind": "late_payment", "time": NOW - 20},
              {"id": "y1", "subject": "yak", "kind": "payment", "time": NOW - 20},
              {"id": "w1", "subject": "wolf", "kind": "late_payment", "time": NOW - 10}]
    assert client.post("/v1/events", json={"events": events}, headers=H(keys.operator)).json()["stored"] == 5
    client.post("/v1/relations", json={"relations": [{"subject": ZEBRA, "other": "yak"},
                                                     {"subject": "yak", "other": "wolf"}]}, headers=H(keys.operator))
    appeal = client.post("/v1/appeals", json={"subject": ZEBRA, "event_ids": ["z2"], "statement": STATEMENT},
                         headers=H(own)).json()
    client.post(f"/v1/appeals/{appeal['id']}/decision", json={"decision": "grant", "note": NOTE},
                headers=H(keys.reviewer))
    for path in (f"/v1/subjects/{ZEBRA}", f"/v1/subjects/{ZEBRA}/entitlements/loan", f"/v1/subjects/{ZEBRA}/events"):
        assert client.get(path, headers=H(keys.admin)).status_code == 200
    return service, client, keys, url, own


def verified(service, url: str) -> str:
    result = CliRunner().invoke(cli, ["audit", "verify", "--db", url, *audit_options(service)])
    assert result.exit_code == 0 and "audit log intact" in result.output, result.output
    return result.output


def holding(service, *needles: str) -> list[str]:
    """Every (table.column) where a text column holds one of the needles."""
    found = []
    with service.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for column in inspect(connection).get_columns(table):
                name = column["name"]
                for needle in needles:
                    hit = connection.execute(text(f'SELECT 1 FROM "{table}" WHERE CAST("{name}" AS TEXT) LIKE :n'),
                                             {"n": f"%{needle}%"}).first()
                    if hit:
                        found.append(f"{table}.{name}: {needle}")
    return found


def in_files(database: Path, *needles: str) -> list[str]:
    """Which of the needles the database's files (the file, its write-ahead log, its shared memory) hold."""
    found = []
    for path in database.parent.glob(database.name + "*"):
        data = path.read_bytes()
        found += [f"{path.name}: {needle}" for needle in needles if needle.encode() in data]
    return found


def test_export_gives_the_subject_everything_held_about_them_and_who_read_it(zebra):
    service, client, keys, _, own = zebra
    export = client.get(f"/v1/subjects/{ZEBRA}/export", headers=H(own))
    assert export.status_code == 200
    data = export.json()
    assert {e["id"] for e in data["events"]} == {f"{ZEBRA}-late-1", "z2", "z3"}
    assert {e["status"] for e in data["events"] if e["id"] == "z2"} == {"voided"}
    assert data["events"][0]["source"] == "bank" and data["events"][0]["ingested_by"].startswith("operator:")
    assert data["record"]["subject"] == ZEBRA and data["record"]["score"] is not None
    assert len(data["history"]) >= 2 and data["ties"] == ["yak"]
    assert [(a["statement"], a["note"], a["status"]) for a in data["appeals"]] == [(STATEMENT, NOTE, "granted")]
    assert [k["role"] for k in data["keys"]] == ["subject"] and "secret" not in export.text
    reads = [(r["by"].split(":")[0], r["read"]) for r in data["reads"]]
    assert reads == [("admin", "read_record"), ("admin", "entitlement_check"), ("admin", "read_events")]
    assert {e["action"] for e in data["audit"]} == {"key_created", "appeal_filed", "appeal_decided"}
    again = client.get(f"/v1/subjects/{ZEBRA}/export", headers=H(keys.admin)).json()
    assert again["reads"][-1]["read"] == "export"  # the export is a read of their file, and logged
    assert client.get(f"/v1/subjects/{ZEBRA}/export", headers=H(keys.bob)).status_code == 403
    assert client.get(f"/v1/subjects/{ZEBRA}/export", headers=H(keys.operator)).status_code == 403
    assert client.get("/v1/subjects/nobody/export", headers=H(keys.admin)).status_code == 404


def test_erasure_removes_every_personal_datum_and_the_log_still_verifies(zebra, backend, tmp_path):
    service, client, keys, url, own = zebra
    client.get("/v1/audit/checkpoint", headers=H(keys.auditor))
    before = holding(service, ZEBRA, STATEMENT, NOTE)
    assert {f.split(".")[0] for f in before} >= {"events", "score_history", "relations", "appeals", "api_keys",
                                                  "subjects"}
    yak_before = client.get("/v1/subjects/yak", headers=H(keys.admin)).json()["score"]
    assert client.delete(f"/v1/subjects/{ZEBRA}", headers=H(keys.operator)).status_code == 403
    assert client.delete(f"/v1/subjects/{ZEBRA}", headers=H(own)).status_code == 403
    answer = client.delete(f"/v1/subjects/{ZEBRA}", headers=H(keys.admin))
    assert answer.status_code == 200, answer.text
    erased = answer.json()
    assert erased["erased"] == {"events": 3, "scores": erased["erased"]["scores"], "ties": 1, "appeals": 1, "keys": 1,
                                "input_lists": 0}
    assert erased["erased"]["scores"] >= 2

    assert holding(service, ZEBRA, STATEMENT, NOTE) == []
    assert client.get(f"/v1/subjects/{ZEBRA}", headers=H(keys.admin)).status_code == 404
    assert client.delete(f"/v1/subjects/{ZEBRA}", headers=H(keys.admin)).status_code == 404
    assert client.get("/v1/subjects/yak", headers=H(keys.admin)).json()["score"] != yak_before  # the tie went
    log = client.get("/v1/audit?limit=10000", headers=H(keys.auditor)).json()
    recorded = next(e for e in log if e["seq"] == erased["entry"])
    assert recorded["action"] == "erased" and recorded["subject"] is not None  # by the pseudonym, now unlinkable
    assert ZEBRA not in str(log) and STATEMENT not in str(log)
    client.get("/v1/audit/checkpoint", headers=H(keys.auditor))
    assert "consistent with 2 of 2 signed checkpoint(s)" in verified(service, url)

    if backend == "sqlite":
        database = Path(url.removeprefix("sqlite:///"))
        assert in_files(database, ZEBRA, STATEMENT, NOTE) == []
        with service.engine.connect() as connection:
            connection.exec_driver_sql("VACUUM")
        assert in_files(database, ZEBRA, STATEMENT, NOTE) == []
        verified(service, url)


def test_the_data_was_in_the_files_before_the_erasure(zebra, backend):
    """What the erasure test's grep would find, had the erasure left it."""
    service, _, _, url, _ = zebra
    if backend != "sqlite":
        pytest.skip("the files of a SQLite database")
    assert in_files(Path(url.removeprefix("sqlite:///")), ZEBRA, STATEMENT, NOTE)


def test_erase_from_the_command_line(zebra, backend, tmp_path):
    service, _, _, url, _ = zebra
    options = ["--db", url, "--scheme", str(scheme_file(tmp_path)), *audit_options(service)]
    result = CliRunner().invoke(cli, ["erase", ZEBRA, *options, *(["--vacuum"] if backend == "sqlite" else [])])
    assert result.exit_code == 0 and f"erased '{ZEBRA}': 3 events" in result.output, result.output
    assert holding(service, ZEBRA, STATEMENT, NOTE) == []
    verified(service, url)
    if backend == "sqlite":
        assert in_files(Path(url.removeprefix("sqlite:///")), ZEBRA, STATEMENT, NOTE) == []
    again = CliRunner().invoke(cli, ["erase", ZEBRA, *options])
    assert again.exit_code == 2 and "nothing is held about" in again.output


def scheme_file(folder: Path) -> Path:
    import yaml

    path = folder / "friends.yaml"
    path.write_text(yaml.safe_dump(NETWORK_SCHEME))
    return path


def test_purge_applies_retention_to_every_table_and_deletes_events_dated_in_the_future(friends, closed_after):
    service, keys, url = friends  # the friends scheme keeps 365 days
    engine, scheme = service.engine, scheme_from_data(NETWORK_SCHEME)
    operator, reviewer = Actor("o", "operator"), Actor("r", "reviewer")
    earlier = closed_after(Service(engine, scheme, now=lambda: NOW - 800, audit_key=service.store.audit_key,
                                   checkpoints=service.checkpoints.path))  # the same service, two years before
    earlier.ingest([{"id": "old", "subject": "ox", "kind": "late_payment", "time": NOW - 810},
                    {"id": "old-2", "subject": "elk", "kind": "payment", "time": NOW - 805}], operator)
    earlier.add_relations([("ox", "elk")], operator)
    filed = earlier.appeals.file("ox", ["old"], "old statement", Actor("o", "operator"))
    earlier.appeals.decide(filed["id"], "reject", "stands", reviewer)
    later = closed_after(Service(engine, scheme, now=lambda: NOW + 400, audit_key=service.store.audit_key,
                                 checkpoints=service.checkpoints.path))  # a clock set wrong, a year ahead
    later.ingest([{"id": "ahead", "subject": "elk", "kind": "payment", "time": NOW + 300}], operator)
    service.ingest([{"id": "now", "subject": "elk", "kind": "payment", "time": NOW - 5}], operator)

    deleted = service.purge(Actor("cli", "admin"))
    assert deleted == {"events": 3, "scores": deleted["scores"], "ties": 1, "appeals": 1, "input_lists": 0,
                       "pseudonyms": 0}
    assert deleted["scores"] >= 2
    with engine.connect() as connection:
        assert [r[0] for r in connection.execute(text("SELECT id FROM events"))] == ["now"]
        assert connection.execute(text("SELECT count(*) FROM relations")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM appeals")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM score_history WHERE as_of < :c"),
                                  {"c": NOW - 365}).scalar() == 0
    verified(service, url)


def test_reads_answered_before_an_erasure_come_before_its_entry_in_the_audit_log(lending):
    """The read log's entries wait to be moved into the audit log (the mover held back here, as
    while it waits its turn): the erasure moves them first, so the log reads in the order things
    happened, each entry's time no earlier than the one before."""
    from socialcredit.service.readlog import ReadLog

    service, _, url = lending
    admin = Actor("a1", "admin")
    service.ingest([{"id": "p1", "subject": "bob", "kind": "payment", "time": NOW - 5},
                    {"id": "p2", "subject": "ann", "kind": "payment", "time": NOW - 5}], Actor("o1", "operator"))
    service.reads.mover.stop()
    service.reads.move = lambda: 0  # type: ignore[method-assign]
    service.record("bob", admin)
    service.record("ann", admin)
    service.entitlement("bob", "loan", admin)
    service.erase("bob", admin)
    ReadLog.move(service.reads)  # whatever is still staged, moved now
    log = service.audit_log()
    assert [e["action"] for e in log] == ["ingest", "read_record", "read_record", "entitlement_check", "erased"]
    times = [e["at"] for e in log]
    assert times == sorted(times)
    verified(service, url)


def test_a_read_answered_during_an_erasure_and_logged_after_it_leaves_the_subject_erased(lending):
    """A read of a subject answered while the subject is erased, whose entry waits for the read
    log's lock the erasure holds until it commits: the entry names the subject by the pseudonym
    the read was answered under, and no pseudonym is drawn for the subject again (nothing is held
    about them after the erasure, and the log verifies)."""
    from socialcredit.service.erasure import holds_anything

    service, _, url = lending
    admin = Actor("a1", "admin")
    service.ingest([{"id": "p1", "subject": "bob", "kind": "payment", "time": NOW - 5},
                    {"id": "p2", "subject": "ann", "kind": "payment", "time": NOW - 5}], Actor("o1", "operator"))
    stopped, release = threading.Event(), threading.Event()
    real = service.store.ties

    def ties(session, subjects):  # a step of the erasure's, after it has taken the read log's lock
        if threading.current_thread().name == "eraser" and not stopped.is_set():
            stopped.set()
            assert release.wait(30)
        return real(session, subjects)

    service.store.ties = ties  # type: ignore[method-assign]
    eraser = threading.Thread(target=service.erase, args=("bob", admin), name="eraser")
    eraser.start()
    try:
        assert stopped.wait(30)
        assert service.record_unlogged("bob")["subject"] == "bob"  # answered before the erasure commits
        reader = threading.Thread(target=service.reads.log, args=(admin.name, "read_record", "bob", {}))
        reader.start()
        time.sleep(0.5)  # its entry waits for the lock
    finally:
        release.set()
        eraser.join(30)
    reader.join(30)
    assert not eraser.is_alive() and not reader.is_alive()
    service.reads.move()
    with service.sessions() as session:
        assert session.execute(text("SELECT count(*) FROM subjects WHERE id = 'bob'")).scalar_one() == 0
        assert not holds_anything(session, "bob")
    verified(service, url)
