"""The `marketplace` preset: a lawful real-person scheme (issue 7).

Trading partners' records (sales, seller cancellations, cases found for the buyer, negative
feedback) decide marketplace privileges, in the same context, by eBay's published seller
standards: Top Rated at a defect rate of 0.5% or less (or 3 defects at most), Below Standard above
2% with 5 or more defects, or more cases than both 0.3% of sales and 2.
"""

from __future__ import annotations

from typer.testing import CliRunner

import socialcredit
from socialcredit.cli import app
from socialcredit.scheme import load_scheme
from socialcredit.scheme.guards import classify
from socialcredit.scoring import EventArrays, kind_codes, score_events

SCHEME = load_scheme("marketplace")
KIND = kind_codes(SCHEME)
DAY = 20_000.0


def seller(sales, cancellations=0, disputes=0, negatives=0, as_of=DAY):
    """Score one seller, at `as_of`, with these counts spread over the 300 days before DAY."""
    counts = {"sale": sales, "cancellation": cancellations, "dispute_upheld": disputes,
              "negative_feedback": negatives}
    kind = [KIND[name] for name, count in counts.items() for _ in range(count)]
    time = [DAY - 1 - (i % 300) for i in range(len(kind))]
    return score_events(SCHEME, EventArrays.build([0] * len(kind), kind, time, n_subjects=1), as_of)


def level(result):
    return result.tier_names()[0]


def test_real_person_use_is_allowed():
    assert classify(SCHEME).allowed
    outcome = CliRunner().invoke(app, ["scheme", "check", "marketplace"])
    assert outcome.exit_code == 0
    assert "real-person use: allowed" in outcome.output


def test_a_clean_seller_is_top_rated_with_the_badge_and_fee_discount():
    result = seller(200)
    assert level(result) == "top_rated"
    assert result.score[0] == 100
    assert all(allowed[0] for allowed in result.entitlements.values())


def test_three_defects_keep_top_rated_and_four_above_half_a_percent_do_not():
    assert level(seller(200, cancellations=3)) == "top_rated"      # 1.5%, but 3 defects at most
    result = seller(200, cancellations=4)                            # 2%, 4 defects
    assert level(result) == "above_standard"
    assert not result.entitlements["top_rated_badge_and_fee_discount"][0]
    assert result.entitlements["full_search_placement"][0]


def test_a_defect_rate_above_2_percent_with_5_defects_is_below_standard():
    result = seller(200, cancellations=3, disputes=2)               # 2.5%, 5 defects
    assert level(result) == "below_standard"
    assert result.lists["below_standard_sellers"][0]
    assert not result.entitlements["full_search_placement"][0]
    assert not result.entitlements["immediate_payout"][0]
    assert level(seller(1000, cancellations=5)) == "top_rated"      # 0.5% of a larger volume


def test_cases_must_exceed_both_0_3_percent_and_two_to_fall_below_standard():
    assert level(seller(1000, disputes=3)) == "top_rated"           # 0.3%: not above it
    assert level(seller(1000, disputes=4)) == "below_standard"      # 0.4% and more than 2
    assert level(seller(200, disputes=2)) != "below_standard"       # 1%, but only 2 cases


def test_small_sellers_are_at_most_above_standard():
    assert level(seller(99)) == "above_standard"
    assert level(seller(100)) == "top_rated"


def test_negative_feedback_costs_points_and_is_a_reason_but_not_the_level():
    result = seller(200, negatives=12)                               # 6%
    assert result.score[0] == 80
    assert result.reason_strings()[0] == "feedback"
    assert level(result) == "top_rated"


def test_records_older_than_a_year_are_not_used():
    assert level(seller(200, cancellations=10)) == "below_standard"
    result = seller(200, cancellations=10, as_of=DAY + 400)
    assert result.score[0] == 100
    assert level(result) == "above_standard"   # nothing left on record, so fewer than 100 sales


def test_the_scenario_runs_and_reports_the_scheme_lists():
    run = socialcredit.simulate("marketplace", population=2000, days=30)
    assert set(run.summary["lists"]) == {"below_standard_sellers"}
    assert 0 <= run.summary["score"]["mean"] <= 100
