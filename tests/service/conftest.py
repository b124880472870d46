"""Service tests run on SQLite, and on PostgreSQL when SOCIALCREDIT_TEST_POSTGRES names a server
(`.ci/run` starts one on 127.0.0.1)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from socialcredit.scheme import load_scheme, scheme_from_data
from socialcredit.service.api import create_app
from socialcredit.service.auditkey import default_paths, key_for
from socialcredit.service.core import Service
from socialcredit.service.db import Base, make_engine, make_sessions
from socialcredit.service.keys import create_key
from socialcredit.service.migrate import upgrade

NOW = 20_000.0  # 2024-10-04: a fixed clock, so scores do not drift while a test runs

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("SOCIALCREDIT_TEST_POSTGRES") else [])


@dataclass
class Keys:
    admin: str
    operator: str
    reviewer: str
    auditor: str
    bob: str     # a subject key bound to 'bob'

    @staticmethod
    def header(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


def database_url(backend: str, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    url = os.environ["SOCIALCREDIT_TEST_POSTGRES"]
    engine = make_engine(url)
    with engine.begin() as connection:  # a clean database for every test
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


NETWORK_SCHEME = {
    "id": "friends", "title": "Lending with a friends term (test)", "version": "3",
    "scale": {"min": 0, "max": 1000, "base": 700}, "retention_days": 365,
    "events": {"payment": {"category": "financial"}, "late_payment": {"category": "financial"}},
    "features": {"late": {"count": "late_payment", "window_days": 365}, "paid": {"count": "payment"}},
    "components": {"history": {"feature": "late", "per_unit": -100, "min": -500}},
    "network": {"weight": 0.5},
    "tiers": [{"name": "good", "min": 650}, {"name": "poor", "min": 0}],
    "lists": {"watch": "late >= 2"},
    "entitlements": {"loan": {"allow": "not watch and tier >= 'good'", "context": "financial", "uses": ["social"]}},
}


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


def audit_files(url: str) -> tuple[Path, Path]:
    """The audit key and checkpoint file of a test's database: beside a SQLite file, as `serve` has
    them; for the PostgreSQL server, in a folder of the test's own (never the current folder)."""
    paths = default_paths(url)
    if url.startswith("sqlite") and paths is not None:
        return paths
    folder = Path(tempfile.mkdtemp(prefix="socialcredit-audit-"))
    return folder / "audit-key", folder / "checkpoints"


def audit_options(service: Service) -> list[str]:
    """The CLI options naming a test service's audit key and checkpoint file."""
    return ["--checkpoint-key", str(service.store.audit_key.path), "--checkpoints", str(service.checkpoints.path)]


def open_service(url: str, scheme) -> tuple[Service, Keys]:
    engine = make_engine(url)
    key_path, checkpoints = audit_files(url)
    key = key_for(url, key_path)
    upgrade(engine, key)
    with make_sessions(engine, key).begin() as session:
        keys = Keys(*(create_key(session, role) for role in ("admin", "operator", "reviewer", "auditor")),
                    bob=create_key(session, "subject", "bob"))
    return Service(engine, scheme, now=lambda: NOW, audit_key=key, checkpoints=checkpoints), keys


@pytest.fixture
def lending(backend, tmp_path) -> Iterator[tuple[Service, Keys, str]]:
    url = database_url(backend, tmp_path)
    service, keys = open_service(url, load_scheme("lending"))
    yield service, keys, url
    service.close()


@pytest.fixture
def friends(backend, tmp_path) -> Iterator[tuple[Service, Keys, str]]:
    url = database_url(backend, tmp_path)
    service, keys = open_service(url, scheme_from_data(NETWORK_SCHEME))
    yield service, keys, url
    service.close()


# Bob's and alice's events, stored by `api`.
BOB = [
    {"id": "p1", "subject": "bob", "kind": "payment", "time": "2024-09-01"},
    {"id": "l1", "subject": "bob", "kind": "late_payment", "time": "2024-09-10", "value": 30},
    {"id": "d1", "subject": "bob", "kind": "default", "time": 19990},
    {"id": "a1", "subject": "alice", "kind": "payment", "time": "2024-09-02T10:00:00"},
]


@pytest.fixture
def api(lending):
    service, keys, _ = lending
    client = TestClient(create_app(service))
    assert client.post("/v1/events", json={"events": BOB}, headers=Keys.header(keys.operator)).status_code == 200
    return client, keys, service
