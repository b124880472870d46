"""API keys: a key revoked, deleted from the database or past its expiry is refused (401) from its
next request on, by every server on the database, with no restart; `keys list` shows every key and
its dates but never its secret; migration 0003 keeps the keys made before it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from socialcredit.cli import app as cli
from socialcredit.service import audit
from socialcredit.service.api import create_app
from socialcredit.service.db import make_engine, make_sessions, utcnow
from socialcredit.service.keys import _hash, create_key, expiry_after
from socialcredit.service.migrate import alembic_config, upgrade

from .conftest import BOB, Keys

H = Keys.header
# a fast lane (the record) and a FastAPI route (the events)
READS = ("/v1/subjects/bob", "/v1/subjects/bob/events")


def keys_cli(*args: str, url: str):
    return CliRunner().invoke(cli, ["keys", *args, "--db", url])


def test_a_revoked_key_is_refused_from_its_next_request_by_every_server(lending, closed_after):
    service, keys, url = lending
    first = TestClient(create_app(service))
    first.post("/v1/events", json={"events": BOB}, headers=H(keys.operator))
    # a second server process on the same database: its own app, its own service, its own cache of keys
    second = TestClient(create_app(closed_after(type(service)(make_engine(url), service.scheme, now=service.now))))
    for client in (first, second):
        for path in READS:
            assert client.get(path, headers=H(keys.bob)).status_code == 200  # each has the key cached now
    revoked = keys_cli("revoke", keys.bob, url=url)
    assert revoked.exit_code == 0 and f"revoked key {keys.bob.split('_')[1]}" in revoked.output
    for client in (first, second):
        for path in READS:
            answer = client.get(path, headers=H(keys.bob))
            assert answer.status_code == 401 and "revoked" in answer.json()["detail"], answer.text
        appeal = client.post("/v1/appeals", json={"subject": "bob", "event_ids": ["d1"], "statement": "not mine"},
                             headers=H(keys.bob))
        assert appeal.status_code == 401
        assert client.get("/v1/subjects/bob", headers=H(keys.operator)).status_code == 200  # other keys stand


def test_an_admin_command_waits_for_a_servers_write_rather_than_take_its_audit_number(lending):
    """`keys revoke` appends to the audit log from a process of its own: while a server's change holds
    the log (its entry appended, not yet committed), the command waits for it, then appends after it.
    (On PostgreSQL it once read the same last entry and failed on the number taken.)"""
    service, keys, url = lending
    outcome: list = []
    with service.store.writing() as session:
        audit.append(session, "operator:o1", "ingest", None, {"stored": 0, "duplicates": 0, "rejected": 0})
        command = threading.Thread(target=lambda: outcome.append(keys_cli("revoke", keys.bob, url=url)))
        command.start()
        command.join(timeout=1.0)
        assert command.is_alive()  # it waits for the server's write
    command.join(timeout=60)
    assert outcome[0].exit_code == 0, outcome[0].output
    with service.sessions() as session:
        entries = audit.entries(session)
        assert [e["action"] for e in entries][-2:] == ["ingest", "key_revoked"]
        assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))


def checking_on_its_connection(service, keys) -> TestClient:
    """A client of an app whose key check has found the auditor's key and asked its row once on the
    check's own connection."""
    app = create_app(service)
    client = TestClient(app)
    for _ in range(2):  # the first finds the key, the second asks its row on the check's connection
        assert client.get("/v1/audit", headers=H(keys.auditor)).status_code == 200
    assert app.state.keys.check.connection is not None
    return client


def test_a_key_deleted_from_the_database_is_refused(lending):
    service, keys, url = lending
    client = checking_on_its_connection(service, keys)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM api_keys WHERE id = :id"), {"id": keys.auditor.split("_")[1]})
    engine.dispose()
    answer = client.get("/v1/audit", headers=H(keys.auditor))
    assert answer.status_code == 401 and answer.json()["detail"] == "authorization: unknown API key"


def test_a_key_is_refused_once_past_its_expiry(lending):
    service, _, url = lending
    with make_sessions(service.engine).begin() as session:
        hourly = create_key(session, "auditor", expires_at=utcnow() + timedelta(hours=1))
        stale = create_key(session, "auditor", expires_at=utcnow() - timedelta(seconds=1))
    app = create_app(service)
    client = TestClient(app)
    answer = client.get("/v1/audit", headers=H(stale))  # expired before its first request
    assert answer.status_code == 401 and "expired at" in answer.json()["detail"]
    assert client.get("/v1/audit", headers=H(hourly)).status_code == 200
    app.state.keys.clock = lambda: time.time() + 3600  # an hour on: the key is cached, and past its expiry
    answer = client.get("/v1/audit", headers=H(hourly))
    assert answer.status_code == 401 and "expired at" in answer.json()["detail"]


