"""Harms of false records: misidentification, record errors and incidents, measured against the
scores that true records would give; appeals that clear them; disparities; chilling."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from socialcredit.runner.run import simulate

SCHEME = """
id: streets
title: Street conduct and payments (test)
scale: {min: 0, max: 1000, base: 800}
events:
  jaywalking: {category: conduct}
  payment: {category: financial}
  late_payment: {category: financial}
  posting: {category: expression}
features:
  jaywalks: {count: jaywalking, window_days: 60}
  late: {count: late_payment, window_days: 60}
  posts: {count: posting, window_days: 30}
components:
  street: {feature: jaywalks, per_unit: -20}
  money: {feature: late, per_unit: -50}
  speech: {feature: posts, per_unit: -10}
tiers: [{name: A, min: 700}, {name: B, min: 0}]
lists:
  jaywalkers: "jaywalks >= 2"
  blacklist: "late >= 2"
entitlements:
  board_train: {allow: "not jaywalkers", context: conduct}
  loan: {allow: "not blacklist", context: financial}
"""

SCENARIO = """
id: streets
scheme: streets.yaml
population: {size: 6000, groups: {majority: 0.8, minority: 0.2}, districts: 3}
network: {mean_degree: 6}
behaviours:
  jaywalking: {rate: 0.05, heterogeneity: 1.0}
  payment: {rate: 0.05}
  late_payment: {rate: 0.004, heterogeneity: 1.0}
  posting: {rate: 0.05, deterrence: 3.0}
surveillance:
  cameras: {observes: [jaywalking, posting], coverage: 0.6, identification: frvt_2019, affected_groups: [minority]}
  bank: {observes: [payment, late_payment], coverage: 1.0}
consequences:
  jaywalkers: {disclose: 1.0}
