"""Enrolment (summary.json's `enrolment`, `world/enrolment.py`): the rows of its section of the
report, and its headline figures for `compare` and `--counterfactual enrolment`. Read from the
summary alone, so a report or an experiment needs nothing of the run's state."""

from __future__ import annotations

from typing import Any

from ..analysis.who import QUINTILES
from ..sim.schemes import scheme_sections
from ..undefined import shown

ReportRow = tuple[str, str, str]
SNAPSHOT_ROWS = 12  # update days shown in the report (a daily scheme has 365)

RULES = {"as_unscored": "read by the scheme's own rules as unscored", "denied": "denied every entitlement (bad "
         "risks)", "allowed": "allowed every entitlement (left alone)"}


def enrolment_rows(summary: dict[str, Any], groups: tuple[str, ...]) -> list[ReportRow]:
    """(figure, value, what it means) for the report's section on enrolment; empty without a rule."""
    rows: list[ReportRow] = []
    for name, figure in summary.get("enrolment", {}).items():
        label = f"'{name}' "
        switch = figure["mandatory_from_day"]
        rule = figure["rule"] + (f", mandatory from day {switch}" if switch is not None and figure["rule"] ==
                                 "voluntary" else f" from day {switch}" if switch is not None else "")
        by_group = ", ".join(f"{g} {shown(figure['by_group'][g], '.1%')}" for g in groups)
        rows.append((f"{label}enrolled at the end", f"{figure['enrolled_share']:.1%}",
                     f"{rule}; the unenrolled are {RULES[figure['unenrolled']]}; records of leavers "
                     f"{figure['retention']}; by group: {by_group}; {figure['joins']:,} joins, {figure['leaves']:,} "
                     "leaves"))
        if "by_would_be_quintile" in figure:
            quintiles = figure["by_would_be_quintile"]
            rows.append((f"{label}enrolled, by would-be score", ", ".join(
                f"{q} {shown(quintiles[q], '.0%')}" for q in QUINTILES),
                "at the end, by fifth of the score the scheme would give each person from all their records "
                "(1 the lowest)"))
        over_time = figure["over_time"]
        every = -(-len(over_time) // SNAPSHOT_ROWS) if over_time else 1
        for snapshot in [*over_time[:-1:every], *over_time[-1:]]:  # at most SNAPSHOT_ROWS + 1, the last always
            quintiles = snapshot["by_would_be_quintile"]
            rows.append((f"{label}day {snapshot['day']}", f"{snapshot['enrolled_share']:.1%} enrolled",
                         "by would-be fifth: " + ", ".join(f"{q} {shown(quintiles[q], '.0%')}" for q in QUINTILES)
                         + f"; would-be score enrolled {shown(snapshot['would_be_score_enrolled'], '.0f')}, "
                         f"unenrolled {shown(snapshot['would_be_score_unenrolled'], '.0f')}; of the unenrolled "
                         f"{shown(snapshot['unenrolled_denied_share'], '.0%')} denied an entitlement"))
        unravelling = figure["unravelling"]
        first, last = unravelling["first"], unravelling["last"]
        rows.append((f"{label}unravelling: highest fifth enrolled, first -> last update day",
                     f"{shown(first['highest_quintile_enrolled'], '.0%')} -> "
                     f"{shown(last['highest_quintile_enrolled'], '.0%')}",
                     f"lowest fifth {shown(first['lowest_quintile_enrolled'], '.0%')} -> "
                     f"{shown(last['lowest_quintile_enrolled'], '.0%')}; would-be score of those left out "
                     f"{shown(first['would_be_score_unenrolled'], '.0f')} -> "
                     f"{shown(last['would_be_score_unenrolled'], '.0f')} (gap to the enrolled "
                     f"{shown(first['would_be_score_gap'], '+.0f')} -> {shown(last['would_be_score_gap'], '+.0f')})"))
        rows.append((f"{label}unenrolled denied an entitlement", shown(last["unenrolled_denied_share"], ".1%"),
                     "of those not enrolled at the last update day"))
        if "switch" in figure:
            change = figure["switch"]
            before, after = change["before"], change["after"]
            rows.append((f"{label}switch to mandatory on day {change['day']}: denied an entitlement",
                         f"{shown(before['denied_share'], '.1%')} -> {shown(after['denied_share'], '.1%')}",
                         f"at the update days {shown(before['day'], 'd')} and {shown(after['day'], 'd')}; on a list "
                         f"{shown(before['listed_share'], '.1%')} -> {shown(after['listed_share'], '.1%')}; "
                         f"entitlements denied a person {shown(before['entitlements_denied_per_person'], '.2f')} -> "
                         f"{shown(after['entitlements_denied_per_person'], '.2f')}"))
    return rows


def enrolment_figures(summary: dict[str, Any]) -> dict[str, float]:
    """The headline figures of enrolment, for `compare`: none without a rule."""
    figures: dict[str, float] = {}
    for name, figure in summary.get("enrolment", {}).items():
        figures[f"enrolled_share.{name}"] = figure["enrolled_share"]
        figures.update({f"enrolled_share.{name}.{g}": v for g, v in figure["by_group"].items()})
        figures.update({f"enrolled_share.{name}.would_be_q{q}": v
                        for q, v in figure.get("by_would_be_quintile", {}).items() if q in QUINTILES})
        last = figure["unravelling"]["last"]
        figures[f"unenrolled_denied_share.{name}"] = last["unenrolled_denied_share"]
        figures[f"would_be_score_gap.{name}"] = last["would_be_score_gap"]
        if "switch" in figure:
            for key in ("denied_share_change", "listed_share_change", "entitlements_denied_per_person_change"):
                figures[f"switch.{key}.{name}"] = figure["switch"][key]
    return figures


def enrolment_effect_figures(summary: dict[str, Any]) -> dict[str, float]:
    """What enrolment is said to move, with it and with everyone enrolled (`--counterfactual
    enrolment`): the share denied each entitlement, the enrolled share, income and the acts."""
    figures: dict[str, float] = {"income_mean_log_growth": summary["income"]["mean_log_growth"]}
    figures.update({f"income_mean_log_growth.{g}": v for g, v in summary["income"]["log_growth"]["by_group"].items()})
    for scheme_name, section in scheme_sections(summary):
        prefix = f"{scheme_name}." if scheme_name else ""
        figures.update({f"denied.{prefix}{name}": denied["share"]
                        for name, denied in section["entitlements_denied"].items()})
        figures.update({f"listed.{prefix}{name}": listed["share"] for name, listed in section["lists"].items()})
    for name, figure in summary.get("enrolment", {}).items():
        figures[f"enrolled_share.{name}"] = figure["enrolled_share"]
    figures.update({f"acts_per_person_year.{kind}": value for kind, value in summary["acts_per_person_year"].items()})
    return figures
