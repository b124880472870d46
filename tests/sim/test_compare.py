"""`socialcredit compare`: variants x seeds as Dask tasks, with intervals; same as running them here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from socialcredit.cli import app
from socialcredit.runner.compare import headline_figures, run_experiment, summarise, variants

SMALL = {"population.size": [1500], "run.days": [20], "network.mean_degree": [4]}


def test_variants_are_every_combination_labelled_by_what_varies():
    chosen = variants(["default"], {"run.seed": [1], "behaviours.traffic_violation.rate": [0.001, 0.01]})
    assert [v.label for v in chosen] == ["rate=0.001", "rate=0.01"]
    assert chosen[0].settings == (("run.seed", 1), ("behaviours.traffic_violation.rate", 0.001))


@pytest.mark.slow
def test_a_two_worker_local_cluster_gives_the_sequential_results():
    from dask.distributed import Client, LocalCluster

    chosen = variants(["default"], {**SMALL, "social.shun_listed": [0.0, 0.05]})
    sequential = run_experiment(chosen, [1, 2])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster, Client(cluster) as client:
        distributed = run_experiment(chosen, [1, 2], client)
    pd.testing.assert_frame_equal(sequential, distributed, check_exact=True)
    table = summarise(distributed)
    row = table[(table["figure"] == "score_mean") & (table["variant"] == "shun_listed=0.0")].iloc[0]
    values = distributed.loc[distributed["variant"] == "shun_listed=0.0", "score_mean"]
    assert row["mean"] == pytest.approx(values.mean()) and row["low"] <= row["mean"] <= row["high"]
    assert row["seeds"] == 2


def test_counterfactual_pairs_share_seeds():
    chosen = variants(["default"], {**SMALL, "behaviours.volunteering.rate": [0.004, 0.004]})
    results = run_experiment(chosen, [3])
    first, second = (results[results.index == i].drop(columns=["variant", "behaviours.volunteering.rate"])
                     for i in (0, 1))
    pd.testing.assert_frame_equal(first.reset_index(drop=True), second.reset_index(drop=True))


def test_cli_compare_writes_a_table_and_a_report(tmp_path):
    result = CliRunner().invoke(app, ["compare", "--set", "population.size=1500", "--set", "run.days=15",
                                      "--set", "surveillance.cameras.coverage=0.1,0.9", "--seeds", "2",
                                      "--sequential", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "table.csv")
    assert set(table["variant"]) == {"coverage=0.1", "coverage=0.9"}
    assert {"variant", "figure", "kind", "mean", "low", "high", "seeds", "interval_method"} <= set(table.columns)
    assert set(table["seeds"]) <= {1, 2} and (table["seeds"] == 2).any()
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in html and "coverage=0.9" in html
    assert "2 seeds" in html and "logit scale" in html and "Only 2 seeds" in html


def test_cli_compare_names_a_bad_setting(tmp_path):
    result = CliRunner().invoke(app, ["compare", "--set", "behaviours.jaywalk.rate=0.1,0.2", "--sequential",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown event kind 'jaywalk'" in result.output


def seeds_of(figure: str, values: list[float], variant: str = "v") -> pd.DataFrame:
    """A results frame: one variant, one figure, a seed per value."""
    return pd.DataFrame({"variant": variant, "scenario": "default", "seed": range(1, len(values) + 1),
                         figure: np.array(values, dtype=np.float64)})


def the_row(table: pd.DataFrame, figure: str) -> pd.Series:
    return table[table["figure"] == figure].iloc[0]


def test_a_share_near_zero_keeps_its_interval_at_or_above_zero():
    row = the_row(summarise(seeds_of("wrongly_sanctioned.minority", [0, 0, 0, 0.001, 0.02])),
                  "wrongly_sanctioned.minority")
    assert 0 < row["low"] < row["mean"] < row["high"] <= 1
    assert row["kind"] == "share" and row["interval_method"] == "t-logit"


def test_a_count_keeps_its_lower_bound_at_or_above_zero():
    row = the_row(summarise(seeds_of("wrongly_sanctioned.count", [0, 0, 3, 0, 11])), "wrongly_sanctioned.count")
    assert row["mean"] == pytest.approx(2.8) and 0 < row["low"] < row["mean"] < row["high"]
    assert row["kind"] == "count" and row["interval_method"] == "t-log"


def test_a_disparate_impact_keeps_its_upper_bound_at_or_below_one():
    row = the_row(summarise(seeds_of("disparate_impact.listed.blacklist", [1, 1, 1, 0.9, 0.5])),
                  "disparate_impact.listed.blacklist")
    assert 0 <= row["low"] < row["mean"] < row["high"] <= 1
    assert row["kind"] == "impact"


def test_a_suppressed_share_stays_at_most_one_and_may_be_negative():
    row = the_row(summarise(seeds_of("chilling.expression", [0.99, 0.999, 0.5, 0.98])), "chilling.expression")
    assert row["high"] <= 1 and row["kind"] == "suppressed"
    rewarded = the_row(summarise(seeds_of("chilling.volunteering", [-0.4, -0.1, -0.3])), "chilling.volunteering")
    assert rewarded["low"] < rewarded["mean"] < 0 and rewarded["high"] <= 1


def test_a_level_keeps_the_student_t_interval():
    values = [980.0, 1010.0, 1000.0, 995.0]
    row = the_row(summarise(seeds_of("score_mean", values)), "score_mean")
    half = 3.182446305284263 * np.std(values, ddof=1) / 2  # t(0.975, 3)
    assert row["interval_method"] == "t"
    assert (row["low"], row["high"]) == pytest.approx((np.mean(values) - half, np.mean(values) + half))


def test_the_interval_is_for_the_mean_and_narrows_with_more_seeds():
    rng = np.random.default_rng(5)
    few = the_row(summarise(seeds_of("listed.blacklist", rng.uniform(0.01, 0.05, 5).tolist())), "listed.blacklist")
    many = the_row(summarise(seeds_of("listed.blacklist", rng.uniform(0.01, 0.05, 200).tolist())),
                   "listed.blacklist")
    assert few["low"] < few["mean"] < few["high"] and many["low"] < 0.03 < many["high"]
    assert many["high"] - many["low"] < (few["high"] - few["low"]) / 3


def test_one_seed_gives_no_interval_and_says_why():
    table = summarise(seeds_of("wrongly_sanctioned.count", [4.0]))
    row = the_row(table, "wrongly_sanctioned.count")
    assert row["mean"] == 4 and math.isnan(row["low"]) and math.isnan(row["high"])  # not [4, 4]
    assert row["seeds"] == 1 and row["interval_method"] == "none" and "one seed" in row["note"]


def test_few_seeds_are_named_in_the_note_and_enough_are_not():
    assert "only 3 seeds" in the_row(summarise(seeds_of("listed.x", [0.1, 0.2, 0.15])), "listed.x")["note"]
    assert the_row(summarise(seeds_of("listed.x", [0.1, 0.2, 0.15, 0.12, 0.11])), "listed.x")["note"] == ""


def test_seeds_counts_only_those_where_the_figure_is_defined():
    row = the_row(summarise(seeds_of("listed.x.minority", [0.1, np.nan, 0.2, 0.15])), "listed.x.minority")
    assert row["seeds"] == 3 and "undefined for 1 of 4 seeds" in row["note"]


def test_every_seed_alike_gives_an_interval_without_width_and_says_so():
    row = the_row(summarise(seeds_of("wrongly_listed.count", [0.0, 0.0, 0.0])), "wrongly_listed.count")
    assert row["low"] == row["mean"] == row["high"] == 0 and "every seed gave 0" in row["note"]


def test_a_figure_without_a_kind_is_named():
    from socialcredit.analysis.intervals import figure_kind

    with pytest.raises(ValueError, match="'mystery' has no kind: add a pattern for it to FIGURE_KINDS"):
        figure_kind("mystery")


def test_every_headline_figure_of_a_run_has_a_kind():
    from socialcredit.analysis.intervals import figure_kind
    from socialcredit.runner.run import simulate

    run = simulate("shenzhen-cameras", population=1500, days=15)
    figures = headline_figures(run.summary)
    assert {"wrongly_listed.count", "false_records", "listed.displayed", "days_shown.displayed",
            "fees_collected.displayed"} <= set(figures)
    for figure in figures:
        figure_kind(figure)
    kinds = {"wrongly_left_off_honours.count": "count", "wrongly_left_off_honours.minority": "share",
             "listed.count": "share", "disparate_impact.denied.loan": "impact", "income_gap_sanctioned": "level",
             "chilling.expression": "suppressed", "appeal_backlog": "count", "score_mean.minority": "level",
             "still_shown_poorest_to_richest.displayed": "count", "still_shown.displayed.q1": "share",
             "paid_share.displayed.q5": "share", "days_shown.displayed.q2": "count"}
    assert {figure: figure_kind(figure).name for figure in kinds} == kinds


def test_the_same_compare_writes_the_same_table_bytes(tmp_path):
    args = ["compare", "--set", "population.size=600", "--set", "run.days=8", "--seeds", "3", "--sequential"]
    for out in ("a", "b"):
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a/table.csv").read_bytes() == (tmp_path / "b/table.csv").read_bytes()


@pytest.mark.parametrize(("figure", "draw", "truth"), [
    # people wrongly sanctioned in a run: overdispersed counts (negative binomial, mean 5)
    ("wrongly_sanctioned.count", lambda rng, n: rng.negative_binomial(2, 2 / 7, n), 5.0),
    # a share of 1,000 people listed, 2% on average
    ("listed.blacklist", lambda rng, n: rng.binomial(1000, 0.02, n) / 1000, 0.02),
])
def test_the_interval_covers_the_mean_about_as_often_as_it_says(figure, draw, truth):
    from socialcredit.analysis.intervals import figure_kind, interval

    rng = np.random.default_rng(7)
    covered = [interval(draw(rng, 5).astype(np.float64), figure_kind(figure)) for _ in range(1000)]
    share = np.mean([found.low <= truth <= found.high for found in covered])
    assert 0.92 <= share <= 0.98
