"""Which source records an act: the first whose draw falls below its coverage."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from socialcredit.scenario.streams import KeyedDraws
from socialcredit.world.surveillance import RECORDED, Lookalikes, first_recorder


def test_the_first_recorder_is_what_comparing_every_draw_gives():
    rng = np.random.default_rng(5)
    sources, districts, kinds, acts = 4, 6, 5, 20_000
    coverage = rng.choice([0.0, 0.3, 0.8, 1.0], size=(sources, districts, kinds))
    district = rng.integers(0, districts, acts).astype(np.int16)
    kind = rng.integers(0, kinds, acts).astype(np.int16)
    actor = rng.permutation(acts * 3)[:acts].astype(np.int64)
    streams = [KeyedDraws(5, "surveillance", 0, RECORDED, source) for source in range(sources)]
    uniforms = np.stack([stream.uniforms(actor, kind) for stream in streams])
    recorded = uniforms < coverage[:, district, kind]
    first = first_recorder(np.array([stream.base for stream in streams], dtype=np.uint64), actor, kind, coverage,
                           district)
    np.testing.assert_array_equal(first >= 0, recorded.any(axis=0))
    np.testing.assert_array_equal(first[first >= 0], np.argmax(recorded, axis=0)[first >= 0])
    assert first.dtype == np.int16 and (first == -1).any() and (first == 3).any()


def test_a_false_candidate_shares_the_actors_district_sex_and_group_and_is_never_the_actor():
    rng = np.random.default_rng(7)
    n, districts, groups = 3000, 3, 2
    district = np.sort(rng.integers(0, districts, n))
    group = rng.choice(groups, n, p=[0.9, 0.1]).astype(np.int8)
    female = rng.random(n) < 0.5
    lookalikes = Lookalikes(district, group, female, districts, groups)
    actor = np.repeat(np.flatnonzero(group == 1)[:3], 40_000)  # three minority actors, many probes each
    chosen = lookalikes.other(actor, lookalikes.stratum(district[actor], group[actor], female[actor]),
                              rng.random(actor.size))
    assert (chosen != actor).all()
    assert (district[chosen] == district[actor]).all() and (group[chosen] == 1).all()
    assert (female[chosen] == female[actor]).all()
    for person in np.unique(actor):  # everyone else of the stratum equally likely
        mine = chosen[actor == person]
        stratum = np.flatnonzero((district == district[person]) & (group == group[person])
                                 & (female == female[person]) & (np.arange(n) != person))
        counts = np.array([(mine == other).sum() for other in stratum])
        assert counts.min() > 0
        assert stats.chisquare(counts).pvalue > 1e-4
    # alone in the stratum: no lookalike (-1), the caller then draws anyone of the district
    alone = Lookalikes(np.zeros(2, np.int64), np.array([0, 1], np.int8), np.array([False, False]), 1, 2)
    assert alone.other(np.array([1]), np.array([2]), np.array([0.5])).tolist() == [-1]


# A camera scenario where many acts are probed, so that false matches number in the hundreds: the
# shipped Shenzhen scenario with every crossing seen, no deterrence, and a given group factor.
def _cameras(days: int = 60, **overrides):
    from socialcredit.runner.run import simulate

    return simulate("shenzhen-cameras", population=20000, days=days, **{
        "behaviours.jaywalking.rate": 0.3, "behaviours.jaywalking.deterrence": 0.0,
        "surveillance.cameras.coverage": 1.0, "surveillance.cameras.district_coverage": {}, **overrides})


def _blamed_share(run, group: str) -> tuple[float, int]:
    blamed = run.people.groupby("group", observed=True)["false_records"].sum()
    return float(blamed[group] / blamed.sum()), int(blamed.sum())


def test_when_only_the_majority_acts_its_false_matches_do_not_land_on_the_minority():
    # A false candidate shares the probe's sex and group: majority probes blame majority people.
    # (Drawn again with the minority's 30x weight, 61% of them landed on a 5% minority.)
    run = _cameras(**{"behaviours.jaywalking.group_factor": {"minority": 0.0}})
    share, false_matches = _blamed_share(run, "minority")
    assert false_matches > 300
    assert share == 0.0
    groups = run.summary["harms"]["sources"]["cameras"]["groups"]
    assert groups["minority"]["recorded_share"] == 0.0 and groups["minority"]["people_share"] > 0.04
    assert groups["minority"]["blamed_share"] == 0.0 and groups["majority"]["blamed_share"] == 1.0


def test_the_share_of_false_matches_blamed_on_each_group_is_the_models():
    # Men only, the minority acting four times as often: each probe of group g is falsely matched
    # with chance fpir x f_g, and the wrong candidate is of group g, so the minority's share of false
    # matches is a f / (a f + (1 - a)), with a its share of the acts: the factor applied once (39%).
    # (Drawing the blamed with the weights again gave p f / (p f + 1 - p) whoever acted, p the
    # minority's share of the people: 14% with f = 3, 61% with the former f = 30.)
    from socialcredit.scenario.identification import load_profile

    run = _cameras(days=90, **{"behaviours.jaywalking.group_factor": {"minority": 4.0},
                               "population.female_share": 0.0})
    factor = load_profile("frvt_2019").false_match_factor.affected_groups
    acts = run.people.groupby("group", observed=True)["true.jaywalking"].sum()
    a = acts["minority"] / acts.sum()
    expected = a * factor / (a * factor + 1 - a)
    share, false_matches = _blamed_share(run, "minority")
    assert false_matches > 300
    assert abs(share - expected) <= 4 * np.sqrt(expected * (1 - expected) / false_matches)
    # the summary says the same, and states the model's expectation beside it
    groups = run.summary["harms"]["sources"]["cameras"]["groups"]
    assert groups["minority"]["blamed_share"] == pytest.approx(share)
    assert groups["minority"]["probe_share"] == pytest.approx(share)  # each blames their own group
    assert groups["minority"]["expected_blamed_share"] == pytest.approx(expected, rel=0.02)
    assert groups["minority"]["recorded_share"] == pytest.approx(a, abs=0.002)
    json.dumps(run.summary["harms"]["sources"], allow_nan=False)  # strict JSON
    from socialcredit.runner.report import harm_rows

    row = next(row for row in harm_rows(run) if row[0] == "false matches of 'cameras' by group")
    assert f"minority {groups['minority']['people_share']:.1%} of people" in row[2]


def test_false_candidates_not_bound_to_the_actors_demographics_are_anyone_of_the_district(monkeypatch):
    # With half the false candidates of the actor's sex and group and half anyone of the district, a
    # majority-only set of actors blames the minority in half its share of the people.
    from socialcredit.scenario.identification import load_profile
    from socialcredit.world import surveillance

    half = load_profile("frvt_2019").model_copy(update={"same_demographics_candidate": 0.5})
    monkeypatch.setattr(surveillance, "load_profile", lambda name: half)
    run = _cameras(**{"behaviours.jaywalking.group_factor": {"minority": 0.0}})
    share, false_matches = _blamed_share(run, "minority")
    minority = run.summary["harms"]["sources"]["cameras"]["groups"]["minority"]
    expected = 0.5 * minority["people_share"]
    assert minority["expected_blamed_share"] == pytest.approx(expected, rel=0.05)
    assert abs(share - expected) <= 4 * np.sqrt(expected * (1 - expected) / false_matches)
    assert minority["probe_share"] == 0.0 and share > 0
