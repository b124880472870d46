"""The scoring core's exact semantics (docs/design.md, "The scheme format"), each on a hand-computed case."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.scheme import scheme_from_data
from socialcredit.scoring import EventArrays, Relations, score_events

PAYMENT, LATE, TRAFFIC, RATING = 0, 1, 2, 3


def scores_for(data, events, as_of, n=None, relations=None):
    scheme = scheme_from_data(data)
    subject, kind, time, *rest = zip(*events, strict=False) if events else ((), (), ())
    value = [e[3] if len(e) > 3 else 1.0 for e in events]
    weight = [e[4] if len(e) > 4 else 1.0 for e in events]
    arrays = EventArrays.build(subject, kind, time, value, weight, n_subjects=n)
    return score_events(scheme, arrays, as_of, relations)


def test_window_upper_bound_is_inclusive_and_future_events_are_ignored(scheme_data):
    result = scores_for(scheme_data, [(0, LATE, 100), (0, LATE, 100.5), (0, LATE, 99)], as_of=100)
    assert result.features["late_24m"][0] == 2


def test_retention_drops_old_events_everywhere(scheme_data):
    scheme_data["retention_days"] = 30
    scheme_data["features"]["ever_late"] = {"count": "late_payment"}
    result = scores_for(scheme_data, [(0, LATE, 60), (0, LATE, 69.5), (0, LATE, 70)], as_of=100)
    # Kept when as_of - t <= retention_days: the event at exactly 30 days old stays.
    assert result.features["ever_late"][0] == 1
    assert result.features["late_24m"][0] == 1


def test_bins_take_the_first_bin_whose_upto_the_value_reaches(scheme_data):
    # late_ratio 0 -> first bin (0 points); exactly 0.1 -> second bin (-40); above -> catch-all (-120)
    events = [(1, PAYMENT, t) for t in range(10)] + [(1, LATE, 5)]
    events += [(2, PAYMENT, t) for t in range(9)] + [(2, LATE, 5)]
    result = scores_for(scheme_data, events, as_of=20, n=3)
    assert result.features["late_ratio"].tolist() == [0.0, 0.1, pytest.approx(1 / 9)]
    assert result.components["payment_history"].tolist() == [0, -40, -120]


def test_per_unit_points_are_clipped(scheme_data):
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["components"]["conduct"] = {"feature": "violations", "per_unit": -5, "min": -12}
    result = scores_for(scheme_data, [(0, TRAFFIC, 1), (1, TRAFFIC, 1), (1, TRAFFIC, 2), (1, TRAFFIC, 3)], as_of=5)
    assert result.components["conduct"].tolist() == [-5, -12]
    assert result.pre.tolist() == [995, 988]


def test_pre_is_clipped_to_the_scale(scheme_data):
    scheme_data["scale"] = {"min": 0, "max": 1010, "base": 1000}
    scheme_data["features"]["ratings"] = {"count": "rating"}
    scheme_data["components"]["peer"] = {"feature": "ratings", "per_unit": 50}
    scheme_data["tiers"] = []
    scheme_data["lists"] = {}
    scheme_data["entitlements"] = {}
    result = scores_for(scheme_data, [(0, RATING, 1)], as_of=5)
    assert result.pre[0] == 1010 and result.score[0] == 1010


def test_mean_is_weighted_and_defaults_where_no_weight(scheme_data):
    scheme_data["features"]["stars"] = {"mean": "rating", "default": 3.0}
    events = [(0, RATING, 1, 5.0, 3.0), (0, RATING, 2, 1.0, 1.0), (1, RATING, 1, 4.0, 0.0)]
    result = scores_for(scheme_data, events, as_of=5, n=3)
    assert result.features["stars"].tolist() == [4.0, 3.0, 3.0]


def test_days_since_latest_event_with_default(scheme_data):
    scheme_data["features"]["clean"] = {"days_since": "late_payment", "default": 3650}
    result = scores_for(scheme_data, [(0, LATE, 10), (0, LATE, 40), (1, PAYMENT, 10)], as_of=100)
    assert result.features["clean"].tolist() == [60, 3650]


def test_sum_adds_event_values(scheme_data):
    scheme_data["features"]["days_late"] = {"sum": "late_payment", "window_days": 10}
    result = scores_for(scheme_data, [(0, LATE, 95, 7.0), (0, LATE, 99, 2.5), (0, LATE, 80, 100.0)], as_of=100)
    assert result.features["days_late"][0] == 9.5


def test_tier_is_the_first_whose_min_the_score_reaches(scheme_data):
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["components"]["conduct"] = {"feature": "violations", "per_unit": -40}
    # 1000 -> A (>= 960); 960 -> A exactly at the boundary; 920 -> B; 0 violations for subject 3 -> A
    events = [(1, TRAFFIC, 1), (2, TRAFFIC, 1), (2, TRAFFIC, 2)]
    result = scores_for(scheme_data, events, as_of=5, n=4)
    assert result.tier_names().tolist() == ["A", "A", "B", "A"]


def test_lists_and_entitlements_follow_their_expressions(scheme_data):
    events = [(0, PAYMENT, 1), (1, LATE, 1), (1, LATE, 2), (1, LATE, 3)]
    result = scores_for(scheme_data, events, as_of=5)
    assert result.lists["blacklist"].tolist() == [False, True]
    assert result.entitlements["loan"].tolist() == [True, False]


def test_reasons_only_name_components_that_lost_points_up_to_the_limit(scheme_data):
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["features"]["stars"] = {"mean": "rating", "default": 3}
    scheme_data["components"]["conduct"] = {"feature": "violations", "per_unit": -5}
    scheme_data["components"]["peer"] = {"feature": "stars", "per_unit": 10, "max": 50}
    scheme_data["reasons"] = 2
    events = [(0, PAYMENT, 1), (0, LATE, 1), (0, TRAFFIC, 1), (1, RATING, 1, 5.0)]
    result = scores_for(scheme_data, events, as_of=5)
    # subject 0: payment_history lost 120, peer lost 20 (30 of 50), conduct lost 5 -> two reasons
    # subject 1: peer at its max (5 stars * 10 = 50), nothing else lost -> no reasons
    assert result.reason_strings().tolist() == ["payment_history;peer", ""]
    assert result.explain(0) == [
        {"code": "payment_history", "component": "payment_history", "feature": "late_ratio", "value": 1.0,
         "points": -120.0, "points_lost": 120.0},
        {"code": "peer", "component": "peer", "feature": "stars", "value": 3.0, "points": 30.0, "points_lost": 20.0},
    ]


def test_network_term_uses_mean_of_neighbours_pre(scheme_data):
    scheme_data["network"] = {"weight": 0.5}
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["components"]["conduct"] = {"feature": "violations", "per_unit": -100}
    events = [(1, TRAFFIC, 1), (2, TRAFFIC, 1), (2, TRAFFIC, 2)]
    relations = Relations.from_pairs([0, 0], [1, 2], 4)
    result = scores_for(scheme_data, events, as_of=5, n=4, relations=relations)
    assert result.pre.tolist() == [1000, 900, 800, 1000]
    # 0: neighbours 900 and 800 -> 1000 + 0.5 * (850 - 1000); 1 and 2: neighbour 1000 -> no change; 3: alone
    assert result.score.tolist() == [925, 900, 800, 1000]


def test_no_events_scores_everyone_at_base(scheme_data):
    result = scores_for(scheme_data, [], as_of=5, n=3)
    assert result.score.tolist() == [1000, 1000, 1000]
    assert result.tier_names().tolist() == ["A", "A", "A"]


def test_event_arrays_must_have_equal_lengths():
    with pytest.raises(ValueError, match="same length"):
        EventArrays.build([0, 1], [0], [1.0, 2.0])


def test_scores_are_float64_arrays(scheme_data):
    result = scores_for(scheme_data, [(0, LATE, 1)], as_of=5)
    assert result.score.dtype == np.float64 and result.pre.dtype == np.float64


def test_tier_cap_holds_the_tier_down_whatever_the_score(scheme_data):
    scheme_data["events"]["drunk_driving"] = {"category": "conduct"}
    scheme_data["features"]["drunk_5y"] = {"count": "drunk_driving", "window_days": 1825}
    scheme_data["tier_caps"] = [{"when": "drunk_5y >= 1", "at_most": "B"}, {"when": "drunk_5y >= 2", "at_most": "C"}]
    events = [(1, 4, 1), (2, 4, 1), (2, 4, 2)]  # kind 4: drunk_driving
    result = scores_for(scheme_data, events, as_of=5, n=3)
    assert result.score.tolist() == [1000, 1000, 1000]  # no points lost: the cap is not a deduction
    assert result.tier_names().tolist() == ["A", "B", "C"]
    assert result.tier_cap.tolist() == [-1, 0, 1]
    assert result.lists["blacklist"].tolist() == [False, False, True]  # lists see the capped tier


def test_a_cap_that_holds_the_tier_down_is_the_first_reason(scheme_data):
    scheme_data["events"]["drunk_driving"] = {"category": "conduct"}
    scheme_data["features"]["drunk_5y"] = {"count": "drunk_driving", "window_days": 1825}
    scheme_data["tier_caps"] = [{"name": "drunk_driving", "when": "drunk_5y >= 1", "at_most": "B"},
                                {"when": "drunk_5y >= 2", "at_most": "C"}]
    scheme_data["reasons"] = 1
    drunk = 4  # the kind code of drunk_driving
    events = [(1, PAYMENT, 1), (1, LATE, 1), (1, drunk, 1),                       # 880: B by score, B at most
              (2, drunk, 1), (2, drunk, 2),                                        # 1000, held at C
              *[(3, PAYMENT, t) for t in range(10)], (3, LATE, 1), (3, drunk, 1)]  # 960: A, held at B
    result = scores_for(scheme_data, events, as_of=12, n=4)
    assert result.score.tolist() == [1000, 880, 1000, 960]
    assert result.tier_names().tolist() == ["A", "B", "C", "B"]
    assert result.tier_by_score().tolist() == [0, 1, 0, 0]
    assert result.reason_names == ("payment_history", "drunk_driving", "cap_drunk_5y")
    # A cap whose condition holds but whose tier the score gives anyway held nothing down (1); where
    # several hold, the lowest decided the tier and is the reason (2); the cap comes before the
    # components, besides the `reasons: 1` of them (3).
    assert result.reason_strings().tolist() == ["", "payment_history", "cap_drunk_5y",
                                                "drunk_driving;payment_history"]
    assert result.capped_by().tolist() == ["", "", "cap_drunk_5y", "drunk_driving"]
    assert result.reasons.shape == (4, 2)
    assert result.explain(3) == [
        {"code": "drunk_driving", "tier_cap": "drunk_driving", "when": "drunk_5y >= 1", "at_most": "B",
         "tier_by_score": "A", "values": {"drunk_5y": 1.0}},
        {"code": "payment_history", "component": "payment_history", "feature": "late_ratio", "value": 0.1,
         "points": -40.0, "points_lost": 40.0},
    ]


def test_a_cap_is_a_reason_even_where_no_component_is(scheme_data):
    scheme_data["components"] = {}
    scheme_data["reasons"] = 0
    scheme_data["tier_caps"] = [{"when": "late_24m >= 1", "at_most": "C"}]
    result = scores_for(scheme_data, [(0, LATE, 1)], as_of=5, n=2)
    assert result.reason_strings().tolist() == ["cap_late_24m", ""]
    assert result.reasons.tolist() == [[0], [-1]]


def test_tier_cap_never_raises_a_tier(scheme_data):
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["components"]["conduct"] = {"feature": "violations", "per_unit": -200}
    scheme_data["tier_caps"] = [{"when": "violations >= 1", "at_most": "B"}]
    result = scores_for(scheme_data, [(0, TRAFFIC, 1)], as_of=5)
    assert result.score[0] == 800 and result.tier_names()[0] == "C"
    assert result.tier_cap[0] == -1


def test_a_scheme_without_features_still_scores_every_subject(scheme_data):
    data = {"id": "x", "title": "x", "scale": {"min": 0, "max": 10, "base": 5},
            "events": {"k": {"category": "civic"}}, "lists": {"low": "score < 6"}}
    result = score_events(scheme_from_data(data), EventArrays.build([0, 1, 2], [0, 0, 0], [1.0] * 3), as_of=10)
    assert result.n_subjects == 3 and result.lists["low"].tolist() == [True, True, True]


def test_many_tiers_do_not_wrap_around():
    tiers = [{"name": f"t{i}", "min": 200 - i} for i in range(129)] + [{"name": "last", "min": 0}]
    data = {"id": "x", "title": "x", "scale": {"min": 0, "max": 300, "base": 10},
            "events": {"k": {"category": "civic"}}, "features": {"n": {"count": "k"}}, "tiers": tiers,
            "lists": {"bottom": "tier <= 'last'"}}
    result = score_events(scheme_from_data(data), EventArrays.build([0], [0], [1.0]), as_of=10)
    assert result.tier.tolist() == [129] and result.tier_names().tolist() == ["last"]
    assert result.lists["bottom"].tolist() == [True]


def test_reasons_also_adds_a_crowded_out_component_after_the_top_ones(scheme_data):
    scheme_data["features"]["violations"] = {"count": "traffic_violation"}
    scheme_data["components"]["conduct"] = {"feature": "violations", "per_unit": -5}
    scheme_data["reasons"] = {"count": 1, "also": ["conduct"]}
    events = [(0, PAYMENT, 1), (0, LATE, 1), (0, TRAFFIC, 1), (1, TRAFFIC, 1)]
    result = scores_for(scheme_data, events, as_of=5)
    # subject 0: payment_history lost 120 (the top one), conduct lost 5 (added); subject 1: conduct once
    assert result.reason_strings().tolist() == ["payment_history;conduct", "conduct"]
    assert result.reasons.shape == (2, 2)


def test_merged_count_counts_runs_of_events_close_together(scheme_data):
    scheme_data["events"]["inquiry"] = {"category": "financial"}
    scheme_data["features"]["inquiries"] = {"count": "inquiry", "window_days": 365, "merge_within_days": 45}
    scheme_data["features"]["raw"] = {"count": "inquiry", "window_days": 365}
    inquiry = 4
    # subject 0: days 100, 120, 160 chain into one run (each within 45 of the one before); 300 starts another
    # subject 1: days 100 and 146 are 46 apart: two runs; two on the same day merge
    events = [(0, inquiry, t) for t in (100, 120, 160, 300)] + [(1, inquiry, t) for t in (100, 146, 146)]
    result = scores_for(scheme_data, events, as_of=400)
    assert result.features["inquiries"].tolist() == [2, 2]
    assert result.features["raw"].tolist() == [4, 3]
    # a run counts at its start: once day 100 leaves the window, that run is gone even if later events were in it
    later = scores_for(scheme_data, events, as_of=470)
    assert later.features["inquiries"].tolist() == [1, 1]


def test_merge_is_only_for_counts(scheme_data):
    scheme_data["features"]["s"] = {"sum": "payment", "merge_within_days": 45}
    with pytest.raises(Exception, match="takes no merge_within_days"):
        scores_for(scheme_data, [], as_of=1, n=1)


@pytest.mark.parametrize("side", ["left", "right"])
def test_bins_by_comparisons_equal_a_binary_search(side):
    """The compiled passes count the edges below each value (binned points: strictly below; tiers:
    at most it) where a live read searches: the same bin for every value, NaN and infinities too."""
    from socialcredit.scoring.kernels import component_points_of, tiers_of

    rng = np.random.default_rng(8)
    for edges_count in range(0, 10):
        edges = np.sort(rng.integers(-3, 4, edges_count).astype(float))  # repeated edges too
        values = rng.integers(-4, 5, 10_000).astype(float)
        values[rng.random(values.size) < 0.05] = np.nan
        values[rng.random(values.size) < 0.05] = np.inf
        values[rng.random(values.size) < 0.05] = -np.inf
        if side == "left":  # a component whose bin k is worth k points: its points are the bin
            counted = component_points_of(values, edges, np.arange(edges_count + 1, dtype=float), 0.0, -np.inf, np.inf)
        else:  # tiers of decreasing mins: the tier index counts the mins above the value
            counted = edges_count - tiers_of(edges[::-1].copy(), values).astype(np.int64)
        np.testing.assert_array_equal(counted, np.searchsorted(edges, values, side=side))


@pytest.mark.parametrize("spec", [
    {"feature": "x", "bins": [{"upto": 0.0, "points": 0}, {"upto": 0.1, "points": -40}, {"points": -120}]},
    {"feature": "x", "bins": [{"upto": 1.0, "points": 5}, {"upto": 1.0, "points": 7}, {"points": -3}], "max": 4},
    {"feature": "x", "per_unit": -5, "min": -200},
    {"feature": "x", "per_unit": 2.5, "min": -1, "max": 30},
    {"feature": "x", "per_unit": -1},
])
def test_compiled_component_points_equal_numpy_bit_for_bit(spec):
    """Many values take one compiled pass; a few (a live read) take NumPy's calls: both must give
    the same points, NaN, infinities, clipping and the sign of zero included."""
    from socialcredit.scheme.models import Component
    from socialcredit.scoring.core import COMPILED_FROM, component_points

    component = Component.model_validate(spec)
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(0, 20, 3 * COMPILED_FROM), 1)
    values[rng.random(values.size) < 0.05] = np.nan
    values[rng.random(values.size) < 0.05] = np.inf
    values[rng.random(values.size) < 0.05] = -np.inf
    values[rng.random(values.size) < 0.1] = 0.0
    values[rng.random(values.size) < 0.05] = 1.0  # on an upto
    compiled = component_points(component, values)
    one_by_one = np.concatenate([component_points(component, values[i:i + 1]) for i in range(values.size)])
    np.testing.assert_array_equal(compiled, one_by_one)
    assert not np.signbit(compiled[compiled == 0]).any()


def test_scoring_features_are_what_scores_and_outcomes_read_with_the_ratios_inputs(scheme_data):
    from socialcredit.scoring.core import score_slices, scoring_features

    scheme_data["features"].update({
        "ratings": {"mean": "rating", "window_days": 90, "default": 3.0},  # read by nothing
        "clean": {"days_since": "late_payment", "default": 3650},          # read by nothing
        "tickets": {"count": "traffic_violation"},
        "ticket_share": {"ratio": ["tickets", "paid_24m"]},
        "ticket_share_of_late": {"ratio": ["ticket_share", "late_ratio"]},  # a ratio of ratios
    })
    scheme_data["entitlements"]["drive"] = {"allow": "ticket_share_of_late < 2", "context": "conduct"}
    scheme = scheme_from_data(scheme_data)
    assert scoring_features(scheme) == {"late_24m", "paid_24m", "late_ratio", "tickets", "ticket_share",
                                        "ticket_share_of_late"}
    rng = np.random.default_rng(4)
    n = 500
    events = EventArrays.build(rng.integers(0, n, 4000), rng.integers(0, 4, 4000), rng.uniform(0, 100, 4000),
                               np.ones(4000), np.ones(4000), n_subjects=n)
    full = score_events(scheme, events, 100.0)
    needed = {name: full.features[name] for name in scoring_features(scheme)}
    outcomes = score_slices(scheme, lambda part: {name: v[part] for name, v in needed.items()}, n, size=64)
    np.testing.assert_array_equal(outcomes.score, full.score)
    np.testing.assert_array_equal(outcomes.tier, full.tier)
    for name in scheme.entitlements:
        np.testing.assert_array_equal(outcomes.entitlements[name], full.entitlements[name])
    np.testing.assert_array_equal(outcomes.lists["blacklist"], full.lists["blacklist"])


def test_reasons_over_many_slices_rank_losses_rounded_to_a_nanopoint() -> None:
    """The compiled ranking, run slice by slice on threads, against a plain per-subject ranking of
    np.round(loss, 9) with ties by name, over more subjects than one slice holds. Losses come in
    few values plus noise below 1e-9 points, so ties and noise-only losses are common."""
    from socialcredit.scoring.core import SLICE, reason_codes

    names = ["a", "b", "c", "d", "e"]
    data = {"id": "r", "title": "r", "version": "1", "scale": {"min": 0, "max": 1000, "base": 500},
            "events": {"x": {"category": "financial"}},
            "features": {"f": {"count": "x"}},
            "components": {name: {"feature": "f", "per_unit": -1, "max": 10 * i} for i, name in enumerate(names)},
            "reasons": {"count": 2, "also": ["e"]}}
    scheme = scheme_from_data(data)
    rng = np.random.default_rng(7)
    n = 2 * SLICE + 123
    points = {name: 10.0 * i - rng.choice([0.0, 5.0, 10.0], n) + rng.choice([0.0, 3e-10, -3e-10, 4e-9], n)
              for i, name in enumerate(names)}
    points["c"][5] = np.nan
    got = reason_codes(scheme, points, n)

    best = {name: 10.0 * i for i, name in enumerate(names)}
    for row in (*range(300), *range(n - 300, n), *rng.integers(0, n, 2000)):
        lost = {name: float(np.round(best[name] - points[name][row], 9)) for name in names}
        ranked = sorted((name for name in names if lost[name] > 0), key=lambda name: (-lost[name], name))[:2]
        if lost["e"] > 0 and "e" not in ranked:
            ranked.append("e")
        assert [names[c] for c in got[row] if c >= 0] == ranked, row
        assert (got[row][len(ranked):] == -1).all()


@pytest.mark.parametrize("retention", [None, 400])
def test_compiled_features_equal_numpy_bit_for_bit(retention, monkeypatch):
    """A large log is added up by one compiled pass per feature, a small one (a live read) by
    NumPy's selections and bincounts: every feature type, with windows, defaults, retention,
    events on the window's edge and in the future, must come out the same to the last bit."""
    from socialcredit.scoring import features as features_module

    data = {"id": "f", "title": "f", "version": "1", "scale": {"min": 0, "max": 1000, "base": 500},
            "retention_days": retention,
            "events": {"pay": {"category": "financial"}, "late": {"category": "financial"},
                       "rate": {"category": "financial"}},
            "features": {
                "paid_1y": {"count": "pay", "window_days": 365},
                "paid_ever": {"count": "pay"},
                "late_days": {"sum": "late", "window_days": 730},
                "late_decayed": {"count": "late", "half_life_days": 90},
                "late_days_decayed": {"sum": "late", "half_life_days": 45.5},
                "rating_decayed": {"mean": "rate", "half_life_days": 30, "default": 2.0},
                "rating": {"mean": "rate", "window_days": 90, "default": 3.0},
                "rating_ever": {"mean": "rate"},
                "since_late": {"days_since": "late", "default": 3650},
                "since_pay": {"days_since": "pay", "default": 0},
                "late_share": {"ratio": ["late_days", "paid_1y"]},
            },
            "components": {"paying": {"feature": "paid_1y", "per_unit": 1}}}
    if retention is None:
        del data["retention_days"]
    scheme = scheme_from_data(data)
    rng = np.random.default_rng(11)
    size, n, as_of = 60_000, 5_000, 1000.0
    time = np.round(rng.uniform(0, 1100, size), 2)
    time[rng.random(size) < 0.02] = as_of - 365  # on a window's edge: out (lower bound exclusive)
    time[rng.random(size) < 0.02] = as_of        # at as_of: in
    time[:3] = -np.inf                           # infinitely old: read by no feature, on either path
    events = EventArrays.build(rng.integers(0, n, size), rng.integers(0, 3, size), time,
                               rng.normal(10, 5, size), rng.uniform(0, 2, size), n_subjects=n + 7)
    compiled = features_module.compute_features(scheme, events, as_of)
    assert len(events) >= features_module.COMPILED_FROM
    monkeypatch.setattr(features_module, "COMPILED_FROM", 10 * size)
    plain = features_module.compute_features(scheme, events, as_of)
    assert set(compiled) == set(plain) == set(scheme.features)
    for name in scheme.features:
        np.testing.assert_array_equal(compiled[name], plain[name], err_msg=name)
    assert (compiled["rating"][n:] == 3.0).all() and (compiled["since_late"][n:] == 3650).all()


