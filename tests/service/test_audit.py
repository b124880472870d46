"""The audit log is tamper-evident against someone who can write to the database: `audit verify`
says what was done where, and exits 1, for an entry edited, deleted or reordered, the tail cut
off, every entry deleted, entries rewritten with their hashes recomputed, an entry appended by
other hands, and an event edited. The last four are beyond what a hash chain alone can show: the
server's seals show them to whoever holds the audit key, and the signed checkpoints to an auditor
who kept one (`--public-key`, `--checkpoint`), without the key. An auditor proves the log only grew
from a checkpoint they kept, without the database (`audit check`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from socialcredit.cli import app as cli
from socialcredit.service import audit, coverage
from socialcredit.service.api import create_app
from socialcredit.service.checkpoints import CheckpointLog
from socialcredit.service.db import AuditEntry, Event

from .conftest import NOW, Keys, audit_options

H = Keys.header


@dataclass
class Audited:
    service: object
    client: TestClient
    keys: Keys
    url: str
    kept: Path  # the checkpoint an auditor kept, of the first `size` entries
    size: int
    folder: Path

    def verify(self, *extra: str):
        """`audit verify` as the operator runs it: with the audit key and the server's checkpoints."""
        return CliRunner().invoke(cli, ["audit", "verify", "--db", self.url, *audit_options(self.service), *extra])

    def verify_as_auditor(self):
        """`audit verify` as an auditor runs it: the public key and the checkpoint they kept, no more."""
        public = json.loads(self.kept.read_text())["key"]
        return CliRunner().invoke(cli, ["audit", "verify", "--db", self.url, "--public-key", public,
                                        "--checkpoint", str(self.kept), "--checkpoints", str(self.folder / "none")])

    def sql(self, *statements: str) -> None:
        with self.service.engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))


@pytest.fixture
def audited(lending, tmp_path) -> Audited:
    """A log of 9 entries: an ingest (1), an appeal filed (2) and voided (3), four reads (4-7), the
    checkpoint the auditor kept (of 7 entries), two more reads (8, 9)."""
    service, keys, url = lending
    client = TestClient(create_app(service))
    client.post("/v1/events", json={"events": [
        {"id": "d1", "subject": "bob", "kind": "default", "time": NOW - 30},
        {"id": "p1", "subject": "bob", "kind": "payment", "time": NOW - 20},
        {"id": "p2", "subject": "alice", "kind": "payment", "time": NOW - 10}]}, headers=H(keys.operator))
    appeal = client.post("/v1/appeals", json={"subject": "bob", "event_ids": ["d1"], "statement": "Not mine."},
                         headers=H(keys.bob)).json()
    client.post(f"/v1/appeals/{appeal['id']}/decision", json={"decision": "grant", "note": "a namesake"},
                headers=H(keys.reviewer))
    for path in ("/v1/subjects/bob", "/v1/subjects/alice", "/v1/subjects/bob/events", "/v1/subjects/bob/history"):
        assert client.get(path, headers=H(keys.admin)).status_code == 200
    kept = tmp_path / "kept.json"
    answer = client.get("/v1/audit/checkpoint", headers=H(keys.auditor))
    assert answer.status_code == 200 and answer.json()["size"] == 7
    kept.write_text(answer.text)
    for path in ("/v1/subjects/alice", "/v1/subjects/bob"):
        client.get(path, headers=H(keys.admin))
    service.reads.settle()  # the last two reads' entries, staged, moved into the log
    found = Audited(service, client, keys, url, kept, 7, tmp_path)
    assert found.verify().exit_code == 0 and found.verify_as_auditor().exit_code == 0
    return found


def tampered(result, *words: str) -> str:
    output = result.output
    assert result.exit_code == 1 and "audit log TAMPERED" in output, output
    for said in words:
        assert said in output, f"{said!r} not in:\n{output}"
    return output


def rechain(audited: Audited, seq: int, edit) -> None:
    """What someone who can write to the database but has no audit key can do: change entry `seq`
    (`edit` takes its detail) and recompute the hashes of it and every entry after it. The seals
    stay as they were: computing them takes the key."""
    with audited.service.engine.begin() as connection:
        entries = connection.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)).mappings().all()
        prev = audit.GENESIS if seq == 1 else entries[seq - 2]["hash"]
        for entry in entries[seq - 1:]:
            detail = edit(dict(entry["detail"])) if entry["seq"] == seq else entry["detail"]
            digest = audit.entry_hash(prev, entry["seq"], entry["at"], entry["actor"], entry["action"],
                                      entry["subject"], detail)
            connection.execute(AuditEntry.__table__.update().where(AuditEntry.seq == entry["seq"])
                               .values(detail=detail, prev_hash=prev, hash=digest))
            prev = digest


