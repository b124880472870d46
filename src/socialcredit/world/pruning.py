"""Pruning friends (issue 20, "Gaming and approval seeking"): under a scheme with a network term,
people cut ties to low scorers to protect their own score. Not shunning (`world/social.py`), which
answers a public list: pruning answers what a tie costs, and falls on people on no list at all.

The network term gives person i `weight x (mean of the neighbours' pre - base)`, so dropping
neighbour j (of i's k ties) changes i's score by `weight x (mean - pre_j) / (k - 1)` (for k = 1,
by `weight x (base - pre_j)`: alone, the term is 0). That, in percentage points of the scale and
summed over the schemes with a network term, is what the tie costs i; a tie that raises one's
score costs nothing. Each day i cuts the tie with chance

    min(1, gaming.pruning.rate x psi x group_factor x cost)

`psi` being i's own pruning propensity (gamma, mean 1, variance `heterogeneity`, drawn once). Costs
are worked out from the latest scores (made again when a scheme rescores or the graph changes), and
cuts go to the social response's queue, applied with shunning's at its next rebuild; the pruner makes
a new tie as one who shuns does (`social.rewire`, `similarity_window`).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..analysis.who import by_quintile_and_group, quintile_of
from ..scenario.streams import KeyedDraws, PersonStreams, keyed_uniform
from ..scoring.graph import PARALLEL_KERNELS
from ..sim.model import Sim
from ..sim.module import Module
from ..sim.schemes import SchemeState
from ..undefined import put
from .social import SocialResponse

CUT, REWIRED = range(2)  # the purposes of pruning's keyed draws


@numba.njit(parallel=True, cache=True, nogil=True)
def keyed_prunes(base: np.uint64, indptr: np.ndarray, indices: np.ndarray,
                 chance: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Which ties (CSR positions) are cut today, each with its own `chance`: a uniform per tie that
    may be cut, keyed by (owner, other end), so that a tie's draw depends on nobody else's ties."""
    n = indptr.shape[0] - 1
    cut = np.zeros(chance.shape[0], dtype=np.bool_)
    for owner in numba.prange(n):
        for entry in range(indptr[owner], indptr[owner + 1]):
            if chance[entry] > 0.0 and keyed_uniform(base, owner, indices[entry]) < chance[entry]:
                cut[entry] = True
    return cut


