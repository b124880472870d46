"""Gaming (issue 20) through the commands: `simulate --counterfactual` with each of its three
mechanisms, and `compare`'s figures of them, each with a range (FIGURE_KINDS)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import socialcredit
from socialcredit.analysis.intervals import figure_kind
from socialcredit.cli import app
from socialcredit.runner.compare import headline_figures


@pytest.mark.parametrize(("preset", "mechanism", "figure"), [
    ("rongcheng", "farming", "farmed_per_person_year.volunteering"),
    ("national", "pruning", "mean_degree_low_unlisted"),
    ("marketplace", "inflation", "rating_spread.negative_feedback"),
])
def test_simulate_runs_the_twin_without_the_mechanism(tmp_path, preset, mechanism, figure):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["simulate", preset, "--population", "2000", "--days", "60", "--out", str(out),
                                      "--counterfactual", mechanism])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    rows = {row["figure"]: row for row in summary["counterfactual"]["figures"]}
    assert summary["counterfactual"]["mechanism"] == mechanism and figure in rows
    assert "Gaming and approval seeking" in (out / "report.html").read_text()


def test_a_scenario_without_gaming_has_no_such_twin(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "fico", "--population", "500", "--days", "5", "--out",
                                      str(tmp_path / "x"), "--counterfactual", "farming"])
    assert result.exit_code == 2 and "no farming to switch off" in result.output


def test_compare_figures_of_gaming_each_have_a_range():
    run = socialcredit.simulate("nosedive", population=2000, days=60, seed=1)
    figures = headline_figures(run.summary)
    assert {"ratings_inflated_share.rating", "rating_spread.rating", "rating_tracks_quality.rating"} <= set(figures)
    for name in figures:
        figure_kind(name)  # raises for a figure without a kind
    assert "rating_spread.rating" not in headline_figures(
        socialcredit.simulate("nosedive", population=2000, days=60, seed=1, **{"gaming.inflation": {}}).summary)
