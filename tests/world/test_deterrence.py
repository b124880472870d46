"""Deterrence: people weigh what one more act would cost them, by the chance it is recorded and
pinned on them, and the report says which acts the scheme suppresses and which it encourages."""

from __future__ import annotations

import numpy as np
import pytest

import socialcredit
from socialcredit.runner.loop import Loop
from socialcredit.scenario.identification import load_profile
from socialcredit.scenario.load import load_scenario
from socialcredit.sim.model import Sim
from socialcredit.world.behaviour import Behaviour


def test_deterrence_weighs_the_chance_of_being_recorded_in_ones_own_district():
    scenario, scheme = load_scenario("shenzhen-cameras", {"population.size": 4000})
    sim = Sim(scenario, scheme)
    behaviour = Behaviour(sim)
    index = behaviour.kinds.index("jaywalking")
    # the same stake for everyone: only the chance of being caught differs
    behaviour.weighed_by[index][0].stakes[:] = 5.0
    everyone = slice(0, sim.n)
    deterred = behaviour._rate(sim, index, everyone, None)
    undeterred = behaviour._rate(sim, index, everyone, None, deterred=False)
    weight = -np.log(deterred / undeterred) / (behaviour.specs[index].deterrence * 5.0)

    cameras = scenario.surveillance["cameras"]
    profile = load_profile(cameras.identification)
    attributed = 1 - profile.miss_rate - profile.fpir
    for district in range(scenario.population.districts):
        coverage = cameras.district_coverage.get(district, cameras.coverage)
        mine = weight[sim.people.district == district]
        np.testing.assert_allclose(mine, coverage * attributed, rtol=1e-6)
    downtown, suburb = sim.people.district == 0, sim.people.district == 5
    suppressed = 1 - deterred / undeterred
    assert suppressed[downtown].mean() > 1.5 * suppressed[suburb].mean()


def run_days(scenario_id: str, days: int, settings: dict) -> Sim:
    """A simulation stepped through `days` days of a longer run (so the last is no update day)."""
    scenario, scheme = load_scenario(scenario_id, {"run.days": days + 60, **settings})
    sim = Sim(scenario, scheme)
    loop = Loop(sim)
    for day in range(days):
        for module in loop.modules:
            module.step(sim, day)
    return sim


def test_a_penalised_act_costs_points_even_weeks_after_a_monthly_update():
    # Zhima rescores every 30 days; on day 45 the published scores are 15 days older than the records.
    sim = run_days("zhima", 45, {"population.size": 3000})
    assert sim.schemes[0].scored_time < sim.schemes[0].features.as_of
    behaviour = sim.module(Behaviour)
    assert behaviour is not None
    behaviour.assess_stakes(sim)
    stakes = behaviour.weighed_by[behaviour.kinds.index("overdue")][0].stakes
    assert stakes.min() >= 0, "an overdue payment never looks like a reward"
    assert (stakes > 0).mean() > 0.5


@pytest.fixture(scope="module")
def zhima_monthly_and_daily() -> tuple[dict, dict]:
    settings = {"population.size": 8000, "run.days": 150}
    monthly = socialcredit.simulate("zhima", **settings).summary["harms"]
    daily = socialcredit.simulate("zhima", **settings, **{"scheme_overrides.update_every_days": 1}).summary["harms"]
    return monthly, daily


def test_a_monthly_scheme_deters_a_penalised_act_as_a_daily_one_does(zhima_monthly_and_daily):
    monthly, daily = zhima_monthly_and_daily
    assert monthly["chilling"]["overdue"]["suppressed_share"] > 0.3
    assert monthly["chilling"]["overdue"]["suppressed_share"] == pytest.approx(
        daily["chilling"]["overdue"]["suppressed_share"], abs=0.03)


def test_an_act_the_scheme_rewards_is_reported_encouraged_never_as_negative_suppression(zhima_monthly_and_daily):
    for harms in zhima_monthly_and_daily:
        assert "identity_verified" not in harms["chilling"]
        encouraged = harms["encouraged"]["identity_verified"]
        assert encouraged["increase_share"] > 0.5
        assert encouraged["extra_acts_per_year"] > 0
        assert all(0 <= figure["suppressed_share"] <= 1 for figure in harms["chilling"].values())