run: {days: 120, seed: 3, chunk: 2048}
"""


@pytest.fixture(scope="module")
def streets(tmp_path_factory, write_scenario) -> Path:
    return write_scenario(tmp_path_factory.mktemp("streets"), "streets.yaml", SCHEME, SCENARIO)


@pytest.fixture(scope="module")
def camera_run(streets):
    return simulate(streets)


def test_misattribution_rate_matches_the_false_match_rate(camera_run):
    tally = camera_run.summary["harms"]["sources"]["cameras"]
    expected, measured = tally["expected_false_matches"], tally["false_matches"]
    assert expected > 40
    assert abs(measured - expected) <= 4 * np.sqrt(expected)  # Poisson-binomial, 4 sigma
    assert tally["missed"] == pytest.approx(0.002 * tally["recorded"], abs=4 * np.sqrt(0.002 * tally["recorded"]) + 1)


def test_false_matches_blame_the_affected_group_more(camera_run):
    # a minority probe is falsely matched 3x as often (frvt_2019), and blames one of its own group
    people = camera_run.people
    blamed = people.groupby("group", observed=True)["false_records"].mean()
    assert blamed["minority"] > 2 * blamed["majority"]


def test_wrongly_listed_people_are_counted_by_group(camera_run):
    harms = camera_run.summary["harms"]
    wrongly = harms["wrongly_listed"]
    assert wrongly["count"] > 0
    assert wrongly["by_group"]["minority"] > wrongly["by_group"]["majority"]
    assert harms["false_listing_person_days"]["jaywalkers"] > 0
    people = camera_run.people
    assert (people["days_wrongly_listed.jaywalkers"] <= people["days_listed.jaywalkers"]).all()
    # the bank makes no mistakes: nobody is wrongly blacklisted
    assert harms["false_listing_person_days"]["blacklist"] == 0


def test_with_zero_error_rates_there_are_no_false_sanctions(streets):
    run = simulate(streets, **{"surveillance.cameras.identification": None,
                               "surveillance.cameras.error_rate": 1e-15})
    harms = run.summary["harms"]
    assert harms["records_can_be_false"]  # the genuine-only scores are kept, and agree
    assert harms["wrongly_sanctioned"]["count"] == 0 and harms["wrongly_listed"]["count"] == 0
    assert sum(harms["false_sanction_person_days"].values()) == 0


def test_record_errors_blame_people_at_the_error_rate(streets):
    run = simulate(streets, **{"surveillance.bank.error_rate": 0.05})
    tally = run.summary["harms"]["sources"]["bank"]
    assert tally["record_errors"] == pytest.approx(0.05 * tally["recorded"], rel=0.1)
    assert run.summary["harms"]["false_listing_person_days"]["blacklist"] > 0


def test_appeals_reduce_wrongful_listing(streets, camera_run):
    appealed = simulate(streets, **{"appeals": {"propensity": 1.0, "reviewer_capacity_per_day": 500,
                                                "success_if_wrong": 1.0, "success_if_right": 0.0}})
    before = camera_run.summary["harms"]["false_listing_person_days"]["jaywalkers"]
    after = appealed.summary["harms"]["false_listing_person_days"]["jaywalkers"]
    assert after < 0.7 * before
    appeals = appealed.summary["harms"]["appeals"]
    assert appeals["filed"] > 0 and appeals["decided"] > 0 and appeals["records_voided_false"] > 0
    assert appeals["records_voided_true"] == 0


def test_an_appeal_is_granted_or_rejected_in_the_summary_the_metrics_and_the_report(streets):
    """One word for one thing, as the service says it: granted (records voided), rejected (they
    stand); never "upheld", which reads as either."""
    from socialcredit.runner.report import harm_rows

    run = simulate(streets, **{"appeals": {"propensity": 1.0, "reviewer_capacity_per_day": 500,
                                           "success_if_wrong": 1.0, "success_if_right": 0.0}})
    appeals = run.summary["harms"]["appeals"]
    assert "upheld" not in appeals and appeals["granted"] > 0
    assert appeals["granted"] + appeals["rejected"] == appeals["decided"]
    assert run.metrics["appeals_granted"].iloc[-1] == appeals["granted"]
    assert not [c for c in run.metrics.columns if "upheld" in c]
    row = next(r for r in harm_rows(run) if r[0] == "appeals")
    assert row[1] == f"{appeals['granted']:,} granted, {appeals['rejected']:,} rejected"
    assert "granted: records voided; rejected: they stand" in row[2]


def test_reviewer_capacity_makes_a_backlog(streets):
    slow = simulate(streets, **{"appeals": {"propensity": 1.0, "reviewer_capacity_per_day": 1}})
    appeals = slow.summary["harms"]["appeals"]
    assert appeals["backlog_end"] > 10 and appeals["backlog_max"] >= appeals["backlog_end"]
    assert appeals["mean_wait_days"] > 5
    assert slow.metrics["appeal_backlog"].iloc[-1] == appeals["backlog_end"]


def test_incident_wrongly_lists_people_and_appeals_clear_it(streets):
    incident = [{"day": 30, "days": 14, "source": "bank", "share": 0.3, "corrupt": {"late_payment": 0.5}}]
    hit = simulate(streets, **{"incidents": incident, "run.days": 60})
    harms = hit.summary["harms"]
    assert harms["incidents"]["corrupted"] > 100
    assert harms["false_listing_person_days"]["blacklist"] > 100
    wrongly_at_end = hit.metrics["wrongly_listed.blacklist"].iloc[-1]
    assert wrongly_at_end > 0
    cleared = simulate(streets, **{"incidents": incident, "run.days": 60,
                                   "appeals": {"propensity": 1.0, "reviewer_capacity_per_day": 1000,
                                               "success_if_wrong": 0.95, "kinds": ["late_payment"]}})
    assert cleared.metrics["wrongly_listed.blacklist"].iloc[-1] < 0.3 * wrongly_at_end
    assert cleared.summary["harms"]["false_listing_person_days"]["blacklist"] < \
        harms["false_listing_person_days"]["blacklist"]


def test_fairness_figures_equal_fairlearns(camera_run):
    from fairlearn.metrics import demographic_parity_difference

    people = camera_run.people
    scores = camera_run.sim.schemes[0].scores
    for name, member in scores.lists.items():
        ours = camera_run.summary["harms"]["disparities"][f"listed.{name}"]["demographic_parity_difference"]
        theirs = demographic_parity_difference(member.astype(int), member.astype(int),
                                               sensitive_features=people["group"].astype(str))
        assert ours == pytest.approx(theirs, abs=1e-12)
    for name, allowed in scores.entitlements.items():
        denied = (~allowed).astype(int)
        ours = camera_run.summary["harms"]["disparities"][f"denied.{name}"]["demographic_parity_difference"]
        theirs = demographic_parity_difference(denied, denied, sensitive_features=people["group"].astype(str))
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_disparate_impact_and_four_fifths_flag(camera_run):
    figure = camera_run.summary["harms"]["disparities"]["listed.jaywalkers"]
    rates = figure["by_group"]
    favourable = {g: 1 - r for g, r in rates.items()}
    assert figure["disparate_impact"] == pytest.approx(min(favourable.values()) / max(favourable.values()))
    assert figure["fails_four_fifths"] == (figure["disparate_impact"] < 0.8 and figure["p_value"] < 0.05)
    assert figure["adverse_ratio"] == pytest.approx(max(rates.values()) / min(rates.values()))


def test_four_fifths_fails_only_on_a_gap_that_is_not_small_numbers():
    """A perk nine people of one group and one of the other get is below four-fifths by ratio, but
    no evidence of adverse impact (29 CFR 1607.4(D)); the same ratio over thousands is."""
    from scipy.stats import fisher_exact

    from socialcredit.analysis.fairness import fairness_summary

    group = np.repeat([0, 1], [90_000, 10_000])
    few = np.ones(group.size, dtype=bool)          # adverse: left off the honour list
    few[:8] = False                                # 8 of 90,000 in group 0 get on it
    few[90_000:90_002] = False                     # 2 of 10,000 in group 1
    figure = fairness_summary(few, group, ("majority", "minority"))
    assert figure["disparate_impact"] < 0.8
    assert figure["p_value"] == pytest.approx(fisher_exact([[89_992, 8], [9_998, 2]]).pvalue)
    assert figure["p_value"] > 0.05 and not figure["fails_four_fifths"]

    many = np.zeros(group.size, dtype=bool)        # adverse: listed
    many[:9_000] = True                            # 10% of group 0
    many[90_000:93_000] = True                     # 30% of group 1: not listed 0.7 against 0.9
    figure = fairness_summary(many, group, ("majority", "minority"))
    assert figure["disparate_impact"] == pytest.approx(0.7 / 0.9)
    assert figure["p_value"] < 1e-10 and figure["fails_four_fifths"]


def test_a_rare_harm_many_times_likelier_in_one_group_is_flagged_though_four_fifths_passes():
    """0.05% of 19,000 against 1.4% of 1,000: everyone's favourable rate is near 1, so the four-fifths
    rule passes (0.987), but the minority is 28 times as likely to be harmed, and that is flagged."""
    from scipy.stats.contingency import relative_risk

    from socialcredit.analysis.fairness import fairness_summary, relative_risks

    group = np.repeat([0, 1], [19_000, 1_000])
    harmed = np.zeros(group.size, dtype=bool)
    harmed[:10] = True                             # 10 of 19,000: 0.053%
    harmed[19_000:19_014] = True                   # 14 of 1,000: 1.4%
    assert not fairness_summary(harmed, group, ("majority", "minority"))["fails_four_fifths"]
    figure = relative_risks(harmed, group, ("majority", "minority"))
    assert figure["reference"] == "majority"
    assert figure["groups"]["minority"] == {"people": 1_000, "harmed": 14, "rate": 0.014}
    minority = figure["relative_risk"]["minority"]
    assert minority["estimate"] == pytest.approx(0.014 / (10 / 19_000)) == pytest.approx(28, rel=0.1)
    katz = relative_risk(14, 1_000, 10, 19_000).confidence_interval(0.95)  # scipy's Katz interval
    assert (minority["low"], minority["high"]) == pytest.approx((katz.low, katz.high), rel=1e-12)
    assert 1.25 < minority["low"] < minority["estimate"] < minority["high"]
    assert minority["p_value"] < 1e-10 and not minority["corrected"]
    assert minority["flagged"] and figure["flagged"] == ["minority"]


def test_three_harmed_against_none_in_groups_of_fifty_is_not_flagged():
    from socialcredit.analysis.fairness import relative_risks

    group = np.repeat([0, 1], [50, 50])
    harmed = np.zeros(group.size, dtype=bool)
    harmed[:3] = True
    figure = relative_risks(harmed, group, ("a", "b"))
    assert figure["reference"] == "b"              # the least harmed
    a = figure["relative_risk"]["a"]
    assert a["corrected"] and a["estimate"] == pytest.approx(7.0)  # (3.5 / 51) / (0.5 / 51)
    assert 0 < a["low"] < 1 < a["high"] < np.inf
    assert a["p_value"] == pytest.approx(0.2424, abs=1e-4)  # Fisher's exact, [[3, 47], [0, 50]]
    assert not a["flagged"] and figure["flagged"] == []


def test_groups_with_no_one_harmed_give_finite_positive_intervals():
    from socialcredit.analysis.fairness import relative_risk, relative_risks

    group = np.repeat([0, 1, 2], [1_000, 1_000, 500])
    harmed = np.zeros(group.size, dtype=bool)
    harmed[1_000:1_040] = True                     # 40 of group b, none of a or c
    figure = relative_risks(harmed, group, ("a", "b", "c"))
    assert figure["reference"] == "a"              # tied at 0 with c: the larger group
    b = figure["relative_risk"]["b"]
    assert b["corrected"] and 0 < b["low"] < b["estimate"] < b["high"] < np.inf
    assert b["flagged"]                            # 40 against none of 1,000 is no small number
    c = figure["relative_risk"]["c"]               # no one harmed in either: no ratio, and why
    assert c["estimate"] is None and c["low"] is None and c["high"] is None and not c["flagged"]
    assert c["why_null"]["estimate"] == "no one in either group was harmed"
    everyone = relative_risk(50, 50, 5, 50)        # everyone harmed in one group: a zero cell too
    assert everyone["corrected"] and 0 < everyone["low"] < everyone["high"] < np.inf


def test_undefined_relative_risks_are_null_with_a_reason_in_strict_json():
    import json

    from socialcredit.analysis.fairness import relative_risks

    group = np.repeat([0, 1], [100, 100])
    figure = relative_risks(np.zeros(group.size, dtype=bool), group, ("a", "b", "nobody"))
    assert figure["groups"]["nobody"] == {"people": 0, "harmed": 0, "rate": None,
                                          "why_null": {"rate": "a group with no members"}}
    assert figure["relative_risk"]["nobody"]["why_null"]["estimate"] == "a group with no members"
    assert figure["relative_risk"]["b"]["why_null"]["estimate"] == "no one in either group was harmed"
    json.dumps(figure, allow_nan=False)            # no NaN, no Infinity


def test_chilling_of_posting_is_measured_and_matches_a_counterfactual_run(streets, camera_run):
    chilling = camera_run.summary["harms"]["chilling"]["posting"]
    assert chilling["special_category"] and 0.05 < chilling["suppressed_share"] < 1
    without_rule = simulate(streets, **{"scheme_overrides": {"components": {"speech": None}}})
    done_with = camera_run.people["true.posting"].sum()
    done_without = without_rule.people["true.posting"].sum()
    measured = 1 - done_with / done_without
    assert measured == pytest.approx(chilling["suppressed_share"], abs=0.05)


def test_the_report_leads_with_the_harms(camera_run, tmp_path):
    html = camera_run.report(tmp_path / "report.html").read_text()
    harms = html.index("Who the system harms")
    assert harms < html.index("Who is listed and denied") < html.index("Tier mobility")
    assert "people listed because of acts they did not do" in html
    assert "disparate impact" in html and "chilling of &#39;posting&#39;" in html
    assert html.index("Wrongful listings and sanctions over time") > harms


@pytest.fixture(scope="module")
def large_camera_run(streets):
    """Enough people that the minority's extra risk of being wrongly listed is significant."""
    return simulate(streets, population=30000)