def test_keys_list_shows_each_key_and_its_dates_but_never_a_secret(lending):
    service, keys, url = lending
    made = keys_cli("create", "--role", "subject", "--subject", "carol", "--expires-in", "30d", url=url)
    assert made.exit_code == 0
    carol = made.output.strip()
    client = TestClient(create_app(service))
    assert client.get("/v1/audit", headers=H(keys.auditor)).status_code == 200
    for _ in range(100):  # the last use is written by a thread of its own, without holding up the request
        with make_sessions(service.engine)() as session:
            used = session.execute(text("SELECT last_used_at FROM api_keys WHERE id = :id"),
                                   {"id": keys.auditor.split("_")[1]}).scalar()
        if used is not None:
            break
        time.sleep(0.05)
    assert keys_cli("revoke", keys.reviewer.split("_")[1], url=url).exit_code == 0
    listed = keys_cli("list", url=url)
    assert listed.exit_code == 0
    lines = {line.split()[0]: line for line in listed.output.splitlines()[1:] if line.strip()}
    today = f"{utcnow():%Y-%m-%d}"
    carol_line = lines[carol.split("_")[1]]
    assert "subject" in carol_line and "carol" in carol_line
    assert f"{utcnow() + timedelta(days=30):%Y-%m-%d}" in carol_line and carol_line.rstrip().endswith("active")
    assert lines[keys.auditor.split("_")[1]].count(today) == 2  # created and last used today; never expires
    assert "never" in lines[keys.auditor.split("_")[1]]
    assert f"revoked {today}" in lines[keys.reviewer.split("_")[1]]
    for key in (carol, keys.admin, keys.operator, keys.reviewer, keys.auditor, keys.bob):
        assert key.split("_", 2)[2] not in listed.output and _hash(key) not in listed.output


@pytest.mark.parametrize(("duration", "length"), [("90m", timedelta(minutes=90)), ("12h", timedelta(hours=12)),
                                                  ("30d", timedelta(days=30))])
def test_an_expiry_is_minutes_hours_or_days_from_now(duration, length):
    now = utcnow()
    assert expiry_after(duration, now) == now + length


@pytest.mark.parametrize(("duration", "words"), [("30", "not a duration"), ("0d", "not a duration"),
                                                 ("-1d", "not a duration"), ("2w", "not a duration"),
                                                 ("36501d", "longer than a hundred years"),
                                                 ("99999999999999d", "longer than a hundred years")])
def test_a_bad_expiry_is_refused_with_what_is_accepted(duration, words, tmp_path):
    made = CliRunner().invoke(cli, ["keys", "create", "--role", "auditor", f"--expires-in={duration}",
                                    "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert made.exit_code == 2 and "--expires-in" in made.output and words in made.output


def test_revoking_an_unknown_key_says_so_and_revoking_twice_changes_nothing(lending):
    _, keys, url = lending
    unknown = keys_cli("revoke", "0123456789ab", url=url)
    assert unknown.exit_code == 2 and "no key '0123456789ab'" in unknown.output and "keys list" in unknown.output
    assert keys_cli("revoke", keys.operator, url=url).exit_code == 0
    again = keys_cli("revoke", keys.operator, url=url)
    assert again.exit_code == 0 and "revoked already" in again.output


def test_the_migration_keeps_the_keys_made_before_it_and_its_downgrade_drops_what_it_cannot_hold(backend, tmp_path,
                                                                                                closed_after):
    from .conftest import database_url

    url = database_url(backend, tmp_path)
    engine = make_engine(url)
    config = alembic_config(url)
    command.upgrade(config, "0002")
    old = "sck_0123456789ab_made-before-revocation"
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO api_keys (id, secret_hash, role, created_at) "
                                "VALUES ('0123456789ab', :hash, 'auditor', :at)"), {"hash": _hash(old), "at": utcnow()})
    upgrade(engine)
    from socialcredit.scheme import load_scheme
    from socialcredit.service.core import Service

    service = closed_after(Service(engine, load_scheme("lending")))
    client = TestClient(create_app(service))
    assert client.get("/v1/audit", headers=H(old)).status_code == 200
    with make_sessions(engine).begin() as session:
        expiring = create_key(session, "auditor", expires_at=utcnow() + timedelta(days=1))
    assert keys_cli("revoke", old, url=url).exit_code == 0
    service.close()  # before the downgrade: nothing of it acts on the database after
    command.downgrade(config, "0002")  # the old schema holds no revocation, no expiry: those keys go
    with engine.begin() as connection:
        assert connection.execute(text("SELECT id FROM api_keys WHERE id IN (:a, :b)"),
                                  {"a": "0123456789ab", "b": expiring.split("_")[1]}).all() == []
    engine.dispose()