def test_compiled_features_ignore_kind_codes_no_kind_has():
    """Events whose kind code names no kind of the scheme are read by no feature, on the compiled
    path as on NumPy's (and never written out of bounds)."""
    from socialcredit.scoring import features as features_module

    data = {"id": "k", "title": "k", "version": "1", "scale": {"min": 0, "max": 1000, "base": 500},
            "events": {"pay": {"category": "financial"}},
            "features": {"paid": {"count": "pay"}, "amount": {"sum": "pay", "window_days": 30}},
            "components": {"paying": {"feature": "paid", "per_unit": 1}}}
    scheme = scheme_from_data(data)
    rng = np.random.default_rng(2)
    size = 3 * features_module.COMPILED_FROM
    kind = rng.choice([-1, 0, 1, 5], size)
    events = EventArrays.build(rng.integers(0, 100, size), kind, rng.uniform(0, 100, size), np.ones(size),
                               np.ones(size), n_subjects=100)
    compiled = features_module.compute_features(scheme, events, 100.0)
    np.testing.assert_array_equal(compiled["paid"], np.bincount(events.subject[kind == 0], minlength=100))


def test_compiled_tiers_equal_the_search_one_score_at_a_time():
    """Many scores take one compiled pass, one score (a live read) a search: the same tier for a
    score exactly on a tier's min, between mins, below every min, NaN and infinities."""
    from socialcredit.scoring.core import COMPILED_FROM, tier_index

    data = {"id": "t", "title": "t", "version": "1", "scale": {"min": 0, "max": 2000, "base": 1000},
            "events": {"x": {"category": "financial"}}, "features": {"f": {"count": "x"}},
            "components": {"c": {"feature": "f", "per_unit": 1}},
            "tiers": [{"name": "A", "min": 1050}, {"name": "B", "min": 960}, {"name": "C", "min": 600},
                      {"name": "D", "min": 0}]}
    scheme = scheme_from_data(data)
    rng = np.random.default_rng(5)
    score = np.round(rng.uniform(-50, 2100, 3 * COMPILED_FROM))
    edge = rng.random(score.size) < 0.1
    score[edge] = rng.choice([1050.0, 960.0, 600.0, 0.0, 599.999, 1049.5], size=int(edge.sum()))
    score[:4] = [np.nan, np.inf, -np.inf, 0.0]
    compiled = tier_index(scheme, score)
    one_by_one = np.concatenate([tier_index(scheme, score[i:i + 1]) for i in range(score.size)])
    np.testing.assert_array_equal(compiled, one_by_one)
    assert compiled.dtype == np.int16
    assert compiled[np.flatnonzero(score == 960.0)[0]] == 1 and compiled[np.flatnonzero(score == 599.999)[0]] == 3