def test_the_four_fifths_rule_passes_a_harm_the_relative_risk_flags(large_camera_run):
    harms = large_camera_run.summary["harms"]
    assert not harms["wrongly_listed"]["fails_four_fifths"]  # favourable rates near 1 in every group
    assert harms["relative_risks"]["wrongly_listed"]["flagged"] == ["minority"]


def test_the_report_leads_the_harms_with_the_relative_risks_of_wrongful_harms(large_camera_run, tmp_path):
    camera_run = large_camera_run
    html = camera_run.report(tmp_path / "report.html").read_text()
    flagged = camera_run.summary["harms"]["relative_risks"]["wrongly_listed"]["relative_risk"]["minority"]
    assert flagged["flagged"]
    words = re.search(r"The minority is ([\d,.]+)x \(([\d,.]+)-([\d,.]+)x\) as likely as the majority to be "
                      "wrongly listed", html)
    assert words is not None
    assert [float(x.replace(",", "")) for x in words.groups()] == pytest.approx(
        [flagged["estimate"], flagged["low"], flagged["high"]], rel=0.05)
    assert html.index("Who the system harms") < words.start() < html.index("relative risk [95% interval]")
    assert html.index("FLAGGED: large and significant") < html.index("disparate impact")


def test_harms_are_strict_json_when_no_one_in_a_group_is_wrongly_listed(camera_run):
    import json

    from socialcredit.analysis.fairness import fairness_summary, relative_risks

    json.dumps(camera_run.summary["harms"], allow_nan=False)
    # the same figures where no one of the majority is wrongly listed and some of the minority are
    group = np.repeat([0, 1], [5700, 300])
    wrongly = np.zeros(group.size, dtype=bool)
    wrongly[5700:5704] = True
    figure = fairness_summary(wrongly, group, ("majority", "minority"))
    assert figure["by_group"]["majority"] == 0 < figure["by_group"]["minority"]
    assert figure["adverse_ratio"] is None  # infinite: the relative risk has its corrected ratio
    assert relative_risks(wrongly, group, ("majority", "minority"))["relative_risk"]["minority"]["corrected"]
    json.dumps(figure, allow_nan=False)


