"""`socialcredit compare`: variants x seeds as Dask tasks, with intervals; same as running them here."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from socialcredit.analysis.experiments import run_experiment, summarise, variants
from socialcredit.cli import app

SMALL = {"population.size": [1500], "run.days": [20], "network.mean_degree": [4]}


def test_variants_are_every_combination_labelled_by_what_varies():
    chosen = variants(["default"], {"run.seed": [1], "behaviours.traffic_violation.rate": [0.001, 0.01]})
    assert [v.label for v in chosen] == ["rate=0.001", "rate=0.01"]
    assert chosen[0].settings == (("run.seed", 1), ("behaviours.traffic_violation.rate", 0.001))


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
    assert row["runs"] == 2


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
    assert {"variant", "figure", "mean", "low", "high", "runs"} <= set(table.columns)
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in html and "coverage=0.9" in html


def test_cli_compare_names_a_bad_setting(tmp_path):
    result = CliRunner().invoke(app, ["compare", "--set", "behaviours.jaywalk.rate=0.1,0.2", "--sequential",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown event kind 'jaywalk'" in result.output
