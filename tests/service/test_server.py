"""The README's walk-through against a real `socialcredit serve` process on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "socialcredit.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def server(tmp_path):
    port = free_port()
    keys = {role: cli("keys", "create", "--role", role, cwd=tmp_path).stdout.strip()
            for role in ("operator", "reviewer")}
    keys["bob"] = cli("keys", "create", "--role", "subject", "--subject", "bob", cwd=tmp_path).stdout.strip()
    process = subprocess.Popen([sys.executable, "-m", "socialcredit.cli", "serve", "--port", str(port)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError(process.stderr.read().decode())
    yield base, keys, tmp_path
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.slow
def test_walk_through_from_the_readme(server):
    base, keys, folder = server

    def auth(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[who]}"}

    today = time.time() / 86400
    events = [{"id": "pay-1", "subject": "bob", "kind": "payment", "time": today - 40},
              {"id": "late-1", "subject": "bob", "kind": "late_payment", "time": today - 20, "value": 45},
              {"id": "default-1", "subject": "bob", "kind": "default", "time": today - 10}]
    stored = httpx.post(f"{base}/v1/events", json={"events": events}, headers=auth("operator")).json()
    assert stored["stored"] == 3
    check = httpx.get(f"{base}/v1/subjects/bob/entitlements/loan", headers=auth("bob")).json()
    assert check["allowed"] is False and "default-1" in check["appeal"]["events_you_can_contest"]
    before = httpx.get(f"{base}/v1/subjects/bob", headers=auth("bob")).json()["score"]
    appeal = httpx.post(f"{base}/v1/appeals", json={"subject": "bob", "event_ids": ["default-1"],
                                                    "statement": "This debt is not mine."}, headers=auth("bob")).json()
    decided = httpx.post(f"{base}/v1/appeals/{appeal['id']}/decision",
                         json={"decision": "void", "note": "a namesake's debt"}, headers=auth("reviewer"))
    assert decided.json()["status"] == "voided"
    after = httpx.get(f"{base}/v1/subjects/bob", headers=auth("bob")).json()["score"]
    assert after == before + 200  # the default's 200 points come back
    verified = cli("audit", "verify", cwd=folder)
    assert verified.returncode == 0 and "audit log intact" in verified.stdout