def unscored_scheme(scheme_data):
    """A thin file (no payment in two years) is unscored; so is one with a late payment and
    nothing else. The loan follows the scheme: only the scored with a score of 960 or more."""
    scheme_data["unscored"] = [{"when": "paid_24m < 1", "reason": "no_payments"},
                               {"when": "late_24m >= 1 and paid_24m < 1", "reason": "only_late"}]
    scheme_data["tier_caps"] = [{"name": "serial", "when": "late_24m >= 1", "at_most": "C"}]
    scheme_data["lists"] = {"blacklist": "tier <= 'C'", "low": "score < 1500", "no_score": "not scored"}
    scheme_data["entitlements"] = {"loan": {"allow": "scored and score >= 960", "context": "financial"},
                                   "unguarded": {"allow": "score >= 960", "context": "financial"},
                                   "no_tier": {"allow": "not (tier >= 'C')", "context": "financial"}}
    return scheme_data


def test_an_unscored_subject_has_no_tier_and_its_conditions_as_reasons(scheme_data):
    # 0: no history at all; 1: one late payment, nothing else; 2: paid, then late (scored, capped)
    events = [(1, LATE, 90), (2, PAYMENT, 80), (2, LATE, 90)]
    result = scores_for(unscored_scheme(scheme_data), events, as_of=100, n=3)
    assert result.scored.tolist() == [False, False, True]
    assert result.unscored.tolist() == [0b01, 0b11, 0]
    assert result.unscored_by().tolist() == ["no_payments", "no_payments;only_late", ""]
    assert result.tier.tolist()[:2] == [-1, -1] and result.tier_names().tolist()[:2] == ["", ""]
    assert result.tier_cap.tolist() == [-1, -1, 0]  # no tier, so no cap held one down
    # what the points come to is kept (a simulation's people act on it); the outputs withhold it
    assert result.score[0] == 1000.0
    assert result.reason_strings().tolist() == ["no_payments", "no_payments;only_late", "serial;payment_history"]
    assert result.explain(1) == [
        {"code": "no_payments", "unscored": "no_payments", "when": "paid_24m < 1", "values": {"paid_24m": 0.0}},
        {"code": "only_late", "unscored": "only_late", "when": "late_24m >= 1 and paid_24m < 1",
         "values": {"late_24m": 1.0, "paid_24m": 0.0}}]


