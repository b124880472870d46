"""Pruning friends (issue 20): under a scheme with a network term, ties to low scorers are cut to
protect one's score. Its direction by paired counterfactual (the same seed with pruning off), its
figures, and its refusals."""

from __future__ import annotations

import numpy as np
import pytest

import socialcredit
from socialcredit.runner.counterfactual import paired_effects
from socialcredit.scheme.errors import SchemeError
from socialcredit.world.pruning import tie_costs

SMALL = {"population": 6000, "days": 150, "seed": 5}


@pytest.fixture(scope="module")
def pair():
    # the default scenario's scheme adds 0.2 x (mean of friends' pre - base) to one's score
    on = socialcredit.simulate("default", **SMALL, **{"gaming.pruning.rate": 0.05})
    off = socialcredit.simulate("default", **SMALL, **{"gaming.pruning.rate": 0.05,
                                                       "gaming.pruning.group_factor": {"majority": 0, "minority": 0}})
    return on, off


def test_pruning_isolates_low_scorers_on_no_list(pair):
    on, off = pair
    with_, without = (run.summary["gaming"]["pruning"] for run in (on, off))
    assert without["ties_pruned"] == 0 and with_["ties_pruned"] > 500
    # low scorers on no list (no shunning can reach them) lose ties to pruning, and more than others do
    assert with_["low_unlisted"]["mean_degree_final"] < without["low_unlisted"]["mean_degree_final"] - 0.3
    assert with_["low_unlisted"]["ties_lost_to_pruning_mean"] > 3 * with_["others"]["ties_lost_to_pruning_mean"]
    assert with_["pruned_ties_to_low_unlisted_share"] > 0.3  # a fifth of people, well over a fifth of the cuts


def test_people_table_counts_the_ties_each_cut_and_lost(pair):
    on, _ = pair
    pruned, lost = on.people["ties_pruned"].to_numpy(), on.people["ties_lost_to_pruning"].to_numpy()
    assert pruned.sum() == lost.sum() == on.summary["gaming"]["pruning"]["ties_pruned"]
    # who loses ties to pruning has a lower own record than who cuts them
    pre = on.people["pre"].to_numpy()
    assert np.average(pre, weights=lost) < np.average(pre, weights=pruned)


def test_a_tie_costs_what_dropping_it_would_change_in_the_score():
    """A tie to someone below one's friends' mean costs points; to someone above it, none."""
    from socialcredit.scenario.load import load_scenario
    from socialcredit.scoring import Scores

    _, schemes = load_scenario("default")

    class State:  # the parts of a SchemeState tie_costs reads
        scheme = schemes[0].scheme
        scores = Scores.__new__(Scores)

    State.scores.pre = np.array([500.0, 300.0, 700.0, 500.0])
    indptr = np.array([0, 3, 4, 5, 6])  # 0 has friends 1, 2, 3; each of them has only 0
    indices = np.array([1, 2, 3, 0, 0, 0])
    owner = np.repeat(np.arange(4), np.diff(indptr))
    cost = tie_costs(State, indptr, indices, owner)  # type: ignore[arg-type]
    scale = State.scheme.scale
    span, weight = scale.max - scale.min, State.scheme.network.weight
    # 0's mean is 500: dropping the 300 raises it to 600, by 100 x weight; dropping the 700 lowers it
    assert cost[0] == pytest.approx(weight * (500 - 300) / 2 / span * 100)
    assert cost[1] < 0 and cost[2] == pytest.approx(0)
    # alone with a friend, dropping them leaves a term of 0: the cost is weight x (base - their pre)
    assert cost[3] == pytest.approx(weight * (scale.base - 500) / span * 100)


def test_the_counterfactual_twin_switches_pruning_off():
    effects = paired_effects("default", {"population.size": 4000, "run.days": 120, "gaming.pruning.rate": 0.05},
                             "pruning", [1])
    rows = {row["figure"]: row for row in effects.table()}
    assert effects.switched_off == {"gaming.pruning.group_factor": {"majority": 0.0, "minority": 0.0}}
    assert rows["mean_degree_low_unlisted"]["difference"] < 0


def test_pruning_needs_a_network_term():
    with pytest.raises(SchemeError, match="network term") as caught:
        socialcredit.simulate("fico", population=1000, days=5, **{"gaming.pruning.rate": 0.1})
    assert "gaming.pruning.rate" in str(caught.value)


def test_without_pruning_there_is_no_pruning_section():
    run = socialcredit.simulate("default", population=2000, days=30, seed=1)
    assert "gaming" not in run.summary and "ties_pruned" not in run.people.columns