def test_an_intact_log_verifies_for_the_operator_and_for_the_auditor(audited):
    result = audited.verify()
    assert "audit log intact: 9 entries chained, each sealed by the server's key" in result.output
    assert "consistent with 1 of 1 signed checkpoint(s)" in result.output
    assert "seals not checked" in audited.verify_as_auditor().output


def test_an_edited_entry_is_named(audited):
    audited.sql("UPDATE audit SET actor = 'operator:someone' WHERE seq = 4")
    tampered(audited.verify(), "entry 4: its content does not match its hash (edited)")


def test_a_deleted_entry_is_named(audited):
    audited.sql("DELETE FROM audit WHERE seq = 5")
    tampered(audited.verify(), "entry 6: expected entry 5 here (entries deleted or reordered)",
             "entry 6: does not follow the entry before it")


def test_reordered_entries_are_named(audited):
    audited.sql("UPDATE audit SET seq = -1 WHERE seq = 4", "UPDATE audit SET seq = 4 WHERE seq = 5",
                "UPDATE audit SET seq = 5 WHERE seq = -1")
    tampered(audited.verify(), "entry 4: does not follow the entry before it", "entry 4: its content does not match")


def test_a_cut_off_tail_is_shown_by_the_checkpoint(audited):
    audited.sql("DELETE FROM audit WHERE seq > 5")  # reads only: what remains is a chain, sealed throughout
    message = "entries 6..7: the checkpoint in kept.json signed a log of 7 entries, the log has 5 (its tail deleted)"
    tampered(audited.verify_as_auditor(), message)
    tampered(audited.verify(), f"entries 6..7: the checkpoint of {audited.service.checkpoints.path.name} line 1 "
                               "signed a log of 7")
    alone = CliRunner().invoke(cli, ["audit", "verify", "--db", audited.url, "--checkpoint-key",
                                     str(audited.service.store.audit_key.path), "--checkpoints",
                                     str(audited.folder / "none")])
    # without a checkpoint, a log cut back is a log: only a copy kept elsewhere shows it, such as the read
    # log's last entry, which it keeps after moving it (reads 3..6 are entries 6..9)
    tampered(alone, "staged read 6: does not follow staged read 2, the last the log holds")


def test_a_log_emptied_is_shown_by_the_checkpoint(audited):
    audited.sql("DELETE FROM audit")
    tampered(audited.verify_as_auditor(), "entries 1..7: the checkpoint in kept.json signed a log of 7 entries, "
                                          "the log has 0 (every entry deleted)")
    tampered(audited.verify(), "(every entry deleted)", "claim entry 1, which records none")


def test_a_rewrite_with_hashes_recomputed_is_shown_by_the_seals_and_the_checkpoint(audited):
    rechain(audited, 2, lambda detail: {**detail, "events": 2})  # the appeal named two events, says the rewrite
    assert CliRunner().invoke(cli, ["audit", "verify", "--db", audited.url, "--checkpoints",
                                    str(audited.folder / "none"), "--checkpoint-key",
                                    str(audited.folder / "no-key")]).exit_code == 0  # a hash chain alone is fooled
    tampered(audited.verify(), "entries 2..9: not sealed by the server's audit key",
             f"entries 1..7: the log's first 7 entries are not those the checkpoint of "
             f"{audited.service.checkpoints.path.name} line 1")
    tampered(audited.verify_as_auditor(), "entries 1..7: the log's first 7 entries are not those the checkpoint in "
                                          "kept.json signed (rewritten, their hashes recomputed)")


def test_an_entry_appended_by_other_hands_is_shown_by_its_seal_and_never_signed_over(audited):
    with audited.service.engine.begin() as connection:
        last = connection.execute(audit.LAST).first()
        forged = {"seq": last[0] + 1, "at": "2024-10-04T12:00:00+00:00", "actor": "admin:forger",
                  "action": "key_created", "subject": None, "detail": {"role": "admin"}, "prev_hash": last[1]}
        forged["hash"] = audit.entry_hash(last[1], forged["seq"], forged["at"], forged["actor"], forged["action"],
                                          None, forged["detail"])
        connection.execute(AuditEntry.__table__.insert(), [{**forged, "seal": "0" * 64}])
    tampered(audited.verify(), "entry 10: not sealed by the server's audit key")
    refused = audited.client.get("/v1/audit/checkpoint", headers=H(audited.keys.auditor))
    assert refused.status_code == 409 and "entry 10 is not sealed by this server's audit key" in refused.text
    audited.client.get("/v1/subjects/bob", headers=H(audited.keys.admin))  # the server goes on writing after it
    tampered(audited.verify(), "entry 10: not sealed")
    assert audited.client.get("/v1/audit/checkpoint", headers=H(audited.keys.auditor)).status_code == 409


def test_an_edited_event_is_named(audited):
    audited.sql("UPDATE events SET value = 0.5 WHERE id = 'p1'")
    tampered(audited.verify(), "event 'p1': its content does not match the digest entry 1 recorded (edited)")


