"""Paired counterfactuals: what a mechanism causes is the difference from a twin run without it,
same scenario, same seed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.runner.counterfactual import paired_effects, twin_overrides
from socialcredit.scenario.load import load_scenario

SMALL = {"population.size": 4000, "run.days": 120}


def by_figure(effects) -> dict[str, dict]:
    return {row["figure"]: row for row in effects.table()}


def test_the_sanctions_twin_switches_off_only_what_denials_do():
    scenario, scheme = load_scenario("default")
    off = twin_overrides("sanctions", scenario, scheme)
    # the default: a flight ban cuts income growth; a waived hotel deposit is a perk, not a sanction
    assert off == {"consequences.board_flight.denied.income_growth": 0.0}
    assert twin_overrides("perks", scenario, scheme) == {"consequences.hotel_no_deposit.granted.income_growth": 0.0}


def test_a_scenario_without_the_mechanism_has_no_twin():
    scenario, scheme = load_scenario("fico")
    with pytest.raises(ValueError, match="no shunning to switch off"):
        twin_overrides("shunning", scenario, scheme)
    with pytest.raises(ValueError, match="choose one of"):
        twin_overrides("gravity", scenario, scheme)


def test_shunning_isolates_the_listed_and_the_interval_says_so():
    rows = by_figure(paired_effects("default", SMALL, "shunning", [1, 2, 3]))
    degree = rows["mean_degree_listed"]
    assert degree["seeds"] == 3
    assert degree["high"] < 0, "the listed keep fewer ties than in the twin without shunning"
    assert degree["low"] <= degree["difference"] <= degree["high"]


@pytest.mark.slow
def test_sanctions_lower_the_income_growth_of_the_group_they_fall_on():
    rows = by_figure(paired_effects("default", SMALL, "sanctions", [1, 2, 3]))
    assert rows["income_mean_log_growth"]["difference"] < 0
    assert rows["income_mean_log_growth"]["high"] < 0


def test_one_pair_gives_a_difference_without_an_interval():
    rows = by_figure(paired_effects("default", SMALL, "deterrence", [1]))
    traffic = rows["acts_per_person_year.traffic_violation"]
    assert traffic["difference"] < 0 and traffic["low"] is None
    assert rows["acts_per_person_year.volunteering"]["difference"] > 0, "a rewarded act is encouraged"
    assert rows["acts_per_person_year.payment"]["difference"] == 0, "an act the scheme does not weigh is untouched"


@pytest.mark.slow
def test_the_cli_writes_the_twins_difference_beside_the_run(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["simulate", "--population", "3000", "--days", "60", "--out", str(out),
                                      "--counterfactual", "shunning", "--seeds", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counterfactual"]["mechanism"] == "shunning"
    assert summary["counterfactual"]["seeds"] == [1, 2]
    assert (out / "counterfactual.csv").read_text().startswith("figure,with,without,difference,low,high,seeds")
    assert "What shunning causes: a paired counterfactual" in (out / "report.html").read_text()
    assert "What shunning causes" in result.output


def test_counterfactual_csv_gives_the_reasons_for_a_null_as_json(tmp_path):
    import pandas as pd

    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["simulate", "--population", "400", "--days", "10", "--out", str(out),
                                      "--counterfactual", "shunning", "--seeds", "1"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "counterfactual.csv", keep_default_na=False)
    reasons = [json.loads(text) for text in table["why_null"]]
    assert reasons and all(why["low"] in ("one pair of runs: no spread to measure",
                                          "undefined in a run with or without the mechanism (no one listed, say)")
                           for why in reasons)


@pytest.mark.parametrize(("arguments", "message"), [
    (["--counterfactual", "gravity"], "unknown mechanism 'gravity'"),
    (["--seeds", "3"], "use it with --counterfactual"),
    (["--preset", "fico", "--counterfactual", "shunning"], "no shunning to switch off"),
])
def test_a_counterfactual_that_cannot_run_is_refused_before_anything_runs(tmp_path, arguments, message):
    result = CliRunner().invoke(app, ["simulate", "--population", "500", "--days", "5", "--out",
                                      str(tmp_path / "x"), *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x").exists()


def test_without_deterrence_the_twin_farms_nothing_and_says_so(tmp_path):
    """Farming is acts done for the points at stake: the twin without deterrence (rongcheng farms
    volunteering) has none to farm, and runs rather than failing its scenario's check."""
    scenario, schemes = load_scenario("rongcheng")
    off = twin_overrides("deterrence", scenario, schemes)
    assert off["gaming.farming.volunteering.propensity"] == 0.0 and off["behaviours.volunteering.deterrence"] == 0.0
    result = CliRunner().invoke(app, ["simulate", "rongcheng", "--population", "500", "--days", "30",
                                      "--counterfactual", "deterrence", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "the twin also sets gaming.farming.volunteering.propensity=0" in " ".join(result.output.split())
    effects = json.loads((tmp_path / "run" / "summary.json").read_text())["counterfactual"]
    assert effects["switched_off"]["gaming.farming.volunteering.propensity"] == 0.0
    volunteering = next(row for row in effects["figures"] if row["figure"] == "acts_per_person_year.volunteering")
    assert volunteering["with"] > volunteering["without"] > 0  # rewarded and farmed, or neither
