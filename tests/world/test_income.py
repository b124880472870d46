"""Income shocks: standard normal, from the day's streams chunk by chunk, the same however drawn."""

from __future__ import annotations

import numpy as np
from scipy import stats

from socialcredit.scenario.load import load_scenario
from socialcredit.sim.model import Sim
from socialcredit.world.income import Income


def economy_for(people: int, chunk: int) -> tuple[Sim, Income]:
    scenario, scheme = load_scenario("default", {"population.size": people, "run.chunk": chunk, "run.seed": 4})
    sim = Sim(scenario, scheme)
    return sim, Income(sim)


def test_income_shocks_are_standard_normal_and_independent_of_each_other():
    sim, economy = economy_for(200_001, 65_536)  # chunks of 65,536 and a last one of odd size
    shocks = economy.shocks(sim, day=3).astype(np.float64)
    assert shocks.shape == (200_001,)
    assert stats.kstest(shocks, "norm").pvalue > 0.01
    for start, end in ((0, 65_536), (131_072, 196_608), (196_608, 200_001)):  # each chunk's own, too
        assert stats.kstest(shocks[start:end], "norm").pvalue > 0.01
    assert abs(np.corrcoef(shocks[:-1], shocks[1:])[0, 1]) < 0.01  # the cosine and sine halves too
    assert abs(np.corrcoef(shocks[:32_768], shocks[32_768:65_536])[0, 1]) < 0.02
    assert np.abs(shocks).max() < 6.0  # a float32 uniform's 24 bits: at most 5.8 standard deviations
    assert not np.array_equal(shocks, economy.shocks(sim, day=4))


def test_income_shocks_are_the_same_however_and_into_whatever_they_are_drawn():
    sim, economy = economy_for(70_001, 65_536)
    first = economy.shocks(sim, day=9)
    reused = np.full(sim.n, np.nan, dtype=np.float32)
    assert economy.shocks(sim, day=9, out=reused) is reused
    np.testing.assert_array_equal(reused, first)
    _, fresh = economy_for(70_001, 65_536)  # another buffer, other sizes drawn before
    economy.shocks(*economy_for(1_025, 1_024)[:1], day=9)
    np.testing.assert_array_equal(fresh.shocks(sim, day=9), first)
    np.testing.assert_array_equal(economy.shocks(sim, day=9), first)
    # a person's shock is their chunk's: the first chunk's do not depend on how many people follow
    smaller, small_economy = economy_for(65_536, 65_536)
    np.testing.assert_array_equal(small_economy.shocks(smaller, day=9), first[:65_536])
