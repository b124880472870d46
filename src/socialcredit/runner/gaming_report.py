"""Gaming and approval seeking (summary.json's `gaming`): the rows of its section of the report, and
its headline figures for `compare`. Read from the summary alone, so a report or an experiment
needs nothing of the run's state."""

from __future__ import annotations

from typing import Any

from ..analysis.who import QUINTILES
from ..undefined import shown

ReportRow = tuple[str, str, str]


def _gains(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(scheme label, points gained figures) of each scheme farming gained points in."""
    gained = summary["gaming"]["farming"].get("points_gained", {})
    if "mean" in gained:
        return [("", gained)]
    return [(f"{name}: ", figure) for name, figure in gained.items()]


def gaming_rows(summary: dict[str, Any], groups: tuple[str, ...]) -> list[ReportRow]:
    """(figure, value, what it means) for the report's section on gaming; empty where nothing is gamed."""
    gaming = summary.get("gaming", {})
    rows: list[ReportRow] = []
    if "farming" in gaming:
        farming = gaming["farming"]
        for kind, figure in farming["kinds"].items():
            rows.append((f"'{kind}' farmed", f"{figure['farmed_per_person_year']:.3g} a person-year",
                         f"records of acts done for the points, {shown(figure['farmed_share_of_records'], '.1%')} of "
                         f"the {figure['recorded_per_person_year']:.3g} '{kind}' records a person-year"))
        farmers = farming["farmers"]
        quintiles = ", ".join(f"{q} {shown(farmers['by_income_quintile'][q], '.1%')}" for q in QUINTILES)
        by_group = ", ".join(f"{g} {shown(farmers['by_group'][g], '.1%')}" for g in groups)
        rows.append(("people who farmed", f"{farmers['share']:.1%}",
                     f"by income quintile at the start (1 the poorest): {quintiles}; by group: {by_group}"))
        for label, figure in _gains(summary):
            quintiles = ", ".join(f"{q} {shown(figure['by_income_quintile'][q], '+.2f')}" for q in QUINTILES)
            by_group = ", ".join(f"{g} {shown(figure['by_group'][g], '+.2f')}" for g in groups)
            rows.append((f"{label}points from farming, a person", f"{figure['mean']:+.2f}",
                         f"{shown(figure['farmers_mean'], '+.2f')} for those who farmed; by income quintile: "
                         f"{quintiles}; by group: {by_group}"))
            rows.append((f"{label}share of reward points from farming", shown(figure["share_of_points"], ".1%"),
                         "of the points the components reading a farmed kind give, those farmed records give "
                         "(the final scores against the same scheme scoring every record but the farmed ones)"))
    if "pruning" in gaming:
        pruning = gaming["pruning"]
        low, others = pruning["low_unlisted"], pruning["others"]
        pruners = pruning["pruners"]
        quintiles = ", ".join(f"{q} {shown(pruners['by_income_quintile'][q], '.1%')}" for q in QUINTILES)
        rows.append(("ties pruned", f"{pruning['ties_pruned_per_person_year']:.3g} a person-year",
                     f"{pruning['ties_pruned']:,} ties cut because a friend's score cost points through the network "
                     f"term; {shown(pruning['pruned_ties_to_low_unlisted_share'], '.1%')} of them to low scorers on "
                     f"no list; {pruners['share']:.1%} of people pruned (by income quintile: {quintiles})"))
        rows.append(("ties of low scorers on no list", f"{shown(low['mean_degree_initial'], '.2f')} -> "
                     f"{shown(low['mean_degree_final'], '.2f')}",
                     f"{low['people']:,} people ({low['definition']}); "
                     f"{shown(low['isolated_share'], '.2%')} left with no tie; everyone else "
                     f"{shown(others['mean_degree_initial'], '.2f')} -> {shown(others['mean_degree_final'], '.2f')}; "
                     "`--counterfactual pruning` measures what pruning causes"))
    for kind, figure in gaming.get("inflation", {}).items():
        spread, tracks = figure["spread"], figure["tracks_quality"]
        rows.append((f"'{kind}' ratings inflated", shown(figure["inflated_share"], ".1%"),
                     f"of {figure['ratings_honest']:,} honest ratings, given higher (or, for a bad rating, not at "
                     f"all) to be rated up or for fear of retaliation; {figure['ratings_published']:,} published"))
        rows.append((f"'{kind}' ratings: spread, honest -> published",
                     f"{shown(spread['honest'], '.3g')} -> {shown(spread['published'], '.3g')}", spread["of"]))
        rows.append((f"'{kind}' ratings: tracking of true quality, honest -> published",
                     f"{shown(tracks['honest'], '.3f')} -> {shown(tracks['published'], '.3f')}",
                     f"{tracks['of']}; `--counterfactual inflation` makes the ratings private"))
        if "top_share" in figure:
            top = figure["top_share"]
            rows.append((f"'{kind}': top rated, honest -> published",
                         f"{shown(top['honest'], '.1%')} -> {shown(top['published'], '.1%')}", top["of"]))
    return rows


def gaming_figures(summary: dict[str, Any]) -> dict[str, float]:
    """The headline figures of gaming, for `compare`: none where nothing is gamed."""
    figures: dict[str, float] = {}
    gaming = summary.get("gaming", {})
    if "farming" in gaming:
        for kind, figure in gaming["farming"]["kinds"].items():
            figures[f"farmed_share.{kind}"] = figure["farmed_share_of_records"]
        for label, figure in _gains(summary):
            name = label.removesuffix(": ")
            figures[".".join(p for p in ("points_from_farming", name) if p)] = figure["mean"]
            figures[".".join(p for p in ("points_from_farming", name, "share") if p)] = figure["share_of_points"]
            figures.update({".".join(p for p in ("points_from_farming", name, g) if p): v
                            for g, v in figure["by_group"].items()})
    if "pruning" in gaming:
        pruning = gaming["pruning"]
        figures["ties_pruned_per_person_year"] = pruning["ties_pruned_per_person_year"]
        figures["isolated_low_unlisted_share"] = pruning["low_unlisted"]["isolated_share"]
        figures["mean_degree_low_unlisted"] = pruning["low_unlisted"]["mean_degree_final"]
    for kind, figure in gaming.get("inflation", {}).items():
        figures[f"ratings_inflated_share.{kind}"] = figure["inflated_share"]
        figures[f"rating_spread.{kind}"] = figure["spread"]["published"]
        figures[f"rating_tracks_quality.{kind}"] = figure["tracks_quality"]["published"]
    return figures