def test_an_edited_event_with_every_digest_recomputed_is_shown_by_the_seals_and_the_checkpoint(audited):
    # The salt is in the row: someone who can write to the database recomputes the event's digest,
    # then the ingest entry's digest of its events, then every hash after it.
    with audited.service.engine.begin() as connection:
        events = connection.execute(select(Event.__table__).order_by(Event.pos)).mappings().all()
        part = coverage.PARTS["events"]
        digests = []
        for event in events:
            digest = event["digest"]
            if event["id"] == "p1":
                digest = part.digest_of(event["salt"], {**event, "value": 0.5})
                connection.execute(Event.__table__.update().where(Event.id == "p1").values(value=0.5, digest=digest))
            digests.append(digest)
    rechain(audited, 1, lambda detail: {**detail, "rows": {**detail["rows"],
                                                           "events": [3, coverage.part_digest(digests)]}})
    output = tampered(audited.verify(), "entries 1..9: not sealed by the server's audit key")
    assert "event 'p1'" not in output  # every digest holds: only the seals and the checkpoints show it
    tampered(audited.verify_as_auditor(), "entries 1..7: the log's first 7 entries are not those")


def test_a_decision_edited_or_an_events_status_flipped_is_named(audited):
    audited.sql("UPDATE appeals SET note = 'upheld, in truth'")
    tampered(audited.verify(), "the decision of appeal 1: its content does not match the digest entry 3 recorded")
    audited.sql("UPDATE appeals SET note = 'a namesake'", "UPDATE events SET status = 'active' WHERE id = 'd1'")
    tampered(audited.verify(), "event 'd1': a voided appeal names it, yet it counts (edited)")


def test_rows_deleted_or_added_behind_the_servers_back_are_named(audited):
    audited.sql("DELETE FROM events WHERE id = 'p2'")
    tampered(audited.verify(), "entry 1 (ingest): event(s) at place(s) 2 of the 3 it recorded are gone")
    audited.sql("INSERT INTO events (id, subject, kind, time, value, weight, status, ingested_at, ingested_by) "
                f"VALUES ('x1', 'alice', 'default', {NOW - 1}, 1, 1, 'active', '2024-10-01', 'elsewhere')")
    tampered(audited.verify(), "event 'x1': no audit entry records it (written outside the server)")


def test_an_auditor_proves_the_log_only_grew_from_a_checkpoint_they_kept(audited):
    later = audited.folder / "later.json"
    answer = audited.client.post("/v1/audit/consistency", content=audited.kept.read_bytes(),
                                 headers={**H(audited.keys.auditor), "content-type": "application/json"})
    assert answer.status_code == 200 and answer.json()["first"] == 7 and answer.json()["checkpoint"]["size"] == 9
    later.write_text(answer.text)
    result = CliRunner().invoke(cli, ["audit", "check", str(audited.kept), str(later)])
    assert result.exit_code == 0 and "the log only grew: 7 entries" in result.output, result.output
    public = audited.service.store.audit_key.public_hex
    assert CliRunner().invoke(cli, ["audit", "check", str(audited.kept), str(later), "--public-key",
                                    public]).exit_code == 0
    other = hashlib.sha256(b"another key").hexdigest()
    refused = CliRunner().invoke(cli, ["audit", "check", str(audited.kept), str(later), "--public-key", other])
    assert refused.exit_code != 0


def test_a_log_cut_back_and_grown_again_fails_the_auditors_proof(audited):
    """Cut back to entry 5 (sealed), the server writes on from there: it refuses to sign over a log
    that does not extend its last checkpoint; and a server that lost its checkpoint file signs one,
    whose proof from the auditor's kept checkpoint fails."""
    audited.sql("DELETE FROM audit WHERE seq > 5")
    for _ in range(4):
        audited.client.get("/v1/subjects/alice", headers=H(audited.keys.admin))
    refused = audited.client.get("/v1/audit/checkpoint", headers=H(audited.keys.auditor))
    assert refused.status_code == 409 and "does not follow entry 7, which the last checkpoint signed" in refused.text
    forgetful = CheckpointLog(audited.service.store, audited.service.store.audit_key, audited.folder / "lost")
    later = audited.folder / "later.json"
    later.write_text(json.dumps(forgetful.consistency(7)))
    result = CliRunner().invoke(cli, ["audit", "check", str(audited.kept), str(later)])
    assert result.exit_code == 1 and "does not extend the kept log of 7" in result.output, result.output


def test_checkpoints_are_kept_in_a_file_and_a_new_server_extends_the_last(audited):
    path = audited.service.checkpoints.path
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["size"] for line in lines] == [7] and "frontier" in lines[0]
    fresh = CheckpointLog(audited.service.store, audited.service.store.audit_key, path)
    checkpoint = fresh.make()
    assert checkpoint.size == 9 and fresh.tree.kept == {}  # from the file's frontier and two entries
    assert checkpoint.root == audited.service.checkpoints.make().root
