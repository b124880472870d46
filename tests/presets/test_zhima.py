"""The `zhima` preset: Zhima (Sesame) Credit as reported (issue 7).

350-950 from five dimensions weighted 35/25/20/15/5 (reported, not official), relationships
through the network term, bands at 550/600/650/700, recomputed every 30 days; deposit waivers at
600 (hotels) and 650 (bikes and rentals), visa fast tracks at 700 and 750.
"""

from __future__ import annotations

import numpy as np
import pytest

import socialcredit
from socialcredit.scheme import load_scheme
from socialcredit.scheme.guards import classify
from socialcredit.scoring import EventArrays, Relations, compute_features, kind_codes, score_events, score_features

SCHEME = load_scheme("zhima")
KIND = kind_codes(SCHEME)
DAY = 20_000.0


def at_score(targets):
    """Scores for subjects with no record of their own (pre 450: a clean record's 100 points),
    brought to exactly `targets` by their contacts' term: the entitlements read the final score."""
    n = len(targets)
    features = compute_features(SCHEME, EventArrays.build([], [], [], n_subjects=n), DAY)
    own = score_features(SCHEME, features).pre
    return score_features(SCHEME, features, network_term=np.asarray(targets, dtype=float) - own)


def test_600_unlocks_the_hotel_deposit_waiver_and_599_does_not():
    result = at_score([600, 599])
    assert result.score.tolist() == [600, 599]
    assert result.entitlements["hotel_no_deposit"].tolist() == [True, False]


@pytest.mark.parametrize(("entitlement", "threshold"), [
    ("hotel_no_deposit", 600), ("bike_and_rental_no_deposit", 650),
    ("visa_fast_track_700", 700), ("visa_fast_track_750", 750),
])
def test_each_perk_opens_at_its_reported_score(entitlement, threshold):
    result = at_score([threshold, threshold - 1])
    assert result.entitlements[entitlement].tolist() == [True, False]


def test_bands_are_at_550_600_650_and_700():
    result = at_score([549, 550, 600, 650, 700, 950])
    assert result.tier_names().tolist() == ["poor", "fair", "good", "excellent", "superb", "superb"]


def test_the_scale_runs_from_350_to_950_and_a_user_without_a_record_is_near_the_floor():
    assert (SCHEME.scale.min, SCHEME.scale.max) == (350, 950)
    result = score_events(SCHEME, EventArrays.build([], [], [], n_subjects=1), DAY)
    assert result.score[0] == 450   # 350 plus a clean repayment record (no overdue: 100 points)


def test_the_five_dimensions_keep_to_the_reported_weights():
    best = {name: component.best_points() for name, component in SCHEME.components.items()}
    span = SCHEME.scale.max - SCHEME.scale.min
    assert best["repayment_record"] + best["overdue_record"] == pytest.approx(0.35 * span)   # credit history
    assert best["consumption"] == pytest.approx(0.25 * span)                                # behaviour and preferences
    assert best["assets"] == pytest.approx(0.20 * span)                                     # fulfilment capacity
    assert best["identity"] == pytest.approx(0.15 * span)                                   # identity
    # Relationships, 5%: contacts at the best own record add 30 points through the network term.
    own_best = sum(best.values())
    assert SCHEME.network is not None
    assert SCHEME.network.weight * own_best == pytest.approx(0.05 * span, abs=0.1)


def test_relationships_move_the_score_through_ones_contacts():
    # Subjects 0 and 1 have identical records; 0's contact (2) has a strong record, 1's (3) none.
    events = [(s, "repayment", DAY - k) for s in (0, 1) for k in range(10)]
    events += [(2, "repayment", DAY - k) for k in range(30)] + [(2, "identity_verified", DAY - 1)]
    arrays = EventArrays.build([e[0] for e in events], [KIND[e[1]] for e in events], [e[2] for e in events],
                               n_subjects=4)
    result = score_events(SCHEME, arrays, DAY, Relations.from_pairs([0, 1], [2, 3], 4))
    assert result.pre[0] == result.pre[1]
    assert result.score[0] > result.score[1]


def test_scores_are_recomputed_every_30_days():
    assert SCHEME.update_every_days == 30


def test_the_score_moves_only_on_update_days_and_the_scenario_runs():
    run = socialcredit.simulate("zhima", population=2000, days=65)
    mean = run.metrics["score_mean"].to_numpy()
    changed = np.flatnonzero(np.diff(mean) != 0) + 1
    assert set(changed) <= {30, 60, 64}   # update days, and the last day, which is always scored
    assert set(run.summary["lists"]) == set(SCHEME.lists)
    assert set(run.summary["entitlements_denied"]) == set(SCHEME.entitlements)


def test_real_person_use_is_refused_friends_and_shopping_decide_deposits():
    verdict = classify(SCHEME)
    assert not verdict.allowed
    assert any("relations (social)" in reason and "purchase (consumption)" in reason for reason in verdict.refusals)
