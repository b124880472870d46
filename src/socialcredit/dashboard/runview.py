"""A run's page: what the run is, its headline harms, and its figures, scheme by scheme."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import figures as fig
from .folders import FolderProblem, read_summary, run_headline, scheme_sections


@dataclass
class Section:
    heading: str
    figures: list[fig.Figure] = field(default_factory=list)
    note: str = ""


@dataclass
class RunView:
    name: str
    summary: dict[str, Any]
    title: str
    headline: list[tuple[str, str]]
    sections: list[Section]
    has_events: bool
    files: list[str]


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, columns=columns)
    except Exception as error:  # Arrow raises its own kinds for a truncated or foreign file
        raise FolderProblem(f"{path.name} cannot be read: {error}") from None


def scenario_title(folder: Path, summary: dict[str, Any]) -> str:
    """The scenario's title from the run's scenario.yaml, or its id."""
    import yaml

    try:
        data = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
        title = data.get("title") if isinstance(data, dict) else None
    except (OSError, yaml.YAMLError):
        title = None
    return str(title or summary.get("scenario", folder.name))


def has_events(folder: Path) -> bool:
    return (folder / "events.parquet").is_file() or any(folder.glob("events.*.parquet"))


def run_view(folder: Path) -> RunView:
    summary = read_summary(folder)
    metrics = read_parquet(folder / "metrics.parquet")
    people = read_parquet(folder / "people.parquet")
    sections: list[Section] = []
    for name, _section in scheme_sections(summary):
        prefix, of = (f"{name}.", f" ({name})") if name else ("", "")
        found = [fig.score_figure(metrics, prefix, of), fig.tier_figure(metrics, prefix, of),
                 fig.outcomes_figure(metrics, prefix, of, ("listed", "denied"), "Lists and denials by group"),
                 fig.outcomes_figure(metrics, prefix, of, ("wrongly_listed", "wrongly_denied"),
                                     "Wrongful harms by group: listed or denied on false records"),
                 fig.appeals_figure(metrics, prefix, of)]
        heading = f"Scheme {name} ({_section.get('scheme', '')})" if name else f"Scheme {summary.get('scheme', '')}"
        section = Section(heading, [f for f in found if f is not None] + fig.district_figures(people, prefix, of))
        if not any("Wrongful" in f["layout"]["title"]["text"] for f in section.figures):
            section.note = ("No wrongful harms are tracked: in this run no record can be false (no "
                            "misidentifying source, record errors or incidents).")
        sections.append(section)
    world = [fig.network_figure(metrics), fig.income_figure(metrics), fig.feedback_figure(summary),
             fig.chilling_figure(summary)]
    sections.append(Section("The world: ties, income, chilling", [f for f in world if f is not None]))
    effect = fig.counterfactual_figure(summary)
    if effect is not None:
        sections.append(Section("Counterfactual: what a mechanism causes", [effect]))
    for section in sections:  # a legend of many traces takes room from the plot: give it room
        for figure in section.figures:
            figure["layout"]["height"] = 400 + 11 * max(0, len(figure["data"]) - 6)
    files = sorted(path.name for path in folder.iterdir() if path.is_file())
    return RunView(folder.name, summary, scenario_title(folder, summary), run_headline(summary), sections,
                   has_events(folder), files)
