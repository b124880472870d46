"""The hot reads (record, entitlement): each sees every commit made before it, by this process or
another, and is answered only once its audit entry is committed; a read that cannot be logged is
refused (503), and the log recovers."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from socialcredit.service import audit
from socialcredit.service.api import create_app
from socialcredit.service.db import make_engine

from .conftest import NOW, Keys

H = Keys.header


def test_a_read_sees_what_another_process_committed_since_the_last_read(lending):
    service, keys, url = lending
    client = TestClient(create_app(service))
    client.post("/v1/events", json={"events": [{"id": "p1", "subject": "bob", "kind": "payment", "time": NOW - 5}]},
                headers=H(keys.operator))
    assert client.get("/v1/subjects/bob", headers=H(keys.bob)).json()["score"] == 780
    assert client.get("/v1/subjects/bob/entitlements/loan", headers=H(keys.bob)).json()["allowed"] is True
    # another writer (a second server process, or the CLI) adds a default and voids the payment:
    # the reads, on the connection the service keeps between them, see both at once
    other = make_engine(url)
    with other.begin() as connection:
        connection.execute(text("INSERT INTO events (id, subject, kind, time, value, weight, status, ingested_at, "
                                "ingested_by) VALUES ('d1', 'bob', 'default', :t, 1, 1, 'active', '2024-10-01', "
                                "'elsewhere')"), {"t": NOW - 1})
        connection.execute(text("UPDATE events SET status = 'voided' WHERE id = 'p1'"))
    other.dispose()
    record = client.get("/v1/subjects/bob", headers=H(keys.bob)).json()
    assert record["score"] == 580 and record["lists"]["high_risk"] is True  # 780 - 200 for the default
    check = client.get("/v1/subjects/bob/entitlements/loan", headers=H(keys.bob)).json()
    assert check["allowed"] is False and [e["id"] for e in check["because"]["events"]] == ["d1"]


def test_a_read_that_cannot_be_logged_is_refused_and_the_log_recovers(lending, monkeypatch):
    service, keys, _ = lending
    client = TestClient(create_app(service))
    client.post("/v1/events", json={"events": [{"id": "p1", "subject": "bob", "kind": "payment", "time": NOW - 5}]},
                headers=H(keys.operator))
    real = audit.chain  # what every append (SQLite's bare one and the Core one) chains the entries with

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "chain", broken)
    for path in ("/v1/subjects/bob", "/v1/subjects/bob/entitlements/loan"):
        answer = client.get(path, headers=H(keys.bob))
        assert answer.status_code == 503 and "could not be logged" in answer.json()["detail"]
        assert "score" not in answer.text and "allowed" not in answer.text  # nothing read goes out unlogged
    monkeypatch.setattr(audit, "chain", real)
    assert client.get("/v1/subjects/bob", headers=H(keys.bob)).status_code == 200
    log = client.get("/v1/audit", headers=H(keys.auditor)).json()
    assert [e["action"] for e in log].count("read_record") == 1


def test_concurrent_reads_and_writes_keep_one_chain_with_every_read(lending):
    service, keys, _ = lending
    client = TestClient(create_app(service))
    client.post("/v1/events", json={"events": [{"id": f"p{i}", "subject": f"s{i}", "kind": "payment", "time": NOW - i}
                                               for i in range(8)]}, headers=H(keys.operator))
    failures: list[str] = []

    def reader(n: int) -> None:
        for i in range(12):
            path = f"/v1/subjects/s{(n + i) % 8}" + ("/entitlements/loan" if i % 2 else "")
            answer = client.get(path, headers=H(keys.admin))
            if answer.status_code != 200:
                failures.append(answer.text)

    def writer() -> None:
        for i in range(6):
            client.post("/v1/events", json={"events": [{"id": f"l{i}", "subject": f"s{i}", "kind": "late_payment",
                                                        "time": NOW - 1}]}, headers=H(keys.operator))

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(6)] + [threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    log = client.get("/v1/audit?limit=10000", headers=H(keys.auditor)).json()
    actions = [e["action"] for e in log]
    assert actions.count("read_record") == 36 and actions.count("entitlement_check") == 36
    assert actions.count("ingest") == 7
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    with service.sessions() as session:
        assert audit.verify(session).intact


def test_the_fast_routes_answer_as_the_fastapi_routes_do(lending):
    service, keys, _ = lending
    app = create_app(service)
    client = TestClient(app)
    client.post("/v1/events", json={"events": [{"id": "d1", "subject": "bob", "kind": "default", "time": NOW - 5},
                                               {"id": "a1", "subject": "alice", "kind": "payment", "time": NOW - 5}]},
                headers=H(keys.operator))
    requests = [("GET", path, headers) for path in (
        "/v1/subjects/bob", "/v1/subjects/alice", "/v1/subjects/nobody", "/v1/subjects/bob/entitlements/loan",
        "/v1/subjects/alice/entitlements/loan", "/v1/subjects/bob/entitlements/fly", "/v1/subjects/bob/",
        "/v1/subjects/a%20b") for headers in (H(keys.bob), H(keys.admin), H(keys.auditor), H(keys.operator), {},
                                             {"Authorization": "Bearer sck_nope_nope"}, {"Authorization": "Basic x"})]
    requests += [("HEAD", "/v1/subjects/bob", H(keys.admin)), ("POST", "/v1/subjects/bob", H(keys.admin))]

    def answers() -> list[tuple[int, str]]:
        return [(r.status_code, r.text) for r in (client.request(m, p, headers=h) for m, p, h in requests)]

    def reads() -> list[tuple[str, str, str]]:
        log = client.get("/v1/audit?limit=10000", headers=H(keys.auditor)).json()
        return [(e["actor"], e["action"], e["subject"]) for e in log if e["action"] in ("read_record",
                                                                                         "entitlement_check")]

    fast = answers()
    fast_reads = reads()
    fast_routes = [r for r in app.router.routes if type(r).__name__ == "Route" and r.path.startswith("/v1/subjects")]
    assert len(fast_routes) == 2
    for route in fast_routes:
        app.router.routes.remove(route)
    assert answers() == fast
    assert reads() == fast_reads * 2
    assert {status for status, _ in fast} == {200, 401, 403, 404, 405}


def test_reads_survive_the_database_dropping_the_kept_connections(lending, backend):
    if backend != "postgresql":
        pytest.skip("a SQLite file has no server to drop a connection")
    service, keys, url = lending
    client = TestClient(create_app(service))
    client.post("/v1/events", json={"events": [{"id": "p1", "subject": "bob", "kind": "payment", "time": NOW - 5}]},
                headers=H(keys.operator))
    assert client.get("/v1/subjects/bob", headers=H(keys.bob)).status_code == 200
    other = make_engine(url)
    with other.begin() as connection:  # as a server restart or an idle timeout would
        dropped = connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
    other.dispose()
    assert len(dropped) >= 2  # the kept read connection and the read log's
    for path in ("/v1/subjects/bob", "/v1/subjects/bob/entitlements/loan", "/v1/subjects/bob"):
        assert client.get(path, headers=H(keys.bob)).status_code == 200
    log = client.get("/v1/audit", headers=H(keys.auditor)).json()
    assert [e["action"] for e in log].count("read_record") == 3


def test_a_reader_that_cannot_be_told_does_not_stop_the_read_log(lending):
    service, keys, _ = lending

    def gone(_error):
        raise RuntimeError("Event loop is closed")

    service.reads._submit(("admin:x", "read_record", "bob", {}), gone)
    reader = threading.Thread(target=service.reads.log, args=("admin:x", "read_record", "alice", {}), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive()  # answered: the log thread lives on
    service.reads.settle()
    with service.sessions() as session:
        assert audit.verify(session).entries >= 2
