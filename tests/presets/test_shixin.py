"""The `shixin` preset: the Supreme People's Court's list of dishonest judgment debtors (issue 7).

A debtor who has not performed a judgment by its deadline is listed; the listing is lifted once
they pay (here 3 days after payment: "within 3 working days", without a working-day calendar),
else after 2 years (3 for aggravated cases: 2 plus the shortest extension). While listed, each
named ban is an entitlement that is denied.
"""

from __future__ import annotations

import pytest

import socialcredit
from socialcredit.scheme import load_scheme
from socialcredit.scheme.guards import classify
from socialcredit.scoring import EventArrays, kind_codes, score_events

SCHEME = load_scheme("shixin")
KIND = kind_codes(SCHEME)
T0 = 18_000.0  # the day of the default (days since 1970-01-01)

# The bans named in issue 7, each an entitlement denied while listed.
BANS = {
    "board_flight": "no flights",
    "g_train_or_soft_sleeper": "no G-class trains, first class or soft sleepers",
    "star_hotel_nightclub_golf": "no star hotels, nightclubs or golf",
    "travel_and_vacation": "no tours or holidays, outbound tours included",
    "private_school_for_children": "no high-fee private school for one's children",
    "high_premium_insurance": "no high-premium insurance",
    "executive_post": "no executive posts",
    "loan": "no loans",
}


def listed(events, as_of, n=1):
    """Whether subjects 0..n-1 are on the list at `as_of`, and their scores."""
    arrays = EventArrays.build([e[0] for e in events], [KIND[e[1]] for e in events], [e[2] for e in events],
                               n_subjects=n)
    result = score_events(SCHEME, arrays, as_of)
    return result.lists["dishonest_debtor"], result


def test_the_bans_are_exactly_the_named_ones():
    assert set(SCHEME.entitlements) == set(BANS)


@pytest.mark.parametrize("ban", sorted(BANS))
def test_a_listed_person_is_denied_each_named_ban(ban):
    member, result = listed([(0, "judgment_default", T0)], as_of=T0 + 1, n=2)
    assert member.tolist() == [True, False]
    assert result.entitlements[ban].tolist() == [False, True], BANS[ban]


def test_nobody_is_listed_without_a_default_and_a_payment_alone_lists_no_one():
    member, result = listed([(0, "judgment_paid", T0)], as_of=T0 + 1, n=2)
    assert member.tolist() == [False, False]
    assert all(allowed.all() for allowed in result.entitlements.values())


def test_listing_lifts_three_days_after_payment():
    events = [(0, "judgment_default", T0), (0, "judgment_paid", T0 + 100)]
    assert listed(events, T0 + 99)[0][0]
    assert listed(events, T0 + 100)[0][0]      # paid today: the court has 3 (working) days
    assert listed(events, T0 + 102)[0][0]
    assert not listed(events, T0 + 103)[0][0]  # lifted on the third day after payment
    member, result = listed(events, T0 + 103)
    assert all(allowed[0] for allowed in result.entitlements.values())


def test_an_unpaid_listing_lifts_after_two_years():
    events = [(0, "judgment_default", T0)]
    assert listed(events, T0 + 729)[0][0]
    assert not listed(events, T0 + 730)[0][0]


def test_an_aggravated_listing_lasts_three_years_unless_paid():
    events = [(0, "aggravated_default", T0)]
    assert listed(events, T0 + 1094)[0][0]
    assert not listed(events, T0 + 1095)[0][0]
    paid = [*events, (0, "judgment_paid", T0 + 10)]
    assert not listed(paid, T0 + 13)[0][0]


def test_an_old_payment_does_not_lift_a_later_default():
    events = [(0, "judgment_paid", T0 - 50), (0, "judgment_default", T0)]
    assert listed(events, T0 + 10)[0][0]


def test_a_new_default_after_payment_lists_again():
    events = [(0, "judgment_default", T0), (0, "judgment_paid", T0 + 10), (0, "judgment_default", T0 + 40)]
    assert not listed(events, T0 + 20)[0][0]
    assert listed(events, T0 + 41)[0][0]


def test_real_person_use_is_refused_because_a_court_record_decides_travel_school_and_jobs():
    verdict = classify(SCHEME)
    assert not verdict.allowed
    assert len(verdict.refusals) == len(BANS)


def test_the_scenario_runs_and_reports_the_list():
    run = socialcredit.simulate("shixin", population=2000, days=30)
    assert set(run.summary["lists"]) == {"dishonest_debtor"}
    share = run.summary["lists"]["dishonest_debtor"]["share"]
    assert 0 <= share < 0.05
    # Everyone listed is denied every ban, so each ban's denied share is the list share.
    for ban in BANS:
        assert run.summary["entitlements_denied"][ban]["share"] == pytest.approx(share)


@pytest.mark.slow
def test_the_scenario_holds_about_half_a_percent_of_adults_on_the_list():
    # 5.7 million on the list in early 2020 of ~1,150 million aged 16+ (0.50%, the scenario's header),
    # after the list's first years as a burn-in; the stock, not the 14.5 million ever placed on it.
    # `socialcredit validate` checks both counts over seeds.
    run = socialcredit.simulate("shixin", population=20_000)
    assert run.summary["days"] == 365
    assert 0.003 < run.summary["lists"]["dishonest_debtor"]["share"] < 0.006
