"""The list of runs: what a user sees first, and that a broken folder is named with what is wrong."""

from __future__ import annotations

import re

from socialcredit.dashboard.folders import list_entries


def row_of(html: str, name: str) -> str:
    rows = [row for row in html.split("<tr") if f">{name}<" in row]
    assert len(rows) == 1, f"one row for {name}"
    return rows[0]


def test_the_list_shows_each_run_with_scenario_size_and_headline_harms(client):
    page = client.get("/")
    assert page.status_code == 200
    row = row_of(page.text, "errors")
    assert "default" in row and "1,500 people, 30 days" in row
    assert re.search(r"wrongly listed: <strong>\d+\.\d{3}%</strong>", row)
    assert re.search(r"false records: <strong>[1-9][\d,]*</strong>", row)
    assert 'href="/run/errors"' in row


def test_a_several_scheme_run_shows_each_schemes_lists(client):
    row = row_of(client.get("/").text, "three")
    assert "(court)" in row and "wrongly listed (any scheme)" in row


def test_a_comparison_is_listed_with_its_variants_and_seeds(client):
    row = row_of(client.get("/").text, "cmp")
    assert "comparison" in row and "2 variants x 2 seeds, 500 people, 15 days" in row
    assert 'href="/comparison/cmp"' in row


def test_broken_folders_are_listed_with_what_is_wrong_never_a_500(client):
    html = client.get("/").text
    assert "missing metrics.parquet, people.parquet" in row_of(html, "half")
    assert "summary.json cannot be read" in row_of(html, "garbled")
    assert "not a run, comparison or validation (holds notes.txt)" in row_of(html, "stray")
    assert "partial" not in html  # a run being written is not listed


def test_pages_of_broken_or_missing_folders_say_why(client):
    for path, said in (("/run/nothing-here/report.html", "no folder &#39;nothing-here&#39;"),
                       ("/run/half/report.html", "half has no report.html"), ("/no/such/page", "There is no page")):
        page = client.get(path)
        assert page.status_code == 404, path
        assert said in page.text, (path, page.text[-500:])


def test_entries_are_newest_first(runs_folder):
    entries = list_entries(runs_folder)
    assert [e.modified for e in entries] == sorted((e.modified for e in entries), reverse=True)


def test_plotly_is_served_from_the_package(client):
    script = client.get("/plotly.min.js")
    assert script.status_code == 200 and "plotly.js" in script.text[:2000]
