"""Side by side: a comparison's variants with intervals, and runs picked from the list."""

from __future__ import annotations

import re

import pandas as pd

from socialcredit.runner.compare_report import cell

from .test_run_page import figures_of


def test_a_comparison_shows_each_variant_with_its_interval(client, runs_folder):
    page = client.get("/comparison/cmp")
    assert page.status_code == 200
    table = pd.read_csv(runs_folder / "cmp" / "table.csv")
    variants = list(dict.fromkeys(table["variant"]))
    assert variants == ["error_rate=0.0", "error_rate=0.05"]
    for variant in variants:
        assert f">{variant}</th>" in page.text
    row = table[(table["figure"] == "score_mean") & (table["variant"] == variants[1])].iloc[0]
    assert cell(row["mean"], row["low"], row["high"], row["kind"]) in page.text  # as the comparison's report
    figures = figures_of(page.text)
    scores = next(f for f in figures.values() if f["layout"]["title"]["text"].startswith("score_mean by group"))
    assert {t["name"] for t in scores["data"]} == {"majority", "minority"}
    low, high = scores["layout"]["yaxis"]["range"]
    assert low > 900  # a score axis is not stretched down to 0


def test_runs_picked_in_the_list_are_compared_without_pretending_to_intervals(client):
    page = client.get("/compare?runs=errors&runs=three")
    assert page.status_code == 200
    assert "without intervals" in page.text
    assert re.search(r"<td>false_records</td><td class=\"number\">[\d.e+]+</td><td class=\"number\">[\d.e+]+</td>",
                     page.text)
    (plot,) = figures_of(page.text).values()
    assert len(plot["data"]) == 2  # a mean score line per run (the first scheme's for several)


def test_compare_asks_for_two_runs_and_names_the_folder_s_comparisons(client):
    page = client.get("/compare")
    assert page.status_code == 200 and 'href="/comparison/cmp"' in page.text
    one = client.get("/compare?runs=errors")
    assert one.status_code == 404 and "pick two runs or more" in one.text
    missing = client.get("/compare?runs=errors&runs=nope")
    assert missing.status_code == 404 and "no folder &#39;nope&#39;" in missing.text


def test_a_validation_folder_lists_its_checks(client, runs_folder, tmp_path):
    folder = runs_folder / "validation-x"
    folder.mkdir(exist_ok=True)
    pd.DataFrame([{"check": "gini", "claim": "income Gini as measured", "source": "s", "measures": "m",
                   "measured": "0.33", "expected": "0.3 to 0.4", "passed": True, "value": 0.33, "low": 0.3,
                   "high": 0.4, "note": "", "seconds": 1.0},
                  {"check": "fpir", "claim": "false alerts", "source": "s", "measures": "m", "measured": "0.1",
                   "expected": "0.01", "passed": False, "value": 0.1, "low": 0, "high": 0.01, "note": "",
                   "seconds": 1.0}]).to_csv(folder / "validation.csv", index=False)
    page = client.get("/validation/validation-x")
    assert page.status_code == 200 and "1 of 2 checks pass" in page.text
    listed = client.get("/").text
    assert "checks passed: <strong>1 of 2</strong>" in listed


def test_a_run_asked_for_as_a_validation_says_what_it_is(client):
    page = client.get("/validation/three")
    assert page.status_code == 404
    assert "three is a run, not a validation: open it at /run/three" in page.text