def test_what_an_unscored_subject_may_do_follows_the_scheme(scheme_data):
    result = scores_for(unscored_scheme(scheme_data), [(1, PAYMENT, 90)], as_of=100, n=2)
    assert result.scored.tolist() == [False, True]
    assert result.entitlements["loan"].tolist() == [False, True]
    # score, pre and tier read as NaN for the unscored: every comparison but != is false
    assert result.entitlements["unguarded"].tolist() == [False, True]
    assert result.entitlements["no_tier"].tolist() == [True, False]
    assert result.lists["blacklist"].tolist() == [False, False]
    assert result.lists["low"].tolist() == [False, True]
    assert result.lists["no_score"].tolist() == [True, False]


def test_a_scheme_without_unscored_conditions_scores_everyone(scheme_data):
    result = scores_for(scheme_data, [], as_of=100, n=2)
    assert result.unscored is None and result.scored.tolist() == [True, True]
    assert result.unscored_by().tolist() == ["", ""]
    scheme_data["entitlements"]["loan"]["allow"] = "scored and not blacklist"
    assert scores_for(scheme_data, [], as_of=100, n=1).entitlements["loan"].tolist() == [True]


def test_network_term_leaves_out_neighbours_not_counted(scheme_data):
    from socialcredit.scoring.core import network_term_of
    from socialcredit.scoring.graph import NeighbourSums

    scheme_data["network"] = {"weight": 0.5}
    scheme = scheme_from_data(scheme_data)
    relations = Relations.from_pairs([0, 0, 3], [1, 2, 2], 4)
    pre = np.array([1000.0, 900.0, 800.0, 1000.0])
    counted = np.array([True, True, False, True])  # 2 is not enrolled: the scheme has no pre of theirs
    # 0: only 1 counts -> 0.5 * (900 - 1000); 1: neighbour 0 -> 0; 3: its one neighbour uncounted -> no term
    term = network_term_of(scheme, pre, relations, counted=counted)
    assert term.tolist() == [-50.0, 0.0, 0.0, 0.0]
    moved = pre.copy()
    moved[2] = 100.0  # the uncounted neighbour's pre changes nothing
    assert network_term_of(scheme, moved, relations, counted=counted).tolist() == term.tolist()
    kept = NeighbourSums()  # sums kept from one call to the next give the same, to the bit
    network_term_of(scheme, pre, relations, kept, counted=counted)
    assert network_term_of(scheme, moved, relations, kept, counted=counted).tolist() == term.tolist()
    everyone = network_term_of(scheme, pre, relations)
    assert network_term_of(scheme, pre, relations, counted=np.ones(4, dtype=bool)).tobytes() == everyone.tobytes()


