"""The run's summary figures against their textbook definitions."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.analysis.measures import gini, percentiles_of_sorted


@pytest.mark.parametrize("size", [1, 2, 7, 1000, 100_001])
def test_percentiles_read_off_the_order_equal_numpys(size):
    values = np.sort(np.random.default_rng(size).lognormal(6, 1, size))
    percents = [0, 10, 33.3, 50, 90, 100]
    np.testing.assert_allclose(percentiles_of_sorted(values, percents), np.percentile(values, percents),
                               rtol=1e-15, atol=0)


def test_gini_is_half_the_mean_absolute_difference_over_the_mean():
    values = np.random.default_rng(1).lognormal(0, 0.8, 2000)
    pairwise = np.abs(values[:, None] - values[None, :]).mean()
    assert gini(values) == pytest.approx(pairwise / (2 * values.mean()), rel=1e-12)
    assert gini(values + 5, shift=5) == pytest.approx(gini(values), rel=1e-12)
    assert gini(np.full(10, 3.0)) == pytest.approx(0.0, abs=1e-15)
    assert gini(np.r_[np.zeros(9), 1.0]) == pytest.approx(0.9)
    assert gini(np.zeros(4)) == 0.0


def test_record_counts_widen_before_a_count_could_pass_16_bits():
    from socialcredit.scenario.load import load_scenario
    from socialcredit.sim.events import DayEvents
    from socialcredit.sim.model import Sim

    scenario, scheme = load_scenario("default", {"population.size": 50})
    sim = Sim(scenario, scheme)
    assert sim.observed_counts.dtype == np.uint16  # two bytes a person and kind while counts are small
    day = DayEvents.acts(np.array([3, 3, 7]), 1, 0.0, np.ones(3))
    sim.count_records(day)
    assert sim.observed_counts.dtype == np.uint16
    flood = DayEvents.acts(np.full(70_000, 3), 1, 1.0, np.ones(70_000))  # duplicated records, say
    for _ in range(2):
        sim.count_records(flood)
    assert sim.observed_counts.dtype == np.int32
    assert sim.observed_counts[1, 3] == 2 + 140_000
    assert sim.observed_counts[1, 7] == 1
    assert sim.observed_counts.sum() == 140_003


@pytest.mark.parametrize("share", [0.0, 0.02, 0.5, 1.0])
def test_listed_peoples_ties_in_one_pass_equal_those_of_their_degrees(share):
    """How many are listed, how many of them have no tie left and their mean degree: what the
    degrees picked out by the mask give."""
    from socialcredit.scoring.kernels import masked_degrees

    rng = np.random.default_rng(int(share * 100))
    degree = rng.poisson(2, 5000).astype(np.int32)  # many without a tie
    mask = rng.random(5000) < share
    listed, isolated, ties = masked_degrees(mask, degree)
    picked = degree[mask]
    assert listed == picked.size and isolated == (picked == 0).sum() and ties == picked.sum()
    if picked.size:
        assert isolated / listed == float((picked == 0).mean()) and ties / listed == float(picked.mean())


def test_slow_figures_on_the_first_day_weekly_from_day_1_and_on_the_last():
    import socialcredit
    from socialcredit.world.metrics import SLOW_EVERY, SLOW_FROM

    metrics = socialcredit.simulate(population=2000, days=20, seed=3).metrics
    days = set(metrics["day"][metrics["gini_income"].notna()])
    assert days == {0, 19} | set(range(SLOW_FROM, 20, SLOW_EVERY)) == {0, 1, 8, 15, 19}
    # and the score's too: day 0 is scored before its metrics are taken
    assert set(metrics["day"][metrics["score_p50"].notna()]) == days
