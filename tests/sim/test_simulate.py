"""`socialcredit simulate`: a population living under a scheme, reproducible and measurable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.runner.run import simulate
from socialcredit.scenario.load import load_scenario
from socialcredit.scheme import SchemeError
from socialcredit.world.appeals import Appeals
from socialcredit.world.metrics import Metrics

runner = CliRunner()

LAWFUL_SCHEME = """
id: netcredit
title: Financial scheme with a friends term (test)
scale: {min: 0, max: 1000, base: 700}
retention_days: 60
events:
  payment: {category: financial}
  late_payment: {category: financial}
  rating: {category: financial}
features:
  paid: {count: payment, window_days: 30}
  late: {count: late_payment, window_days: 30}
  late_share: {ratio: [late, paid]}
  lates_decayed: {count: late_payment, half_life_days: 10}
  stars: {mean: rating, window_days: 20, default: 3}
  clean_days: {days_since: late_payment, default: 100}
components:
  history: {feature: late_share, bins: [{upto: 0, points: 40}, {upto: 0.5, points: -50}, {points: -150}]}
  recent: {feature: lates_decayed, per_unit: -30, min: -200}
  peer: {feature: stars, per_unit: 10, max: 50}
  clean: {feature: clean_days, bins: [{upto: 7, points: -20}, {points: 0}]}
network: {weight: 0.3}
tiers: [{name: good, min: 700}, {name: fair, min: 600}, {name: poor, min: 0}]
tier_caps: [{when: "stars < 2.5", at_most: fair}]   # unnamed: its reason code is cap_stars
lists: {watch: "tier <= 'poor' or late >= 2"}
entitlements:
  credit: {allow: "not watch", context: financial, uses: [social]}
reasons: 3
"""

LAWFUL_SCENARIO = """
id: nettest
scheme: netcredit.yaml
population: {size: 3000, groups: {a: 0.8, b: 0.2}, districts: 4}
network: {mean_degree: 6, homophily: 0.7, rewiring: 0.1}
behaviours:
  payment: {rate: 0.1}
  late_payment: {rate: 0.02, heterogeneity: 2, stress: 3}
  rating: {rate: 0.05, value: [1, 5]}
surveillance:
  bank: {observes: [payment, late_payment], coverage: 0.9}
  app: {observes: [rating], coverage: 1.0}
