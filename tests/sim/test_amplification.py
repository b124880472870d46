"""Amplification (README, "Several schemes"): the sanctions across every scheme that follow from one
false record or one incident, by a twin with them taken out (same scenario and seed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.runner.amplification import amplification, spare, spared_people
from socialcredit.runner.run import run_scenario
from socialcredit.scenario import load_scenario

from .test_joint import BLACKLIST, world

# Zhima withholds its perk from whoever is on the court's list, and from no one else.
IMPORTING = {"lists_from": {"court_blacklist": "court.dishonest_debtor"},
             "overrides": {"input_lists": BLACKLIST, "entitlements": {"hotel_no_deposit": {
                 "allow": "not court_blacklist", "context": "financial", "perk": True}}}}


def wrong_court(data: dict) -> dict:
    """The courts attach a fifth of their records to someone else: false records in the court's file."""
    data["surveillance"]["courts"]["error_rate"] = 0.2
    return data


def measured(tmp_path, data: dict, name: str) -> dict:
    path = tmp_path / f"{name}.scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return amplification(path, {}, [4])


def test_taking_out_false_court_records_lowers_sanctions_in_the_scheme_importing_the_court_list(tmp_path):
    figures = measured(tmp_path, wrong_court(world(IMPORTING)), "importing")
    assert figures["false_records_taken_out"][0] > 20
    per_record = figures["entitlement_days_per_false_record"]
    # the court lists people on them; Zhima, reading the court's list, denies them its perk
    assert per_record["court"]["value"] > 0
    assert per_record["zhima"]["value"] > 0
    assert per_record["all_schemes"]["value"] == pytest.approx(per_record["court"]["value"]
                                                               + per_record["zhima"]["value"])
    # nothing in this world acts on an entitlement: the people not spared live the same days
    assert all(figure["value"] == 0 for figure in figures["spillover_per_false_record"].values())


def test_a_scheme_that_neither_receives_nor_imports_the_false_records_gets_no_amplification(tmp_path):
    figures = measured(tmp_path, wrong_court(world()), "apart")
    assert figures["entitlement_days_per_false_record"]["court"]["value"] > 0
    assert figures["entitlement_days_per_false_record"]["zhima"]["value"] == 0


def test_the_people_spared_are_half_of_everyone_the_same_for_a_seed():
    first, again, other = spared_people(4, 20000), spared_people(4, 20000), spared_people(5, 20000)
    assert (first == again).all() and not (first == other).all()
    assert abs(first.mean() - 0.5) < 0.02


def test_an_incident_is_measured_by_a_twin_without_it(tmp_path):
    data = world(IMPORTING, incidents=[{"day": 10, "days": 30, "source": "courts", "share": 0.5,
                                        "corrupt": {"judgment_default": 0.5}}])
    data["behaviours"]["judgment_paid"]["rate"] = 0.01  # payments the incident records as defaults
    figures = measured(tmp_path, data, "incident")
    incident = figures["incidents"]["0"]
    assert incident["source"] == "courts" and incident["false_records"][0] > 10
    assert incident["entitlement_days_per_incident"]["zhima"]["value"] > 0
    assert incident["entitlement_days_per_false_record"]["all_schemes"]["value"] == pytest.approx(
        incident["entitlement_days_per_incident"]["all_schemes"]["value"] / incident["false_records"][0])


def test_the_command_writes_amplification_with_an_interval_over_seeds(tmp_path):
    path = tmp_path / "importing.scenario.yaml"
    path.write_text(yaml.safe_dump(wrong_court(world(IMPORTING))))
    result = CliRunner().invoke(app, ["simulate", str(path), "--amplification", "--seeds", "2", "--population",
                                      "2000", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "Amplification" in result.output
    figures = json.loads((tmp_path / "run" / "summary.json").read_text())["combined"]["amplification"]
    assert figures["seeds"] == [4, 5]
    zhima = figures["entitlement_days_per_false_record"]["zhima"]
    assert zhima["low"] <= zhima["value"] <= zhima["high"]
    assert np.isfinite(zhima["value"])


def test_a_person_spared_in_the_twin_changes_nobody_elses_records(tmp_path):
    """Spared their false court records, people stay off the court's list and take the flights the
    list would bar: they act otherwise, and the day's acts are more. Every draw about a record is
    keyed by the act, so everyone else's acts are recorded, missed and misattributed as in the run
    (nothing in this world passes a listing on to anyone else: no ties are cut, no rates depend on
    others), and the twin differs only where it spares."""
    data = wrong_court(world())
    data["behaviours"]["flight"] = {"rate": 0.02, "heterogeneity": 0.0, "requires": ["court.board_flight"]}
    data["surveillance"]["ticketing"] = {"observes": ["flight"], "coverage": 0.5, "error_rate": 0.05}
    data["schemes"]["court"]["receives"] = ["courts", "ticketing"]
    path = tmp_path / "flights.scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    factual = run_scenario(*load_scenario(path, {}))
    spared = spared_people(4, factual.sim.n)
    twin = run_scenario(*load_scenario(path, {}), prepare=spare(spared))
    flight = factual.sim.codes["flight"]
    # the spared people with a false court record fly in the twin, barred in the run
    touched = spared & ((factual.sim.false_record_counts > 0) | twin.sim.spared_touched)
    assert twin.sim.true_counts[flight][touched].sum() > factual.sim.true_counts[flight][touched].sum()
    # everyone else's acts, records (of every kind, false ones included) and false records are the run's
    others = ~touched
    assert (twin.sim.true_counts[:, others] == factual.sim.true_counts[:, others]).all()
    assert (twin.sim.observed_counts[:, others] == factual.sim.observed_counts[:, others]).all()
    assert twin.sim.observed_counts[flight][others].sum() > 100