def test_honour_lists_harm_by_leaving_people_off(streets, tmp_path, write_scenario):
    scheme = SCHEME.replace('''  blacklist: "late >= 2"''', '''  blacklist: "late >= 2"
  clean_walkers: {when: "jaywalks == 0", honour: true}''')
    scenario = SCENARIO.replace("  jaywalkers: {disclose: 1.0}", "  jaywalkers: {disclose: 1.0}\n"
                                "  clean_walkers: {disclose: 1.0}")
    run = simulate(write_scenario(tmp_path, "streets.yaml", scheme, scenario))
    harms = run.summary["harms"]
    # a false camera match takes a clean walker off the honour list: that is the harm, not being on it
    assert harms["wrongly_left_off_honours"]["count"] > 0
    assert harms["wrongly_left_off_honours"]["by_group"]["minority"] > harms["wrongly_left_off_honours"][
        "by_group"]["majority"]
    assert "left_off.clean_walkers" in harms["disparities"] and "listed.clean_walkers" not in harms["disparities"]
    assert "wrongly_left_off.clean_walkers" in run.metrics
    # being on an honour list shames no one: nobody cuts ties over it or appeals it
    from socialcredit.world.social import disclosure

    on_honour_only = run.sim.listed["clean_walkers"] & ~run.sim.listed["jaywalkers"]
    assert (disclosure(run.sim)[on_honour_only] == 0).all()


