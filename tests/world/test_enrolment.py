"""Enrolment (issue 20, "Enrolment"): a scheme scores only those it has enrolled, its rule says what
its entitlements do with the rest, people join and leave by what enrolling changes for them, and
where the unenrolled are denied the better-scoring join first (unravelling)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socialcredit.runner.compare import headline_figures
from socialcredit.runner.counterfactual import paired_effects, twin_overrides
from socialcredit.runner.run import run_scenario
from socialcredit.scenario.load import load_scenario
from socialcredit.scheme import SchemeError, load_scheme
from socialcredit.scoring import EventArrays, compute_features
from socialcredit.scoring.incremental import IncrementalFeatures
from socialcredit.undefined import nulls_without_reason
from socialcredit.world.enrolment import Enrolment

SMALL = {"population.size": 3000, "run.days": 181, "run.seed": 5}


def voluntary(**rule) -> dict:
    spec = {"rule": "voluntary", "enrolled_at_start": 0.1, "join_rate": 0.5, "leave_rate": 0.5, "reluctance": 2.0,
            **rule}
    return {**SMALL, "enrolment": {"zhima": spec}}


def run(overrides: dict, scenario: str = "zhima"):
    return run_scenario(*load_scenario(scenario, overrides))


def test_only_the_enrolled_records_reach_the_scheme():
    done = run(voluntary(join_rate=0.0, leave_rate=0.0, enrolled_at_start=0.5))
    state = done.sim.schemes[0]
    enrolled = state.enrolled
    assert 0.45 < enrolled.mean() < 0.55, "nobody joins or leaves: the half enrolled at the start stays"
    features = state.features.features()
    purchases = features[next(name for name, f in state.scheme.features.items() if f.event == "purchase"
                              and f.type == "count")]
    assert (purchases[~enrolled] == 0).all(), "the unenrolled's purchases never reach the scheme"
    assert (purchases[enrolled] > 0).mean() > 0.5
    assert done.people["enrolled"].to_numpy().tolist() == enrolled.tolist()


def test_the_unenrolled_are_read_as_unscored_by_the_schemes_own_rules():
    done = run(voluntary())
    state = done.sim.schemes[0]
    out = ~state.enrolled
    assert out.any()
    # zhima's perks read "score >= 600": false for someone without a score, so every waiver is denied
    for allowed in state.scores.entitlements.values():
        assert not allowed[out].any()
    assert done.summary["enrolment"]["zhima"]["unravelling"]["last"]["unenrolled_denied_share"] == 1.0


def test_the_unenrolled_have_no_score_pre_or_tier_and_the_headline_figures_are_of_the_scored():
    done = run(voluntary())
    state, people, summary = done.sim.schemes[0], done.people, done.summary
    out = ~people["enrolled"].to_numpy()
    assert out.any() and (~out).any()
    assert people.loc[out, ["score", "pre"]].isna().all().all(), "no score or pre for the unenrolled"
    assert (people.loc[out, "tier"] == "").all()
    assert not people.loc[out, "scored"].any() and people.loc[~out, "scored"].all()
    assert people.loc[~out, ["score", "pre"]].notna().all().all() and (people.loc[~out, "tier"] != "").all()
    assert summary["score"]["mean"] == pytest.approx(people.loc[~out, "score"].mean())
    assert summary["unscored"]["share"] == summary["unscored"]["not_enrolled"] == pytest.approx(out.mean())
    assert sum(summary["tiers"].values()) == pytest.approx(1 - out.mean()), "tier shares sum to the scored"
    metrics = done.metrics.dropna(subset=["unscored_share"])
    shares = metrics[[f"tier_share.{tier}" for tier in state.scheme.tier_names]].sum(axis=1)
    assert np.allclose(shares, 1 - metrics["unscored_share"]) and (metrics["unscored_share"] > 0.3).all()
    assert done.mobility.index[-1] == "(unscored)", "the unenrolled move to and from a row of their own"


def test_an_enrolled_persons_network_term_reads_no_unenrolled_neighbours_pre():
    done = run(voluntary(join_rate=0.0, leave_rate=0.0, enrolled_at_start=0.5))
    sim, state = done.sim, done.sim.schemes[0]
    graph, enrolled, scores = sim.graph, state.enrolled.copy(), state.scores
    weight, base = state.scheme.network.weight, state.scheme.scale.base
    # a plain reference: weight x (mean of the enrolled neighbours' pre - base), none without one
    neighbours = np.split(graph.indices, graph.indptr[1:-1])
    for person in np.flatnonzero(enrolled)[:300]:
        theirs = neighbours[person][enrolled[neighbours[person]]]
        expected = weight * (scores.pre[theirs].mean() - base) if theirs.size else 0.0
        assert scores.network_term[person] == pytest.approx(expected, abs=1e-9)
    # paired: the same state rescored with unenrolled people's records raising their pre (their
    # would-be score), then with enrolled people's: only the latter moves their neighbours' term
    identity = list(state.scheme.events).index("identity_verified")

    def rescored_with_records_of(people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        before = state.scores
        for _ in range(3):
            state.features.add(state.features.as_of, people, np.full(people.size, identity))
        state.rescore(graph)
        return before.network_term, state.scores.pre[people] - before.pre[people]

    tied_to_enrolled = np.repeat(np.arange(sim.n), graph.degree)[enrolled[graph.indices]]
    outsiders = np.unique(tied_to_enrolled[~enrolled[tied_to_enrolled]])[:200]
    term, raised = rescored_with_records_of(outsiders)
    assert (raised > 0).all(), "their own points rose"
    assert state.scores.network_term[enrolled].tobytes() == term[enrolled].tobytes()
    insiders = np.flatnonzero(enrolled)[:200]
    term, raised = rescored_with_records_of(insiders)
    assert (raised > 0).any() and (state.scores.network_term[enrolled] != term[enrolled]).any()


def test_left_alone_the_unenrolled_keep_every_entitlement_and_nobody_gains_by_joining():
    done = run(voluntary(unenrolled="allowed"))
    state = done.sim.schemes[0]
    out = ~state.enrolled
    for allowed in state.scores.entitlements.values():
        assert allowed[out].all()
    figure = done.summary["enrolment"]["zhima"]
    assert figure["joins"] == 0, "joining gains nothing where the unenrolled are left alone"
    assert figure["enrolled_share"] < 0.1, "and the reluctant leave"


def test_treating_the_unenrolled_as_bad_risks_enrols_high_scorers_first():
    denied = run(voluntary(unenrolled="denied"))
    alone = run(voluntary(unenrolled="allowed"))
    snapshots = denied.summary["enrolment"]["zhima"]["over_time"]
    first, later = snapshots[0]["by_would_be_quintile"], snapshots[2]["by_would_be_quintile"]
    # at the start everyone is alike (no records yet); by the third update day the top fifth has joined
    assert later["5"] - first["5"] > later["1"] - first["1"] + 0.1
    end = denied.summary["enrolment"]["zhima"]["by_would_be_quintile"]
    end_alone = alone.summary["enrolment"]["zhima"]["by_would_be_quintile"]
    assert end["5"] > end["1"] + 0.3
    assert end["5"] > end_alone["5"] + 0.3, "treating the unenrolled as bad risks is what pulls the top fifth in"
    # those left out are ever more those with poor records: the would-be gap to the enrolled widens
    unravelling = denied.summary["enrolment"]["zhima"]["unravelling"]
    assert unravelling["last"]["would_be_score_gap"] > unravelling["first"]["would_be_score_gap"] + 20


def test_a_switch_to_mandatory_enrols_everyone_and_reports_the_change_in_harms():
    done = run(voluntary(mandatory_from_day=100))
    figure = done.summary["enrolment"]["zhima"]
    assert figure["enrolled_share"] == 1.0 and done.sim.schemes[0].enrolled.all()
    switch = figure["switch"]
    assert switch["before"]["day"] < 100 <= switch["after"]["day"]
    assert switch["before"]["enrolled_share"] < 1.0 == switch["after"]["enrolled_share"]
    assert switch["denied_share_change"] == pytest.approx(switch["after"]["denied_share"] -
                                                          switch["before"]["denied_share"])
    assert all(s["enrolled_share"] == 1.0 for s in figure["over_time"] if s["day"] >= 100)
    assert figure["unravelling"]["last"]["day"] < 100, "unravelling is of the voluntary days"


def test_a_mandatory_scheme_before_its_day_scores_no_one():
    done = run({**SMALL, "enrolment": {"zhima": {"rule": "mandatory", "mandatory_from_day": 90}}})
    over_time = done.summary["enrolment"]["zhima"]["over_time"]
    assert [s["enrolled_share"] for s in over_time if s["day"] < 90] == [0.0] * 3
    assert all(s["enrolled_share"] == 1.0 for s in over_time if s["day"] >= 90)


def test_the_twin_with_everyone_enrolled_denies_fewer_people():
    rows = {row["figure"]: row for row in paired_effects("zhima", voluntary(), "enrolment", [5]).table()}
    hotel = rows["denied.hotel_no_deposit"]
    assert hotel["with"] > hotel["without"] + 0.1, "the unenrolled are denied the waiver they would earn"
    assert rows["enrolled_share.zhima"]["without"] == 1.0
    scenario, schemes = load_scenario("zhima")
    with pytest.raises(ValueError, match="no enrolment to switch off"):
        twin_overrides("enrolment", scenario, schemes)


def test_compare_reads_enrolment_by_group_and_would_be_score():
    figures = headline_figures(run(voluntary()).summary)
    assert {"enrolled_share.zhima", "enrolled_share.zhima.rural", "enrolled_share.zhima.would_be_q5",
            "unenrolled_denied_share.zhima"} <= set(figures)


def test_same_seed_same_enrolment_and_no_rule_changes_nothing():
    a, b = run(voluntary()), run(voluntary())
    assert a.summary["enrolment"] == b.summary["enrolment"]
    plain = run(SMALL)
    assert "enrolment" not in plain.summary and "enrolled" not in plain.people.columns


def test_dropped_records_leave_nothing_and_kept_ones_stay():
    dropped = run(voluntary(retention="dropped", leave_rate=2.0))
    state = dropped.sim.schemes[0]
    enrolment = dropped.sim.module(Enrolment)
    assert enrolment is not None
    gone = (enrolment.schemes[0].left > 0) & ~state.enrolled
    assert gone.any()
    features = state.features.features()
    for name, values in features.items():
        if state.scheme.features[name].type == "count":
            assert (values[gone] == 0).all(), f"{name}: a leaver's records are dropped"


def test_forget_leaves_a_subject_as_if_never_seen():
    scheme = load_scheme("zhima")
    codes = {kind: code for code, kind in enumerate(scheme.events)}
    kind = codes["purchase"]
    both, only_one = IncrementalFeatures(scheme, 3), IncrementalFeatures(scheme, 3)
    for day in range(40):
        both.advance(float(day))
        only_one.advance(float(day))
        both.add(float(day), np.array([0, 1]), np.array([kind, kind]))
        only_one.add(float(day), np.array([1]), np.array([kind]))
        if day == 20:
            both.forget(np.array([0]))
    later = IncrementalFeatures(scheme, 3)
    for day in range(21, 40):
        later.advance(float(day))
        later.add(float(day), np.array([0]), np.array([kind]))
    both.advance(400.0)  # every window passed: nothing of the forgotten may be taken back twice
    only_one.advance(400.0)
    later.advance(400.0)
    for name, values in both.features().items():
        assert values[1] == only_one.features()[name][1]
        assert values[0] == later.features()[name][0], name
    empty = compute_features(scheme, EventArrays.build([], [], [], n_subjects=3), 400.0)
    assert all(np.asarray(values)[2] == empty[name][2] for name, values in both.features().items())


def test_a_rule_for_no_such_scheme_is_refused_with_its_line_and_a_fix(tmp_path):
    path = tmp_path / "bad.scenario.yaml"
    path.write_text("scheme: zhima\nenrolment:\n  court: {rule: voluntary, join_rate: 0.1}\n"
                    "  zhima: {rule: mandatory}\n")
    with pytest.raises(SchemeError) as error:
        load_scenario(str(path))
    message = str(error.value)
    assert "bad.scenario.yaml:3:3: enrolment.court: no scheme of this scenario is named 'court'" in message
    assert "fix: key the rule by the scheme's name: zhima" in message
    assert "bad.scenario.yaml:4:10: enrolment.zhima.mandatory_from_day" in message


@pytest.mark.slow
def test_the_zhima_2020_preset_unravels_then_switches():
    done = run({"population.size": 10000}, "zhima-2020")
    figure = done.summary["enrolment"]["zhima"]
    last = figure["unravelling"]["last"]
    assert last["highest_quintile_enrolled"] > last["lowest_quintile_enrolled"] + 0.3
    assert figure["switch"]["after"]["enrolled_share"] == 1.0


def test_with_several_schemes_a_rule_is_one_schemes_and_the_others_score_everyone():
    example = str(Path(__file__).parents[2] / "examples" / "three-schemes.scenario.yaml")
    rule = {"rule": "voluntary", "enrolled_at_start": 0.2, "join_rate": 0.5, "leave_rate": 0.2}
    done = run_scenario(*load_scenario(example, {"population.size": 3000, "run.days": 91,
                                                 "enrolment": {"zhima": rule}}))
    states = {state.name: state for state in done.sim.schemes}
    zhima, court = states["zhima"], states["court"]
    assert court.enrolled is None and zhima.enrolled is not None
    out = ~zhima.enrolled
    assert out.any() and "zhima.enrolled" in done.people.columns
    for allowed in zhima.scores.entitlements.values():  # "score >= 600 and ...": the unscored are denied
        assert not allowed[out].any()
    assert set(done.summary["enrolment"]) == {"zhima"}
    assert done.summary["enrolment"]["zhima"]["over_time"][0]["day"] == 0


def test_a_switch_after_a_shortened_runs_end_is_voluntary_throughout_and_says_why_its_after_is_null():
    done = run({**SMALL, "run.days": 100}, "zhima-2020")  # the preset switches on day 184
    switch = done.summary["enrolment"]["zhima"]["switch"]
    assert switch["after"]["denied_share"] is None and switch["denied_share_change"] is None
    assert not nulls_without_reason(done.summary)
    assert done.summary["enrolment"]["zhima"]["enrolled_share"] < 1.0
