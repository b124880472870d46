"""The `national` presets. The scheme preset `national` is the national social credit system as the
2018 press described it for 2020 (issue 7): one composite score. The scenario preset `national`
is the system as it was (issue 19): the court list with its joint sanctions, a city's points and a
licensed private scorer buying the courts' records, three schemes on one population; and
`national-unshared` is the same world with nothing shared.

The composite scheme: Rongcheng's points and grades (drunk driving caps the grade at C), the court list, the railway's
180-day bans, jaywalking cameras with face identification and public screens, and friends' scores
(the network term) decide the sanctions the articles name (slower internet, no flights or trains,
no private school for one's children, no public-sector job) and the perks (visa priority, hotels
and rentals without a deposit). It crosses contexts everywhere, so real-person use is refused.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import socialcredit
from socialcredit.cli import app
from socialcredit.scenario import load_scenario
from socialcredit.scheme import load_scheme
from socialcredit.scheme.guards import classify
from socialcredit.scoring import EventArrays, Relations, kind_codes, score_events

SCHEME = load_scheme("national")
KIND = kind_codes(SCHEME)
DAY = 20_000.0  # an arbitrary day (days since 1970-01-01)

SANCTIONS = ["board_flight", "board_train", "private_school_for_children", "public_sector_job", "internet_speed"]
PERKS = ["visa_priority", "hotel_no_deposit", "rental_no_deposit"]


def score(events, as_of=DAY, n=1, ties=()):
    """Score subjects 0..n-1 from (subject, kind, time[, value]) tuples and (a, b) ties."""
    arrays = EventArrays.build([e[0] for e in events], [KIND[e[1]] for e in events], [e[2] for e in events],
                               [e[3] if len(e) > 3 else 1.0 for e in events], n_subjects=n)
    relations = Relations.from_pairs([a for a, _ in ties], [b for _, b in ties], n) if ties else None
    return score_events(SCHEME, arrays, as_of, relations)


def test_the_sanctions_and_perks_are_the_ones_the_articles_name():
    assert set(SCHEME.entitlements) == set(SANCTIONS) | set(PERKS)
    assert all(entitlement.context for entitlement in SCHEME.entitlements.values())
    cited = " ".join(SCHEME.sources)
    for outlet in ("telegraph", "foreignpolicy.com", "independent.co.uk", "Washington Post",
                   "Planning Outline for the Establishment of a Social Credit System"):
        assert outlet in cited


def test_real_person_use_is_refused_and_the_refusal_names_every_crossing_entitlement():
    verdict = classify(SCHEME)
    assert not verdict.allowed
    for name in SCHEME.entitlements:
        assert any(f"entitlement '{name}'" in reason for reason in verdict.refusals), name
    flights = next(reason for reason in verdict.refusals if "entitlement 'board_flight'" in reason)
    # a court record, traffic conduct, good deeds and one's friends decide whether one may fly
    for crossing in ("judgment_default (judicial)", "traffic_violation (conduct)", "volunteering (civic)",
                     "relations (social)"):
        assert crossing in flights


def test_an_adult_with_no_record_has_1000_points_grade_a_and_every_perk():
    result = score([])
    assert result.score[0] == 1000
    assert result.tier_names()[0] == "A"
    assert all(result.entitlements[name][0] for name in SANCTIONS + PERKS)


def test_a_person_on_the_court_list_is_denied_flights_and_trains():
    result = score([(0, "judgment_default", DAY - 10)], n=2)
    assert result.lists["dishonest_debtor"].tolist() == [True, False]
    assert result.entitlements["board_flight"].tolist() == [False, True]
    assert result.entitlements["board_train"].tolist() == [False, True]
    for name in ("private_school_for_children", "public_sector_job", *PERKS):
        assert result.entitlements[name].tolist() == [False, True], name
    assert result.score.tolist() == [1000, 1000]   # the list is a rule beside the points, not a deduction


def test_the_court_listing_lifts_three_days_after_payment_else_after_two_years():
    paid = [(0, "judgment_default", DAY), (0, "judgment_paid", DAY + 100)]
    assert not score(paid, as_of=DAY + 102).entitlements["board_flight"][0]
    assert score(paid, as_of=DAY + 103).entitlements["board_flight"][0]
    unpaid = [(0, "judgment_default", DAY)]
    assert not score(unpaid, as_of=DAY + 729).entitlements["board_train"][0]
    assert score(unpaid, as_of=DAY + 730).entitlements["board_train"][0]


def test_drunk_driving_caps_the_grade_at_c_and_costs_internet_speed_and_perks():
    # Two heroic acts make 1060 (AAA); drunk driving holds that person at C without taking points.
    events = [(0, "heroic_act", DAY - 30), (0, "heroic_act", DAY - 20), (0, "drunk_driving", DAY - 10),
              (1, "heroic_act", DAY - 30), (1, "heroic_act", DAY - 20)]
    result = score(events, n=2)
    assert result.score.tolist() == [1060, 1060]
    assert result.tier_names().tolist() == ["C", "AAA"]
    assert result.tier_cap.tolist() == [0, -1]
    assert result.entitlements["internet_speed"].tolist() == [False, True]   # slower internet at C
    for perk in PERKS:
        assert result.entitlements[perk].tolist() == [False, True], perk
    assert result.entitlements["board_flight"].tolist() == [True, True]      # C may still fly; D may not
    assert result.lists["key_supervision"].tolist() == [True, False]


def test_a_ticket_or_a_jaywalk_costs_5_points_and_a_jaywalker_is_displayed_for_30_days():
    result = score([(0, "traffic_violation", DAY - 5), (1, "jaywalking", DAY - 5)], n=2)
    assert result.score.tolist() == [995, 995]
    assert result.lists["displayed"].tolist() == [False, True]
    later = score([(0, "jaywalking", DAY)], as_of=DAY + 30)
    assert not later.lists["displayed"][0] and later.score[0] == 995   # off the screen, still on the record


def test_misconduct_on_a_train_bars_trains_for_180_days_and_publishes_the_name_for_a_week():
    events = [(0, "train_misconduct", DAY)]
    assert score(events, as_of=DAY + 6).lists["train_ban_published"][0]
    assert not score(events, as_of=DAY + 7).lists["train_ban_published"][0]
    assert not score(events, as_of=DAY + 179).entitlements["board_train"][0]
    assert score(events, as_of=DAY + 179).entitlements["board_flight"][0]    # trains only
    assert score(events, as_of=DAY + 180).entitlements["board_train"][0]


def test_a_friends_low_score_lowers_ones_score():
    # 0 and 1 have no record; 0's only friend (2) has 80 tickets (600 points), 1's (3) none.
    events = [(2, "traffic_violation", DAY - 100 + i) for i in range(80)]
    result = score(events, n=4, ties=[(0, 2), (1, 3)])
    assert result.pre[0] == result.pre[1] == 1000
    assert result.score[0] == pytest.approx(1000 + 0.05 * (600 - 1000))   # 980
    assert result.score[1] == 1000


def test_one_ticket_of_a_friend_costs_an_aaa_resident_the_grade():
    # 0 has exactly 1050 (AAA): a heroic act and a 2,000-yuan donation; their friend got one ticket.
    events = [(0, "heroic_act", DAY - 2), (0, "donation", DAY - 1, 2000.0), (1, "traffic_violation", DAY - 1)]
    alone = score(events, n=2)
    befriended = score(events, n=2, ties=[(0, 1)])
    assert alone.tier_names()[0] == "AAA"
    assert befriended.score[0] == pytest.approx(1049.75)
    assert befriended.tier_names()[0] == "AA"


# At shixin's fitted default rate about 0.2% of adults are placed on the court list in a year (the
# preset at 100,000 people: 200), so 20,000 people over 90 days place about 10 (6 to 16 at seeds 1-6),
# enough that the city's and Zhima's imports of the list deny someone; 5,000 people over 60 days
# placed none at seeds 4 and 5.
PLACED_ON_THE_COURT_LIST = {"population": 20_000, "days": 90}


def test_the_scenario_is_three_schemes_of_three_operators_the_court_list_imported_by_the_other_two():
    run = socialcredit.simulate("national", **PLACED_ON_THE_COURT_LIST)
    summary = run.summary
    assert summary["people"] == 20_000 and summary["days"] == 90
    schemes = summary["schemes"]
    assert {name: section["operator"] for name, section in schemes.items()} == {
        "court": "court", "city": "city", "zhima": "private"}
    assert set(schemes["court"]["lists"]) == set(load_scheme("shixin").lists)
    # the joint sanctions: the city and Zhima read the court's list, and deny some because of it
    reach = summary["combined"]["joint_punishment"]
    assert {name: figure["imports"] for name, figure in reach.items()} == {
        "city": {"court_blacklist": "court.dishonest_debtor"}, "zhima": {"court_blacklist": "court.dishonest_debtor"}}
    assert reach["city"]["people"] > 0
    # the private scorer buys the courts' records, a week late
    bought = summary["combined"]["record_flows"]["courts"]["zhima"]
    assert bought["records"] > 0 and bought["delay_days"] == 7
    harms = summary["harms"]
    assert set(harms["wrongly_listed_any"]["by_group"]) == {"urban", "rural", "minority"}
    assert harms["blocked_per_year"]["flight"] > 0 and harms["blocked_per_year"]["g_train_trip"] > 0
    cameras = harms["sources"]["cameras"]
    assert cameras["recorded"] > 0 and cameras["expected_false_matches"] > 0, "cameras record acts and can misidentify"
    groups = cameras["groups"].values()
    assert sum(g["false_match_probes"] for g in groups) == sum(g["blamed"] for g in groups) == cameras["false_matches"]
    assert all(np.isfinite(section["score"]["mean"]) for section in schemes.values())


def _world(name: str) -> dict:
    """A scenario preset's data without what names it and what its schemes receive and import."""
    data = yaml.safe_load((resources.files("socialcredit.presets") / f"{name}.scenario.yaml").read_text())
    for key in ("id", "title", "description", "sources", "schemes"):
        data.pop(key)
    return data


