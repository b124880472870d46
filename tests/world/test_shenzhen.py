"""The shipped camera scenario: misidentification harm by group, and its growth with coverage."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.runner.run import simulate
from socialcredit.scheme import load_scheme
from socialcredit.scheme.guards import classify


def test_shenzhen_scheme_is_refused_for_real_people():
    verdict = classify(load_scheme("shenzhen-cameras"))
    assert not verdict.allowed and "good_credit_terms" in verdict.refusals[0]


# At the shipped rate (a crossing a year) and FPIR 1 in 1,000, a year of 100,000 people gives a few
# dozen false matches: the tests cross ten times as often, for a hundred or so in half a year of
# 50,000 people; twice the people, so that the minority's few (5% of people) are some twenty, not ten
# (the ratio the model expects, about 3, then stands clear of 2 by more than chance moves it).
def test_shenzhen_cameras_shame_the_misidentified_minority_more():
    run = simulate("shenzhen-cameras", population=100000, days=180, **{"behaviours.jaywalking.rate": 0.03})
    wrongly = run.summary["harms"]["wrongly_listed"]
    assert wrongly["count"] > 50
    # a minority probe is falsely matched 3x as often, and blames one of its own (frvt_2019)
    assert wrongly["by_group"]["minority"] > 2 * wrongly["by_group"]["majority"]
    assert run.summary["harms"]["appeals"]["filed"] > 0  # being shown on a screen is appealed too


def test_shenzhen_cameras_report_the_relative_risk_of_each_wrongful_harm():
    """Each wrongful harm's relative risk is the ratio of the groups' rates, flagged exactly when its
    interval's lower bound passes 1.25 and p < 0.05, in strict JSON."""
    import json

    run = simulate("shenzhen-cameras", population=40000, days=180)
    harms = run.summary["harms"]
    for harm in ("wrongly_listed", "wrongly_sanctioned"):
        figure = harms["relative_risks"][harm]
        groups = figure["groups"]
        minority = figure["relative_risk"]["minority" if figure["reference"] == "majority" else "majority"]
        if minority["estimate"] is None or minority["corrected"]:
            continue
        other = "minority" if figure["reference"] == "majority" else "majority"
        assert minority["estimate"] == pytest.approx(groups[other]["rate"] / groups[figure["reference"]]["rate"])
        assert minority["flagged"] == (minority["low"] > 1.25 and minority["p_value"] < 0.05)
        assert (other in figure["flagged"]) == minority["flagged"]
    json.dumps(harms, allow_nan=False)


@pytest.mark.slow
def test_compare_at_three_coverages_gives_a_publishable_table(tmp_path):
    result = CliRunner().invoke(app, ["compare", "shenzhen-cameras", "--set", "population.size=60000",
                                      "--set", "run.days=90", "--set", "behaviours.jaywalking.rate=0.03",
                                      "--set", "surveillance.cameras.coverage=0.1,0.5,0.9",
                                      "--set", "surveillance.cameras.district_coverage={}",
                                      "--seeds", "2", "--sequential", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "table.csv").set_index(["variant", "figure"])["mean"]
    levels = ["coverage=0.1", "coverage=0.5", "coverage=0.9"]
    chilling = [table[(v, "chilling.jaywalking")] for v in levels]
    assert chilling[0] < chilling[1] < chilling[2]  # more cameras, fewer crossings
    assert table[("coverage=0.5", "listed.displayed")] > 1.5 * table[("coverage=0.1", "listed.displayed")]
    minority = sum(table[(v, "wrongly_listed.minority")] for v in levels)
    majority = sum(table[(v, "wrongly_listed.majority")] for v in levels)
    assert minority > 2 * majority  # the misidentified group is shamed for crossings it did not make
    assert "Listed because of acts they did not do" in (tmp_path / "report.html").read_text()
