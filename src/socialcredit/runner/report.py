"""The run report: one self-contained HTML file (plots embedded, no external assets)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ..analysis.fairness import RELATIVE_RISK_FLAG, SIGNIFICANCE
from ..sim.schemes import scheme_sections
from ..undefined import WHY_NULL, shown
from ..world.display import QUINTILES
from . import plots
from .enrolment_report import enrolment_rows
from .gaming_report import gaming_rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .run import Run


def _image(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# What each wrongful harm is, to finish "the minority is 26x as likely ...": a harm not named here
# reads "to suffer <its key>"
HARM_WORDS = {
    "wrongly_listed": "to be wrongly listed",
    "wrongly_sanctioned": "to be wrongly sanctioned",
    "wrongly_denied_perks": "to lose a perk to a false record",
    "wrongly_left_off_honours": "to be wrongly left off an honour list",
    "falsely_stopped": "to be stopped by police on a false face-recognition alert",
}


def _times(ratio: float) -> str:
    return f"{ratio:,.0f}" if ratio >= 9.95 else f"{ratio:.1f}" if ratio >= 0.995 else f"{ratio:.2f}"


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def relative_risk_rows(harms: dict[str, Any], groups: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per wrongful harm and group compared with the reference group (the least harmed):
    the harm, its rate by group, the relative risk with its interval, p, the flag and what it means
    in words. They lead the report's harms."""
    rows: list[dict[str, Any]] = []
    for key, figure in harms.get("relative_risks", {}).items():
        harm = HARM_WORDS.get(key, f"to suffer {key.replace('_', ' ')}")
        reference = figure["reference"]
        rates = ", ".join(f"{g} {figure['groups'][g]['rate'] * 100:.3g}% ({figure['groups'][g]['harmed']:,} of "
                          f"{figure['groups'][g]['people']:,})" if figure["groups"][g]["rate"] is not None
                          else f"{g}: no members" for g in groups)
        for group, risk in figure["relative_risk"].items():
            row = {"harm": key.replace("_", " "), "group": group, "reference": reference, "rates": rates,
                   "p": _p(risk["p_value"]) if risk["p_value"] is not None else "", "flagged": risk["flagged"]}
            if risk["estimate"] is None:
                why = risk["why_null"]["estimate"]
                row.update(risk="", verdict=f"undefined: {why}", words=f"no ratio for the {group}: {why}")
            else:
                interval = f"{_times(risk['low'])}-{_times(risk['high'])}x"
                row["risk"] = f"{_times(risk['estimate'])}x [{interval}]"
                row["words"] = (f"the {group} is {_times(risk['estimate'])}x ({interval}) as likely as the "
                                f"{reference} {harm}" + (" (0.5 added to every count, as one was zero)"
                                                         if risk["corrected"] else ""))
                row["verdict"] = ("FLAGGED: large and significant" if risk["flagged"] else
                                  f"not significant (p = {_p(risk['p_value'])})" if risk["p_value"] >= SIGNIFICANCE
                                  else f"significant, but the interval reaches {RELATIVE_RISK_FLAG}x or below")
            rows.append(row)
    return rows


def harm_rows(run: Run) -> list[tuple[str, str, str]]:
    """(figure, value, what it means): the harms, which lead the report: the false records, each
    phase's own rows, then the disparities, income feedback and isolation every run has."""
    summary, harms = run.summary, run.summary["harms"]
    groups = run.population.group_names
    rows: list[tuple[str, str, str]] = []

    def by_group(figure: dict) -> str:
        return ", ".join(f"{g} {shown(figure['by_group'][g], '.2%')}" for g in groups)

    false = harms["false_records"]
    if false["count"]:
        rows.append(("records of acts the person did not do", f"{false['count']:,}",
                     f"blaming {false['people_blamed']:,} people (misidentification, record errors, incidents)"))
    rows += run.module_rows()  # each phase's own (Module.report_rows), in the loop's order
    disparities = [(f"{scheme_name}: " if scheme_name else "", name, figure)
                   for scheme_name, section in scheme_sections(summary)
                   for name, figure in section["harms"]["disparities"].items()]
    for label, name, figure in disparities:
        what = label + name.replace("left_off.", "left off honour list '").replace("listed.", "on list '").replace(
            "denied.", "denied '") + "'"
        impact = figure["disparate_impact"]
        if impact is None:  # no group has the favourable outcome: a ratio of zeros, said so with the counts
            rows.append((f"{what}: disparate impact", "undefined",
                         figure[WHY_NULL]["disparate_impact"].removeprefix("undefined: ")))
            continue
        flag = " FAILS the four-fifths rule" if figure["fails_four_fifths"] else (
            f" (below four-fifths, but the gap is not significant: p = {figure['p_value']:.2f})"
            if impact < 0.8 else "")
        likely = (f"the most affected group is {figure['adverse_ratio']:.1f}x as likely"
                  if figure["adverse_ratio"] is not None else figure[WHY_NULL]["adverse_ratio"])
        rows.append((f"{what}: disparate impact", f"{impact:.2f}",
                     f"rate {figure['rate']:.2%}; by group: {by_group(figure)}; {likely}{flag}"))
    feedback = summary["feedback"]
    if feedback["income_log_growth_sanctioned"] is not None and feedback["income_log_growth_others"] is not None:
        rows.append(("income change, ever sanctioned vs never",
                     f"{feedback['income_log_growth_sanctioned']:+.2%} vs {feedback['income_log_growth_others']:+.2%}",
                     "mean log income growth over the run; a comparison of groups, not an effect (those "
                     "sanctioned differ to begin with): `--counterfactual sanctions` measures what sanctions cause"))
    network = summary["network"]
    rows.append(("disclosed people left with no ties", shown(network["isolated_listed_share_final"], ".2%"),
                 f"mean ties per person {network['mean_degree_initial']:.2f} at the start, "
                 f"{network['mean_degree_final']:.2f} at the end"))
    return rows


