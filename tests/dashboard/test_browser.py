"""The dashboard in a real browser: Debian's Chromium driven by Playwright (never a downloaded
browser; .ci/run installs the package). It lists a run, draws its plots with data, follows a
person, starts a run from the form and opens it, logs no console error, and axe-core finds no
serious accessibility violation. Slow: the quick loop leaves it out, CI runs it."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def base_url(runs_folder, wait_until_healthy):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "socialcredit.cli", "dashboard", str(runs_folder), "--port",
                               str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, 300)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def page(browser):
    """A page that records every console error and uncaught exception; none may happen."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"console errors: {errors}"


def traces_drawn(page) -> list[int]:
    """For each plot of the page, the traces Plotly drew with at least one point."""
    return page.evaluate("""Array.from(document.querySelectorAll('.plot')).map(div =>
        (div.data || []).filter(t => (t.y || t.q1 || []).some(v => v !== null)).length)""")


def test_the_list_shows_a_run_and_its_plots_render_with_data(page, base_url, axe_violations):
    page.goto(base_url + "/")
    assert axe_violations(page) == []
    page.click('a[href="/run/errors"]')
    page.wait_for_selector(".plot .main-svg")
    drawn = traces_drawn(page)
    assert len(drawn) >= 10 and all(count > 0 for count in drawn), drawn
    # the legend toggles a group: click "mean: minority" and Plotly hides that trace
    plot = page.locator(".plot").first
    entry = plot.locator("g.traces", has=page.locator(".legendtext", has_text="mean: minority"))
    entry.locator(".legendtoggle").click()
    # Plotly waits out its double-click delay before it hides the trace
    page.wait_for_function("""document.querySelector('.plot').data
        .find(t => t.name === 'mean: minority').visible === 'legendonly'""", timeout=5000)
    assert axe_violations(page) == []


def test_following_a_person_shows_their_timeline(page, base_url, axe_violations):
    page.goto(base_url + "/run/errors/person")
    page.click("text=a wrongly listed person")
    page.wait_for_selector("table.timeline")
    assert page.locator("table.timeline tbody tr").count() > 0
    assert page.locator("text=wrongly").count() > 0
    page.wait_for_selector(".plot .main-svg")
    assert traces_drawn(page)[0] > 0
    assert axe_violations(page) == []


def test_a_run_started_from_the_form_finishes_and_opens(page, base_url, runs_folder, axe_violations):
    page.goto(base_url + "/new")
    assert axe_violations(page) == []
    page.fill('input[name="population.size"]', "300")
    page.fill('input[name="run.days"]', "6")
    page.fill('input[name="out"]', "browser-run")
    page.click("text=Start the run")
    page.wait_for_url("**/jobs/browser-run")
    page.reload()  # the run goes on: its state is on disk, not in the page
    page.wait_for_url("**/run/browser-run", timeout=180_000)
    page.wait_for_selector(".plot .main-svg")
    assert all(count > 0 for count in traces_drawn(page)[:3])
    page.goto(base_url + "/")
    assert page.locator('a[href="/run/browser-run"]').count() == 1


def test_a_comparison_renders_accessibly(page, base_url, axe_violations):
    page.goto(base_url + "/comparison/cmp")
    page.wait_for_selector(".plot .main-svg")
    assert all(count > 0 for count in traces_drawn(page))
    assert axe_violations(page) == []


def test_a_broken_folder_s_page_says_what_is_wrong(browser, base_url, axe_violations):
    # its own page: a 404 answer is logged by Chromium as a console error, rightly
    opened = browser.new_page()
    answer = opened.goto(base_url + "/run/half")
    assert answer is not None and answer.status == 404
    assert "missing metrics.parquet" in opened.content()
    assert axe_violations(opened) == []
    opened.close()
