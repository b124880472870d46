"""benchmarks/peer_starsim.py and peer_laser.py: each runs the peer model as peer_mesa.py states it,
shown by the network term's arithmetic against the statement (exact, quick) and by equivalence
with socialcredit over seeds (slow); and the roofline's tracing finds what a phase touches.

Starsim and LASER come with the `bench` extra (CI installs it); where one is not installed, its
tests are skipped, saying so.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


sys.path.insert(0, str(BENCHMARKS))  # benchmarks/siblings.py
from siblings import load  # noqa: E402

peer = load("peer_mesa")


def needs(package: str) -> None:
    pytest.importorskip(package, reason=f"{package} is not installed: pip install -e '.[bench]' (CI does)")


@pytest.fixture(scope="module")
def starsim():
    needs("starsim")
    return load("peer_starsim")


@pytest.fixture(scope="module")
def laser():
    needs("laser.core")
    return load("peer_laser")


# ---------------------------------------------------------------------------------------------
# The graph both peers are given


def test_rewired_ring_edges_make_a_fully_rewired_watts_strogatz_graph():
    people = 5_000
    p1, p2 = peer.rewired_ring_edges(people, 10, np.random.default_rng(1))
    degree = np.bincount(p1, minlength=people) + np.bincount(p2, minlength=people)
    assert degree.mean() == 10 and degree.min() >= 5  # each keeps the 5 ties it rewired itself
    assert not (p1 == p2).any()  # no self-ties
    pairs = np.minimum(p1, p2) * people + np.maximum(p1, p2)
    assert np.unique(pairs).size == pairs.size  # no tie twice
    ring = np.minimum(np.abs(p1 - p2), people - np.abs(p1 - p2)) <= 5
    assert ring.mean() < 0.01  # hardly any lattice tie left


def test_rewired_ring_degrees_are_those_of_the_sequential_generator():
    """The vectorised graph and `reference_graph` (networkx's order) give the same degree spread."""
    people = 5_000
    p1, p2 = peer.rewired_ring_edges(people, 10, np.random.default_rng(2))
    vectorised = np.bincount(p1, minlength=people) + np.bincount(p2, minlength=people)
    sequential = np.array([len(t) for t in peer.reference_graph(people, 10, np.random.default_rng(2))])
    assert abs(vectorised.std() - sequential.std()) < 0.1  # ~2.2 each: 5 + Poisson(5)


# ---------------------------------------------------------------------------------------------
# The network term, each peer's kernel against the statement


def small_world(people: int = 2_000, seed: int = 3):
    p1, p2 = peer.rewired_ring_edges(people, 10, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    offences = rng.gamma(0.5, 1.0, people)  # spread over the threshold
    offences[:50] = 0.0
    return p1, p2, offences


def stated(p1, p2, offences):
    people = offences.size
    ends = np.concatenate([p1, p2])
    order = np.argsort(ends, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(ends, minlength=people))]
    indices = np.concatenate([p2, p1])[order]
    return peer.stated_scores(offences, peer.adjacency_of(indptr, indices)), indptr, indices


def test_starsim_network_term_is_the_stated_one(starsim):
    p1, p2, offences = small_world()
    (pre, score, listed), _, _ = stated(p1, p2, offences)
    sums, degree = np.zeros(pre.size), np.zeros(pre.size, dtype=np.int64)
    starsim.neighbour_sums(p1, p2, pre.astype(np.float32), sums, degree)
    low, high, base = peer.PARAMS["scale"]
    mean = sums / degree
    theirs = np.clip(pre + peer.PARAMS["network_weight"] * (mean - base), low, high)
    np.testing.assert_allclose(theirs, score, atol=1e-3)  # float32 pre, as Starsim keeps it
    assert ((theirs < peer.PARAMS["threshold"]) == listed).mean() > 0.999


def test_laser_network_term_is_the_stated_one(laser):
    p1, p2, offences = small_world()
    (pre, score, listed), indptr, indices = stated(p1, p2, offences)
    pre32 = pre.astype(np.float32)
    theirs, blacklisted = np.zeros(pre.size, dtype=np.float32), np.zeros(pre.size, dtype=bool)
    low, high, base = peer.PARAMS["scale"]
    laser.blacklist_kernel(indptr, indices.astype(np.int32), pre32, theirs, blacklisted,
                           peer.PARAMS["network_weight"], peer.PARAMS["threshold"], low, high, base)
    np.testing.assert_allclose(theirs, score, atol=1e-3)
    assert (blacklisted == listed).mean() > 0.999


def test_laser_conduct_decays_counts_and_draws_the_stated_share_of_offences(laser):
    people = 200_000
    propensity = np.ones(people, dtype=np.float32)
    blacklisted = np.zeros(people, dtype=bool)
    blacklisted[: people // 2] = True
    offences, pre = np.full(people, 2.0, dtype=np.float32), np.zeros(people, dtype=np.float32)
    p = peer.PARAMS
    decay = 0.5 ** (1 / p["half_life_days"])
    low, high, base = p["scale"]
    total = laser.conduct_kernel(propensity, blacklisted, offences, pre, 0.2, 0.5, decay, p["points_per_offence"],
                                 low, high, base)
    offended = offences > 2.0 * decay + 0.5
    assert total == offended.sum()
    np.testing.assert_allclose(offences[~offended], 2.0 * decay, rtol=1e-6)
    # chance 1 - exp(-rate): 0.181 for the others, 0.095 for the blacklisted (rate halved)
    assert abs(offended[people // 2:].mean() - -np.expm1(-0.2)) < 0.005
    assert abs(offended[: people // 2].mean() - -np.expm1(-0.1)) < 0.005
    np.testing.assert_allclose(pre, np.clip(base + p["points_per_offence"] * offences, low, high), rtol=1e-6)


def test_each_peer_gives_the_same_figures_for_the_same_seed(starsim, laser):
    for run in (starsim.run_starsim, laser.run_laser):
        first, again, other = run(3_000, 10, 5), run(3_000, 10, 5), run(3_000, 10, 6)
        assert {k: first[k] for k in peer.MARGINS} == {k: again[k] for k in peer.MARGINS}
        assert first["mean_score"] != other["mean_score"]


# ---------------------------------------------------------------------------------------------
# Equivalence with socialcredit at the benchmark's size (80 seeds x 10,000 people x 60 days, with
# and without the network term: at the between-seed sds measured, ~0.4 points of share and score,
# the test has ~95% power for each figure, `peer_mesa.tost_power`)


@pytest.fixture(scope="module")
def socialcredit_runs():
    peers = load("peers")
    return {"with": peers.socialcredit_runs(peers.CHECK_PEOPLE, peers.CHECK_DAYS, peers.SEEDS),
            "without": peers.socialcredit_runs(peers.CHECK_PEOPLE, peers.CHECK_DAYS, peers.SEEDS,
                                               peers.without_network_term())}


def peer_figures(name: str, p: dict = peer.PARAMS) -> dict:
    peers = load("peers")
    return {"with": peers.peer_runs(name, peers.CHECK_PEOPLE, peers.CHECK_DAYS, peers.SEEDS, p),
            "without": peers.peer_runs(name, peers.CHECK_PEOPLE, peers.CHECK_DAYS, peers.SEEDS,
                                       peers.without_network_term(p))}


@pytest.mark.slow
def test_starsim_runs_the_same_model_as_socialcredit(starsim, socialcredit_runs):
    assert load("peers").compare("starsim", socialcredit_runs, peer_figures("starsim"))


@pytest.mark.slow
def test_laser_runs_the_same_model_as_socialcredit(laser, socialcredit_runs):
    assert load("peers").compare("laser", socialcredit_runs, peer_figures("laser"))


@pytest.mark.slow
def test_equivalence_fails_for_a_laser_model_whose_offence_rate_is_20_percent_higher(laser, socialcredit_runs):
    peers = load("peers")
    broken = peer_figures("laser", {**peer.PARAMS, "base_rate": peer.PARAMS["base_rate"] * 1.2})
    assert not peers.compare("laser (rate x1.2)", socialcredit_runs, broken)
    for figure in peers.MARGINS:
        a = [r[figure] for r in socialcredit_runs["with"]]
        b = [r[figure] for r in broken["with"]]
        result = peer.tost(a, b, peers.MARGINS[figure])
        assert result["high"] < -peers.MARGINS[figure] or result["low"] > peers.MARGINS[figure], figure


# ---------------------------------------------------------------------------------------------
# The roofline's tracing


def test_roofline_finds_what_each_phase_reads_and_writes():
    roofline = load("roofline")
    traffic, by_array = roofline.trace_traffic("default", 3_000, 3, 1)
    # behaviour draws from everyone's propensities and rates; scoring reads the records and writes
    # the scores; the network term reads the neighbour ids (one gather each)
    assert traffic["behaviour"]["read"] >= 4
    assert traffic["scoring"]["read"] > 0 and traffic["scoring"]["written"] > 0
    assert traffic["scoring"]["gathers"] > 0
    # a phase that does nothing in the default scenario touches nothing
    assert traffic["farming"] == {"read": 0.0, "written": 0.0, "gathers": 0.0}
    # each array is named by where it lives: the scores scoring writes are among them (the true
    # scores hold the recorded ones, `TrueScores.recorded`, so either name may be the one found)
    assert any(path.startswith("written sim.") and path.endswith((".scores.score", ".true_scores.recorded.score"))
               for path in by_array["scoring"])
    read = sum(v for k, v in by_array["scoring"].items() if k.startswith("read "))
    assert read == pytest.approx(traffic["scoring"]["read"])