consequences: {credit: {denied: {income_growth: -0.2}}, watch: {disclose: 1.0}}
social: {shun_listed: 0.05, rebuild_every_days: 5}
run: {days: 90, seed: 4, chunk: 1024}
"""


@pytest.fixture(scope="module")
def lawful(tmp_path_factory, write_scenario) -> Path:
    return write_scenario(tmp_path_factory.mktemp("lawful"), "netcredit.yaml", LAWFUL_SCHEME, LAWFUL_SCENARIO)


@pytest.fixture(scope="module")
def small_run():
    return simulate(population=3000, days=60, seed=7)


def test_default_scenario_is_100k_people_for_a_year_under_a_municipal_scheme():
    scenario, schemes = load_scenario()
    scheme = schemes[0].scheme
    assert scenario.population.size == 100_000 and scenario.run.days == 365
    assert len(schemes) == 1 and "blacklist" in scheme.lists and scheme.entitlements


def test_run_gives_summary_metrics_and_people(small_run):
    assert small_run.summary["people"] == 3000 and small_run.summary["days"] == 60
    assert isinstance(small_run.metrics, pd.DataFrame) and len(small_run.metrics) == 60
    assert isinstance(small_run.people, pd.DataFrame) and len(small_run.people) == 3000
    for column in ("score_mean", "score_mean.minority", "listed.blacklist.majority", "denied.board_flight",
                   "gini_income", "assortativity_score", "isolated_listed_share", "tier_share.A"):
        assert column in small_run.metrics, column
    assert small_run.metrics["score_mean"].notna().all()
    people = small_run.people
    # a person is recorded with more violations than they did only by a camera's false match
    blamed = (people["observed.traffic_violation"] > people["true.traffic_violation"]).sum()
    assert blamed <= small_run.summary["harms"]["sources"]["cameras"]["false_matches"]
    # cameras see 30% of violations (a binomial count: within four standard deviations); banks see every
    # payment, filing 1 in 1,000 under another person of the district (the default's record errors)
    acts, seen = people["true.traffic_violation"].sum(), people["observed.traffic_violation"].sum()
    assert acts > 100 and abs(seen - 0.3 * acts) <= 4 * np.sqrt(acts * 0.3 * 0.7)
    assert people["observed.payment"].sum() == people["true.payment"].sum() > 0
    misfiled = (people["observed.payment"] != people["true.payment"]).sum()
    assert 0 < misfiled <= 2 * small_run.summary["harms"]["sources"]["banks"]["record_errors"]


def test_same_seed_same_results_bit_for_bit(small_run):
    again = simulate(population=3000, days=60, seed=7)
    pd.testing.assert_frame_equal(small_run.people, again.people, check_exact=True)
    pd.testing.assert_frame_equal(small_run.metrics, again.metrics, check_exact=True)


@pytest.mark.slow
def test_results_do_not_depend_on_thread_count(tmp_path):
    import os
    import subprocess
    import sys

    from socialcredit.scoring.core import SLICE

    frames = []
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
               "NUMBA_NUM_THREADS": threads, "SOCIALCREDIT_THREADS": threads}
        out = tmp_path / f"t{threads}"
        # Several slices of people, so that two threads share the slices' work.
        subprocess.run([sys.executable, "-m", "socialcredit.cli", "simulate", "--population", str(2 * SLICE + 1000),
                        "--days", "15", "--out", str(out)], env=env, check=True, capture_output=True)
        frames.append((pd.read_parquet(out / "people.parquet"), pd.read_parquet(out / "metrics.parquet")))
    pd.testing.assert_frame_equal(frames[0][0], frames[1][0], check_exact=True)
    pd.testing.assert_frame_equal(frames[0][1], frames[1][1], check_exact=True)


def test_results_do_not_depend_on_thread_count_in_the_quick_loop(monkeypatch):
    """The slow test above in small: slices of 500 people, so that 3,000 people make six slices
    which two threads share (and chunks of 1,024 people, three random-stream blocks); one thread
    and two give the same people and metrics to the bit."""
    import threading

    import numba

    from socialcredit import parallel
    from socialcredit.scoring import core

    monkeypatch.setattr(core, "SLICE", 500)
    sharing = parallel.parallel_map
    threads_seen: set[int] = set()

    def recorded(work, items):
        def marked(item):
            threads_seen.add(threading.get_ident())
            return work(item)
        return sharing(marked, items)

    runs = []
    for threads in (1, 2):
        monkeypatch.setenv("SOCIALCREDIT_THREADS", str(threads))
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        threads_seen.clear()
        for module in ("socialcredit.world.behaviour", "socialcredit.scoring.core"):
            monkeypatch.setattr(f"{module}.parallel_map", recorded)
        runs.append(simulate(population=3000, days=20, seed=4, **{"run.chunk": 1024}))
        assert len(threads_seen) == threads, "the slices' work is shared by as many threads as asked"
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    pd.testing.assert_frame_equal(runs[0].people, runs[1].people, check_exact=True)
    pd.testing.assert_frame_equal(runs[0].metrics, runs[1].metrics, check_exact=True)


def test_another_seed_differs(small_run):
    other = simulate(population=3000, days=60, seed=8)
    assert not small_run.people["score"].equals(other.people["score"])


def test_sanctions_feed_back_into_income(lawful):
    harsh = simulate(lawful, **{"consequences.credit.denied.income_growth": -1.0})
    summary = harsh.summary["feedback"]
    assert summary["ever_sanctioned_share"] > 0.01
    # while denied credit, income grows 100 points a year slower: the sanctioned fall behind
    expected_gap = (harsh.people["days_denied.credit"] / 365).mean() / summary["ever_sanctioned_share"]
    gap = summary["income_log_growth_others"] - summary["income_log_growth_sanctioned"]
    assert gap == pytest.approx(expected_gap, rel=0.5)
    mild = simulate(lawful, **{"consequences.credit.denied.income_growth": 0.0})
    late = lambda run: run.people["true.late_payment"].sum()  # noqa: E731
    assert late(harsh) > late(mild)  # lower income, more stress, more late payments


def test_deterrence_lowers_what_is_observed_and_punished():
    free = simulate(population=3000, days=60, seed=7, **{"behaviours.traffic_violation.deterrence": 0})
    deterred = simulate(population=3000, days=60, seed=7, **{"behaviours.traffic_violation.deterrence": 20})
    assert deterred.people["true.traffic_violation"].sum() < 0.9 * free.people["true.traffic_violation"].sum()


def test_shunning_cuts_ties_to_listed_people(lawful):
    run = simulate(lawful)
    listed = run.people["listed.watch"].to_numpy()
    assert listed.any()
    lost = (run.people["degree_initial"] - run.people["degree"]).to_numpy()
    assert lost[listed].mean() > 1.0
    calm = simulate(lawful, **{"social.shun_listed": 0.0})
    assert (calm.people["degree"] == calm.people["degree_initial"]).all()


def test_one_core_three_jobs_simulation_agrees_with_score(lawful, tmp_path):
    run = simulate(lawful, save_events=True)
    run.save(tmp_path / "run")
    as_of = run.sim.time(run.sim.days - 1)
    result = runner.invoke(app, ["score", str(tmp_path / "run/events.parquet"), "--scheme",
                                 str(lawful.parent / "netcredit.yaml"), "--relations",
                                 str(tmp_path / "run/relations.parquet"), "--as-of", str(as_of),
                                 "--out", str(tmp_path / "scores.parquet")])
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(tmp_path / "scores.parquet")
    scored.index = scored["subject"].astype(int)
    people = run.people.set_index("person").loc[scored.index]
    for feature in run.scheme.features:
        np.testing.assert_allclose(scored[feature], people[f"feature.{feature}"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(scored["score"], people["score"], rtol=1e-9)
    np.testing.assert_allclose(scored["pre"], people["pre"], rtol=1e-9)
    assert (scored["tier"] == people["tier"]).all()
    assert (scored["watch"] == people["listed.watch"]).all()
    assert (scored["credit"] == people["allowed.credit"]).all()
    assert (scored["capped_by"] == people["capped_by"]).all()
    capped = people["capped_by"] == "cap_stars"
    assert capped.any() and people.loc[capped, "reasons"].str.startswith("cap_stars").all()
    mismatch = scored["reasons"] != people["reasons"]
    assert not mismatch.any(), pd.concat([scored["reasons"], people["reasons"]], axis=1)[mismatch].head()
    missing = people.index.difference(scored.index)  # no events and no ties: the base score
    assert len(missing) == 0 or (run.people.set_index("person").loc[missing, "pre"] == 740).all()


def test_report_is_self_contained_with_plots(small_run, tmp_path):
    path = small_run.report(tmp_path / "report.html")
    html = path.read_text()
    assert html.count("data:image/png;base64,") >= 6
    assert "<script src" not in html and "<link " not in html  # nothing fetched when opened
    assert "Who the system harms" in html and "Who is listed and denied" in html


def test_cli_simulate_writes_every_output(tmp_path):
    result = runner.invoke(app, ["simulate", "--population", "2000", "--days", "20", "--seed", "3",
                                 "--set", "network.mean_degree=4", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    for name in ("summary.json", "metrics.parquet", "people.parquet", "scenario.yaml", "report.html"):
        assert (tmp_path / "out" / name).exists(), name
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["people"] == 2000 and summary["days"] == 20
    resolved = (tmp_path / "out/scenario.yaml").read_text()
    assert "network:\n  model: homophilous_small_world\n  mean_degree: 4" in resolved
    assert "mean score" in result.output


def test_cli_bad_override_names_the_path_and_fix(tmp_path):
    result = runner.invoke(app, ["simulate", "--set", "behaviours.late_paymnt.rate=0.1", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--set behaviours.late_paymnt.rate=0.1: unknown event kind 'late_paymnt'" in result.output
    assert "did you mean 'late_payment'?" in result.output


def test_every_problem_of_an_entry_a_set_made_is_reported_against_the_set(tmp_path: Path) -> None:
    """`enrolment.nosuch` is in no file: both its problems are the --set's, not a line of the preset."""
    result = CliRunner().invoke(app, ["simulate", "zhima-2020", "--set", "enrolment.nosuch.rule=mandatory",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # as read, however the terminal wraps it
    assert "(2 problems)" in said and said.count("--set enrolment.nosuch.rule=mandatory: ") == 2
    assert "preset:zhima-2020:" not in said


def test_scenario_errors_name_file_line_and_fix(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("scheme: example\npopulation: {size: 100, groups: {a: 0.5, b: 0.4}}\n"
                    "consequences: {fly: {denied: {income_growth: -1}}}\n")
    with pytest.raises(SchemeError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert "add up to 1" in text
    path.write_text("scheme: example\nconsequences: {fly: {denied: {income_growth: -1}}}\n")
    with pytest.raises(SchemeError) as caught:
        load_scenario(path)
    assert f"{path}:2:16: consequences.fly: unknown entitlement or list 'fly'" in str(caught.value)


def test_package_level_api_runs_the_default():
    import socialcredit

    run = socialcredit.simulate(population=1500, days=10, **{"network.mean_degree": 4})
    assert run.summary["people"] == 1500 and len(run.metrics) == 10


def test_a_barred_person_does_not_do_what_needs_the_entitlement(lawful, tmp_path, write_scenario):
    scheme = (lawful.parent / "netcredit.yaml").read_text()
    scheme = scheme.replace("  rating: {category: financial}", "  rating: {category: financial}\n"
                            "  loan_taken: {category: financial}")
    scenario = lawful.read_text().replace("  rating: {rate: 0.05, value: [1, 5]}",
                                          "  rating: {rate: 0.05, value: [1, 5]}\n"
                                          "  loan_taken: {rate: 0.05, requires: [credit]}")
    scenario = scenario.replace("observes: [rating]", "observes: [rating, loan_taken]")
    run = simulate(write_scenario(tmp_path, "netcredit.yaml", scheme, scenario))
    people = run.people
    denied_days = people["days_denied.credit"]
    barred = denied_days >= 60
    assert barred.sum() >= 20
    # 0.05 loans a day on the days one may borrow, none on the days one is barred
    free_days = 90 - denied_days[barred]
    assert people.loc[barred, "true.loan_taken"].sum() <= 1.3 * 0.05 * free_days.sum() + 3
    assert people.loc[denied_days == 0, "true.loan_taken"].mean() == pytest.approx(0.05 * 90, rel=0.15)
    # what the denials prevented, per year: about 0.05 loans for every person-day denied
    blocked = run.summary["harms"]["blocked_per_year"]["loan_taken"]
    assert blocked == pytest.approx(0.05 * denied_days.sum() * 365 / 90, rel=0.1)


def test_a_scheme_without_tiers_runs_and_reports(tmp_path):
    (tmp_path / "notiers.yaml").write_text(
        "id: notiers\ntitle: t\nscale: {min: 0, max: 10, base: 5}\nevents: {k: {category: civic}}\n"
        "features: {n: {count: k}}\ncomponents: {c: {feature: n, per_unit: -1}}\nlists: {low: 'score < 4'}\n")
    (tmp_path / "s.yaml").write_text("scheme: notiers.yaml\npopulation: {size: 500}\nbehaviours: {k: {rate: 0.05}}\n"
                                     "surveillance: {s: {observes: [k]}}\nrun: {days: 3}\n")
    run = simulate(tmp_path / "s.yaml")
    assert run.summary["tiers"] == {} and "listed.low" in run.metrics
    assert "data:image/png;base64," in run.report(tmp_path / "r.html").read_text()


def test_merged_kinds_cannot_be_late_or_contested(tmp_path):
    result = runner.invoke(app, ["simulate", "--preset", "fico", "--population", "500", "--days", "5",
                                 "--set", "appeals={propensity: 0.5}", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "inquiry feed a merged count" in result.output
    assert "list appeals.kinds without them" in result.output


def test_drawing_one_row_at_a_time_gives_the_numbers_of_one_draw():
    """Behaviour draws a kind at a time (one row in memory); the numbers are those of one draw."""
    from socialcredit.scenario.streams import PersonStreams, per_person

    whole = per_person(4, "behaviour", 9, 5000, 1024, lambda g, m: g.random((3, m), dtype=np.float32))
    streams = PersonStreams(4, "behaviour", 9, 5000, 1024)
    rows = [streams.draw(lambda g, m: g.random(m, dtype=np.float32)) for _ in range(3)]
    np.testing.assert_array_equal(np.stack(rows), whole)


def test_people_parquet_written_slice_by_slice_holds_the_people_table(small_run, tmp_path, monkeypatch):
    """At tens of millions of people, people.parquet is written a slice at a time, its explanations
    made again per slice; what it holds is the whole table, row for row."""
    import socialcredit.runner.people_table as people_table

    monkeypatch.setattr(people_table, "PEOPLE_SLICE", 700)  # 3,000 people: five row groups
    path = tmp_path / "people.parquet"
    people_table.write_people(small_run.sim, path)
    assert pq.ParquetFile(path).num_row_groups == 5
    written = pd.read_parquet(path)
    pd.testing.assert_frame_equal(written, small_run.people, check_exact=True, check_categorical=False)
    # the explanations agree with the scores the run ended on
    assert (written["score"].to_numpy() == small_run.sim.schemes[0].scores.score).all()
    assert written["reasons"].astype(str).str.len().gt(0).any()


def test_group_counts_block_by_block_equal_one_reduceat(monkeypatch):
    """Large (district, group) blocks are counted one by one (np.count_nonzero), small ones in one
    reduceat: the same shares, rates and tier shares to the bit."""
    from socialcredit.world import metrics

    small_blocks = simulate(population=3000, days=20, seed=2)
    assert small_blocks.sim.module(Metrics).block_ranges is None  # 75 people a block: one reduceat
    monkeypatch.setattr(metrics, "LARGE_BLOCKS", 1)
    counted = simulate(population=3000, days=20, seed=2)
    assert counted.sim.module(Metrics).block_ranges is not None
    pd.testing.assert_frame_equal(small_blocks.metrics, counted.metrics, check_exact=True)
    assert counted.metrics["listed.blacklist"].gt(0).any()


def test_a_burn_in_runs_before_day_0_and_only_day_0_on_is_reported():
    plain = simulate(population=3000, days=30, seed=4)
    burnt = simulate(population=3000, days=30, seed=4, **{"run.burn_in_days": 90})
    assert burnt.summary["days"] == 30 and burnt.summary["burn_in_days"] == 90
    assert len(burnt.metrics) == 30
    assert str(burnt.metrics["date"].iloc[0].date()) == "2025-01-01"
    # the world carries the burn-in's history: more people listed on day 0 than a fresh start has
    assert burnt.metrics["listed.blacklist"].iloc[0] > plain.metrics["listed.blacklist"].iloc[0]
    # tallies count from day 0: a month's acts, not four months'
    acts = burnt.people["true.payment"].sum() / plain.people["true.payment"].sum()
    assert acts == pytest.approx(1.0, rel=0.05)
    assert (burnt.people["days_listed.blacklist"] <= 30).all()
    # income growth is measured from day 0's income
    assert abs(burnt.summary["income"]["mean_log_growth"]) < 0.01


def test_a_burn_in_run_saves_its_whole_history_and_score_agrees_with_it(tmp_path):
    from socialcredit.validation import QUICK
    from socialcredit.validation.agreement import simulate_and_score_agree

    outcome = simulate_and_score_agree(QUICK, overrides={"run.burn_in_days": 60})
    assert outcome.passed, outcome


def strict_json(text: str) -> dict:
    """Parse as strict JSON: NaN, Infinity and -Infinity are not JSON."""
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def no_minority(tmp_path_factory):
    """A run whose minority group has no members: every rate of that group is over nobody."""
    run = simulate(population=400, days=10, **{"population.groups": {"majority": 1.0, "minority": 0.0}})
    return run, run.save(tmp_path_factory.mktemp("no_minority") / "run")


def test_summary_json_is_strict_json_where_a_group_is_empty(no_minority):
    _, out = no_minority
    summary = strict_json((out / "summary.json").read_text())
    assert summary["score"]["by_group"] == {"majority": pytest.approx(summary["score"]["mean"]), "minority": None}
    assert summary["score"]["why_null"]["by_group"]["minority"] == "no one in this population is in group 'minority'"
    blacklist = summary["lists"]["blacklist"]
    assert blacklist["by_group"]["minority"] is None and "minority" in blacklist["why_null"]["by_group"]
    disparity = summary["harms"]["disparities"]["listed.blacklist"]
    assert disparity["by_group"]["minority"] is None and "minority" in disparity["why_null"]["by_group"]


def test_every_null_in_a_summary_has_its_reason_beside_it(no_minority):
    from socialcredit.undefined import nulls_without_reason

    run, out = no_minority
    assert strict_json((out / "summary.json").read_text()) == json.loads(json.dumps(run.summary))
    assert nulls_without_reason(run.summary) == []
    assert run.summary["feedback"]["income_log_growth_sanctioned"] is None  # nobody sanctioned in ten days
    assert run.summary["feedback"]["why_null"]["income_log_growth_sanctioned"] == "no one was ever sanctioned"


def test_an_unbounded_ratio_of_rates_is_null_with_the_reason():
    from socialcredit.analysis.fairness import fairness_summary

    group = np.repeat([0, 1], [900, 100])
    listed = np.zeros(group.size, dtype=bool)
    listed[900:905] = True  # 5% of the minority, no one of the majority
    figure = fairness_summary(listed, group, ("majority", "minority"))
    assert figure["adverse_ratio"] is None and figure["disparate_impact"] == pytest.approx(0.95)
    assert figure["why_null"]["adverse_ratio"] == ("no one in group 'majority' (900 people) has this outcome, "
                                                   "while 5.00% of 'minority' do: the ratio of rates has no bound")
    strict_json(json.dumps(figure))


def test_headline_figures_and_the_report_read_a_summary_with_nulls(no_minority):
    from socialcredit.runner.compare import headline_figures

    run, out = no_minority
    figures = headline_figures(strict_json((out / "summary.json").read_text()))
    assert "score_mean.majority" in figures and not any(name.endswith(".minority") for name in figures)
    assert all(isinstance(value, float) and np.isfinite(value) for value in figures.values())
    assert "minority n/a" in (out / "report.html").read_text()


UNSCORED_SCHEME = LAWFUL_SCHEME.replace('credit: {allow: "not watch"', 'credit: {allow: "scored and not watch"') + """
unscored:
  - {when: "paid < 3", reason: thin}
  - {when: "stars < 2", reason: rated_down}
"""


def test_simulate_and_score_agree_on_who_is_unscored_and_why(tmp_path, write_scenario):
    scenario = write_scenario(tmp_path, "netcredit.yaml", UNSCORED_SCHEME,
                              LAWFUL_SCENARIO.replace("days: 90", "days: 40"))
    run = simulate(scenario, save_events=True)
    run.save(tmp_path / "run")
    result = runner.invoke(app, ["score", str(tmp_path / "run/events.parquet"), "--scheme",
                                 str(tmp_path / "netcredit.yaml"), "--relations",
                                 str(tmp_path / "run/relations.parquet"), "--as-of",
                                 str(run.sim.time(run.sim.days - 1)), "--out", str(tmp_path / "scores.parquet")])
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(tmp_path / "scores.parquet")
    scored.index = scored["subject"].astype(int)
    people = pd.read_parquet(tmp_path / "run/people.parquet").set_index("person").loc[scored.index]
    unscored = ~people["scored"]
    assert 0.02 < unscored.mean() < 0.98 and {"thin", "rated_down"} <= set(";".join(people["unscored_by"]).split(";"))
    for column in ("scored", "unscored_by", "tier", "reasons"):
        assert (scored[column].astype(str) == people[column].astype(str)).all(), column
    # no score, pre or tier for the unscored, in both; their reasons are the conditions that hold
    assert scored.loc[unscored, "score"].isna().all() and people.loc[unscored, "pre"].isna().all()
    why = people.loc[unscored]
    assert (why["tier"].astype(str) == "").all()
    assert (why["reasons"].astype(str) == why["unscored_by"].astype(str)).all()
    np.testing.assert_allclose(scored["score"], people["score"], rtol=1e-9)  # NaN beside NaN
    assert (scored["credit"] == people["allowed.credit"]).all() and not people.loc[unscored, "allowed.credit"].any()
    # the summary and the daily metrics give the share unscored; the score figures are the scored's
    summary = run.summary
    assert summary["unscored"]["share"] == pytest.approx(unscored.mean())
    assert summary["score"]["mean"] == pytest.approx(people.loc[~unscored, "score"].mean())
    assert run.metrics["unscored_share"].iloc[-1] == pytest.approx(unscored.mean())
    assert "(unscored)" in run.mobility.index


def test_appeals_are_filed_during_a_burn_in_as_after_it():
    from socialcredit.runner.loop import Loop
    from socialcredit.scenario.load import load_scenario
    from socialcredit.sim.model import Sim

    settings = {"population.size": 3000, "run.burn_in_days": 60, "run.days": 10,
                "behaviours.jaywalking.rate": 0.05, "appeals.propensity": 1.0}
    sim = Sim(*load_scenario("shenzhen-cameras", settings))
    loop = Loop(sim)
    for day in range(-60, 0):
        for module in loop.modules:
            module.step(sim, day)
    appeals = sim.module(Appeals)
    assert appeals is not None and appeals.filed > 0, "false records are contested before day 0 too"


def test_a_run_where_no_one_is_scored_prints_its_summary(tmp_path):
    result = runner.invoke(app, ["simulate", "--preset", "fico", "--population", "300", "--days", "20", "--set",
                                 "run.burn_in_days=0", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "mean score" in result.output and "n/a" in result.output


def test_the_isolation_of_the_listed_is_undefined_when_no_one_is_listed():
    run = simulate(population=50, days=5)
    network = run.summary["network"]
    assert network["isolated_listed_share_final"] is None
    assert network["why_null"]["isolated_listed_share_final"] == "no one was on a disclosed list at the end"


def test_records_of_burn_in_acts_arriving_after_day_0_stay_out_of_the_reported_tallies():
    # bank records arrive 5 days late: those of the burn-in's last days arrive in the reported period
    run = simulate(population=3000, days=40, **{"run.burn_in_days": 30, "surveillance.banks.delay_days": 5,
                                                "surveillance.banks.error_rate": 0})  # each record to its person
    people = run.people
    assert (people["observed.payment"] <= people["true.payment"]).all(), "no record of an act before day 0"
