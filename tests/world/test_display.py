"""Paying to be taken off the screen (README, "Paying to be taken off the screen"): a disclosed
list with a removal fee, what it does to who is shown, and who pays."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit import simulate
from socialcredit.runner.counterfactual import paired_effects, twin_overrides
from socialcredit.scenario.load import load_scenario, scenario_from_data
from socialcredit.scheme import SchemeError
from socialcredit.world.social import SocialResponse

# Shenzhen's cameras with crossings ten times as frequent, so that a small town has hundreds shown.
BUSY = {"population.size": 8000, "run.days": 150, "behaviours.jaywalking.rate": 0.03}
FEE = {"consequences.displayed.removal": {"fee": 200, "rate": 0.1, "half_burden": 0.005}}
# Free and certain: everyone pays the day their picture goes up, so no one's tie ever sees it.
AT_ONCE = {"consequences.displayed.removal": {"fee": 0, "rate": 1.0}}
# Being shown as the only sanction: no one loses the credit terms (nor appeals that).
ONLY_SHOWN = {"scheme_overrides.entitlements.good_credit_terms.allow": "jaywalks_1y >= 0"}


def by_figure(effects) -> dict[str, dict]:
    return {row["figure"]: row for row in effects.table()}


def test_the_twin_without_removal_shows_more_and_the_fee_spares_the_rich_more_than_the_poor():
    rows = by_figure(paired_effects("shenzhen-cameras", {**BUSY, **FEE}, "removal", [4]))
    days = rows["person_days_shown.displayed"]
    assert days["with"] < days["without"], "paying takes pictures down: fewer person-days shown"
    assert rows["removals_paid.displayed"]["without"] == 0 and rows["fees_collected.displayed"]["without"] == 0
    assert rows["removals_paid.displayed"]["with"] > 50
    # the same fee is a larger share of a poor income: the richest fifth's days shown fall more
    fall = {q: 1 - rows[f"person_days_shown.displayed.{q}"]["with"] / rows[f"person_days_shown.displayed.{q}"][
        "without"] for q in ("q1", "q5")}
    assert fall["q5"] > fall["q1"] + 0.1, fall


def test_who_stays_shown_is_the_poor_and_the_fees_add_up(tmp_path):
    run = simulate("shenzhen-cameras", **{**BUSY, **FEE, "run.seed": 4})
    display = run.summary["display"]["displayed"]
    end = display["still_shown_at_end"]
    assert end["by_income_quintile"]["q1"] > end["by_income_quintile"]["q5"]
    assert end["poorest_to_richest"] == pytest.approx(end["by_income_quintile"]["q1"] / end["by_income_quintile"]["q5"])
    paid = display["paid_share_by_income_quintile"]
    assert paid["q5"] > paid["q1"]
    assert 0 < display["paid_share"] < 1 and display["people_paid"] <= display["people_shown"]
    people = run.people
    assert display["fees_collected"] == pytest.approx(people["fees_paid.displayed"].sum())
    assert display["fees_collected"] == pytest.approx(200 * people["removals_paid.displayed"].sum())
    assert display["person_days_shown"] == people["days_shown.displayed"].sum()
    # one stays on the list: days shown never pass days listed, and the payers' days fall short of them
    assert (people["days_shown.displayed"] <= people["days_listed.displayed"]).all()
    payers = people[people["removals_paid.displayed"] > 0]
    assert (payers["days_shown.displayed"] < payers["days_listed.displayed"]).all()
    run.save(tmp_path / "run")
    report = (tmp_path / "run" / "report.html").read_text()
    assert "paid to be taken off &#39;displayed&#39;" in report
    assert "Paying to be taken off the screen: 'displayed'" in report and "share still shown" in report


def test_paying_costs_income():
    paying = simulate("shenzhen-cameras", **{**BUSY, **FEE, "run.seed": 4})
    twin = simulate("shenzhen-cameras", **{**BUSY, **FEE, "run.seed": 4,
                                           "consequences.displayed.removal.rate": 0.0})
    payers = (paying.people["removals_paid.displayed"] > 0).to_numpy()
    lost = twin.people["income"].to_numpy()[payers] - paying.people["income"].to_numpy()[payers]
    assert payers.sum() > 50 and np.median(lost) > 100  # a fee of 200, then the same shocks from a lower level


def test_shunning_and_appeals_follow_the_display_not_the_list():
    shunning = {**BUSY, **ONLY_SHOWN, "social.shun_listed": 0.05, "run.seed": 2}
    hidden = simulate("shenzhen-cameras", **shunning, **AT_ONCE)
    shown = simulate("shenzhen-cameras", **shunning)

    def cuts(run) -> int:
        social = run.sim.module(SocialResponse)
        return social.ties_cut + sum(part[0].size for part in social.pending)

    assert hidden.summary["display"]["displayed"]["person_days_shown"] == 0
    assert hidden.people["days_listed.displayed"].sum() > 1000, "they stay on the list"
    assert cuts(shown) > 100 and cuts(hidden) == 0
    assert shown.summary["harms"]["appeals"]["filed"] > 10 and hidden.summary["harms"]["appeals"]["filed"] == 0


def test_without_a_fee_nothing_is_tallied_and_the_twin_is_refused():
    run = simulate("default", population=2000, days=30)  # its blacklist is disclosed, with no fee
    assert "display" not in run.summary and not any(c.startswith("days_shown") for c in run.people.columns)
    scenario, schemes = load_scenario("default")
    with pytest.raises(ValueError, match="no removal to switch off"):
        twin_overrides("removal", scenario, schemes)


def test_the_shenzhen_preset_shows_the_poor_longer():
    display = simulate("shenzhen-cameras", population=20000, days=120).summary["display"]["displayed"]
    assert display["fee"] == 20 and display["removals_paid"] > 100
    days = display["days_shown_per_person_shown"]["by_income_quintile"]
    assert days["q1"] > days["q5"]
    assert display["still_shown_at_end"]["poorest_to_richest"] > 1


def test_several_schemes_take_the_list_by_its_qualified_name():
    data = {"schemes": {"city": {"scheme": "shenzhen-cameras", "operator": "city"}},
            "population": {"size": 4000}, "behaviours": {"jaywalking": {"rate": 0.03}},
            "surveillance": {"cameras": {"observes": ["jaywalking"], "coverage": 0.5}},
            "consequences": {"city.displayed": {"disclose": 0.3, "removal": {"fee": 100, "rate": 0.2}}},
            "run": {"days": 60, "seed": 3}}
    scenario, schemes = scenario_from_data(data)
    assert twin_overrides("removal", scenario, schemes) == {"consequences.city.displayed.removal.rate": 0.0}
    from socialcredit.runner.run import run_scenario

    run = run_scenario(scenario, schemes)
    display = run.summary["display"]["city.displayed"]
    assert display["removals_paid"] > 0
    assert run.people["days_shown.city.displayed"].sum() == display["person_days_shown"]
    assert (run.people["days_shown.city.displayed"] <= run.people["city.days_listed.displayed"]).all()


@pytest.mark.parametrize(("consequences", "path", "fix"), [
    ({"displayed": {"removal": {"fee": 100, "rate": 0.1}}}, "consequences.displayed.removal", "disclose: 0.3"),
    ({"good_credit_terms": {"removal": {"fee": 100, "rate": 0.1}}}, "consequences.good_credit_terms.removal",
     "give `removal` to the disclosed list"),
    ({"displayed": {"disclose": 0.3, "removal": {"fee": 100, "rate": 2}}}, "rate", "less than or equal to 1"),
    ({"displayed": {"disclose": 0.3, "removal": {"fee": 100, "charge": 2}}}, "charge", ""),
])
def test_a_removal_where_there_is_no_picture_is_refused_with_the_fix(consequences, path, fix):
    with pytest.raises(SchemeError, match=path) as raised:
        scenario_from_data({"scheme": "shenzhen-cameras", "consequences": consequences})
    assert fix in str(raised.value)


def test_an_override_inside_a_value_given_whole_leaves_the_callers_value_as_it_was():
    from socialcredit.scenario.load import apply_overrides

    removal = {"fee": 200, "rate": 0.1}
    data = apply_overrides({}, {"consequences.displayed.removal": removal, "consequences.displayed.removal.rate": 0})
    assert data["consequences"]["displayed"]["removal"]["rate"] == 0 and removal["rate"] == 0.1


def test_compare_shows_the_display_figures_of_each_variant():
    from socialcredit.runner.compare import run_experiment, summarise, variants

    chosen = variants(["shenzhen-cameras"], {"population.size": [4000], "run.days": [60],
                                             "consequences.displayed.removal.rate": [0.0, 0.2]})
    table = summarise(run_experiment(chosen, [1])).set_index(["variant", "figure"])["mean"]
    assert table[("rate=0.2", "days_shown.displayed")] < table[("rate=0.0", "days_shown.displayed")]
    assert table[("rate=0.0", "fees_collected.displayed")] == 0 < table[("rate=0.2", "fees_collected.displayed")]
    assert table[("rate=0.2", "still_shown.displayed")] < table[("rate=0.0", "still_shown.displayed")] == 1


def test_a_bad_removal_on_the_command_line_is_told_without_a_traceback():
    from typer.testing import CliRunner

    from socialcredit.cli import app

    result = CliRunner().invoke(app, ["simulate", "--preset", "default", "--population", "500", "--days", "5",
                                      "--set", "consequences.blacklist.removal.half_burden=0"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "consequences.blacklist.removal.half_burden" in result.output and "greater than 0" in result.output


def test_the_same_seed_gives_the_same_payments_whatever_the_threads(monkeypatch):
    import numba
    import pandas as pd

    from socialcredit.scoring import core

    monkeypatch.setattr(core, "SLICE", 500)  # several slices, so that two threads share them
    runs = []
    for threads in (1, 2):
        monkeypatch.setenv("SOCIALCREDIT_THREADS", str(threads))
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        runs.append(simulate("shenzhen-cameras", **{**BUSY, **FEE, "population.size": 3000, "run.days": 40,
                                                    "run.chunk": 1024}))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert runs[0].people["removals_paid.displayed"].sum() > 0
    pd.testing.assert_frame_equal(runs[0].people, runs[1].people, check_exact=True)
    assert runs[0].summary["display"] == runs[1].summary["display"]
