"""The comparison report reads true (issue 21): it names its scenarios and what every variant shares,
gives shares in one unit (percent) and never in scientific notation, and draws scores as dots, not
as bars from 0."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from socialcredit.runner.compare import run_experiment, summarise, variants
from socialcredit.runner.compare_report import by_group_plot, cell, number, write_compare_report


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    chosen = variants(["default"], {"population.size": [1500], "run.days": [20],
                                    "social.shun_listed": [0, 0.01]})
    results = run_experiment(chosen, [1, 2])
    table = summarise(results)
    path = write_compare_report(results, table, ["majority", "minority"],
                                tmp_path_factory.mktemp("compare") / "report.html")
    return results, table, path.read_text()


def test_the_report_names_its_scenario_at_the_size_it_ran_and_the_settings_every_variant_shares(compared):
    _, _, html = compared
    heading = html.split("<h1>")[1].split("</h1>")[0]
    assert "A municipal points scheme: 1,500 people, 20 days" in heading
    assert "<code>default</code>" in html
    assert "<code>population.size=1500</code>" in html and "<code>run.days=20</code>" in html
    assert "Varied between variants: <code>social.shun_listed</code>" in html


def test_shares_are_in_percent_and_no_figure_is_in_scientific_notation(compared):
    _, table, html = compared
    cells = re.findall(r"<td>([^<]*)</td>", html)
    assert cells and not [c for c in cells if re.search(r"\d[eE][-+]?\d", c)]
    listed = table[(table["figure"] == "listed.blacklist.minority")].iloc[0]
    shown = cell(listed["mean"], listed["low"], listed["high"], listed["kind"])
    assert shown.count("%") == 3 and shown in html
    assert "in percent everywhere" in html


def test_a_tiny_share_is_written_out_in_percent():
    assert number(5e-05, "share") == "0.0050%"
    assert number(0.0243, "share") == "2.43%" and number(0.2431, "share") == "24.3%"
    assert cell(5e-05, 1e-05, 9e-05, "share") == "0.0050% [0.0010%, 0.0090%]"
    assert number(12345.6, "count") == "12,346" and number(0.987, "impact") == "0.987"
    assert "e" not in number(3e-07, "level")


def test_scores_are_dots_with_whiskers_not_bars_from_zero(compared):
    _, table, _ = compared
    figure = by_group_plot(table, "score_mean", ["majority", "minority"], "Mean score", percent=False)
    axis = figure.axes[0]
    assert not axis.patches  # no bars
    assert axis.get_ylim()[0] > 0 and axis.get_ylabel() == "mean score of the group"
    shares = by_group_plot(table, "listed.blacklist", ["majority", "minority"], "Listed", percent=True)
    assert len(shares.axes[0].patches) == 4 and shares.axes[0].get_ylabel() == "% of group"
    wrongly = by_group_plot(table, "wrongly_listed", ["majority", "minority"], "Wrongly listed", percent=True)
    if table[table["figure"].str.startswith("wrongly_listed.m")]["high"].max() == 0:  # no one, in any seed
        assert not wrongly.axes[0].patches and wrongly.axes[0].texts[0].get_text().startswith("none")
    plt.close("all")


def test_long_variant_names_do_not_run_into_each_other():
    names = [f"a_long_setting_name={value} another_setting=something" for value in (0.1, 0.5, 0.9)]
    table = pd.DataFrame([{"variant": v, "figure": f"listed.x.{g}", "kind": "share", "mean": 0.1, "low": 0.05,
                           "high": 0.2} for v in names for g in ("a", "b")])
    figure = by_group_plot(table, "listed.x", ["a", "b"], "Listed", percent=True)
    figure.tight_layout()
    figure.canvas.draw()
    boxes = [label.get_window_extent() for label in figure.axes[0].get_xticklabels()]
    for first, second in zip(boxes, boxes[1:], strict=False):
        assert first.x1 < second.x0
    plt.close("all")
