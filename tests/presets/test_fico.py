"""The `fico` preset: a FICO-style score as published (issue 7).

300-850 from payment history 35%, amounts owed 30%, length of history 15%, new credit 10% and
credit mix 10% (myFICO); negative items stop counting after 7 years and bankruptcies after 10
(15 U.S.C. 1681c); an inquiry costs a few points for a year; never more than 4 reason codes, and
inquiries as a 5th where it is a key factor left out of those (15 U.S.C. 1681g(f)(1)(C), (f)(9)).
It reads and decides only financial matters: real-person use allowed.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import socialcredit
from socialcredit.cli import app
from socialcredit.scheme import load_scheme
from socialcredit.scheme.guards import classify
from socialcredit.scoring import NO_REASON, EventArrays, kind_codes, score_events

SCHEME = load_scheme("fico")
KIND = kind_codes(SCHEME)
DAY = 20_000.0
SEVEN_YEARS, TEN_YEARS = 2555, 3650


def score(events, as_of=DAY, n=1):
    """Score subjects 0..n-1 from (subject, kind, time[, value]) tuples."""
    value = [e[3] if len(e) > 3 else 1.0 for e in events]
    arrays = EventArrays.build([e[0] for e in events], [KIND[e[1]] for e in events], [e[2] for e in events],
                               value, n_subjects=n)
    return score_events(SCHEME, arrays, as_of)


def test_the_categories_keep_to_the_published_weights():
    best = {name: component.best_points() for name, component in SCHEME.components.items()}
    span = SCHEME.scale.max - SCHEME.scale.min
    assert (SCHEME.scale.min, SCHEME.scale.max) == (300, 850)
    groups = {
        "payment history": (["delinquencies", "recent_delinquency", "collections", "bankruptcy"], 0.35),
        "amounts owed": (["amounts_owed"], 0.30),
        "length of credit history": (["history_length"], 0.15),
        "new credit": (["inquiries", "new_accounts"], 0.10),
        "credit mix": (["credit_mix"], 0.10),
    }
    assert sorted(c for names, _ in groups.values() for c in names) == sorted(SCHEME.components)
    for label, (names, weight) in groups.items():
        assert sum(best[name] for name in names) == pytest.approx(weight * span), label


def test_never_more_than_4_reasons():
    # Everything wrong at once: 8 components lose points, 4 reasons are given.
    bad = [(0, "late_payment", DAY - 10 * k, 60) for k in range(5)]
    bad += [(0, "collection", DAY - 100), (0, "collection", DAY - 200), (0, "bankruptcy", DAY - 300)]
    bad += [(0, "inquiry", DAY - 5 * k) for k in range(8)]
    bad += [(0, "account_opened", DAY - 7 * k, 1) for k in range(4)]
    bad += [(0, "balance_report", DAY - 3, 0.95)]
    bad += [(0, "payment", DAY - 200)]  # an account six months old: a file that can be scored
    result = score(bad)
    assert result.scored.all()
    best = {name: c.best_points() for name, c in SCHEME.components.items()}
    losing = [name for name in SCHEME.components if result.components[name][0] < best[name]]
    assert len(losing) > 4
    names = [result.reason_components[code] for code in result.reasons[0] if code != NO_REASON]
    # four key factors, then inquiries as a 5th: it lost points but was crowded out of the four
    assert len(names) == 5 and names[-1] == "inquiries" and "inquiries" not in names[:4]
    without_inquiries = score([e for e in bad if e[1] != "inquiry"])
    names = [without_inquiries.reason_components[c] for c in without_inquiries.reasons[0] if c != NO_REASON]
    assert len(names) == 4 and "inquiries" not in names


def test_inquiries_among_the_four_is_not_repeated():
    result = score([(0, "inquiry", DAY - k) for k in range(6)] + [(0, "payment", DAY - 40), (0, "payment", DAY - 200)])
    assert result.scored.all()
    names = [result.reason_components[c] for c in result.reasons[0] if c != NO_REASON]
    assert names.count("inquiries") == 1 and len(names) <= 4


def test_a_7_year_old_late_payment_no_longer_counts():
    late = [(0, "late_payment", DAY, 30)]
    clean = score([], as_of=DAY + SEVEN_YEARS).score[0]
    assert score(late, as_of=DAY + SEVEN_YEARS - 1).score[0] < clean
    assert score(late, as_of=DAY + SEVEN_YEARS).score[0] == clean
    assert score(late, as_of=DAY + SEVEN_YEARS).reason_strings()[0] == score([], as_of=DAY).reason_strings()[0]


def test_a_collection_counts_7_years_and_a_bankruptcy_10():
    collection = [(0, "collection", DAY)]
    bankruptcy = [(0, "bankruptcy", DAY)]
    clean = score([]).score[0]
    assert score(collection, as_of=DAY + SEVEN_YEARS - 1).score[0] < clean
    assert score(collection, as_of=DAY + SEVEN_YEARS).score[0] == clean
    assert score(bankruptcy, as_of=DAY + SEVEN_YEARS).score[0] < clean
    assert score(bankruptcy, as_of=DAY + TEN_YEARS - 1).score[0] < clean
    assert score(bankruptcy, as_of=DAY + TEN_YEARS).score[0] == clean


def test_an_inquiry_costs_fewer_than_5_points_for_a_year():
    clean = score([]).score[0]
    one = score([(0, "inquiry", DAY - 10)]).score[0]
    assert 0 < clean - one < 5
    assert score([(0, "inquiry", DAY - 365)]).score[0] == clean


def test_paying_on_time_over_years_raises_the_score():
    # The length of history is approximated by payments on file (the format has no oldest-event feature).
    months = [(0, "payment", DAY - 30 * k) for k in range(60)]
    assert score(months).score[0] > score(months[:6]).score[0]


def test_the_ranges_and_mortgage_cut_offs_follow_the_published_numbers():
    assert [(t.name, t.min) for t in SCHEME.tiers] == [
        ("exceptional", 800), ("very_good", 740), ("good", 670), ("fair", 580), ("poor", 300)]
    old_accounts = [(0, "account_opened", DAY - 400, 2), (1, "account_opened", DAY - 400, 2)]  # scorable files
    result = score([(0, "collection", DAY - 10), (0, "collection", DAY - 20), (0, "bankruptcy", DAY - 30),
                    (0, "balance_report", DAY - 1, 0.9), (1, "balance_report", DAY - 1, 0.05), *old_accounts], n=2)
    assert result.scored.all()
    assert result.score[0] < 580 <= result.score[1]
    assert result.entitlements["fha_mortgage_3_5_down"].tolist() == [False, True]
    assert result.lists["derogatory"].tolist() == [True, False]


def test_real_person_use_is_allowed():
    assert classify(SCHEME).allowed
    outcome = CliRunner().invoke(app, ["scheme", "check", "fico"])
    assert outcome.exit_code == 0
    assert "real-person use: allowed" in outcome.output


def test_the_scenario_runs_and_reports_the_scheme_lists():
    run = socialcredit.simulate("fico", population=2000, days=200)
    assert set(run.summary["lists"]) == set(SCHEME.lists)
    assert set(run.summary["entitlements_denied"]) == set(SCHEME.entitlements)
    assert 300 <= run.summary["score"]["p10"] <= run.summary["score"]["p90"] <= 850
    assert set(run.summary["unscored"]["reasons"]) == set(SCHEME.unscored_names)


def test_a_file_with_no_history_is_unscored_with_its_reasons_and_denied_the_mortgage():
    result = score([])
    assert result.scored.tolist() == [False]
    assert result.unscored_by().tolist() == ["no_account_six_months_old;no_account_reported_6_months"]
    assert result.reason_strings().tolist() == ["no_account_six_months_old;no_account_reported_6_months"]
    assert result.tier.tolist() == [-1]  # no range: not "good", as 672.5 points would make it
    assert not any(allowed[0] for allowed in result.entitlements.values())


@pytest.mark.parametrize(("events", "unscored_by"), [
    # a card opened 200 days ago and paid last week: both criteria met
    ([(0, "account_opened", DAY - 200, 1), (0, "payment", DAY - 7)], ""),
    # opened 100 days ago: not six months old yet
    ([(0, "account_opened", DAY - 100, 1), (0, "payment", DAY - 7)], "no_account_six_months_old"),
    # on time payments from 300 days ago until 200 days ago: nothing reported in six months
    ([(0, "payment", DAY - t) for t in range(200, 301, 30)], "no_account_reported_6_months"),
    # one account six months old, another reported lately: two accounts may meet the two criteria
    ([(0, "account_opened", DAY - 900, 2), (0, "balance_report", DAY - 20, 0.2)], ""),
    # a collection and a bankruptcy are not accounts; an inquiry is an application
    ([(0, "collection", DAY - 400), (0, "bankruptcy", DAY - 500), (0, "inquiry", DAY - 3)],
     "no_account_six_months_old;no_account_reported_6_months"),
    # a deceased indicator, whatever else the file holds
    ([(0, "account_opened", DAY - 900, 2), (0, "payment", DAY - 7), (0, "deceased_report", DAY - 1)], "deceased"),
])
def test_the_minimum_scoring_criteria(events, unscored_by):
    result = score(events)
    assert result.unscored_by().tolist() == [unscored_by]
    assert result.entitlements["fha_mortgage"].tolist() == [not unscored_by]


def test_a_cohort_with_empty_files_cannot_be_scored_for_six_months():
    # Everyone starts with an empty file (no burn-in): before, 99% cleared the 580 cut-off on day 0
    # with 672.5 points.
    run = socialcredit.simulate("fico", population=2000, days=190, **{"run.burn_in_days": 0})
    metrics = run.metrics.set_index("day")
    assert metrics.loc[0, "unscored_share"] == 1.0 and metrics.loc[0, "denied.fha_mortgage_3_5_down"] == 1.0
    assert metrics.loc[182, "unscored_share"] == 1.0
    assert metrics.loc[189, "unscored_share"] < 0.7  # a payment six months old: scored
    assert 300 <= metrics.loc[189, "score_mean"] <= 850


@pytest.mark.slow
def test_the_scenario_starts_after_two_years_of_credit_history():
    run = socialcredit.simulate("fico", population=2000, days=30)
    metrics = run.metrics.set_index("day")
    assert metrics.loc[0, "unscored_share"] < 0.01  # thin files are rare, as in a population with histories
    assert 0 < metrics.loc[0, "denied.fha_mortgage_3_5_down"] < 0.2


def test_repeat_inquiries_within_45_days_count_once():
    shopping = [(0, "inquiry", DAY - 30), (0, "inquiry", DAY - 20), (0, "inquiry", DAY - 2)]
    apart = [(0, "inquiry", DAY - 100), (0, "inquiry", DAY - 2)]
    assert score(shopping).features["inquiries_1y"][0] == 1
    assert score(apart).features["inquiries_1y"][0] == 2
    assert score(shopping).score[0] > score(apart).score[0]
