"""The `nosedive` preset: Black Mirror's peer ratings (issue 7; fiction).

The score is the mean of the 1-5 stars received in the last 90 days, each weighted by the rater's
own score (carried in the event's `weight`: an assumption); 4.5 opens the prime perks, below 2.5
one is shut out.
"""

from __future__ import annotations

import socialcredit
from socialcredit.scheme import load_scheme
from socialcredit.scheme.guards import classify
from socialcredit.scoring import EventArrays, kind_codes, score_events

SCHEME = load_scheme("nosedive")
RATING = kind_codes(SCHEME)["rating"]
DAY = 20_000.0


def rated(stars_by_subject, weights_by_subject=None, as_of=DAY, age=1.0):
    """Score subjects who received the given stars (optionally weighted) `age` days before `as_of`."""
    subject, value, weight = [], [], []
    for index, stars in enumerate(stars_by_subject):
        weights = weights_by_subject[index] if weights_by_subject else [1.0] * len(stars)
        subject += [index] * len(stars)
        value += stars
        weight += weights
    arrays = EventArrays.build(subject, [RATING] * len(subject), [as_of - age] * len(subject), value, weight,
                               n_subjects=len(stars_by_subject))
    return score_events(SCHEME, arrays, as_of)


def test_the_score_is_the_mean_of_the_stars_received():
    result = rated([[5, 4, 4, 3], [1, 2]])
    assert result.score.tolist() == [4.0, 1.5]


def test_a_mean_of_4_5_opens_the_prime_perks_and_just_below_does_not():
    result = rated([[5, 4], [5, 4, 4, 5, 4]])   # 4.5 and 4.4
    assert result.lists["prime_influencer"].tolist() == [True, False]
    assert result.entitlements["prime_housing_discount"].tolist() == [True, False]
    assert result.tier_names().tolist() == ["prime", "ordinary"]


def test_below_2_5_one_is_excluded_and_at_2_5_one_is_not():
    result = rated([[2, 3], [2, 3, 2, 3, 2]])   # 2.5 and 2.4
    assert result.lists["excluded"].tolist() == [False, True]
    assert result.entitlements["everyday_services"].tolist() == [True, False]
    assert result.tier_names().tolist() == ["ordinary", "low"]


def test_a_rating_from_a_4_8_person_moves_the_mean_more_than_one_from_a_2_0_person():
    # Both start from four 3-star ratings by 3.0-rated people, then get one 5-star rating.
    history = [3, 3, 3, 3]
    result = rated([history + [5], history + [5]], [[3.0] * 4 + [4.8], [3.0] * 4 + [2.0]])
    assert result.score[0] > result.score[1] > 3.0


def test_ratings_older_than_90_days_drop_out_and_no_ratings_means_3():
    assert rated([[5, 5]], age=89).score[0] == 5
    assert rated([[5, 5]], age=90).score[0] == 3


def test_real_person_use_is_refused_peer_ratings_decide_housing_and_services():
    verdict = classify(SCHEME)
    assert not verdict.allowed
    assert all("rating (peer)" in reason for reason in verdict.refusals)


def test_the_scenario_runs_and_reports_the_scheme_lists():
    run = socialcredit.simulate("nosedive", population=2000, days=30)
    assert set(run.summary["lists"]) == {"prime_influencer", "excluded"}
    assert 1 <= run.summary["score"]["p10"] <= run.summary["score"]["p90"] <= 5
