"""The `rongcheng` preset: Rongcheng's municipal credit points as documented (issue 7).

Adults start at 1000; a traffic ticket costs 5, a heroic act earns 30; volunteering and donations
earn points; drunk driving holds the grade at C whatever the points; AAA (1050) earns perks and
low grades cost standard loans and public posts. It crosses contexts, so real-person use is refused.
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd

import socialcredit
from socialcredit.runner.people_table import write_people
from socialcredit.scheme import load_scheme
from socialcredit.scheme.guards import classify
from socialcredit.scorejob import run_score, write_table
from socialcredit.scoring import EventArrays, kind_codes, score_events

SCHEME = load_scheme("rongcheng")
KIND = kind_codes(SCHEME)
DAY = 20_000.0  # an arbitrary day (days since 1970-01-01)


def score(events, as_of=DAY, n=1):
    """Score subjects 0..n-1 from (subject, kind, time[, value]) tuples."""
    subject = [e[0] for e in events]
    kind = [KIND[e[1]] for e in events]
    time = [e[2] for e in events]
    value = [e[3] if len(e) > 3 else 1.0 for e in events]
    return score_events(SCHEME, EventArrays.build(subject, kind, time, value, n_subjects=n), as_of)


def tier(result, subject=0):
    return result.tier_names()[subject]


def test_an_adult_with_no_record_has_1000_points_and_grade_a():
    result = score([], n=1)
    assert result.score[0] == 1000
    assert tier(result) == "A"


def test_one_traffic_ticket_leaves_995():
    result = score([(0, "traffic_violation", DAY - 10)])
    assert result.score[0] == 995
    assert result.reason_strings()[0] == "traffic"


def test_a_heroic_act_earns_30_points():
    result = score([(0, "heroic_act", DAY - 1)])
    assert result.score[0] == 1030
    assert tier(result) == "AA"


def test_volunteering_and_donations_earn_points_at_the_reported_rates():
    # 2 points for 8 hours of work, 30 points for a 3,000-yuan donation (SCMP 2019, Rongcheng)
    result = score([(0, "volunteering", DAY - 5, 8.0), (1, "donation", DAY - 5, 3000.0)], n=2)
    assert result.score.tolist() == [1002, 1030]


def test_aaa_starts_at_1050_and_brings_the_perks():
    result = score([(0, "heroic_act", DAY - 2), (0, "donation", DAY - 1, 2000.0),
                    (1, "heroic_act", DAY - 2), (1, "donation", DAY - 1, 1900.0)], n=2)
    assert result.score.tolist() == [1050, 1049]
    assert tier(result, 0) == "AAA" and tier(result, 1) == "AA"
    for perk in ("heating_discount", "better_loan_terms", "bike_no_deposit"):
        assert result.entitlements[perk].tolist() == [True, False]
    assert result.lists["honour_roll"].tolist() == [True, False]


def test_drunk_driving_caps_the_grade_at_c_without_taking_points():
    # Two heroic acts make 1060 (AAA); drunk driving holds that person at C.
    events = [(0, "heroic_act", DAY - 30), (0, "heroic_act", DAY - 20), (0, "drunk_driving", DAY - 10),
              (1, "heroic_act", DAY - 30), (1, "heroic_act", DAY - 20)]
    result = score(events, n=2)
    assert result.score.tolist() == [1060, 1060]
    assert tier(result, 0) == "C"
    assert tier(result, 1) == "AAA"
    assert result.tier_cap.tolist() == [0, -1]
    assert not result.entitlements["heating_discount"][0]
    assert not result.entitlements["standard_loan_terms"][0]   # a C-grade penalty
    assert result.lists["key_supervision"].tolist() == [True, False]


def test_the_cap_that_holds_a_grade_down_is_the_first_reason():
    events = [(0, "heroic_act", DAY - 30), (0, "heroic_act", DAY - 20), (0, "drunk_driving", DAY - 10),
              (0, "traffic_violation", DAY - 5)]
    result = score(events)
    assert result.score[0] == 1055 and tier(result) == "C"   # AAA by points
    assert result.reason_strings()[0] == "drunk_driving;traffic"
    assert result.explain(0)[0] == {"code": "drunk_driving", "tier_cap": "drunk_driving",
                                    "when": "drunk_driving_2y >= 1", "at_most": "C", "tier_by_score": "AAA",
                                    "values": {"drunk_driving_2y": 1.0}}


def test_score_output_names_the_cap_behind_a_denied_loan(tmp_path):
    # `socialcredit score` refuses this scheme for real people; its output is the score job's table.
    log = tmp_path / "events.csv"
    log.write_text("subject,kind,time\n"
                   "wang,heroic_act,2024-03-01\nwang,heroic_act,2024-04-01\nwang,drunk_driving,2024-05-01\n"
                   "li,heroic_act,2024-03-01\nli,heroic_act,2024-04-01\nli,drunk_driving,2022-01-01\n")
    out = tmp_path / "scores.csv"
    write_table(run_score(log, SCHEME).table, out)
    rows = {row["subject"]: row for row in csv.DictReader(out.open())}
    assert float(rows["wang"]["score"]) == float(rows["li"]["score"]) == 1060
    assert rows["wang"]["tier"] == "C" and rows["wang"]["standard_loan_terms"] == "false"
    assert rows["wang"]["reasons"] == "drunk_driving" and rows["wang"]["capped_by"] == "drunk_driving"
    # li's drunk driving is past retention (two years): no cap, no reason
    assert rows["li"]["tier"] == "AAA" and rows["li"]["reasons"] == "" and rows["li"]["capped_by"] == ""


def test_the_cap_never_raises_a_grade():
    # 81 tickets: 595 points, grade D; drunk driving (at most C) leaves it D.
    events = [(0, "traffic_violation", DAY - 100 + i) for i in range(81)] + [(0, "drunk_driving", DAY - 1)]
    result = score(events)
    assert result.score[0] == 595
    assert tier(result) == "D"
    assert result.reason_strings()[0] == "traffic"   # the cap held nothing down: not a reason
    assert not result.entitlements["public_sector_post"][0]   # a D-grade penalty


def test_records_count_for_two_years():
    ticket = [(0, "traffic_violation", DAY)]
    assert score(ticket, as_of=DAY + 730).score[0] == 995
    assert score(ticket, as_of=DAY + 731).score[0] == 1000
    drunk = [(0, "drunk_driving", DAY)]
    assert tier(score(drunk, as_of=DAY + 730)) == "C"
    assert tier(score(drunk, as_of=DAY + 731)) == "A"


def test_real_person_use_is_refused_because_it_crosses_contexts():
    verdict = classify(SCHEME)
    assert not verdict.allowed
    assert any("heating_discount" in reason and "traffic_violation (conduct)" in reason for reason in verdict.refusals)


def test_grades_run_aaa_to_d_and_the_scheme_cites_its_sources():
    assert SCHEME.tier_names == ["AAA", "AA", "A", "B", "C", "D"]
    assert any("foreignpolicy.com" in source for source in SCHEME.sources)


def test_the_scenario_runs_and_reports_the_scheme_lists():
    run = socialcredit.simulate("rongcheng", population=2000, days=30)
    assert run.scheme.id == "rongcheng"
    assert set(run.summary["lists"]) == set(SCHEME.lists)
    assert set(run.summary["entitlements_denied"]) == set(SCHEME.entitlements)
    assert np.isfinite(run.summary["score"]["mean"])


def test_people_parquet_gives_the_cap_as_the_reason_of_drunk_drivers_held_at_c(tmp_path):
    # Drunk driving a hundred times as often as the scenario has it, so that a month has some.
    run = socialcredit.simulate("rongcheng", population=2000, days=30, **{"behaviours.drunk_driving.rate": 0.002})
    write_people(run.sim, tmp_path / "people.parquet")
    people = pd.read_parquet(tmp_path / "people.parquet")
    held = (people["feature.drunk_driving_2y"] >= 1) & (people["score"] >= 850)   # B or better by points
    assert held.sum() >= 10
    assert people.loc[held, "reasons"].str.fullmatch(r"drunk_driving(;.*)?").all()
    assert (people.loc[held, "tier"] == "C").all() and (people.loc[held, "capped_by"] == "drunk_driving").all()
    others = people.loc[~held, "reasons"].str.split(";")
    assert not others.map(lambda codes: "drunk_driving" in codes).any()
