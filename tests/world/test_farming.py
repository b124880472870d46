"""Points farming (issue 20): acts a scheme rewards done for the record. Its direction by paired
counterfactual (the same seed with farming off), its figures, and its refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import socialcredit
from socialcredit.runner.counterfactual import paired_effects
from socialcredit.scheme.errors import SchemeError

SMALL = {"population": 6000, "days": 150, "seed": 4}
FARMING = {"gaming.farming": {"volunteering": {"propensity": 1.0, "heterogeneity": 2.0}}}


@pytest.fixture(scope="module")
def pair():
    on = socialcredit.simulate("rongcheng", **SMALL, **FARMING)
    off = socialcredit.simulate("rongcheng", **SMALL, **{"gaming.farming": {}})
    return on, off


def test_farming_adds_recorded_rewarded_acts_and_points_to_those_who_farm(pair):
    on, off = pair
    assert on.people["observed.volunteering"].sum() > off.people["observed.volunteering"].sum()
    farmers = on.people["farmed.volunteering"].to_numpy() > 0
    assert farmers.sum() > 50
    # the same people, the same seed: those who farmed score higher than they do without farming
    gain = on.people["score"].to_numpy()[farmers] - off.people["score"].to_numpy()[farmers]
    assert gain.mean() > 0.5
    # and the run's own measure of it agrees in sign and order
    assert on.people["points_from_farming"].to_numpy()[farmers].mean() > 0.5
    assert (on.people["points_from_farming"].to_numpy()[~farmers] == 0).mean() > 0.95


def test_farmed_acts_are_records_not_acts(pair):
    on, _ = pair
    recorded, true, farmed = (on.people[f"{c}.volunteering"].sum() for c in ("observed", "true", "farmed"))
    assert recorded > 0 and farmed > 0
    figure = on.summary["gaming"]["farming"]["kinds"]["volunteering"]
    assert figure["farmed_share_of_records"] == pytest.approx(farmed / recorded)
    assert on.summary["gaming"]["farming"]["points_gained"]["share_of_points"] > 0


def test_who_gains_is_reported_by_income_quintile_and_group(pair):
    on, _ = pair
    farming = on.summary["gaming"]["farming"]
    assert list(farming["farmers"]["by_income_quintile"]) == ["1", "2", "3", "4", "5"]
    assert set(farming["points_gained"]["by_group"]) == {"urban", "rural"}
    gained = on.people["points_from_farming"].to_numpy()
    assert farming["points_gained"]["mean"] == pytest.approx(gained.mean())


def test_a_group_that_farms_more_gains_more():
    run = socialcredit.simulate("rongcheng", **SMALL, **{"gaming.farming": {"volunteering": {
        "propensity": 1.0, "group_factor": {"urban": 0.0, "rural": 3.0}}}})
    by_group = run.summary["gaming"]["farming"]["points_gained"]["by_group"]
    assert by_group["urban"] == 0 and by_group["rural"] > 0


def test_farming_is_measured_in_a_scheme_that_imports_another_schemes_list():
    """The README's three-scheme example: the city reads the court's list (an input list); farming
    its volunteering is measured with that list as the city's last scoring read it."""
    example = Path(__file__).parents[2] / "examples" / "three-schemes.scenario.yaml"
    run = socialcredit.simulate(example, population=1500, days=40, seed=2, **FARMING)
    farmers = run.people["farmed.volunteering"].to_numpy() > 0
    gained = run.people["city.points_from_farming"].to_numpy()
    assert farmers.sum() > 10 and gained[farmers].mean() > 0
    assert run.summary["gaming"]["farming"]["kinds"]["volunteering"]["farmed_share_of_records"] > 0


def test_without_gaming_there_is_no_gaming_section():
    run = socialcredit.simulate("rongcheng", population=2000, days=30, seed=1, **{"gaming.farming": {}})
    assert "gaming" not in run.summary
    assert not any(column.startswith("farmed.") for column in run.people.columns)


def test_the_counterfactual_twin_switches_farming_off():
    effects = paired_effects("rongcheng", {"population.size": 4000, "run.days": 120}, "farming", [1])
    rows = {row["figure"]: row for row in effects.table()}
    assert effects.switched_off == {"gaming.farming.volunteering.propensity": 0.0}
    assert rows["farmed_per_person_year.volunteering"]["without"] == 0
    assert rows["recorded_per_person_year.volunteering"]["difference"] > 0


@pytest.mark.parametrize(("settings", "words"), [
    ({"gaming.farming": {"heroic_act": {"propensity": 1.0}}}, "deterrence is 0"),
    ({"gaming.farming": {"gardening": {"propensity": 1.0}}}, "has no behaviour"),
    ({"gaming.farming": {"volunteering": {"propensity": 1.0, "group_factor": {"martians": 2}}}}, "unknown group"),
])
def test_a_kind_that_cannot_be_farmed_is_refused_with_its_fix(settings, words):
    with pytest.raises(SchemeError, match=words) as caught:
        socialcredit.simulate("rongcheng", population=1000, days=5, **settings)
    assert "gaming" in str(caught.value)


def test_results_are_reproducible(pair):
    on, _ = pair
    again = socialcredit.simulate("rongcheng", **SMALL, **FARMING)
    assert np.array_equal(again.people["farmed.volunteering"], on.people["farmed.volunteering"])


def test_the_report_has_a_section_on_gaming(pair, tmp_path):
    on, off = pair
    html = on.report(tmp_path / "report.html").read_text()
    assert "Gaming and approval seeking" in html and "points from farming, a person" in html
    assert "Gaming and approval seeking" not in off.report(tmp_path / "off.html").read_text()
