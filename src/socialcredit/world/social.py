"""Social response: people cut ties to those on a public list, and make new ties with people of
similar score, so isolation and segregation by score can be measured.

Cuts and new ties are queued and applied to the CSR graph in batches (`rebuild_every_days`),
never edited per edge in Python. Cuts queued after the last rebuild are left pending at the end,
so that the final graph is the one the final scores were computed with."""

from __future__ import annotations

import math

import numba
import numpy as np

from ..scenario.streams import KeyedDraws, keyed_uniform
from ..scoring.graph import PARALLEL_KERNELS
from ..sim.model import Sim
from ..sim.module import Module
from ..sim.schemes import SchemeState
from .consequences import disclosed_lists
from .display import Display

RANK_LEVELS = 32767  # scores ranked at 1/32767 of the scale: ample for "someone of similar score"
SHUNNED, REWIRED = range(2)  # the purposes of the social response's keyed draws


@numba.njit(cache=True, nogil=True, inline="always")
def _ties_cut(base: np.uint64, person: np.int64, degree: np.int64, chance: float) -> np.int64:  # pragma: no cover
    """How many of `person`'s `degree` ties are cut today, each with `chance`: Binomial(degree,
    chance) by its inverse distribution function at the person's own keyed uniform (key (person,
    0)), so that it depends on nobody else."""
    if chance >= 1.0:
        return degree
    if chance <= 0.0 or degree == 0:
        return 0
    u = keyed_uniform(base, person, 0)
    # The walk starts 12 standard deviations below the mean (at 0 for the few cuts of a usual
    # day): (1 - chance) ** degree underflows to 0 past degree x -log(1 - chance) ~ 745, which
    # would cut every tie. The mass below the start (under 1e-30) is below a uniform's resolution.
    mean = degree * chance
    k = max(np.int64(0), np.int64(mean - 12.0 * math.sqrt(mean * (1.0 - chance)) - 5.0))
    if k == 0:
        p = (1.0 - chance) ** degree
    else:
        p = math.exp(math.lgamma(degree + 1.0) - math.lgamma(k + 1.0) - math.lgamma(degree - k + 1.0)
                     + k * math.log(chance) + (degree - k) * math.log1p(-chance))
    total = p
    odds = chance / (1.0 - chance)
    while u >= total and k < degree:
        p *= (degree - k) / (k + 1) * odds
        k += 1
        total += p
    return k