def outcome_rows(run: Run) -> list[tuple[str, str, str]]:
    """(figure, value, what it means): who is listed and denied at the end."""
    summary = run.summary
    groups = run.population.group_names
    rows: list[tuple[str, str, str]] = []
    for key, what in (("listed_by_any", "on a list of any scheme"), ("sanctioned_by_any", "sanctioned by any scheme")):
        figure = summary.get("combined", {}).get(key)
        if figure is not None:
            by = ", ".join(f"{g} {shown(figure['by_group'][g], '.2%')}" for g in groups)
            several = figure["several_at_end"]["share"]
            rows.append((f"{what} at the end", f"{figure['share']:.2%}",
                         f"by group: {by}; by several at once: {several:.2%}; ever during the run: "
                         f"{figure['ever']['share']:.2%}; {figure['person_days']:,} person-days"))
    for scheme_name, section in scheme_sections(summary):
        label = f"{scheme_name}: " if scheme_name else ""
        for name, listed in section["lists"].items():
            by = ", ".join(f"{g} {shown(listed['by_group'][g], '.2%')}" for g in groups)
            rows.append((f"{label}on list '{name}' at the end", f"{listed['share']:.2%}", f"by group: {by}; "
                         f"ever listed during the run: {section['ever_listed'][name]:.2%}"))
        for name, denied in section["entitlements_denied"].items():
            by = ", ".join(f"{g} {shown(denied['by_group'][g], '.2%')}" for g in groups)
            rows.append((f"{label}denied '{name}' at the end", f"{denied['share']:.2%}",
                         f"by group: {by}; {denied['person_days']:,} person-days denied in all"))
        network = section["network"]
        assortativity = network["assortativity_score_final"]
        rows.append((f"{label}score assortativity of ties (end)", shown(assortativity, ".3f"),
                     "how much people's ties sort by score (0: not at all); with a network term the score "
                     "holds one's ties' scores, so this is partly the term itself" if assortativity is not None
                     else network[WHY_NULL]["assortativity_score_final"]))
        if network.get("assortativity_pre_final") is not None:
            rows.append((f"{label}own-record assortativity of ties (end)", f"{network['assortativity_pre_final']:.3f}",
                         "how much ties sort by people's own records (pre, before any network term); what the "
                         "network term causes is measured by `--counterfactual network_term`"))
    return rows


def report_figures(run: Run) -> list[tuple[str, Figure]]:
    """(title, figure) of every plot in the report, in its order (tier mobility is a table, once)."""
    figures = []
    harm_figure = plots.harms_over_time(run)
    if harm_figure is not None:
        figures.append(("Wrongful listings and sanctions over time", harm_figure))
    for state in run.sim.schemes:  # each scheme's own figures (titled with its name where there are several)
        scheme, prefix, label = state.scheme, state.prefix, f"{state.name}: " if state.prefix else ""
        figures += [
            (f"{label}Score distribution over time", plots.score_over_time(run, prefix)),
            (f"{label}Tier shares", plots.tier_shares(run, state)),
        ]
        if scheme.lists:
            figures.append((f"{label}Lists by group", plots.by_group_over_time(
                run, f"{prefix}listed", list(scheme.lists), f"{label}Share on each list, by group", "% listed",
                "on")))
        if scheme.entitlements:
            figures.append((f"{label}Entitlements denied by group", plots.by_group_over_time(
                run, f"{prefix}denied", list(scheme.entitlements), f"{label}Share denied each entitlement, by group",
                "% denied", "denied")))
    figures += [
        ("Income against score", plots.income_against_score(run)),
        ("Network segregation", plots.network_segregation(run)),
        ("Events done and recorded", plots.events_observed(run)),
    ]
    return figures


def write_report(run: Run, path: Path) -> Path:
    figures = [(title, plots.png_of(figure)) for title, figure in report_figures(run)]
    schemes = [(f"{state.name} ({state.entry.operator})" if state.prefix else "", state.scheme,
                run.mobilities[state.name]) for state in run.sim.schemes]
    environment = Environment(loader=PackageLoader("socialcredit", "templates"),
                              autoescape=select_autoescape(["html"]))
    html = environment.get_template("report.html").render(
        run=run, scenario=run.scenario, schemes=schemes, summary=run.summary, harms=harm_rows(run),
        relative_risks=relative_risk_rows(run.summary["harms"], run.population.group_names),
        relative_risk_flag=RELATIVE_RISK_FLAG, outcomes=outcome_rows(run),
        gaming=gaming_rows(run.summary, run.population.group_names),
        enrolment=enrolment_rows(run.summary, run.population.group_names),
        figures=[(title, _image(png)) for title, png in figures], phases=run.phase_seconds,
        displays=list(run.summary.get("display", {}).items()), quintiles=QUINTILES, shown=shown,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