def test_perks_are_not_sanctions_but_losing_one_wrongly_is_a_harm(tmp_path, write_scenario):
    loan = '  loan: {allow: "not blacklist", context: financial}'
    scheme = SCHEME.replace(loan, loan + '\n  fast_lane: {allow: "jaywalks == 0", context: conduct, perk: true}')
    appeals = {"propensity": 1.0, "reviewer_capacity_per_day": 1000}
    run = simulate(write_scenario(tmp_path, "streets.yaml", scheme, SCENARIO), appeals=appeals)
    harms = run.summary["harms"]
    assert harms["wrongly_denied_perks"]["count"] > 0
    people = run.people
    # appeals come from sanctions (a train ban, a loan, being shown), never from a missing perk alone
    sanctioned = (people["days_denied.board_train"] > 0) | (people["days_denied.loan"] > 0)
    shown = people["days_listed.jaywalkers"] > 0
    only_perk = (people["days_denied.fast_lane"] > 0) & ~sanctioned & ~shown
    assert only_perk.sum() == 0 or (people.loc[only_perk, "appeals_filed"] == 0).all()
    assert (people.loc[people["appeals_filed"] > 0].pipe(lambda p: (p["days_denied.board_train"] > 0)
                                                        | (p["days_denied.loan"] > 0)
                                                        | (p["days_listed.jaywalkers"] > 0))).all()
    ever_sanctioned = run.summary["feedback"]["ever_sanctioned_share"]
    assert ever_sanctioned == pytest.approx(sanctioned.mean())


def test_wrongful_sanction_episodes_add_up_to_the_days_wrongly_sanctioned(camera_run):
    harms = camera_run.summary["harms"]
    episodes = harms["wrongful_sanction_episodes"]
    # Only the cameras err, and only the train ban reads what they record: every day of a wrongful
    # sanction is a day wrongly barred from the train, and falls in exactly one episode.
    assert harms["false_sanction_person_days"]["loan"] == 0
    total = (episodes["mean_days_ended"] or 0) * episodes["ended"] + \
        (episodes["mean_days_running"] or 0) * episodes["running_at_end"]
    assert episodes["ended"] > 0
    assert total == pytest.approx(harms["false_sanction_person_days"]["board_train"], rel=1e-9)


def test_no_group_is_shown_less_harmed_than_the_reference():
    from socialcredit.analysis.fairness import relative_risks

    # 2 of 28,425 against none of 1,575: the small group's zero is less evidence than the large group's two
    group = np.repeat([0, 1], [28_425, 1_575])
    harmed = np.zeros(group.size, dtype=bool)
    harmed[:2] = True
    figure = relative_risks(harmed, group, ("majority", "minority"))
    assert figure["reference"] == "majority"
    assert figure["relative_risk"]["minority"]["estimate"] >= 1