def tie_costs(state: SchemeState, indptr: np.ndarray, indices: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """What each tie (CSR position: owner -> indices) costs its owner in scheme `state`'s score, in
    percentage points of its scale: the score the owner would gain without it (negative where the
    tie raises their score). The unscored count at the scale's base, as the term reads them."""
    scheme = state.scheme
    assert state.scores is not None and scheme.network is not None
    scale = scheme.scale
    pre = np.nan_to_num(state.scores.pre, nan=float(scale.base))
    degree = np.diff(indptr).astype(np.float64)
    neighbour_pre = pre[indices]
    mean = np.bincount(owner, weights=neighbour_pre, minlength=pre.shape[0]) / np.maximum(degree, 1)
    k = degree[owner]
    change = np.where(k > 1, (mean[owner] - neighbour_pre) / np.maximum(k - 1, 1), float(scale.base) - neighbour_pre)
    return float(scheme.network.weight) * change / float(scale.max - scale.min) * 100


class Pruning(Module):
    name = "pruning"
    params = ("gaming",)
    state_fields = ("pruned", "lost", "low_unlisted_cut")
    cache_fields = ("chance", "made_for")

    def __init__(self, sim: Sim):
        spec = sim.scenario.gaming.pruning
        self.networked = [state for state in sim.schemes if state.scheme.network is not None]
        self.active = bool(self.networked) and spec.rate > 0
        if not self.active:
            return
        h = spec.heterogeneity
        psi = (np.ones(sim.n) if h == 0 else PersonStreams(sim.seed, "pruning", -1, sim.n, sim.chunk, part=0)
               .draw(lambda g, size: g.gamma(1 / h, h, size)))
        factors = np.array([spec.group_factor.get(g, 1.0) for g in sim.people.group_names])
        self.weight = spec.rate * psi * factors[sim.people.group]
        self.chance: np.ndarray | None = None
        self.made_for: tuple | None = None
        self.pruned = np.zeros(sim.n, dtype=np.int32)  # ties each person cut (reported days)
        self.lost = np.zeros(sim.n, dtype=np.int32)    # ties others cut from them
        self.low_unlisted_cut = 0  # of the ties cut, those whose other end ends the run a low scorer on no list

    def start_reporting(self, sim: Sim) -> None:
        if self.active:
            self.pruned[:] = 0
            self.lost[:] = 0

    def step(self, sim: Sim, day: int) -> None:
        if not self.active or any(state.scores is None for state in self.networked):
            return
        graph = sim.graph
        made_for = (graph, tuple(state.scored_version for state in self.networked))
        if self.chance is None or self.made_for is None or self.made_for[0] is not graph or \
                self.made_for[1] != made_for[1]:
            indptr, indices = graph.indptr.astype(np.int64), graph.indices
            owner = np.repeat(np.arange(sim.n), np.diff(indptr))
            cost = sum(tie_costs(state, indptr, indices, owner) for state in self.networked)
            self.chance = np.minimum(self.weight[owner] * np.maximum(cost, 0.0), 1.0)
            self.made_for = made_for
        chance = self.chance
        top = float(chance.max()) if chance.size else 0.0
        if top <= 0:
            return
        # A draw per tie that may be cut (costs and chances differ tie by tie), keyed by the tie.
        with PARALLEL_KERNELS:
            cut = keyed_prunes(KeyedDraws(sim.seed, "pruning", day, CUT).base, graph.indptr, graph.indices, chance)
        positions = np.flatnonzero(cut)
        if not positions.size:
            return
        chance[positions] = 0.0  # cut: not cut again before the graph is rebuilt
        owner = np.searchsorted(graph.indptr, positions, side="right").astype(np.int64) - 1
        other = graph.indices[positions].astype(np.int64)
        social = sim.module(SocialResponse)
        assert social is not None
        new_a = new_b = np.zeros(0, np.int64)
        if social.spec.rewire:
            new_a, new_b = social.new_ties(sim, KeyedDraws(sim.seed, "pruning", day, REWIRED), owner, other)
        social.pending.append((owner, other, new_a, new_b))
        if day >= 0:
            np.add.at(self.pruned, owner, np.int32(1))
            np.add.at(self.lost, other, np.int32(1))

    def low_unlisted(self, sim: Sim) -> np.ndarray:
        """Low scorers on no list: the bottom fifth by own record (`pre` of the first scheme with a
        network term, at the end), of those on no list of any scheme (honour lists aside)."""
        state = self.networked[0]
        assert state.scores is not None
        pre = np.nan_to_num(state.scores.pre, nan=float(state.scheme.scale.base))
        unlisted = np.ones(sim.n, dtype=bool)
        for each in sim.schemes:
            for name, member in each.listed.items():
                if name not in each.scheme.honour_lists:
                    unlisted &= ~member
        return (quintile_of(pre) == 0) & unlisted

    def people_columns(self, sim: Sim, part: slice) -> dict[str, np.ndarray]:
        if not self.active:
            return {}
        return {"ties_pruned": self.pruned[part], "ties_lost_to_pruning": self.lost[part]}

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        """summary.json's `gaming.pruning`: ties pruned, who prunes, and what it does to low scorers on
        no list (their ties at the start and end, and the share left with none) against everyone else."""
        if not self.active:
            return
        people = sim.people
        groups = people.group_names
        sizes = dict(zip(groups, np.bincount(people.group, minlength=len(groups)).tolist(), strict=True))
        low = self.low_unlisted(sim)
        degree, initial = sim.graph.degree, sim.initial_degree
        total = int(self.pruned.sum())
        pruners: dict[str, Any] = {"share": float((self.pruned > 0).mean())}
        by_quintile_and_group(pruners, (self.pruned > 0).astype(np.float64), quintile_of(people.income_initial),
                              people.group, groups, sizes)
        section: dict[str, Any] = {"ties_pruned": total,
                                   "ties_pruned_per_person_year": total / (sim.n * sim.days / 365),
                                   "pruners": pruners}
        put(section, "pruned_ties_to_low_unlisted_share", float(self.lost[low].sum()) / total if total else None,
            "no tie was pruned")
        for key, who in (("low_unlisted", low), ("others", ~low)):
            figure: dict[str, Any] = {"people": int(who.sum())}
            for name, value in (("mean_degree_initial", initial[who].mean() if who.any() else None),
                                ("mean_degree_final", degree[who].mean() if who.any() else None),
                                ("isolated_share", (degree[who] == 0).mean() if who.any() else None),
                                ("ties_lost_to_pruning_mean", self.lost[who].mean() if who.any() else None)):
                put(figure, name, None if value is None else float(value), "no one is in this set at the end")
            section[key] = figure
        section["low_unlisted"]["definition"] = ("the bottom fifth by own record (pre) of the first scheme with a "
                                                 "network term at the end, on no list of any scheme (honour lists "
                                                 "aside)")
        summary.setdefault("gaming", {})["pruning"] = section  # its report section: runner/gaming_report.py
