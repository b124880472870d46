"""Behaviour: what people really do each day (true events), drawn for everyone at once.

A person's daily rate of an act is their personal rate (base rate x propensity x group factor),
raised by economic stress, lowered by deterrence, and gated by the consequences in force:

    rate = base * propensity * group * (median_income / income) ** stress
           * exp(-deterrence * p_observed * stake) * effect multipliers,  0 if a required entitlement is denied

`p_observed` is the chance that this person's act of this kind is recorded and attributed to them:
their district's coverage by each source that observes the kind, times the chance that source's
identification neither misses nor mismatches it and no record error moves it (`_observed_chance`).
`stake` is what one more act would cost the person in percentage points of the scale, computed by
the scoring core itself from the same records and rules: the score from today's records with one
more such event against the score from the same records without it (not the last published score,
which a scheme that rescores monthly leaves weeks behind the records), plus SANCTION_WEIGHT points
for each entitlement it would cost them, and SANCTION_WEIGHT x the share of ties who would see it
for each disclosed list it would put them on. A negative stake (a reward, as for volunteering)
raises the rate: the scheme encourages the act. People re-assess stakes every
`perception_every_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from ..parallel import parallel_map
from ..scenario.identification import load_profile
from ..scenario.streams import GOLDEN_GAMMA, KeyedDraws, mix64
from ..scheme import SPECIAL_CATEGORIES
from ..scoring import core
from ..scoring.core import score_slices, slices
from ..sim.events import DayEvents
from ..sim.model import Sim
from ..sim.module import Module, ReportRow
from ..sim.schemes import SchemeState
from .consequences import disclosed_lists, entitlement_effects

SANCTION_WEIGHT = 10.0  # assumption: losing an entitlement weighs like 10% of the scale in people's minds
MAX_MULTIPLIER = 10.0   # a reward can at most multiply a rate tenfold
MAX_RATE = 30.0         # acts per day: a chance of 1 - 1e-13, certain in all but name
BLOCK = 256              # people per block of arrivals (see Behaviour.acts)
RUN_BLOCKS = 64          # blocks a thread takes at a time in the parallel passes (16,384 people)
HALF_UNIT = 1.0 / (1 << 32)
LOW_HALF = np.uint64(0xFFFFFFFF)
# The place of a word's lowest set bit from its product with a de Bruijn sequence (Leiserson, Prokop
# & Randall 1998): the 64 six-bit windows of DE_BRUIJN_WORD are all different.
DE_BRUIJN_WORD = np.uint64(0x03F79D71B4CB0A89)
DE_BRUIJN = np.zeros(64, dtype=np.int64)
DE_BRUIJN[[((1 << bit) * 0x03F79D71B4CB0A89 % (1 << 64)) >> 58 for bit in range(64)]] = np.arange(64)


def act_values(draws: KeyedDraws, who: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """The values of the acts of `who` (one each), uniform in `bounds`, whole numbers where both
    bounds are (stars, hours); keyed by the person, so nobody else's acts move them."""
    low, high = bounds
    if high == low:
        return np.full(who.size, float(low))
    uniforms = draws.uniforms(who)
    if float(low).is_integer() and float(high).is_integer():
        return np.minimum(low + np.floor(uniforms * (high - low + 1)), high)
    return low + uniforms * (high - low)


