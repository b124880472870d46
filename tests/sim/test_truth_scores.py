"""The true scores (from genuine records only) are scored again only where they can differ from the
recorded ones; they must be what scoring everyone from the truth state gives, to the bit."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit import simulate
from socialcredit.scoring.core import score_slices
from socialcredit.world.tallies import wrongly_at


def wrongly(state):
    """`wrongly_at`'s rows as whole arrays: per list and entitlement, bool per person."""
    rows, listed_at, denied_at = wrongly_at(state)

    def whole(at):
        out = np.zeros(state.n, dtype=bool)
        out[rows[at]] = True
        return out
    return {name: whole(at) for name, at in listed_at.items()}, {name: whole(at) for name, at in denied_at.items()}


# default: a network term; national: lists imported between schemes; shenzhen-cameras: appeals.
# Banks misfile often here, so that false records move points (and so the network term).
@pytest.mark.parametrize("preset", ["default", "national", "shenzhen-cameras"])
def test_true_scores_are_those_of_everyone_scored_from_the_genuine_records(preset):
    # false records enough to change someone's points in 60 days of 2,000 people: bank errors in the
    # default; in shenzhen-cameras, crossings a hundred times the shipped rate (a camera's false
    # matches are one in a thousand)
    overrides = {"default": {"surveillance.banks.error_rate": 0.05},
                 "shenzhen-cameras": {"behaviours.jaywalking.rate": 0.3}}.get(preset, {})
    # national: the court's fitted default rate places about 0.2% of adults on its list a year, so that
    # the list the city and Zhima import has members, 20,000 people (about 7 placed in 60 days)
    population = 20_000 if preset == "national" else 2000
    run = simulate(preset, population=population, days=60, seed=5, **overrides)
    if preset == "national":
        assert run.summary["combined"]["joint_punishment"]["city"]["people"] > 0, "no one denied through an import"
    states = [state for state in run.sim.schemes if state.truth is not None]
    assert states, f"{preset}: no scheme whose records can be false"
    some_differ = False
    for state in states:
        assert state.true_scores is not None and state.scores is not None and state.truth_differs is not None
        relations = run.sim.graph if state.scheme.network is not None else None
        everyone = score_slices(state.scheme, state.features_of(state.truth), state.n, relations,
                                compiled_rules=state.compiled_rules, inputs=state.inputs(truth=True))
        if state.unenrolled is not None:
            state.unenrolled(state, everyone, state.truth)
        kept = state.true_scores
        for name in ("pre", "network_term", "score", "tier", "tier_cap", "unscored"):
            a, b = getattr(everyone, name), getattr(kept, name)
            assert (a is None) == (b is None), name
            if a is not None:
                assert a.tobytes() == b.tobytes(), f"{preset} {state.name}: {name}"
        for name in everyone.lists:
            assert np.array_equal(everyone.lists[name], kept.lists[name]), f"{preset} {state.name}: list {name}"
        for name in everyone.entitlements:
            assert np.array_equal(everyone.entitlements[name], kept.entitlements[name]), f"{preset}: {name}"
        # wrongful listings and sanctions, found at the true scores' rows alone, are those of whole arrays
        listed, denied = wrongly(state)
        for name, members in state.scores.lists.items():
            truly = kept.lists[name]
            expected = (~members & truly) if name in state.scheme.honour_lists else (members & ~truly)
            assert np.array_equal(listed[name], expected), f"{preset} {state.name}: wrongly listed {name}"
        for name, allowed in state.scores.entitlements.items():
            assert np.array_equal(denied[name], ~allowed & kept.entitlements[name]), f"{preset}: wrongly denied {name}"
        # scored again: only those a false or voided record touched (and whom they reach), not everyone
        assert state.truth_differs.sum() < state.n
        some_differ |= state.truth_differs.any() and not np.array_equal(kept.pre, state.scores.pre)
    assert some_differ, f"{preset}: false records changed nobody's points, so the test shows nothing"
