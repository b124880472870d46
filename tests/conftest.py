"""Shared helpers for the test suite."""

from __future__ import annotations

import copy
import os
import subprocess
import time
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# No per-example deadline: the first call of a compiled kernel includes its compilation, and the
# machines that run the tests are shared, so wall time says nothing about correctness.
settings.register_profile("socialcredit", deadline=None)
settings.load_profile("socialcredit")

BASE_SCHEME: dict[str, Any] = {
    "id": "t",
    "title": "test scheme",
    "scale": {"min": 0, "max": 2000, "base": 1000},
    "events": {
        "payment": {"category": "financial"},
        "late_payment": {"category": "financial"},
        "traffic_violation": {"category": "conduct"},
        "rating": {"category": "peer"},
    },
    "features": {
        "late_24m": {"count": "late_payment", "window_days": 730},
        "paid_24m": {"count": "payment", "window_days": 730},
        "late_ratio": {"ratio": ["late_24m", "paid_24m"]},
    },
    "components": {
        "payment_history": {
            "feature": "late_ratio",
            "bins": [{"upto": 0.0, "points": 0}, {"upto": 0.1, "points": -40}, {"points": -120}],
        },
    },
    "tiers": [{"name": "A", "min": 960}, {"name": "B", "min": 850}, {"name": "C", "min": 0}],
    "lists": {"blacklist": "tier <= 'C' or late_24m >= 3"},
    "entitlements": {"loan": {"allow": "not blacklist", "context": "financial"}},
}


@pytest.fixture
def scheme_data() -> dict[str, Any]:
    """A fresh, valid scheme as data, for tests to modify."""
    return copy.deepcopy(BASE_SCHEME)


def _write_scenario(folder: Path, scheme_file: str, scheme_text: str, scenario_text: str,
                    scenario_file: str = "scenario.yaml") -> Path:
    (folder / scheme_file).write_text(scheme_text)
    (folder / scenario_file).write_text(scenario_text)
    return folder / scenario_file


@pytest.fixture(scope="session")
def write_scenario():
    """write_scenario(folder, scheme_file, scheme_text, scenario_text): a scheme and a scenario that
    names it (by `scheme_file`) in one folder; returns the scenario's path."""
    return _write_scenario


# --- the browser tests' Chromium (Debian's, never a downloaded one) and their accessibility check ---
CHROMIUM = Path("/usr/bin/chromium")
# headless, and nothing that would reach the network on its own (updates, sync, safe browsing)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's Chromium at /usr/bin/chromium (.ci/run installs it)")
        pytest.skip("no /usr/bin/chromium here: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page (axe.min.js as axe-playwright-python ships it)."""
    script = (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    page.evaluate(script)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in SERIOUS]


@pytest.fixture
def axe_violations():
    """The page's serious and critical accessibility violations (axe-core), as a function of the page."""
    return _axe_violations


def _wait_until_healthy(url: str, server: subprocess.Popen, tries: int) -> None:
    """Wait (0.1 s a try) for a server started by a test to answer /healthz; one that exits instead
    fails the test with its output."""
    import httpx

    for _ in range(tries):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            time.sleep(0.1)


@pytest.fixture(scope="module")
def wait_until_healthy():
    """Waits for a server a test started to answer /healthz (a function of url, process, tries)."""
    return _wait_until_healthy


# The threads a `Service` runs (the read log's writer and mover, the WAL checkpointer): a service a
# test made and did not close leaves them running, holding connections and descriptors, and a mover
# left running could move a later test's staged reads.
SERVICE_THREADS = ("audit-reads", "audit-reads-mover", "wal-checkpoints")


def _service_threads() -> set[Any]:
    import threading

    return {t for t in threading.enumerate() if t.name in SERVICE_THREADS and t.is_alive()}


@pytest.fixture
def closed_after():
    """`closed_after(Service(...))`: the service, closed when the test ends, passed or failed."""
    made: list[Any] = []

    def keep(service: Any) -> Any:
        made.append(service)
        return service

    yield keep
    for service in reversed(made):
        service.close()


@pytest.fixture(autouse=True)
def services_are_closed():
    """Every `Service` a test makes is closed by the end of the test (a fixture, or `try/finally`)."""
    before = _service_threads()
    yield
    left = sorted(t.name for t in _service_threads() - before)
    assert not left, (f"a Service this test made was not closed: its threads {', '.join(left)} still run; fix: "
                      "close it (Service.close(), in a fixture or try/finally)")