def test_reasons_ranked_by_numpy_equal_the_compiled_ranking():
    """A process that has not loaded numba ranks reasons with NumPy's calls (`core.ranked_reasons`):
    the same codes as the compiled `rank_reasons`, ties in name order, NaN and no loss never a
    reason, and the `also` components after the ranked ones."""
    from socialcredit.scoring.core import NO_REASON, ranked_reasons
    from socialcredit.scoring.kernels import rank_reasons

    rng = np.random.default_rng(11)
    components, n = 6, 5_000
    best = np.array([0.0, 20.0, 0.0, 60.0, 40.0, 0.0])
    points = best[:, None] - rng.choice([0.0, 5.0, 10.0, 30.0, 1e-12, np.inf], size=(components, n))
    points[rng.random(points.shape) < 0.03] = np.nan
    also = np.array([4, 1], dtype=np.int64)
    for limit in (0, 2, 4, components):
        width = limit + also.size
        compiled = np.empty((n, width), dtype=np.int16)
        rank_reasons(points, best, limit, also, compiled, 0, n)
        np.testing.assert_array_equal(ranked_reasons(points, best, limit, also, width), compiled)
    assert (compiled[:, 0] != NO_REASON).any() and (compiled == NO_REASON).any()


def test_a_small_log_is_scored_without_loading_numba_or_the_plots(tmp_path):
    """`socialcredit score` of a small log takes NumPy's paths (the same bits): numba, SciPy and
    matplotlib are never loaded, so the command's start-up is short."""
    import subprocess
    import sys

    events = tmp_path / "events.csv"
    events.write_text("subject,kind,time\n" + "".join(f"s{i % 50},late_payment,2024-0{1 + i % 9}-01\n"
                                                      for i in range(5_000)))
    code = ("import sys; from socialcredit.cli import main; sys.argv = ['socialcredit'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code\n"
            "print(sorted(m for m in ('numba', 'scipy', 'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, "score", str(events), "--scheme", "lending", "--out",
                           str(tmp_path / "out.csv")], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "out.csv").read_text().count("\n") == 51