@numba.njit(parallel=True, cache=True, nogil=True)
def keyed_cuts(base: np.uint64, indptr: np.ndarray, indices: np.ndarray, shown: np.ndarray,
               chance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """The ties cut today, (listed, cutter): each tie of each person in `shown` with that person's
    `chance`, independently. Drawn per person from keyed uniforms (`KeyedDraws`): how many of their
    ties (`_ties_cut`), then which, as a uniform choice without repeats among them (a partial
    Fisher-Yates shuffle of their tie list, the r-th pick at key (person, r + 1)). That is one
    Bernoulli trial per tie, and a person's cuts depend only on their own ties and chance: a
    paired twin in which someone else is listed or not cuts the same ties of everyone else."""
    m = shown.shape[0]
    count = np.empty(m, dtype=np.int64)
    for k in numba.prange(m):
        person = shown[k]
        count[k] = _ties_cut(base, person, indptr[person + 1] - indptr[person], chance[k])
    start = np.zeros(m + 1, dtype=np.int64)
    for k in range(m):
        start[k + 1] = start[k] + count[k]
    listed = np.empty(start[m], dtype=np.int64)
    cutter = np.empty(start[m], dtype=np.int64)
    for k in numba.prange(m):
        if count[k] == 0:
            continue
        person = shown[k]
        first, degree = indptr[person], indptr[person + 1] - indptr[person]
        order = np.arange(degree)
        for r in range(count[k]):
            pick = r + np.int64(keyed_uniform(base, person, r + 1) * (degree - r))
            order[r], order[pick] = order[pick], order[r]
            listed[start[k] + r] = person
            cutter[start[k] + r] = indices[first + order[r]]
    return listed, cutter


def rank_by_score(score: np.ndarray, low: float, span: float, by_score: np.ndarray, rank: np.ndarray,
                  parts: int | None = None) -> None:
    """People in order of score at RANK_LEVELS levels of the scale, ties in id order (a counting
    sort: what a stable argsort of the levels gives), into `by_score`, and each one's place in
    it into `rank`. A level is round((score - low) / span x RANK_LEVELS), as NumPy rounds. By
    `parts` threads (default: every thread from 2**18 people), a range of ids each: the same
    order whatever their number."""
    if parts is None:
        parts = numba.get_num_threads() if score.shape[0] >= 1 << 18 else 1
    level = np.empty(score.shape[0], dtype=np.int16)  # RANK_LEVELS fits
    with PARALLEL_KERNELS:
        _rank_by_score(score, low, span, by_score, rank, level, parts)


@numba.njit(parallel=True, cache=True, nogil=True)
def _rank_by_score(score: np.ndarray, low: float, span: float, by_score: np.ndarray, rank: np.ndarray,
                   level: np.ndarray, parts: int) -> None:  # pragma: no cover
    """`rank_by_score`: each range of ids counts its people at each level (kept in `level`), then
    places them from where the people of that level in the ranges before it end."""
    n = score.shape[0]
    start = np.zeros((parts, RANK_LEVELS + 1), dtype=np.int64)
    for part in numba.prange(parts):
        count = start[part]
        for i in range(part * n // parts, (part + 1) * n // parts):
            level[i] = min(max(np.int32(np.rint((score[i] - low) / span * RANK_LEVELS)), 0), RANK_LEVELS)
            count[level[i]] += 1
    place = 0
    for at in range(RANK_LEVELS + 1):  # the counts become where each range's people of a level go
        for part in range(parts):
            count = start[part, at]
            start[part, at] = place
            place += count
    for part in numba.prange(parts):
        next_place = start[part]
        for i in range(part * n // parts, (part + 1) * n // parts):
            at = next_place[level[i]]
            next_place[level[i]] = at + 1
            by_score[at] = i
            rank[i] = at


def on_display(sim: Sim, state: SchemeState, name: str) -> np.ndarray:
    """Who is shown on disclosed list `name` of `state` now: its members, less those who paid to be
    taken off its display (`display.py`); its own array where it has no fee (not to be changed)."""
    display = sim.module(Display)
    return display.on_display(state, name) if display is not None else state.listed[name]


def disclosure(sim: Sim) -> np.ndarray:
    """Per person, the largest share of ties that see them on a disclosed list's display today (of any
    scheme)."""
    seen: np.ndarray | None = None
    for state, name, share in disclosed_lists(sim).values():
        shown = share * on_display(sim, state, name)  # float64 from a bool array: one pass
        seen = shown if seen is None else np.maximum(seen, shown, out=seen)
    return seen if seen is not None else np.zeros(sim.n)


def shown(sim: Sim, only: SchemeState | None = None) -> np.ndarray:
    """Who is on a disclosed list today (`disclosure(sim) > 0`, without its shares): of any scheme,
    or of scheme `only`. With one disclosed list, its own array: not to be changed."""
    out: np.ndarray | None = None
    disclosed = [(state, name) for state, name, _ in disclosed_lists(sim).values() if only in (None, state)]
    if len(disclosed) == 1:
        state, name = disclosed[0]
        return on_display(sim, state, name)
    for state, name in disclosed:
        member = on_display(sim, state, name)
        out = member.copy() if out is None else np.logical_or(out, member, out=out)
    return out if out is not None else np.zeros(sim.n, dtype=bool)


def seen_on_lists(sim: Sim) -> tuple[np.ndarray, np.ndarray]:
    """Who is seen on a disclosed list today (ids, increasing) and the share of their ties who
    see them (`disclosure`, at the people it is not 0 for); with one list, without a pass of floats."""
    disclosed = disclosed_lists(sim)
    if len(disclosed) == 1:
        state, name, share = next(iter(disclosed.values()))
        ids = np.flatnonzero(on_display(sim, state, name))
        return ids, np.full(ids.size, share * 1.0)  # as share x True
    seen = disclosure(sim)
    ids = np.flatnonzero(seen > 0)
    return ids, seen[ids]


class SocialResponse(Module):
    name = "social"
    params = ("social", "consequences")
    state_fields = ("pending", "by_score", "rank", "ties_cut", "ties_made")

    def __init__(self, sim: Sim):
        self.spec = sim.scenario.social
        self.pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.by_score: np.ndarray | None = None  # person ids ordered by score, refreshed on rebuild
        self.rank: np.ndarray | None = None
        self.ties_cut = 0
        self.ties_made = 0

    def visibility(self, sim: Sim) -> tuple[np.ndarray, np.ndarray]:
        """Who is seen on a disclosed list (ids) and the share of their ties who see them."""
        return seen_on_lists(sim)

    def start_reporting(self, sim: Sim) -> None:
        self.ties_cut = self.ties_made = 0

    def step(self, sim: Sim, day: int) -> None:
        if self.spec.shun_listed > 0 and any(state.scores is not None for state in sim.schemes):
            self._shun(sim, day)
        # Never on the last day: the final graph stays the one the final scores were computed with.
        if (day + 1) % self.spec.rebuild_every_days == 0 and day < sim.days - 1:
            self._rebuild(sim)

    def _shun(self, sim: Sim, day: int) -> None:
        """Each tie of each person seen on a disclosed list is cut today with chance shun_listed x
        the share of ties who see them: drawn per person (`keyed_cuts`), not per tie (a year into a
        harsh scheme a tenth of a million people may be listed: a draw per tie would be a million a
        day), from draws keyed by who is cut and by whom, so that a paired twin cuts the same ties."""
        shown, seen = self.visibility(sim)
        if not shown.size:
            return
        graph = sim.graph
        chance = np.ascontiguousarray(self.spec.shun_listed * seen, dtype=np.float64)
        with PARALLEL_KERNELS:
            listed, cutter = keyed_cuts(KeyedDraws(sim.seed, "social", day, SHUNNED).base, graph.indptr,
                                        graph.indices, np.ascontiguousarray(shown, dtype=np.int64), chance)
        if not listed.size:
            return
        new_a = np.zeros(0, np.int64)
        new_b = np.zeros(0, np.int64)
        if self.spec.rewire:
            new_a, new_b = self.new_ties(sim, KeyedDraws(sim.seed, "social", day, REWIRED), cutter, listed)
        self.pending.append((listed, cutter, new_a, new_b))

    def new_ties(self, sim: Sim, draws: KeyedDraws, cutter: np.ndarray,
                 cut_from: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The new ties of those who cut one (`cutter`, who cut their tie to `cut_from`): each to
        someone within `similarity_window` of their own score rank (also for ties pruned,
        `world/pruning.py`), at a draw keyed by the tie cut."""
        if self.rank is None or self.by_score is None:
            self._refresh_ranking(sim)
        assert self.rank is not None and self.by_score is not None
        window = max(1, int(self.spec.similarity_window * sim.n))
        shift = (draws.uniforms(cutter, cut_from) * (2 * window + 1)).astype(np.int64) - window
        return cutter, self.by_score[np.clip(self.rank[cutter] + shift, 0, sim.n - 1)]

    def _refresh_ranking(self, sim: Sim) -> None:
        """People ranked by the score of the scenario's first scheme (with several, the one new ties
        follow)."""
        first = sim.schemes[0]
        score = first.scores.score if first.scores is not None else np.zeros(sim.n)
        scale = first.scheme.scale
        if self.by_score is None or self.rank is None:
            index_type = sim.graph.indices.dtype  # int32 up to 2**31 people
            self.by_score = np.empty(sim.n, dtype=index_type)
            self.rank = np.empty(sim.n, dtype=index_type)
        rank_by_score(np.ascontiguousarray(score, dtype=np.float64), float(scale.min), float(scale.max - scale.min),
                      self.by_score, self.rank)

    def _rebuild(self, sim: Sim) -> None:
        if self.pending:
            remove_a, remove_b, add_a, add_b = (np.concatenate(part) for part in zip(*self.pending, strict=True))
            # The ties edited where they are stored: the week's peak of memory was the old graph and
            # the new one held at once. The metrics' worker may still read the old one: waited for.
            from .metrics import Metrics  # (metrics imports this module)

            metrics = sim.module(Metrics)
            if metrics is not None:
                metrics.wait_for_slow_figures()
            sim.graph = sim.graph.edited_in_place(remove_a, remove_b, add_a, add_b)
            self.ties_cut += int(remove_a.size)
            self.ties_made += int(add_a.size)
            self.pending.clear()
        if sim.schemes[0].scores is not None:
            self._refresh_ranking(sim)
