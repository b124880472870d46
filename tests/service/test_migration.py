"""A database of the version before (revision 0002) migrates: its audit log is rewritten without
personal data, rechained and sealed, its rows are covered by a `sealed` entry that records the old
log's last hash and whether its chain held, and the log verifies from there on."""

from __future__ import annotations

import json

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from socialcredit.scheme import scheme_from_data
from socialcredit.service import audit
from socialcredit.service.api import create_app
from socialcredit.service.auditkey import key_for
from socialcredit.service.core import Actor, Service
from socialcredit.service.db import AuditEntry, Base, make_engine
from socialcredit.service.migrate import alembic_config, upgrade

from .conftest import NETWORK_SCHEME, NOW, audit_files, database_url


def old_entries(broken: bool) -> list[dict]:
    """Entries as the service before wrote them: subjects by id, ids and notes in the details."""
    made = [("operator:o1", "ingest", None, {"stored": 3, "duplicates": 0, "rejected": 0,
                                             "subjects": ["annette", "boris"],
                                             "event_ids": ["ev-annette-1", "e2", "e3"]}),
            ("operator:o1", "relations", None, {"added": [["annette", "boris"]]}),
            ("subject:k1", "appeal_filed", "annette", {"appeal": 1, "event_ids": ["ev-annette-1"]}),
            ("reviewer:r1", "appeal_decided", "annette", {"appeal": 1, "decision": "void", "note": "a namesake",
                                                      "event_ids": ["ev-annette-1"]}),
            ("admin:a1", "read_record", "annette", {}),
            ("cli", "key_created", "boris", {"role": "subject", "key": "k2"})]
    rows, prev = [], audit.GENESIS
    for seq, (actor, action, subject, detail) in enumerate(made, 1):
        at = f"2024-10-0{seq}T10:00:00+00:00"
        digest = audit.entry_hash(prev, seq, at, actor, action, subject, detail)
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                     "detail": json.dumps(detail), "prev_hash": prev, "hash": digest})
        prev = digest
    if broken:
        rows[1]["detail"] = json.dumps({"added": []})
    return rows


def at_0002(url: str, broken: bool) -> None:
    engine = make_engine(url)
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        for statement in (
                "INSERT INTO events (id, subject, kind, time, value, weight, source, actor, status, ingested_at, "
                f"ingested_by) VALUES ('ev-annette-1', 'annette', 'late_payment', {NOW - 30}, 1, 1, NULL, NULL, "
                "'voided', '2024-10-01 10:00:00', 'operator:o1'), ('e2', 'annette', 'payment', "
                f"{NOW - 20}, 1, 1, 'bank', NULL, 'active', '2024-10-01 10:00:00', 'operator:o1'), ('e3', 'boris', "
                f"'late_payment', {NOW - 10}, 2.5, 1, NULL, NULL, 'active', '2024-10-01 10:00:00', 'operator:o1')",
                "INSERT INTO relations (a, b) VALUES ('annette', 'boris')",
                "INSERT INTO score_history (subject, as_of, score, tier, lists, scheme_version, recorded_at) VALUES "
                f"('annette', {NOW - 5}, 600, 'poor', '{{\"watch\": false}}', 'friends@3', '2024-10-01 10:00:00')",
                "INSERT INTO appeals (subject, event_ids, statement, status, filed_at, filed_by, decided_at, "
                "decided_by, note) VALUES ('annette', '[\"ev-annette-1\"]', 'Ann says: not mine', 'voided', "
                "'2024-10-02 10:00:00', 'subject:k1', '2024-10-03 10:00:00', 'reviewer:r1', 'a namesake')"):
            connection.execute(text(statement))
        columns = "seq, at, actor, action, subject, detail, prev_hash, hash"
        connection.execute(text(f"INSERT INTO audit ({columns}) VALUES "
                                f"({', '.join(':' + c.strip() for c in columns.split(','))})"),
                           old_entries(broken))
    engine.dispose()


@pytest.mark.parametrize("broken", [False, True], ids=["intact", "broken"])
def test_an_existing_log_is_rewritten_without_personal_data_and_sealed(backend, tmp_path, broken, closed_after):
    url = database_url(backend, tmp_path)
    at_0002(url, broken)
    key_path, checkpoints = audit_files(url)
    key = key_for(url, key_path)
    engine = make_engine(url)
    upgrade(engine, key)
    with engine.connect() as connection:
        entries = connection.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)).mappings().all()
        log = json.dumps([dict(e) for e in entries], default=str)
        assert verdict_of(connection, key) == []
    assert [e["action"] for e in entries] == ["ingest", "relations", "appeal_filed", "appeal_decided", "read_record",
                                              "key_created", "sealed"]
    for personal in ("annette", "boris", "namesake", "not mine"):
        assert personal not in log, personal
    assert entries[0]["detail"] == {"stored": 3, "duplicates": 0, "rejected": 0, "events": 3}
    assert entries[1]["detail"] == {"added": 0 if broken else 1}
    assert entries[2]["subject"] == entries[3]["subject"] == entries[4]["subject"] != entries[5]["subject"]
    sealed = entries[-1]["detail"]
    assert sealed["previous"] == {"entries": 6, "head": old_entries(broken)[-1]["hash"],
                                  "chain": "broken at entries 2" if broken else "intact"}
    assert {part: count for part, (count, _) in sealed["rows"].items()} == {"events": 3, "scores": 1, "ties": 1,
                                                                            "appeal": 1, "decision": 1}

    # the service works on from there, and the log still verifies
    service = closed_after(Service(engine, scheme_from_data(NETWORK_SCHEME), now=lambda: NOW, audit_key=key,
                                   checkpoints=checkpoints))
    service.ingest([{"id": "e4", "subject": "cy", "kind": "payment", "time": NOW - 1}], Actor("o1", "operator"))
    service.erase("annette", Actor("a1", "admin"))
    assert TestClient(create_app(service)).get("/healthz").status_code == 200
    with engine.connect() as connection:
        assert verdict_of(connection, key) == []
    service.close()  # its engine disposed with it
    if backend == "postgresql":
        cleanup = make_engine(url)
        with cleanup.begin() as connection:
            Base.metadata.drop_all(connection)
        cleanup.dispose()


def verdict_of(connection, key) -> list[str]:
    return audit.verify(connection, key).problems


def test_every_stored_subject_gets_a_pseudonym_so_that_a_read_of_them_waits_for_no_change(backend, tmp_path):
    """Revision 0008: subjects stored before it (by events or ties) get a pseudonym each, the ones
    they had kept, so a read of any of them looks its pseudonym up rather than drawing one."""
    url = database_url(backend, tmp_path)
    at_0002(url, broken=False)
    engine = make_engine(url)
    config = alembic_config(url)
    config.attributes["audit_key"] = key_for(url, audit_files(url)[0])
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        connection.execute(text("DELETE FROM subjects WHERE id = 'boris'"))  # as if only events named him
        before = dict(connection.execute(text("SELECT id, pseudonym FROM subjects")).all())
    upgrade(engine, config.attributes["audit_key"])
    with engine.connect() as connection:
        after = dict(connection.execute(text("SELECT id, pseudonym FROM subjects")).all())
    engine.dispose()
    assert "boris" not in before and set(after) == {"annette", "boris"}
    assert {s: after[s] for s in before} == before and len(after["boris"]) == 32
