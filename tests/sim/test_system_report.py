"""The report's section on the system of schemes (README, "Several schemes"): a diagram of
operators, sources and flows, and the harms of the schemes together."""

from __future__ import annotations

import re

import pytest

import socialcredit
from socialcredit.runner.amplification import amplification, place
from socialcredit.runner.system_report import combined_rows, diagram, flows


@pytest.fixture(scope="module")
def national():
    return socialcredit.simulate("national", population=3000, days=60)


def test_the_diagram_draws_every_source_and_scheme_and_each_flow_and_import(national):
    svg = diagram(national)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for name in ("source: courts", "source: cameras", "source: alipay", ">court<", ">city<", ">zhima<"):
        assert name in svg
    # a line per source feeding a scheme: the court's records reach the court and, bought, Zhima
    drawn = {(f.source, f.scheme) for f in flows(national)}
    assert {("courts", "court"), ("courts", "zhima"), ("cameras", "city"), ("alipay", "zhima")} <= drawn
    assert ("alipay", "court") not in drawn and ("cameras", "zhima") not in drawn
    assert svg.count("<line ") == len(drawn)
    assert svg.count('stroke-dasharray="6,4"') == 1  # only Zhima's purchase is on terms of its own: a week late
    assert "7 days late" in svg
    # a red arrow from the court to each scheme that reads its list
    assert len(re.findall(r'<path d="M[^"]*"[^>]*marker-end', svg)) == 2
    assert "city reads court.dishonest_debtor" in svg and "zhima reads court.dishonest_debtor" in svg


def test_the_report_has_the_system_section_with_the_combined_harms(national, tmp_path):
    html = national.report(tmp_path / "report.html").read_text()
    assert "The system: operators, sources and flows" in html and "<svg" in html
    assert "Harms of the schemes together" in html
    assert "city: denied because of another scheme&#x27;s list" in html


def test_a_run_of_one_scheme_has_no_system_section(tmp_path):
    run = socialcredit.simulate("shixin", population=1000, days=10)
    assert "The system: operators" not in run.report(tmp_path / "report.html").read_text()


def test_the_combined_harms_give_amplification_where_it_was_measured(national):
    summary = dict(national.summary, combined=dict(national.summary["combined"]))
    groups = list(national.population.group_names)
    assert not any(name.startswith("amplification") for name, _, _ in combined_rows(summary, groups))
    place(summary, amplification("national", {"population.size": 3000, "run.days": 60}, [1], first=national))
    rows = {name: value for name, value, _ in combined_rows(summary, groups)}
    for scheme in ("court", "city", "zhima", "all schemes"):
        assert f"amplification, {scheme}: entitlement-days denied per false record" in rows
    assert "sanctioned by several schemes at once, ever" in rows
