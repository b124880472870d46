"""The run report reads true: what a newcomer checks first (issue 21, "the report, fixed where it
misleads"): the run's real size in its title, an undefined ratio said to be undefined, plots whose
axes say what they count and whose legends and labels cover nothing."""

from __future__ import annotations

import itertools
import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from socialcredit.analysis.fairness import fairness_summary
from socialcredit.runner import plots
from socialcredit.runner.report import harm_rows, report_figures
from socialcredit.runner.run import simulate


@pytest.fixture(scope="module")
def run():
    return simulate(population=12_000, days=90, seed=3)


@pytest.fixture(scope="module")
def report_html(run, tmp_path_factory):
    return run.report(tmp_path_factory.mktemp("report") / "report.html").read_text()


@pytest.fixture(scope="module")
def figures(run):
    drawn = report_figures(run)
    for _, figure in drawn:
        figure.tight_layout()
        figure.canvas.draw()  # places every label and legend, as png_of does
    yield dict(drawn)
    plt.close("all")


def test_the_title_says_the_runs_real_size_and_length_not_the_presets(report_html):
    title = report_html.split("<h1>")[1].split("</h1>")[0]
    assert "12,000 people, 90 days" in title
    assert "100,000" not in report_html and "a year" not in title
    assert "12,000 people" in report_html.split("<h1>")[1].split("<h2>")[0]  # the line under it too


def test_an_honour_list_nobody_is_on_has_an_undefined_disparate_impact_with_the_counts():
    group = np.array([0] * 900 + [1] * 100)
    left_off = np.ones(1000, dtype=bool)  # everyone left off: no one on the list
    figure = fairness_summary(left_off, group, ("majority", "minority"))
    assert figure["disparate_impact"] is None and not figure["fails_four_fifths"]
    why = figure["why_null"]["disparate_impact"]
    assert why.startswith("undefined") and "0 of 900 in 'majority'" in why and "0 of 100 in 'minority'" in why
    json.dumps(figure, allow_nan=False)


def test_the_report_says_undefined_for_the_empty_honour_list_never_a_number(run, report_html):
    assert run.summary["lists"]["redlist"]["share"] == 0  # the default's honour list: no one reaches AAA
    row = next(r for r in harm_rows(run) if r[0].startswith("left off honour list 'redlist'"))
    assert row[1] == "undefined" and "0 of" in row[2]
    assert "disparate impact</td><td class=\"num\">0.00" not in report_html
    assert "disparate impact</td><td class=\"num\">1.00" not in report_html


def test_tier_mobility_appears_once(report_html):
    assert report_html.lower().count("tier mobility") == 1


def test_the_hexbin_has_a_colour_bar(figures):
    axes = figures["Income against score"].axes
    bars = [axis for axis in axes if axis.get_label() == "<colorbar>"]
    assert len(bars) == 1 and "people" in bars[0].get_ylabel()


def test_every_plotted_axis_says_what_its_y_axis_counts(figures):
    for title, figure in figures.items():
        for axis in figure.axes:
            if axis.get_label() == "<colorbar>" or not (axis.get_lines() or axis.patches or axis.collections):
                continue
            assert axis.get_ylabel() or axis.get_yticklabels()[0].get_text().isalpha(), (title, axis.get_title())
    ties = next(a for a in figures["Network segregation"].axes if a.get_title() == "Ties per person")
    assert ties.get_ylabel() == "mean ties per person"
    histogram = next(a for a in figures["Income against score"].axes if a.get_title().startswith("The feedback"))
    assert histogram.get_ylabel() == "% of the group"


def test_a_list_nobody_was_on_says_none_instead_of_a_flat_line(figures):
    redlist = next(a for a in figures["Lists by group"].axes if a.get_title() == "redlist")
    assert not redlist.get_lines() and any(t.get_text().startswith("none") for t in redlist.texts)
    blacklist = next(a for a in figures["Lists by group"].axes if a.get_title() == "blacklist")
    assert len(blacklist.get_lines()) == 2  # the list people are on still plots, one line a group


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_no_legend_covers_a_plot(figures):
    for title, figure in figures.items():
        legends = [axis.get_legend() for axis in figure.axes if axis.get_legend() is not None]
        for legend, axis in itertools.product(legends, figure.axes):
            if axis.get_lines() or axis.collections or axis.patches:
                assert not _overlap(legend.get_window_extent(), axis.get_window_extent()), (title, axis.get_title())


def test_no_tick_labels_run_into_each_other(figures):
    for title, figure in figures.items():
        for axis in figure.axes:
            for labels in (axis.get_xticklabels(), axis.get_yticklabels()):
                boxes = [label.get_window_extent() for label in labels if label.get_visible() and label.get_text()]
                for first, second in itertools.combinations(boxes, 2):
                    assert not _overlap(first, second), (title, axis.get_title())


def test_all_zero_helper_reads_missing_as_nothing():
    assert plots.all_zero([np.array([0.0, np.nan]), np.zeros(3)])
    assert not plots.all_zero([np.array([0.0, 0.01])])


def test_the_default_has_cameras_that_misidentify_and_its_report_shows_wrongful_harms(run, report_html, figures):
    from socialcredit.scenario.load import load_scenario

    scenario, _ = load_scenario()
    cameras = scenario.surveillance["cameras"]
    assert cameras.identification == "frvt_2019" and cameras.affected_groups == ["minority"]
    harms = run.summary["harms"]
    assert harms["records_can_be_false"] and harms["false_records"]["count"] > 0
    assert harms["wrongly_denied_perks"]["count"] > 0  # people lose a perk to records of acts they did not do
    assert "Every record in this scenario is true" not in report_html
    assert "records of acts the person did not do" in report_html
    assert "Wrongful listings and sanctions over time" in figures
