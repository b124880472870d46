"""Watchlist policing: every face scanned searched against a watchlist; alerts, false alerts and
stops of innocent people are figures of the run itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from socialcredit.runner.run import run_scenario
from socialcredit.scenario.identification import load_profile
from socialcredit.scenario.load import scenario_from_data
from socialcredit.scheme.errors import SchemeError
from socialcredit.undefined import nulls_without_reason
from socialcredit.world.watchlist import Watchlist


def _scenario(watchlist, people: int = 20_000, days: int = 20, identification: str | None = "frvt_2019",
              **cameras):
    """Cameras with a watchlist over a population that does nothing else (no acts, no ties)."""
    source = {"observes": ["jaywalking"], "coverage": 1.0, "affected_groups": ["minority"], **cameras}
    if identification is not None:
        source["identification"] = identification
    if watchlist is not None:
        source["watchlist"] = watchlist
    return scenario_from_data({"scheme": "shenzhen-cameras", "network": {"mean_degree": 0},
                               "population": {"size": people, "groups": {"majority": 0.8, "minority": 0.2},
                                              "districts": 2},
                               "surveillance": {"cameras": source}, "run": {"days": days, "seed": 3}})


def _run(watchlist, **kwargs):
    return run_scenario(*_scenario(watchlist, **kwargs))


WANTED = {"scans_per_person_day": 1.0, "members": {"share": 0.01}, "size": 2000, "stop_chance": 0.5}


def test_a_scenario_without_a_watchlist_does_no_watchlist_work():
    run = _run(None)
    assert run.sim.module(Watchlist) is not None and run.sim.module(Watchlist).sources == []
    assert run.sim.module(Watchlist).false_stops.size == 0
    assert "watchlist" not in run.summary["harms"] and "falsely_stopped" not in run.summary["harms"]
    assert "false_stops" not in run.people


def test_alerts_and_false_alerts_follow_the_profiles_rates_and_each_groups_factor():
    run = _run(WANTED)
    figure = run.summary["harms"]["watchlist"]["cameras"]
    profile = load_profile("frvt_2019")
    assert figure["alerts"] == figure["true_alerts"] + figure["false_alerts"]
    assert figure["false_alert_share"] == pytest.approx(figure["false_alerts"] / figure["alerts"])
    # the watchlisted: each scan alerts unless missed
    test = stats.binomtest(figure["true_alerts"], figure["scans_of_watchlisted"], 1 - profile.miss_rate)
    assert test.pvalue > 1e-3
    # everyone else: the FPIR at a 2,000-face watchlist (the profile's reference) times the probe's
    # factor: women x2, the minority x3
    people = run.sim.people
    for name, factor in (("majority", 1.5), ("minority", 4.5)):
        group = figure["groups"][name]
        members = np.bincount(people.group[run.sim.module(Watchlist).sources[0].members], minlength=2)
        innocent_scans = group["scans"] * (1 - members[people.group_names.index(name)] /
                                           (people.group == people.group_names.index(name)).sum())
        rate = group["false_alerts"] / innocent_scans
        assert rate == pytest.approx(0.001 * factor, rel=0.15), name
    assert figure["fpir_mean"] == pytest.approx(0.001)
    # about half the false alerts end in a stop of an innocent person
    assert stats.binomtest(figure["stops_innocent"], figure["false_alerts"], 0.5).pvalue > 1e-3
    stopped = run.summary["harms"]["falsely_stopped"]
    assert stopped["count"] == int((run.people["false_stops"] > 0).sum()) > 0
    assert run.people["false_stops"].sum() == figure["stops_innocent"]
    # the minority, scanned as often, is stopped far more often: flagged
    risk = run.summary["harms"]["relative_risks"]["falsely_stopped"]
    assert risk["reference"] == "majority" and risk["flagged"] == ["minority"]


def test_scans_follow_each_districts_coverage():
    run = _run({**WANTED, "scans_per_person_day": 0.5}, district_coverage={1: 0.0})
    people, source = run.sim.people, run.sim.module(Watchlist).sources[0]
    assert source.scan_rate.tolist() == [0.5, 0.0]
    scans = run.summary["harms"]["watchlist"]["cameras"]["scans"]
    expected = 0.5 * (people.district == 0).sum() * 20
    assert abs(scans - expected) < 5 * np.sqrt(expected)


def test_a_bigger_watchlist_gives_more_false_alerts_per_scan():
    small = _run({**WANTED, "size": 1000}).summary
    large = _run({**WANTED, "size": 8000}).summary
    rate = [s["harms"]["watchlist"]["cameras"]["false_alerts_per_innocent_scan"] for s in (small, large)]
    assert rate[1] / rate[0] == pytest.approx(8, rel=0.15)


def test_the_watchlist_can_be_a_list_of_the_scheme_as_it_stands_each_day():
    run = run_scenario(*scenario_from_data({
        "scheme": "shenzhen-cameras", "network": {"mean_degree": 0}, "population": {"size": 5000, "districts": 1},
        "behaviours": {"jaywalking": {"rate": 0.05}},
        "surveillance": {"cameras": {"observes": ["jaywalking"], "identification": "met_2025", "watchlist": {
            "scans_per_person_day": 1.0, "members_from_list": "displayed"}}},
        "run": {"days": 30, "seed": 2}}))
    figure = run.summary["harms"]["watchlist"]["cameras"]
    assert figure["watchlist_size_mean"] > 0
    assert figure["true_alerts"] > 0 and figure["scans_of_watchlisted"] > 0


def test_with_no_alerts_the_false_alert_share_is_null_with_a_reason():
    run = _run({**WANTED, "members": {"share": 0.0001}, "size": 1, "scans_per_person_day": 0.001}, people=2000,
               days=2, identification="met_2025")
    figure = run.summary["harms"]["watchlist"]["cameras"]
    assert figure["alerts"] == 0
    assert figure["false_alert_share"] is None and figure["why_null"]["false_alert_share"]
    assert not nulls_without_reason(run.summary)
    json.dumps(run.summary, allow_nan=False)


def test_the_same_seed_gives_the_same_alerts():
    first, second = (_run(WANTED, people=5000, days=5).summary["harms"]["watchlist"] for _ in range(2))
    assert first == second


@pytest.mark.parametrize(("cameras", "message"), [
    ({"identification": None}, "a watchlist is searched by face identification"),
    ({"watchlist": {"scans_per_person_day": 1.0, "members_from_list": "blacklist"}}, "unknown list 'blacklist'"),
    ({"watchlist": {"scans_per_person_day": 1.0}}, "give who is on the watchlist"),
])
def test_a_watchlist_that_cannot_work_is_a_located_error(cameras, message):
    source = {"observes": ["jaywalking"], "identification": "met_2025", "watchlist": WANTED, **cameras}
    with pytest.raises(SchemeError) as error:
        scenario_from_data({"scheme": "shenzhen-cameras", "surveillance": {"cameras": source}})
    assert message in str(error.value)
    assert "surveillance" in str(error.value) and "watchlist" in str(error.value)