def test_the_unshared_preset_is_the_same_world_with_nothing_shared():
    assert _world("national-unshared") == _world("national")
    _, shared = load_scenario("national")
    _, unshared = load_scenario("national-unshared")
    assert [entry.name for entry in unshared] == [entry.name for entry in shared]
    assert all(not entry.lists_from and not entry.terms for entry in unshared)
    assert [entry.receives for entry in unshared][:2] == [entry.receives for entry in shared][:2]
    assert unshared[2].receives == ("alipay",)
    # the city counts the cameras' jaywalking in both
    assert "jaywalking" in unshared[1].scheme.events and "jaywalking" in shared[1].scheme.events


def test_compare_shows_what_sharing_adds(tmp_path):
    size = [f"--{key}={value}" for key, value in PLACED_ON_THE_COURT_LIST.items()]
    result = CliRunner().invoke(app, ["compare", "national", "national-unshared", *size, "--sequential", "--out",
                                      str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "cmp" / "table.csv").set_index(["variant", "figure"])["mean"]
    assert table[("national", "denied_through_imports.city")] > 0
    assert table[("national-unshared", "denied_through_imports.city")] == 0
    assert table[("national", "records.courts.zhima")] > 0
    assert table[("national-unshared", "records.courts.zhima")] == 0


@pytest.mark.slow
def test_cameras_list_the_misidentified_minority_for_acts_not_done_and_appeals_clear_some():
    # Everyone appeals, so that the wrongful listings misidentification makes can be seen cleared;
    # crossings ten times as often, for some fifty false matches (a minority probe is falsely matched
    # 3x as often and blames one of its own: frvt_2019).
    run = socialcredit.simulate("national", population=20_000, days=180, **{"appeals.propensity": 1.0,
                                                                            "behaviours.jaywalking.rate": 0.03})
    harms = run.summary["schemes"]["city"]["harms"]  # the cameras' records reach the city
    wrongly = harms["wrongly_listed"]["by_group"]
    assert harms["wrongly_listed"]["count"] > 20
    assert wrongly["minority"] > 2 * max(wrongly["urban"], wrongly["rural"])
    assert harms["false_listing_person_days"]["displayed"] > 0
    assert harms["appeals"]["records_voided_false"] > 0