def test_a_key_that_cannot_be_checked_is_refused_and_the_check_recovers(lending, monkeypatch):
    service, keys, _ = lending
    app = create_app(service)
    client = TestClient(app)
    for _ in range(2):  # the first finds the key, the second asks its row on the check's connection
        assert client.get("/v1/audit", headers=H(keys.auditor)).status_code == 200
    check = app.state.keys.check
    check.close()  # a connection dropped meanwhile is replaced (once) without the request noticing
    assert client.get("/v1/audit", headers=H(keys.auditor)).status_code == 200

    def unreachable():
        raise OSError("connection refused")

    real = check._connect
    check.close()
    monkeypatch.setattr(check, "_connect", unreachable)
    answer = client.get("/v1/audit", headers=H(keys.auditor))  # not let in on the strength of the cache
    assert answer.status_code == 503 and "could not be checked" in answer.json()["detail"]
    monkeypatch.setattr(check, "_connect", real)
    assert client.get("/v1/audit", headers=H(keys.auditor)).status_code == 200


def test_the_key_check_survives_the_server_dropping_its_connection(lending, backend):
    if backend != "postgresql":
        pytest.skip("a server that drops connections: PostgreSQL's pg_terminate_backend")
    service, keys, url = lending
    client = checking_on_its_connection(service, keys)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    engine.dispose()
    assert client.get("/v1/audit", headers=H(keys.auditor)).status_code == 200


def test_a_header_that_is_no_key_of_ours_is_refused_without_a_look_up(lending, monkeypatch):
    service, _, _ = lending
    app = create_app(service)
    client = TestClient(app)

    def no_look_up(_secret):
        raise AssertionError("looked up")

    monkeypatch.setattr(app.state.keys, "_find", no_look_up)
    for header in ("Bearer nope", "Bearer sck_", "Bearer sck_0123456789ab", "Bearer sck__secret", "Bearer x_y_z"):
        answer = client.get("/v1/audit", headers={"Authorization": header})
        assert answer.status_code == 401 and answer.json()["detail"] == "authorization: unknown API key"


def test_a_store_that_reached_0004_before_the_key_columns_existed_gets_them(backend, tmp_path, closed_after):
    """0004 was first released revising 0002: a store made then lacks 0003's columns, and Alembic
    now takes 0003 as applied. 0006 adds them, so its keys work after the upgrade."""
    from .conftest import database_url

    url = database_url(backend, tmp_path)
    engine = make_engine(url)
    command.upgrade(alembic_config(url), "0004")
    with engine.begin() as connection:  # the store as the release of 0004 without 0003 left it
        for column in ("expires_at", "revoked_at", "last_used_at"):
            connection.execute(text(f"ALTER TABLE api_keys DROP COLUMN {column}"))
    upgrade(engine)
    from socialcredit.scheme import load_scheme
    from socialcredit.service.core import Service

    with make_sessions(engine).begin() as session:
        auditor = create_key(session, "auditor")
    client = TestClient(create_app(closed_after(Service(engine, load_scheme("lending")))))
    assert client.get("/v1/audit", headers=H(auditor)).status_code == 200
    assert keys_cli("revoke", auditor, url=url).exit_code == 0
    assert client.get("/v1/audit", headers=H(auditor)).status_code == 401
    engine.dispose()


@pytest.mark.parametrize(("subject", "says"), [("a/b", "holds a '/'"), ("", "subject is empty"),
                                               ("a\x00b", "NUL character")])
def test_a_subject_key_names_a_subject_a_url_path_can_name(lending, subject, says):
    """The key's own page is /portal/subjects/{subject} (and /v1/subjects/{subject}): checked as an event's
    subject is, when the key is made."""
    _, _, url = lending
    made = keys_cli("create", "--role", "subject", "--subject", subject, url=url)
    assert made.exit_code == 2 and says in made.output and "Traceback" not in made.output
