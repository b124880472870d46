"""The run report: one self-contained HTML file (plots embedded, no external assets)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

from . import plots

if TYPE_CHECKING:
    from ..sim.run import Run


def _image(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def headline(run: Run) -> list[tuple[str, str, str]]:
    """(figure, value, what it means) rows that lead the report."""
    summary = run.summary
    groups = run.sim.people.group_names
    rows: list[tuple[str, str, str]] = []
    for name, listed in summary["lists"].items():
        by = ", ".join(f"{g} {listed['by_group'][g]:.2%}" for g in groups)
        rows.append((f"on list '{name}' at the end", f"{listed['share']:.2%}", f"by group: {by}; "
                     f"ever listed during the run: {summary['ever_listed'][name]:.2%}"))
        shares = [listed["by_group"][g] for g in groups]
        if max(shares) > 0:
            rows.append((f"disparate impact of '{name}'", f"{min(shares) / max(shares):.2f}",
                         "lowest group rate / highest group rate (below 0.80 fails the four-fifths rule)"))
    for name, denied in summary["entitlements_denied"].items():
        by = ", ".join(f"{g} {denied['by_group'][g]:.2%}" for g in groups)
        rows.append((f"denied '{name}' at the end", f"{denied['share']:.2%}",
                     f"by group: {by}; {denied['person_days']:,} person-days denied in all"))
    feedback = summary["feedback"]
    if feedback["income_log_growth_sanctioned"] is not None and feedback["income_log_growth_others"] is not None:
        rows.append(("income change, ever sanctioned vs never",
                     f"{feedback['income_log_growth_sanctioned']:+.2%} vs {feedback['income_log_growth_others']:+.2%}",
                     "mean log income growth over the run: the sanction feedback loop"))
    network = summary["network"]
    rows.append(("listed people left with no ties", f"{network['isolated_listed_share_final']:.2%}",
                 f"mean ties per person {network['mean_degree_initial']:.2f} at the start, "
                 f"{network['mean_degree_final']:.2f} at the end"))
    rows.append(("score assortativity of ties (end)", f"{network['assortativity_score_final']:.3f}",
                 "how much people's ties sort by score (0: not at all)"))
    return rows


def write_report(run: Run, path: Path) -> Path:
    scheme = run.scheme
    figures = [
        ("Score distribution over time", plots.score_over_time(run)),
        ("Tier shares", plots.tier_shares(run)),
    ]
    if scheme.lists:
        figures.append(("Lists by group", plots.by_group_over_time(run, "listed", list(scheme.lists),
                                                                   "Share on each list, by group", "% listed")))
    if scheme.entitlements:
        figures.append(("Entitlements denied by group", plots.by_group_over_time(
            run, "denied", list(scheme.entitlements), "Share denied each entitlement, by group", "% denied")))
    figures += [
        ("Income against score", plots.income_against_score(run)),
        ("Network segregation", plots.network_segregation(run)),
        ("Tier mobility", plots.mobility(run)),
        ("Events done and recorded", plots.events_observed(run)),
    ]
    environment = Environment(loader=PackageLoader("socialcredit", "analysis/templates"),
                              autoescape=select_autoescape(["html"]))
    html = environment.get_template("report.html").render(
        run=run, scenario=run.scenario, scheme=scheme, summary=run.summary, headline=headline(run),
        figures=[(title, _image(png)) for title, png in figures],
        mobility=run.mobility, phases=run.phase_seconds,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
