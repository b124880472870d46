"""The portal in a real browser, against a real `socialcredit serve`: Debian's Chromium driven by
Playwright (never a downloaded browser; .ci/run installs the package), as the dashboard's browser
tests drive it. A subject signs in and reads why a loan is denied, contests an event, a reviewer
grants the appeal and the subject sees the outcome; a subject cannot open another's page; an
auditor verifies the log; no console error; axe-core finds no serious accessibility violation.
Slow: the quick loop leaves it out, CI runs it.

With SOCIALCREDIT_PORTAL_SCREENSHOT=PATH, the appeal test saves the subject's page as it ends
there (docs/portal.png is made so)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest

pytestmark = pytest.mark.slow

ROLES = {"operator": [], "reviewer": [], "auditor": [], "bob": ["--subject", "bob"],
         "alice": ["--subject", "alice"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "socialcredit.cli", *args], capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()


@pytest.fixture(scope="module")
def served(tmp_path_factory, wait_until_healthy):
    """`socialcredit serve` on a fresh database, bob with a default on file; the keys by role."""
    folder = tmp_path_factory.mktemp("portal")
    db = f"sqlite:///{folder / 'portal.db'}"
    keys = {name: cli("keys", "create", "--role", "subject" if extra else name, *extra, "--db", db)
            for name, extra in ROLES.items()}
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "socialcredit.cli", "serve", "--db", db, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, 600)
        events = [{"id": "pay-1", "subject": "bob", "kind": "payment", "time": days_ago(40), "source": "bank"},
                  {"id": "late-1", "subject": "bob", "kind": "late_payment", "time": days_ago(30), "value": 12,
                   "source": "bank"},
                  {"id": "debt-1", "subject": "bob", "kind": "default", "time": days_ago(10), "source": "collector"},
                  {"id": "pay-2", "subject": "alice", "kind": "payment", "time": days_ago(20), "source": "bank"}]
        stored = httpx.post(url + "/v1/events", json={"events": events},
                            headers={"Authorization": f"Bearer {keys['operator']}"})
        assert stored.status_code == 200 and stored.json()["stored"] == 4, stored.text
        yield url, keys
    finally:
        server.terminate()
        server.wait(timeout=30)


class Person:
    """One person's browser (a context of their own: their own cookie), recording every console
    error and uncaught exception; none may happen."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1200, "height": 1000})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def sign_in(self, key: str) -> None:
        self.page.goto(self.base_url + "/portal")
        self.page.get_by_label("Your key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()


@pytest.fixture
def people(browser, served):
    made: list[Person] = []

    def person() -> Person:
        made.append(Person(browser, served[0]))
        return made[-1]

    yield person
    for one in made:
        one.context.close()
    assert [e for one in made for e in one.errors] == [], "console errors"


def test_a_subject_signs_in_and_reads_why_a_loan_is_denied(people, served, axe_violations):
    _, keys = served
    bob = people()
    bob.page.goto(bob.base_url + "/portal")
    assert axe_violations(bob.page) == []
    bob.sign_in(keys["bob"])
    assert bob.page.url.endswith("/portal/subjects/bob")
    assert bob.page.get_by_role("heading", name="Your record", exact=True).is_visible()
    bob.page.get_by_role("link", name="why").first.click()
    denial = bob.page.locator("section.denial", has=bob.page.get_by_role("heading", name="Why you may not: loan"))
    assert "you are on the list high_risk" in denial.inner_text()
    assert "debt-1" in denial.locator("table").inner_text()
    assert axe_violations(bob.page) == []


def test_an_appeal_end_to_end(people, served, axe_violations):
    _, keys = served
    bob = people()
    bob.sign_in(keys["bob"])
    bob.page.get_by_label("Contest event debt-1").check()
    bob.page.get_by_label("Why they are wrong").fill("I never had a debt with this collector.")
    bob.page.get_by_role("button", name="Contest these events").click()
    bob.page.wait_for_selector("text=Waiting for a reviewer")
    score_before = bob.page.locator(".score strong").inner_text()

    reviewer = people()
    reviewer.sign_in(keys["reviewer"])
    reviewer.page.get_by_role("link", name="The queue of appeals to decide").click()
    appeal = reviewer.page.locator("article.appeal").first
    assert "I never had a debt with this collector." in appeal.locator(".statement").inner_text()
    assert "debt-1" in appeal.locator("table").inner_text()
    assert axe_violations(reviewer.page) == []
    appeal.get_by_label("Your note to the person (why)").fill("The collector confirmed a namesake's debt.")
    appeal.get_by_role("button", name="Grant: remove these events from the record").click()
    reviewer.page.wait_for_selector("text=No appeals here.")

    bob.page.reload()
    outcome = bob.page.locator("article.appeal").first
    assert "Granted" in outcome.inner_text() and "namesake" in outcome.inner_text()
    assert int(bob.page.locator(".score strong").inner_text()) > int(score_before)
    assert axe_violations(bob.page) == []
    shot = os.environ.get("SOCIALCREDIT_PORTAL_SCREENSHOT")
    if shot:
        bob.page.screenshot(path=shot, full_page=True)


def test_a_subject_cannot_reach_another_s_page(browser, served, axe_violations):
    url, keys = served
    # a context of its own, without the console check: a 403 answer is logged by Chromium as a console error, rightly
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + "/portal")
    page.get_by_label("Your key").fill(keys["bob"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/portal/subjects/bob")
    answer = page.goto(url + "/portal/subjects/alice")
    assert answer is not None and answer.status == 403
    assert "a subject key reads only its own record" in page.content() and "pay-2" not in page.content()
    assert axe_violations(page) == []
    context.close()


def test_an_auditor_reads_the_log_and_verifies_it(people, served, axe_violations):
    _, keys = served
    auditor = people()
    auditor.sign_in(keys["auditor"])
    auditor.page.get_by_role("link", name="The audit log", exact=True).click()
    assert auditor.page.get_by_role("heading", name="A checkpoint of the log now").is_visible()
    assert auditor.page.locator("table.audit tbody tr").count() > 0
    assert axe_violations(auditor.page) == []
    auditor.page.get_by_role("link", name="Verify the whole log").click()
    assert "Intact" in auditor.page.locator(".intact").inner_text()
    assert axe_violations(auditor.page) == []
