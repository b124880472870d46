"""Who acts each day: arrivals thinned from a bound per block give each person's own chance."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.scenario.streams import KeyedDraws
from socialcredit.world.behaviour import BLOCK, Behaviour, block_bounds


def acts_over_days(rate: np.ndarray, days: int) -> np.ndarray:
    """How many days each person acted, over `days` days."""
    rate32 = rate.astype(np.float32)
    bound = block_bounds(rate32, BLOCK)
    acted = np.zeros(rate.size, dtype=np.int64)
    for day in range(days):
        who = Behaviour.acts(KeyedDraws(7, "behaviour", day, 0), rate32, bound)
        assert np.all(np.diff(who) > 0), "ids increase, each at most once a day"
        acted[who] += 1
    return acted


def test_each_person_acts_with_chance_one_minus_exp_of_minus_their_rate():
    rng = np.random.default_rng(1)
    n = 50_000
    # Rates spread over two orders of magnitude within each block, as heterogeneous people are.
    rate = rng.gamma(0.5, 0.04, n)
    rate[:BLOCK] = 0.0           # a block of people who never do it
    rate[BLOCK:2 * BLOCK] = 30   # a block of people who always do
    days = 40
    acted = acts_over_days(rate, days)
    assert acted[:BLOCK].sum() == 0
    assert np.all(acted[BLOCK:2 * BLOCK] == days)
    chance = -np.expm1(-rate)
    for low, high in [(0.0001, 0.001), (0.001, 0.01), (0.01, 0.03), (0.03, 0.08), (0.08, 1.0)]:
        group = (rate > low) & (rate <= high)
        expected = chance[group].sum() * days
        # Poisson-binomial: within 4 standard deviations
        sd = np.sqrt((chance[group] * (1 - chance[group])).sum() * days)
        assert abs(acted[group].sum() - expected) < 4 * sd, (low, high, acted[group].sum(), expected)


def test_the_same_streams_give_the_same_acts():
    rate = np.random.default_rng(2).random(10_000) * 0.05
    np.testing.assert_array_equal(acts_over_days(rate, 3), acts_over_days(rate, 3))


def test_one_persons_rate_moves_nobody_elses_acts():
    """Common random numbers: raise one person's rate tenfold, or set it to 0 (a twin in which they
    are barred, say), and everyone else acts on the same days, in their block and beyond."""
    rate = np.random.default_rng(3).gamma(0.5, 0.04, 5_000)
    changed = int(np.argmax(rate[:BLOCK]))  # the block's largest rate: its bound moves too
    for new_rate in (rate[changed] * 10, 0.0):
        other = rate.copy()
        other[changed] = new_rate
        for day in range(20):
            before = Behaviour.acts(KeyedDraws(7, "behaviour", day, 0), rate.astype(np.float32),
                                    block_bounds(rate.astype(np.float32), BLOCK))
            after = Behaviour.acts(KeyedDraws(7, "behaviour", day, 0), other.astype(np.float32),
                                   block_bounds(other.astype(np.float32), BLOCK))
            np.testing.assert_array_equal(before[before != changed], after[after != changed])


def test_shunning_cuts_each_tie_of_the_shown_with_its_owners_chance():
    from socialcredit.scenario.load import load_scenario
    from socialcredit.sim.model import Sim
    from socialcredit.world.social import SocialResponse

    scenario, scheme = load_scenario("default", {"population.size": 3000, "social.shun_listed": 0.2})
    sim = Sim(scenario, scheme)
    social = SocialResponse(sim)
    seen = np.zeros(sim.n)
    seen[:300] = 1.0   # seen by all their ties
    seen[300:600] = 0.5  # by half of them
    social.visibility = lambda sim: (np.flatnonzero(seen), seen[seen > 0])
    days = 40
    for day in range(days):
        social._shun(sim, day)
    listed = np.concatenate([cut[0] for cut in social.pending])
    cutter = np.concatenate([cut[1] for cut in social.pending])
    graph = sim.graph
    assert all(other in graph.indices[graph.indptr[person]:graph.indptr[person + 1]]
               for person, other in zip(listed, cutter, strict=True))
    assert listed.min() >= 0 and listed.max() < 600  # nobody unseen loses a tie
    for people, share in ((slice(0, 300), 1.0), (slice(300, 600), 0.5)):
        trials = days * graph.degree[people].sum()
        chance = 0.2 * share
        cuts = ((listed >= people.start) & (listed < people.stop)).sum()
        assert abs(cuts - trials * chance) < 4 * np.sqrt(trials * chance * (1 - chance))


def test_strained_rates_in_one_pass_equal_numpys_bit_for_bit():
    """The daily rates of an act that income strain drives, made in one compiled pass, are those of
    NumPy's steps: rate x propensity x group factor x (median / income, income at least 1) ** stress."""
    from socialcredit.world.behaviour import MAX_RATE, strained_base, strained_rate32

    rng = np.random.default_rng(4)
    n = 5000
    propensity = rng.lognormal(0, 1.5, n).astype(np.float32)
    group = rng.integers(0, 3, n).astype(np.int8)
    factors = np.array([1.0, 0.8, 1.3])
    income = rng.lognormal(10, 0.6, n)
    income[:10] = [0.0, 0.5, 1.0, 2.0, -3.0, 1e9, 1e-9, 22026.0, 1.5, 0.99]
    propensity[:3] = 1e4  # rates above MAX_RATE at the lowest incomes
    median = float(np.median(income))
    for stress in (1, 2, 3):
        for grouped in (False, True):
            expected = 0.0015 * propensity.astype(np.float64)
            if grouped:
                expected *= factors[group]
            ratio = median / np.maximum(income, 1.0)
            strain = ratio
            for _ in range(stress - 1):
                strain = strain * ratio
            expected *= strain
            got = strained_base(0.0015, propensity, factors, group, grouped, income, median, stress)
            np.testing.assert_array_equal(got, expected)
            # the daily pass of an act only strain moves: the same, at most MAX_RATE, as float32, with
            # each block's bound (blocks of a few people too: many runs, a last one short)
            for block in (BLOCK, 3):
                rate32 = np.full(n, np.nan, dtype=np.float32)
                bound = np.full(-(-n // block), np.nan, dtype=np.float32)
                strained_rate32(0.0015, propensity, factors, group, grouped, income, median, stress, MAX_RATE,
                                block, rate32, bound)
                np.testing.assert_array_equal(rate32, np.minimum(expected, MAX_RATE).astype(np.float32))
                np.testing.assert_array_equal(bound, block_bounds(rate32, block))
                assert (rate32 == MAX_RATE).any() and (rate32 < MAX_RATE).any()


@pytest.mark.parametrize("stress", [0, 2])
@pytest.mark.parametrize("grouped", [False, True])
def test_deterred_rates_in_one_pass_equal_numpys_steps_bit_for_bit(stress, grouped):
    """A deterred act's rates made in one compiled pass (`deterred_rates`) are `_rate`'s NumPy steps:
    personal rate (strained) x exp(min(-deterrence x chance x float32 stake, log 10)), at most
    MAX_RATE, as float32; and the expected acts with and without deterrence sum the same."""
    from socialcredit.world.behaviour import (
        MAX_MULTIPLIER,
        MAX_RATE,
        deterred_rates,
        deterrence_exponent,
        strained_base,
    )

    rng = np.random.default_rng(5)
    n = 5000
    propensity = rng.lognormal(0, 2.0, n).astype(np.float32)
    propensity[:3] = 1e5  # rates above MAX_RATE
    group = rng.integers(0, 2, n).astype(np.int8)
    factors = np.array([1.0, 1.7])
    income = rng.lognormal(10, 0.6, n)
    median = float(np.median(income))
    stakes = rng.normal(0, 3, n).astype(np.float32)
    stakes[3:6] = [-1e4, 1e4, 0.0]  # a reward the cap holds at tenfold, a stake that stops the act
    weight = -2.0 * 0.2873
    if stress:
        expected = strained_base(0.0015, propensity, factors, group, grouped, income, median, stress)
    else:
        expected = 0.0015 * propensity.astype(np.float64)
        if grouped:
            expected *= factors[group]
    undeterred = np.minimum(expected, MAX_RATE)
    expected = np.minimum(expected * np.exp(np.minimum(weight * stakes, np.log(MAX_MULTIPLIER))), MAX_RATE)

    multiplier = np.empty(n)
    deterrence_exponent(weight, stakes, float(np.log(MAX_MULTIPLIER)), multiplier)
    np.exp(multiplier, out=multiplier)
    rate32, negated, negated_undeterred = np.empty(n, dtype=np.float32), np.empty(n), np.empty(n)
    deterred_rates(0.0015, propensity, factors, group, grouped, income, median, stress, multiplier, MAX_RATE,
                   rate32, negated, negated_undeterred)
    np.testing.assert_array_equal(rate32, expected.astype(np.float32))
    assert (rate32 == MAX_RATE).any() and (rate32 < MAX_RATE).any()
    assert -np.expm1(negated).sum() == -np.expm1(-expected).sum()
    assert -np.expm1(negated_undeterred).sum() == -np.expm1(-undeterred).sum()


def test_a_deterred_acts_rates_are_the_same_made_in_one_pass_or_by_numpys_steps():
    """In a run, each deterred act's rates and expected acts (with and without deterrence) are those
    `_rate` gives, whether the compiled pass makes them or not."""
    from socialcredit.runner.run import timed_loop
    from socialcredit.scenario.load import load_scenario

    scenario, schemes = load_scenario("default", {"population.size": 4000, "run.days": 9, "run.seed": 2})
    sim, loop, _, _ = timed_loop(scenario, schemes)
    behaviour = sim.module(Behaviour)
    deterred = [index for index, spec in enumerate(behaviour.specs) if spec.deterrence]
    assert deterred and all(behaviour.fused[index] for index in deterred)
    for index in deterred:
        behaviour._recompute(sim, index, None)
        fused = (behaviour.rate[index].copy(), behaviour.daily_acts[index], behaviour.daily_undeterred[index])
        behaviour.fused[index] = False
        behaviour._recompute(sim, index, None)
        assert np.array_equal(behaviour.rate[index], fused[0])
        assert (behaviour.daily_acts[index], behaviour.daily_undeterred[index]) == fused[1:]
        assert fused[1] != fused[2]  # the stakes were weighed (lowering a penalised act, raising a rewarded one)


def test_a_nan_rate_makes_its_block_fail_rather_than_never_act():
    rate = np.array([0.1, np.nan, 0.2, 0.05, 0.3, 0.0], dtype=np.float32)
    bound = block_bounds(rate, 2)
    assert np.isnan(bound[0]) and bound[1:].tolist() == [np.float32(0.2), np.float32(0.3)]
    with pytest.raises(ValueError):
        Behaviour.acts(KeyedDraws(7, "behaviour", 0, 0), rate, block_bounds(rate, BLOCK))


def test_ranking_by_score_is_a_stable_sort_of_score_levels():
    """Rewired ties go to people of similar score: the ranking is people ordered by their score's
    level (1/32767 of the scale), ties in id order, and each one's place in that order."""
    from socialcredit.world.social import RANK_LEVELS, rank_by_score

    rng = np.random.default_rng(6)
    score = np.clip(rng.normal(1000, 150, 70_000), 0, 2000)
    score[::5] = 1000.0                       # many equal scores: ties keep id order
    score[:4] = [0.0, 2000.0, 1999.99, 0.03]  # the scale's ends and the levels next to them
    level = np.round((score - 0) / 2000 * RANK_LEVELS).astype(np.int16)
    expected = np.argsort(level, kind="stable")
    by_score, rank = np.empty(score.size, np.int32), np.empty(score.size, np.int32)
    rank_by_score(score, 0.0, 2000.0, by_score, rank)
    np.testing.assert_array_equal(by_score, expected)
    np.testing.assert_array_equal(rank[by_score], np.arange(score.size))


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_ranking_by_score_in_ranges_of_ids_is_the_one_ranges_ranking(parts):
    from socialcredit.world.social import rank_by_score

    rng = np.random.default_rng(parts)
    score = np.round(rng.normal(1000, 300, 50_001), 1)  # many people at one level, in every range
    one = np.empty(score.size, np.int32), np.empty(score.size, np.int32)
    several = np.empty(score.size, np.int32), np.empty(score.size, np.int32)
    rank_by_score(score, 0.0, 2000.0, *one, parts=1)
    rank_by_score(score, 0.0, 2000.0, *several, parts=parts)
    np.testing.assert_array_equal(one[0], several[0])
    np.testing.assert_array_equal(one[1], several[1])
    np.testing.assert_array_equal(one[0], np.argsort(np.clip(np.round(score / 2000 * 32767), 0, 32767), kind="stable"))


def test_stakes_in_one_kernel_equal_numpys_arithmetic():
    """What one more act costs: score lost in percent of the scale, SANCTION_WEIGHT per entitlement
    lost (less per one granted), a weight per disclosed list joined; NumPy's steps, same float32s."""
    from socialcredit.world.behaviour import SANCTION_WEIGHT, stake_of

    rng = np.random.default_rng(8)
    n = 10_000
    score, after = rng.random(n) * 2000, rng.random(n) * 2000
    after[:100] = score[:100]
    allowed, allowed_after = rng.random((2, n)) < 0.8, rng.random((2, n)) < 0.8
    shown, shown_after = rng.random((1, n)) < 0.1, rng.random((1, n)) < 0.1
    share = 0.7
    expected = (score - after) / 2000.0 * 100
    for e in range(2):
        expected += SANCTION_WEIGHT * (allowed[e] & ~allowed_after[e])
        expected -= SANCTION_WEIGHT * (~allowed[e] & allowed_after[e])
    expected += SANCTION_WEIGHT * share * (~shown[0] & shown_after[0])
    out = np.full(n, np.nan, dtype=np.float32)
    stake_of(score, after, 2000.0, SANCTION_WEIGHT, allowed, allowed_after, np.array([SANCTION_WEIGHT * share]),
             shown, shown_after, out)
    np.testing.assert_array_equal(out, expected.astype(np.float32))
    assert (out == 0).sum() >= 1 and (out > 20).any() and (out < -20).any()


def _ring_graph(n: int, degree: int):
    """Each person tied to the `degree` nearest ids around a ring (CSR, both ways, sorted)."""
    half = degree // 2
    others = (np.arange(n)[:, None] + np.concatenate([np.arange(-half, 0), np.arange(1, half + 1)])) % n
    others.sort(axis=1)
    return np.arange(0, n * degree + 1, degree, dtype=np.int64), others.ravel().astype(np.int32)


def test_a_shown_persons_cuts_do_not_depend_on_who_else_is_shown():
    """Common random numbers: a paired twin in which one more person is listed, or someone's chance
    differs, cuts exactly the same ties of everyone else (a day's one Binomial count over every
    shown tie made all of them differ)."""
    from socialcredit.scenario.streams import KeyedDraws
    from socialcredit.world.social import SHUNNED, keyed_cuts

    indptr, indices = _ring_graph(2000, 10)
    shown = np.arange(0, 2000, 3, dtype=np.int64)
    chance = np.full(shown.size, 0.15)
    raised = [0, 0]
    for day in range(5):
        base = KeyedDraws(11, "social", day, SHUNNED).base
        listed, cutter = keyed_cuts(base, indptr, indices, shown, chance)
        twin_shown = np.sort(np.append(shown, 1000 + 1))  # one more person shown (1001 % 3 != 0)
        twin_chance = np.full(twin_shown.size, 0.15)
        twin_chance[twin_shown == 300] = 0.9  # and one other's chance differs
        twin_listed, twin_cutter = keyed_cuts(base, indptr, indices, twin_shown, twin_chance)
        others = (listed != 300)
        twin_others = (twin_listed != 300) & (twin_listed != 1001)
        np.testing.assert_array_equal(listed[others], twin_listed[twin_others])
        np.testing.assert_array_equal(cutter[others], twin_cutter[twin_others])
        raised[0] += int((listed == 300).sum())
        raised[1] += int((twin_listed == 300).sum())
    assert raised[1] > raised[0]  # the one whose chance was raised lost more ties


def test_keyed_cuts_cut_each_tie_once_at_most_with_its_persons_chance():
    from socialcredit.scenario.streams import KeyedDraws
    from socialcredit.world.social import keyed_cuts

    indptr, indices = _ring_graph(3000, 8)
    shown = np.arange(3000, dtype=np.int64)
    chance = np.where(shown < 1500, 0.05, 0.4)
    per_tie = np.zeros(indices.size)
    days = 30
    for day in range(days):
        listed, cutter = keyed_cuts(KeyedDraws(5, "social", day, 0).base, indptr, indices, shown, chance)
        pairs = listed * 3000 + cutter
        assert np.unique(pairs).size == pairs.size  # no tie cut twice in a day
        position = indptr[listed] + np.array([np.flatnonzero(indices[indptr[a]:indptr[a + 1]] == b)[0]
                                              for a, b in zip(listed, cutter, strict=True)], dtype=np.int64)
        per_tie[position] += 1
    owner = np.repeat(np.arange(3000), 8)
    for people, p in ((owner < 1500, 0.05), (owner >= 1500, 0.4)):
        trials = days * people.sum()
        assert abs(per_tie[people].sum() - trials * p) < 4 * np.sqrt(trials * p * (1 - p))
        # every tie position equally likely to be picked: the first and the last of each person's ties alike
        first, last = per_tie[people][::8], per_tie[people][7::8]
        assert abs(first.mean() - last.mean()) < 4 * np.sqrt(2 * days * p * (1 - p) / first.size)


def test_a_ties_pruning_draw_does_not_depend_on_other_ties():
    from socialcredit.scenario.streams import KeyedDraws
    from socialcredit.world.pruning import keyed_prunes

    indptr, indices = _ring_graph(2000, 10)
    rng = np.random.default_rng(3)
    chance = rng.uniform(0, 0.2, indices.size)
    base = KeyedDraws(2, "pruning", 4, 0).base
    cut = keyed_prunes(base, indptr, indices, chance)
    twin = chance.copy()
    changed = rng.choice(indices.size, 500, replace=False)
    twin[changed] = rng.uniform(0, 0.2, 500)
    twin_cut = keyed_prunes(base, indptr, indices, twin)
    kept = np.ones(indices.size, dtype=bool)
    kept[changed] = False
    np.testing.assert_array_equal(cut[kept], twin_cut[kept])
    assert abs(cut.sum() - chance.sum()) < 4 * np.sqrt(chance.sum())
    assert not keyed_prunes(base, indptr, indices, np.zeros(indices.size)).any()


@pytest.mark.parametrize(("degree", "chance"), [(1100, 0.5), (15000, 0.05), (2000, 0.999), (10, 0.01)])
def test_a_well_connected_persons_cuts_are_binomial(degree, chance):
    """How many of a person's ties are cut: Binomial(degree, chance) in mean and spread, also where
    (1 - chance) ** degree underflows (it once cut every tie of a person with 1,100 ties at 0.5)."""
    from socialcredit.scenario.streams import KeyedDraws
    from socialcredit.world.social import _ties_cut

    base = KeyedDraws(9, "social", 3, 0).base
    people = 4000
    cuts = np.array([_ties_cut(base, person, degree, chance) for person in range(people)], dtype=np.float64)
    mean, variance = degree * chance, degree * chance * (1 - chance)
    assert abs(cuts.mean() - mean) < 5 * np.sqrt(variance / people) + 1e-9
    assert cuts.max() <= degree and cuts.min() >= 0
    assert abs(cuts.var() - variance) < 0.15 * variance + 1e-3