def block_bounds(rate: np.ndarray, block: int) -> np.ndarray:
    """Each block's largest rate (float32 rates): the level its candidate arrivals are drawn up to
    (see `keyed_arrivals`). NaN where a rate is NaN, so that drawing the block's arrivals fails rather
    than skip them; 0 for a block without a positive rate."""
    bounds = np.empty(-(-rate.shape[0] // block), dtype=np.float32)
    block_bounds_into(rate, block, bounds)
    return bounds


@numba.njit(cache=True, nogil=True, inline="always")
def largest_bits(bits: np.ndarray) -> np.int32:  # pragma: no cover
    """The bits of the largest of the float32 rates whose bits are `bits` (int32), NumPy's NaN's
    if one is NaN: a float of sign bit 0 orders as its bits do as an integer, and one of sign bit 1
    (negative, -0.0, a NaN of either sign) is an integer below 0, the start, so the largest integer
    is the bits of the largest rate (or of +0.0). Integer max and or vectorise; a float max with
    its NaN rules does not (a third of the time of the float loop at a million)."""
    largest = np.int32(0)
    nan = np.int32(0)
    for i in range(bits.shape[0]):
        value = bits[i]
        largest = max(largest, value)
        nan |= np.int32((value & np.int32(0x7FFFFFFF)) > np.int32(0x7F800000))
    return np.int32(0x7FC00000) if nan else largest  # NumPy's NaN


@numba.njit(cache=True, nogil=True)
def block_bounds_into(rate: np.ndarray, block: int, out: np.ndarray) -> None:  # pragma: no cover
    """`block_bounds` of the float32 `rate` into `out`, from the rates' bits (`largest_bits`)."""
    bits, out_bits = rate.view(np.int32), out.view(np.int32)
    for b in range(out.shape[0]):
        out_bits[b] = largest_bits(bits[b * block:(b + 1) * block])


@numba.njit(cache=True, nogil=True, inline="always")
def bit_count(word: np.uint64) -> np.int64:  # pragma: no cover
    """The number of bits set in `word` (the SWAR count: Hacker's Delight, 5-2)."""
    word = word - ((word >> np.uint64(1)) & np.uint64(0x5555555555555555))
    word = (word & np.uint64(0x3333333333333333)) + ((word >> np.uint64(2)) & np.uint64(0x3333333333333333))
    word = (word + (word >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((word * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(parallel=True, cache=True, nogil=True)
def keyed_arrivals(rate: np.ndarray, bound: np.ndarray, block: int, base: np.uint64) -> np.ndarray:  # pragma: no cover
    """The ids (increasing, each once) of those with at least one arrival of a Poisson process of
    their own `rate` today, every person's outcome a function of their own rate and the key alone.

    Block k (ids k x block ..., at most `block` <= 256 of them, `size`) has one Poisson process of
    rate `size` in level, its candidates in level order: candidate j of the block is one 64-bit word
    keyed by (base, k, j) (`scenario.streams`' SplitMix64), whose high half gives the exponential gap
    to its level (gap / size) and whose low half its person, each equally likely; a candidate below
    its person's rate is an arrival of theirs. The candidates are drawn up to the block's `bound` (at
    least any rate of the block; see `Behaviour.acts` for NaN) and never depend on anyone's rate, so
    a person whose rate changes (in a paired twin, say) changes no one else's arrivals (common random
    numbers). Who arrived is marked in a bitmap of the block.

    Blocks are drawn a run of RUN_BLOCKS at a time on each thread, each marking its own bitmap, and
    each run counts its arrivals (the bits set); then each run reads its bitmaps out in id order at
    its place among all the arrivals (the counts of the runs before it). Each block's outcome is its own:
    the same ids whatever the threads."""
    people = rate.shape[0]
    blocks = bound.shape[0]
    runs = -(-blocks // RUN_BLOCKS)
    marks = np.zeros(4 * blocks, dtype=np.uint64)  # block k's bitmap: words 4k to 4k + 3
    start = np.zeros(runs + 1, dtype=np.int64)  # run r's arrivals: start[r + 1] counted, then where they go
    for run in numba.prange(runs):
        found = 0
        for k in range(run * RUN_BLOCKS, min((run + 1) * RUN_BLOCKS, blocks)):
            ceiling = np.float64(bound[k])
            if not ceiling > 0:
                continue
            low = k * block
            size = min(low + block, people) - low
            per_level = 1.0 / size
            stream = mix64(base + np.uint64(k) * GOLDEN_GAMMA + GOLDEN_GAMMA)
            level = 0.0
            j = np.uint64(0)
            while True:
                j += np.uint64(1)
                word = mix64(stream + j * GOLDEN_GAMMA)
                level -= np.log((np.float64(word >> np.uint64(32)) + 0.5) * HALF_UNIT) * per_level
                if level >= ceiling:
                    break
                slot = np.int64(((word & LOW_HALF) * np.uint64(size)) >> np.uint64(32))
                # marked without a branch: whether a candidate arrives is a coin toss to the processor
                arrived = np.uint64(level < rate[low + slot])
                marks[4 * k + (slot >> 6)] |= arrived << np.uint64(slot & 63)
            for w in range(4):
                found += bit_count(marks[4 * k + w])
        start[run + 1] = found
    for run in range(runs):
        start[run + 1] += start[run]
    out = np.empty(start[runs], dtype=np.int64)
    for run in numba.prange(runs):
        at = start[run]
        for k in range(run * RUN_BLOCKS, min((run + 1) * RUN_BLOCKS, blocks)):
            for w in range(4):
                bits = marks[4 * k + w]
                while bits:
                    lowest = bits & (~bits + np.uint64(1))
                    out[at] = k * block + w * 64 + DE_BRUIJN[(lowest * DE_BRUIJN_WORD) >> np.uint64(58)]
                    at += 1
                    bits ^= lowest
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def rate_under_strain(rate: float, propensity: float, factor: float, income: float, median: float,
                      stress: int) -> float:  # pragma: no cover
    """One person's rate x propensity x their group's factor (1.0 where no group has another: the
    same number as none) x (median / max(income, 1)) ** stress: `Behaviour.base`'s operations,
    then the ratio multiplied by itself. Numbers in, not arrays (an array handed to an inlined
    function is counted in and out at each person, which stops the loop vectorising), and the
    presets' stresses, 1 and 2, written out (a loop inside stops it too)."""
    value = rate * np.float64(propensity) * factor
    ratio = median / max(income, 1.0)
    if stress == 1:
        return value * ratio
    if stress == 2:
        return value * (ratio * ratio)
    strain = ratio
    for _ in range(stress - 1):
        strain = strain * ratio
    return value * strain


@numba.njit(cache=True, nogil=True)
def strained_base(rate: float, propensity: np.ndarray, factors: np.ndarray, group: np.ndarray, grouped: bool,
                  income: np.ndarray, median: float, stress: int) -> np.ndarray:  # pragma: no cover
    """`rate_under_strain` for everyone of the arrays, for a whole stress, in one pass."""
    out = np.empty(propensity.shape[0], dtype=np.float64)
    for i in range(propensity.shape[0]):
        out[i] = rate_under_strain(rate, propensity[i], factors[group[i]] if grouped else 1.0, income[i], median,
                                   stress)
    return out


@numba.njit(cache=True, nogil=True)
def strained_run(rate: float, propensity: np.ndarray, factors: np.ndarray, group: np.ndarray, grouped: bool,
                 income: np.ndarray, median: float, stress: int, most: float,
                 out: np.ndarray) -> None:  # pragma: no cover
    """`strained_base`, at most `most`, as float32 into `out`: one run of `strained_rate32`, a
    function of its own (inside the parallel loop's body the loop does not vectorise)."""
    for i in range(out.shape[0]):
        value = rate_under_strain(rate, propensity[i], factors[group[i]] if grouped else 1.0, income[i], median,
                                  stress)
        out[i] = np.float32(most if value > most else value)


@numba.njit(parallel=True, cache=True, nogil=True)
def strained_rate32(rate: float, propensity: np.ndarray, factors: np.ndarray, group: np.ndarray, grouped: bool,
                    income: np.ndarray, median: float, stress: int, most: float, block: int, out: np.ndarray,
                    bound: np.ndarray) -> None:  # pragma: no cover
    """`strained_base`, at most `most`, written as float32 into `out`, with each block's bound
    (`block_bounds`) into `bound`: a day's rates of an act that only income strain moves (no
    deterrence, no consequence), in one pass rather than five, a run of RUN_BLOCKS blocks at a time
    on each thread (each person's rate, and each block's bound, its own: the same whatever the
    threads)."""
    n = out.shape[0]
    blocks = bound.shape[0]
    for run in numba.prange(-(-blocks // RUN_BLOCKS)):
        first, last = run * RUN_BLOCKS, min((run + 1) * RUN_BLOCKS, blocks)
        low, high = first * block, min(last * block, n)
        strained_run(rate, propensity[low:high], factors, group[low:high], grouped, income[low:high], median, stress,
                     most, out[low:high])
        block_bounds_into(out[low:high], block, bound[first:last])


@numba.njit(cache=True, nogil=True)
def deterrence_exponent(weight: float, stakes: np.ndarray, most: float, out: np.ndarray) -> None:  # pragma: no cover
    """`_rate`'s exponent, min(weight x stake, most), into `out` (float64), as NumPy makes it from
    the weight (-deterrence x the recorded chance, one number) and the float32 stakes: their
    product in float32, then the minimum in float64 (NaN kept, as np.minimum keeps it)."""
    factor = np.float32(weight)
    for i in range(stakes.shape[0]):
        value = np.float64(factor * stakes[i])
        out[i] = value if (value < most or value != value) else most


@numba.njit(cache=True, nogil=True)
def deterred_rates(rate: float, propensity: np.ndarray, factors: np.ndarray, group: np.ndarray, grouped: bool,
                   income: np.ndarray, median: float, stress: int, multiplier: np.ndarray, most: float,
                   out: np.ndarray, negated: np.ndarray, negated_undeterred: np.ndarray) -> None:  # pragma: no cover
    """`_rate` of a deterred act that no consequence gates, in one pass: the personal rate (strained
    by a whole `stress`, or none) x the deterrence `multiplier`, at most `most`, as float32 into
    `out`, and its negation in float64 into `negated` (for the expected acts); where
    `negated_undeterred` has room, the negated rate without the multiplier. NumPy's operations in
    NumPy's order (minimum keeping NaN)."""
    undeterred = negated_undeterred.shape[0] > 0
    for i in range(propensity.shape[0]):
        factor = factors[group[i]] if grouped else 1.0
        if stress > 0:
            value = rate_under_strain(rate, propensity[i], factor, income[i], median, stress)
        else:
            value = rate * np.float64(propensity[i]) * factor
        if undeterred:
            negated_undeterred[i] = -(value if (value < most or value != value) else most)
        value = value * multiplier[i]
        value = value if (value < most or value != value) else most
        negated[i] = -value
        out[i] = np.float32(value)


def whole_stress(stress: float) -> bool:
    """Whether strain is worked out by multiplication (`strained_base`): a whole stress, 1 to 4."""
    return bool(stress) and float(stress).is_integer() and 1 <= stress <= 4


@numba.njit(cache=True, nogil=True)
def stake_of(score: np.ndarray, score_after: np.ndarray, span: float, weight: float, allowed: np.ndarray,
             allowed_after: np.ndarray, shown_weight: np.ndarray, shown: np.ndarray, shown_after: np.ndarray,
             out: np.ndarray) -> None:  # pragma: no cover
    """What one more act would cost each person, into `out` (float32): the score it takes, in
    percent of the scale's `span`; `weight` for each entitlement it would cost (rows of `allowed`,
    now and after) less `weight` for each it would grant; `shown_weight[l]` for each disclosed list
    it would put them on (rows of `shown`). NumPy's operations in NumPy's order."""
    n = score.shape[0]
    stake = np.empty(n)
    for i in range(n):  # a pass per term, each one a loop the compiler vectorises
        stake[i] = (score[i] - score_after[i]) / span * 100
    for e in range(allowed.shape[0]):  # (for booleans, a > b is a and not b)
        lost, granted = allowed[e], allowed_after[e]
        for i in range(n):
            stake[i] += weight * np.float64(lost[i] > granted[i])
        for i in range(n):
            stake[i] -= weight * np.float64(granted[i] > lost[i])
    for row in range(shown.shape[0]):
        before, now_shown = shown[row], shown_after[row]
        for i in range(n):
            stake[i] += shown_weight[row] * np.float64(now_shown[i] > before[i])
    for i in range(n):
        out[i] = np.float32(stake[i])


@dataclass
class SchemeStake:
    """A scheme that would learn of an act of a kind, and weigh it: the chance it is recorded and
    attributed to the actor by a source reaching the scheme (by district, or one number), and what
    one more act would cost each person there (float32, refilled at each assessment)."""

    state: SchemeState
    chance: np.ndarray | float
    stakes: np.ndarray

    def recorded_chance(self, sim: Sim, part: slice) -> np.ndarray | float:
        """The chance for the people of `part` (by their district)."""
        chance = self.chance
        chance = chance if isinstance(chance, float) else chance[sim.people.district[part]]
        enrolled = self.state.enrolled  # a scheme learns nothing of those it has not enrolled
        return chance if enrolled is None else chance * enrolled[part]


class Behaviour(Module):
    name = "behaviour"
    params = ("behaviours", "surveillance", "consequences")
    state_fields = ("weighed_by", "stakes_version", "assessed_day", "expected_acts", "expected_undeterred",
                    "expected_blocked", "daily_acts", "daily_undeterred", "daily_blocked")
    cache_fields = ("rate", "bound", "chance_inputs")

    def __init__(self, sim: Sim):
        scenario = sim.scenario
        self.kinds = sorted(scenario.behaviours)  # fixed order: the random draws depend on it
        self.specs = [scenario.behaviours[k] for k in self.kinds]
        self.codes = np.array([sim.codes[k] for k in self.kinds], dtype=np.int16)
        groups = sim.people.group_names
        self.group_factors = [np.array([spec.group_factor.get(g, 1.0) for g in groups]) for spec in self.specs]
        self.grouped = [bool((factors != 1.0).any()) for factors in self.group_factors]  # else no gather
        self.median_income = float(np.median(sim.people.income_initial))
        # consequences that shift behaviour: (scheme, entitlement, consequence) by qualified name
        self.effects = entitlement_effects(sim)
        # Per kind, the schemes that would learn of an act and weigh it: those that declare the kind
        # and receive a source that may record and attribute it (a deterred kind only), each with the
        # chance it does and the stakes it sets (`SchemeStake`).
        self.weighed_by: list[list[SchemeStake]] = []
        for kind, spec in zip(self.kinds, self.specs, strict=True):
            weighing = []
            if spec.deterrence:
                for state in sim.schemes:
                    chance = self._observed_chance(sim, kind, state.share)
                    if kind in state.scheme.events and np.any(np.asarray(chance) > 0):
                        # float32: a perceived stake needs no more; kept for every person between assessments
                        weighing.append(SchemeStake(state, chance, np.zeros(sim.n, dtype=np.float32)))
            self.weighed_by.append(weighing)
        self.stakes_version = 0
        # Per scheme, its disclosed lists (own names), each weighing like a sanction by the share of
        # one's ties who see it.
        disclosed = disclosed_lists(sim)
        self.disclosed = {state.index: {name: share for owner, name, share in disclosed.values() if owner is state}
                          for state in sim.schemes}
        self.disclosed_weight = {index: np.array([SANCTION_WEIGHT * share for share in lists.values()])
                                 for index, lists in self.disclosed.items()}
        self.assessed_day = -10**9
        # Daily rate of each act per person (float32), recomputed only when what it depends on
        # changed, and its largest value in each block of BLOCK ids (the bound of the arrivals).
        self.rate: list[np.ndarray | None] = [None] * len(self.kinds)
        self.bound: list[np.ndarray | None] = [None] * len(self.kinds)
        self.chance_inputs: list[tuple | None] = [None] * len(self.kinds)
        # Chilling: the expected acts of each deterred kind, and what they would be without deterrence;
        # blocked acts: those that consequences in force prevented (no flight for the barred). Each
        # day adds the day's expected figures, worked out when a chance changes.
        self.expected_acts = np.zeros(len(self.kinds))
        self.expected_undeterred = np.zeros(len(self.kinds))
        self.expected_blocked = np.zeros(len(self.kinds))
        self.daily_acts = [0.0] * len(self.kinds)
        self.daily_undeterred = [0.0] * len(self.kinds)
        self.daily_blocked = [0.0] * len(self.kinds)
        gating = {kind for _, _, c in self.effects.values() for side in (c.denied, c.granted)
                  for kind in side.behaviours}
        self.gated = [kind in gating or bool(spec.requires) for kind, spec in zip(self.kinds, self.specs, strict=True)]
        # Acts whose rate only income strain moves, by a whole stress (late payments): not deterred,
        # not gated, not shifted by a consequence. Their rates change daily, so they have a pass of
        # their own (`strained_rate32`), which gives what `_rate` gives.
        self.strained_only = [whole_stress(spec.stress) and not spec.deterrence and not self.gated[index]
                              for index, spec in enumerate(self.specs)]
        # Deterred acts that no consequence gates, weighed by one scheme, strained by a whole stress or
        # none: their rates in one pass (`deterred_rates`), where the chance of being recorded is
        # one number (else `_rate`). Without stress their rate without deterrence never changes, nor
        # the acts it gives: worked out once (`undeterred_acts`).
        self.fused = [bool(spec.deterrence) and not self.gated[index] and len(self.weighed_by[index]) == 1
                      and (not spec.stress or whole_stress(spec.stress)) for index, spec in enumerate(self.specs)]
        self.undeterred_acts: list[float | None] = [None] * len(self.kinds)

    @staticmethod
    def _observed_chance(sim: Sim, kind: str, shares: np.ndarray | None) -> np.ndarray | float:
        """The chance that one person's act of `kind` is recorded and attributed to them by a source
        whose records reach a scheme, and that the record reaches it (`shares`: per source, the share
        of its records that do, the coverage of a receipt on terms, 0 where the scheme does not
        receive it; None: every record of every source), by district (an array over districts; a
        number where every district has the same chance).

        Surveillance credits an act to the first source, in the scenario's order, whose draw falls
        under its coverage of the act's district; that source then attributes it to the actor
        unless its identification misses or mismatches it, or a record error moves it to someone
        else. So the chance is the sum over the sources s that reach the scheme of P(s is the first
        to record it) x P(s attributes it to the actor), with the reference group's identification
        rates."""
        districts = sim.scenario.population.districts
        not_yet = np.ones(districts)
        attributed = np.zeros(districts)
        for index, source in enumerate(sim.scenario.surveillance.values()):
            if kind not in source.observes:
                continue
            coverage = np.full(districts, source.coverage)
            for district, share in source.district_coverage.items():
                coverage[district] = share
            if shares is None or shares[index] > 0:
                kept = 1.0 - source.error_rate
                if source.identification:
                    profile = load_profile(source.identification)
                    kept *= max(1.0 - profile.miss_rate - profile.fpir, 0.0)
                if shares is not None and shares[index] < 1:  # a share of the source's records, bought
                    kept *= float(shares[index])
                attributed += not_yet * coverage * kept
            not_yet *= 1 - coverage
        return float(attributed[0]) if (attributed == attributed[0]).all() else attributed

    def assess_stakes(self, sim: Sim) -> None:
        """Each scheme's stake in one more act of each deterred kind, for everyone, from today's records."""
        assessed: dict[int, dict[str, np.ndarray]] = {}  # per scheme assessed, each kind's stakes
        for state in sim.schemes:
            if state.scores is None:
                continue
            acts = [(kind, (spec.value[0] + spec.value[1]) / 2, weighing.stakes)
                    for index, (kind, spec) in enumerate(zip(self.kinds, self.specs, strict=True))
                    for weighing in self.weighed_by[index] if weighing.state is state]
            same = self.same_stakes(sim, state, assessed)
            if same is not None and all(kind in same for kind, _, _ in acts):
                for kind, _, stakes in acts:
                    np.copyto(stakes, same[kind])
            elif acts:
                self._assess(sim, state, acts)
            assessed[state.index] = {kind: stakes for kind, _, stakes in acts}
        self.stakes_version += 1

    def same_stakes(self, sim: Sim, state: SchemeState,
                    assessed: dict[int, dict[str, np.ndarray]]) -> dict[str, np.ndarray] | None:
        """The stakes assessed today of a scheme with the same scores as `state` (one shares the
        other's, or both a third's: `SchemeState.scores_as`) that discloses the same lists with the
        same weights: then they are `state`'s too. None where there is none."""
        def scored_by(scheme: SchemeState) -> SchemeState:
            return scheme.scored_as or scheme
        for index, stakes in assessed.items():
            other = sim.schemes[index]
            if scored_by(other) is scored_by(state) and self.disclosed[index] == self.disclosed[state.index] \
                    and np.array_equal(self.disclosed_weight[index], self.disclosed_weight[state.index]):
                return stakes
        return None

    def _assess(self, sim: Sim, state: SchemeState, acts: list[tuple[str, float, np.ndarray]]) -> None:
        """What one more act of each (kind, value) of `acts` would cost each person in scheme
        `state`, into that act's stakes: slice by slice, today's scores without the act made once
        for all the kinds."""
        scheme = state.scheme
        scores = state.scores
        assert scores is not None
        span = scheme.scale.max - scheme.scale.min
        # A scheme that rescores less often than daily publishes scores older than the records: the
        # stake is then the score from today's records with one more act against the score from the
        # same records without it, never against the last published score (which would make anyone
        # whose record improved since see a reward in a penalised act).
        current = state.scored_time == state.features.as_of
        disclosed, disclosed_weight = list(self.disclosed[state.index]), self.disclosed_weight[state.index]

        def assess(part: slice) -> None:
            size = part.stop - part.start
            network_term = scores.network_term[part]
            # the input lists as the scheme last read them (another body's list: one's act moves it not)
            inputs = {name: members[part] for name, members in scores.inputs.items()}
            if current:  # the published scores are those of today's records
                now, at = scores, part
            else:  # like with like: today's records without the act, the same rules and network term
                now = score_slices(scheme, lambda _: state.features.features(part, only=state.scoring_features,
                                                                             views=True),
                                   size, network_term=network_term, size=max(size, 1),
                                   compiled_rules=state.compiled_rules, inputs=inputs)
                at = slice(0, size)

            def rows(arrays: list[np.ndarray]) -> np.ndarray:
                return np.stack(arrays) if arrays else np.zeros((0, size), dtype=bool)

            entitlements = list(now.entitlements)
            allowed, shown = rows([now.entitlements[name][at] for name in entitlements]), \
                rows([now.lists[name][at] for name in disclosed])
            for kind, value, stakes in acts:
                # One's own act moves one's own `pre`; the neighbours' term stays as it is.
                features = state.features.features_with_one_more(kind, value, part=part,
                                                                 only=state.scoring_features, views=True)
                after = score_slices(scheme, lambda _, features=features: features, size,
                                     network_term=network_term, size=max(size, 1),
                                     compiled_rules=state.compiled_rules, inputs=inputs)
                stake_of(now.score[at], after.score, float(span), SANCTION_WEIGHT, allowed,
                         rows([after.entitlements[name] for name in entitlements]), disclosed_weight, shown,
                         rows([after.lists[name] for name in disclosed]), stakes[part])

        parallel_map(assess, slices(sim.n))  # slice by slice: the workings stay small

    def base(self, sim: Sim, index: int, part: slice) -> np.ndarray:
        """Personal rate of act `index` before the scheme and one's circumstances weigh on it: the
        act's rate x one's propensity x one's group's factor. Made when needed rather than kept, as
        it is needed only when a chance is recomputed."""
        kind, spec = self.kinds[index], self.specs[index]
        rate = spec.rate * sim.people.propensity[kind][part].astype(np.float64)
        if self.grouped[index]:
            rate *= self.group_factors[index][sim.people.group[part]]
        return rate

    def _strain_inputs(self, sim: Sim, index: int, part: slice) -> tuple:
        """The arguments of `strained_base` and `strained_rate32` for act `index` and the people
        of `part`."""
        spec = self.specs[index]
        return (spec.rate, sim.people.propensity[self.kinds[index]][part], self.group_factors[index],
                sim.people.group[part], self.grouped[index], sim.people.income[part], self.median_income,
                int(spec.stress))

    def _rate(self, sim: Sim, index: int, part: slice, denied: dict[str, np.ndarray] | None,
              deterred: bool = True, gated: bool = True) -> np.ndarray:
        """Today's rate of act `index` for the people of `part` (acts per day; the chance of at
        least one is 1 - exp(-rate)); `deterred=False` gives what it would be if the scheme did not
        weigh on the act, `gated=False` what it would be if no denial held it back (perks granted
        still count)."""
        kind, spec = self.kinds[index], self.specs[index]
        # Strain rises as income falls: (median / income) ** stress, income at least 1. A whole stress
        # (the presets' 1 and 2) by multiplication, with the base rate in one pass (daily, as income
        # changes); another by NumPy's power.
        if whole_stress(spec.stress):
            rate = strained_base(*self._strain_inputs(sim, index, part))
        else:
            rate = self.base(sim, index, part)
            if spec.stress:
                rate *= np.power(self.median_income / np.maximum(sim.people.income[part], 1.0), spec.stress)
        weighing = self.weighed_by[index]
        if deterred and weighing:
            if len(weighing) == 1:
                exponent = -spec.deterrence * weighing[0].recorded_chance(sim, part) * weighing[0].stakes[part]
            else:  # the stakes of every scheme that would learn of the act, each by its chance of doing so
                weighed = sum(w.recorded_chance(sim, part) * w.stakes[part].astype(np.float64) for w in weighing)
                exponent = -spec.deterrence * weighed
            rate *= np.exp(np.minimum(exponent, np.log(MAX_MULTIPLIER)))
        if denied is not None:
            for entitlement, (_, _, consequence) in self.effects.items():
                for side, in_force in (("denied", denied[entitlement][part]), ("granted", ~denied[entitlement][part])):
                    factor = getattr(consequence, side).behaviours.get(kind)
                    if factor is not None and (gated or side == "granted"):  # ungated: no denial's effect
                        rate = rate * np.where(in_force, factor, 1.0)
            if gated:
                for entitlement in spec.requires:
                    rate = np.where(denied[entitlement][part], 0.0, rate)
        return np.minimum(rate, MAX_RATE)

    def reward_gain(self, sim: Sim, index: int, part: slice, denied: dict[str, np.ndarray] | None) -> np.ndarray:
        """The extra acts a day the scheme's weight on act `index` causes for the people of `part`: the
        rate under the scheme less the rate without its weight, both in float64 (0 where it deters).
        What a reward adds: points farming (`world/farming.py`) reads it."""
        return np.maximum(self._rate(sim, index, part, denied) - self._rate(sim, index, part, denied, deterred=False),
                          0.0)

    def _recompute(self, sim: Sim, index: int, denied: dict[str, np.ndarray] | None) -> None:
        """Today's rate of act `index` for everyone, into its float32 array (made once, refilled),
        with each block's bound and what the day adds to the chilling and blocking tallies while it
        holds; slice by slice, so that the float64 workings stay small."""
        spec = self.specs[index]
        rate32, bound = self.rate[index], self.bound[index]
        if rate32 is None or bound is None:
            rate32 = self.rate[index] = np.empty(sim.n, dtype=np.float32)
            bound = self.bound[index] = np.empty(-(-sim.n // BLOCK), dtype=np.float32)
        if self.strained_only[index]:  # what `_rate` gives such an act, in one pass on the threads
            strained_rate32(*self._strain_inputs(sim, index, slice(0, sim.n)), MAX_RATE, BLOCK, rate32, bound)
            self.daily_acts[index] = self.daily_undeterred[index] = self.daily_blocked[index] = 0.0
            return
        parts = slices(sim.n, max(core.SLICE // BLOCK, 1) * BLOCK)  # whole blocks a slice (the default's 512)

        def recompute(part: slice) -> tuple[float, float, float]:
            """The slice's rates and its blocks' bounds, written in place; its expected acts,
            undeterred acts and blocked acts."""
            blocks = slice(part.start // BLOCK, -(-part.stop // BLOCK))
            if self.fused[index]:
                fused = self._fused_rates(sim, index, part, rate32[part])
                if fused is not None:
                    block_bounds_into(rate32[part], BLOCK, bound[blocks])
                    return fused
            rate = self._rate(sim, index, part, denied)
            rate32[part] = rate
            block_bounds_into(rate32[part], BLOCK, bound[blocks])
            acts = undeterred = blocked = 0.0
            if spec.deterrence:
                acts = float(-np.expm1(-rate).sum())
                undeterred = float(-np.expm1(-self._rate(sim, index, part, denied, deterred=False)).sum())
            if spec.requires or self.gated[index]:
                ungated = self._rate(sim, index, part, denied, gated=False)
                prevented = np.expm1(-rate) - np.expm1(-ungated)  # chance without the denial - with it
                blocked = float(np.maximum(prevented, 0.0).sum())
            return acts, undeterred, blocked

        acts = undeterred = blocked = 0.0
        for slice_acts, slice_undeterred, slice_blocked in parallel_map(recompute, parts):
            acts += slice_acts  # added in slice order, whatever the threads
            undeterred += slice_undeterred
            blocked += slice_blocked
        if self.fused[index] and not spec.stress:  # the same each time (see `fused`)
            if self.undeterred_acts[index] is None:
                self.undeterred_acts[index] = undeterred
            undeterred = self.undeterred_acts[index]
        self.daily_acts[index], self.daily_undeterred[index], self.daily_blocked[index] = acts, undeterred, blocked

    def _fused_rates(self, sim: Sim, index: int, part: slice, out: np.ndarray) -> tuple[float, float, float] | None:
        """`_rate` of a `fused` act for the people of `part`, into `out` (float32), with the slice's
        expected acts and undeterred acts (the latter once for an act without stress: 0 after, see
        `_recompute`); None where the recorded chance differs between them (`_rate` then)."""
        weighing, spec = self.weighed_by[index][0], self.specs[index]
        chance = weighing.recorded_chance(sim, part)
        if not isinstance(chance, float):
            return None
        size = part.stop - part.start
        multiplier = np.empty(size)
        deterrence_exponent(-spec.deterrence * chance, weighing.stakes[part], float(np.log(MAX_MULTIPLIER)),
                            multiplier)
        np.exp(multiplier, out=multiplier)
        negated = np.empty(size)
        undeterred = spec.stress or self.undeterred_acts[index] is None
        negated_undeterred = np.empty(size if undeterred else 0)
        stress = int(spec.stress) if spec.stress else 0
        deterred_rates(spec.rate, sim.people.propensity[self.kinds[index]][part], self.group_factors[index],
                       sim.people.group[part], self.grouped[index], sim.people.income[part], self.median_income, stress,
                       multiplier, MAX_RATE, out, negated, negated_undeterred)
        acts = float(-np.expm1(negated, out=negated).sum())  # as -np.expm1(-rate).sum()
        return acts, float(-np.expm1(negated_undeterred, out=negated_undeterred).sum()) if undeterred else 0.0, 0.0

    @staticmethod
    def acts(draws: KeyedDraws, rate: np.ndarray, bound: np.ndarray) -> np.ndarray:
        """The ids (increasing) of those who act today: at least one arrival of a Poisson process of
        their `rate`, which happens with chance 1 - exp(-rate), at most one act a day.

        Drawn by thinning rather than one uniform per person: each block of BLOCK ids has candidate
        arrivals up to its `bound`, its largest rate (see `block_bounds`), each on a person of the
        block and kept below their rate (see `keyed_arrivals`). The draws number about the
        arrivals, not the people: blocks are small so that one person of high rate does not make
        many candidates for the block's many of low rate. Keyed by the block and the candidate, so
        that one person's rate moves nobody else's acts. A NaN rate makes its block's bound NaN and
        the draw fail, rather than the block never act."""
        if np.isnan(bound).any():
            raise ValueError("a NaN rate: its block's arrivals cannot be drawn")
        return keyed_arrivals(rate, bound, BLOCK, draws.base)

    def start_reporting(self, sim: Sim) -> None:
        for tally in (self.expected_acts, self.expected_undeterred, self.expected_blocked):
            tally[:] = 0.0

    def chilling(self) -> dict[str, float]:
        """Per kind the scheme deters, the share of acts it suppresses: 1 - expected acts with the
        scheme / expected acts if it did not weigh on them (same people, same days, same lives).
        Only kinds whose acts the scheme lowers on balance: an act it encourages is in `encouraged`."""
        return {kind: float(1 - acts / without) for kind, acts, without in self._weighed() if acts <= without}

    def encouraged(self, days: int) -> dict[str, dict[str, float]]:
        """Per kind the scheme rewards on balance (more acts with it than without it): the extra acts
        it causes, a year, and as a share of the acts there would be without it."""
        return {kind: {"extra_acts_per_year": float((acts - without) * 365 / days),
                       "increase_share": float(acts / without - 1)}
                for kind, acts, without in self._weighed() if acts > without}

    def _weighed(self) -> list[tuple[str, float, float]]:
        """(kind, expected acts, expected acts without the scheme's weight) of each kind it weighs on."""
        return [(kind, float(self.expected_acts[i]), float(self.expected_undeterred[i]))
                for i, kind in enumerate(self.kinds) if self.specs[i].deterrence and self.expected_undeterred[i] > 0]

    def blocked(self, days: int) -> dict[str, float]:
        """Per act that needs an entitlement: the acts per year that denials prevented (expected)."""
        return {kind: float(self.expected_blocked[i] * 365 / days) for i, kind in enumerate(self.kinds)
                if self.specs[i].requires or self.gated[i]}

    def step(self, sim: Sim, day: int) -> None:
        every = sim.scenario.run.perception_every_days
        if any(state.scores is not None for state in sim.schemes) and day - self.assessed_day >= every:
            self.assess_stakes(sim)
            self.assessed_day = day
        # The inputs of each kind's rates today; the rates made again where they changed.
        scored_days = tuple(state.scored_day for state in sim.schemes)
        enrolled = tuple(state.enrolled_version for state in sim.schemes)  # whom each scheme would learn of
        inputs = [(day if spec.stress else None, (self.stakes_version, enrolled) if spec.deterrence else None,
                   scored_days if self.gated[index] else None) for index, spec in enumerate(self.specs)]
        stale = [self.rate[index] is None or inputs[index] != self.chance_inputs[index]
                 for index in range(len(self.specs))]
        denied = sim.denied if any(stale[index] and self.gated[index] for index in range(len(self.specs))) else None

        # Kind after kind, each pass on both threads within (a kind's rates slice by slice, its
        # arrivals run by run of blocks): the kinds' work is uneven, a day's strained rates most of it.
        parts = []
        for index, spec in enumerate(self.specs):
            if stale[index]:
                self._recompute(sim, index, denied)
                self.chance_inputs[index] = inputs[index]
            self.expected_blocked[index] += self.daily_blocked[index]
            self.expected_acts[index] += self.daily_acts[index]
            self.expected_undeterred[index] += self.daily_undeterred[index]
            rate32, bound = self.rate[index], self.bound[index]
            assert rate32 is not None and bound is not None
            # each kind from its own streams (see `acts`)
            who = self.acts(KeyedDraws(sim.seed, "behaviour", day, index), rate32, bound)
            value = act_values(KeyedDraws(sim.seed, "behaviour_values", day, index), who, spec.value)
            parts.append(DayEvents.acts(who, int(self.codes[index]), sim.time(day), value))
        sim.true_events = DayEvents.concat(parts)
        sim.count_events(sim.true_counts, sim.true_events)

    def figures(self, sim: Sim, summary: dict[str, Any]) -> None:
        """What the scheme does to what people do: the acts it suppresses (chilling) and those it
        encourages, by kind, and the acts denials block, a year."""
        harms = summary["harms"]
        special = {kind for state in sim.schemes for kind, event in state.scheme.events.items()
                   if event.category in SPECIAL_CATEGORIES}
        harms["chilling"] = {kind: {"suppressed_share": share, "special_category": kind in special}
                             for kind, share in self.chilling().items()}
        harms["encouraged"] = {kind: {**figure, "special_category": kind in special}
                               for kind, figure in self.encouraged(sim.days).items()}
        harms["blocked_per_year"] = self.blocked(sim.days)

    def report_rows(self, summary: dict[str, Any], groups: list[str]) -> list[ReportRow]:
        harms = summary["harms"]
        rows: list[ReportRow] = []
        for kind, per_year in harms["blocked_per_year"].items():
            rows.append((f"'{kind}' blocked by denials", f"{per_year:,.0f} a year",
                         "acts people would have done but an entitlement they were denied prevented"))
        for kind, figure in harms["chilling"].items():
            special = " (special category: what people say)" if figure["special_category"] else ""
            rows.append((f"chilling of '{kind}'", f"{figure['suppressed_share']:.1%}",
                         f"share of these acts the scheme suppresses{special}"))
        for kind, figure in harms["encouraged"].items():
            rows.append((f"'{kind}' encouraged", f"+{figure['increase_share']:.1%}",
                         f"{figure['extra_acts_per_year']:,.0f} extra acts a year that the scheme's rewards cause"))
        return rows
