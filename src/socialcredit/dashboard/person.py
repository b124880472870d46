"""One person through a run: who they are, what they did, what was recorded against them (false
records marked with where they came from), their score, tier, lists, denials, ties and appeals, as
far as the run's files hold them. A day-by-day score is not saved; where the scheme allows it, it
is recomputed from the saved records by the scoring core itself, never estimated."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .folders import FolderProblem, read_summary, scheme_sections
from .runview import read_parquet

if TYPE_CHECKING:
    from ..scenario.load import ScenarioScheme
    from ..scoring.core import Scores

EPOCH = dt.date(1970, 1, 1)
PICKS = {"wrongly_listed": "a wrongly listed person", "shunned": "a person shunned after a false record"}


@dataclass
class SchemeStory:
    name: str                            # "" with one scheme
    facts: list[tuple[str, str]]
    lists: list[dict[str, Any]]          # name, now, days, days wrongly
    entitlements: list[dict[str, Any]]   # name, allowed now, days denied, days wrongly
    rescored: dict[str, Any] | None = None  # the day-by-day figure and intervals on lists, when recomputed
    rescore_note: str = ""


@dataclass
class Story:
    person: int
    facts: list[tuple[str, str]]
    acts: list[tuple[str, int, int, int | None]]  # kind, true acts, records made against them, still on file
    schemes: list[SchemeStory]
    timeline: list[dict[str, Any]] = field(default_factory=list)
    events_note: str = ""


def pick(people: pd.DataFrame, which: str) -> int | None:
    """The person a reader asks for by what happened to them, the most telling case first."""
    if which == "wrongly_listed":
        days = [c for c in people.columns if "days_wrongly_listed." in c]
        if not days:
            return None
        total = people[days].sum(axis=1)
        return int(people.loc[total.idxmax(), "person"]) if total.max() > 0 else None
    if which == "shunned":
        lost = people["degree_initial"].astype(int) - people["degree"].astype(int)
        chosen = lost[(people["false_records"] > 0) & (lost > 0)]
        return int(people.loc[chosen.idxmax(), "person"]) if len(chosen) else None
    raise FolderProblem(f"no such pick '{which}': choose {' or '.join(PICKS)}")


def pick_person(folder: Path, which: str) -> int | None:
    if which not in PICKS:
        raise FolderProblem(f"no such pick '{which}': choose {' or '.join(PICKS)}")
    return pick(read_parquet(folder / "people.parquet"), which)


def date_of(days: float) -> str:
    return (EPOCH + dt.timedelta(days=float(days))).isoformat()


def _flag(value: Any) -> bool:
    return bool(value) and value == value


def scheme_story(row: pd.Series, name: str) -> SchemeStory:
    prefix = f"{name}." if name else ""
    facts = []
    for column, label in (("score", "final score"), ("pre", "score before the network term"),
                          ("tier_initial", "tier at the start"), ("tier", "tier at the end"),
                          ("capped_by", "tier capped by"), ("unscored_by", "unscored because"),
                          ("appeals_filed", "appeals filed"), ("reasons", "reasons (strongest first)")):
        if prefix + column in row.index and row[prefix + column] is not None and row[prefix + column] == \
                row[prefix + column] and row[prefix + column] != "":
            value = row[prefix + column]
            facts.append((label, f"{value:,.1f}" if isinstance(value, float) else str(value)))
    if f"{prefix}appeals_filed" not in row.index and "appeals_filed" in row.index and not name:
        facts.append(("appeals filed", str(row["appeals_filed"])))
    lists = [{"name": c.split(".")[-1], "now": bool(row[c]),
              "days": int(row[f"{prefix}days_listed.{c.split('.')[-1]}"]),
              "wrongly": int(row.get(f"{prefix}days_wrongly_listed.{c.split('.')[-1]}", 0) or 0)}
             for c in row.index if c.startswith(f"{prefix}listed.")]
    entitlements = [{"name": c.split(".")[-1], "allowed": bool(row[c]),
                     "days": int(row[f"{prefix}days_denied.{c.split('.')[-1]}"]),
                     "wrongly": int(row.get(f"{prefix}days_wrongly_denied.{c.split('.')[-1]}", 0) or 0)}
                    for c in row.index if c.startswith(f"{prefix}allowed.")]
    return SchemeStory(name, facts, lists, entitlements)


def events_path(folder: Path, name: str) -> Path:
    return folder / (f"events.{name}.parquet" if name else "events.parquet")


def timeline(folder: Path, person: int, names: list[str]) -> list[dict[str, Any]]:
    """Every saved record against the person, and every record of their acts put on someone else."""
    rows = []
    for name in names:
        path = events_path(folder, name)
        if not path.is_file():
            continue
        events = read_parquet(path)
        mine = events[(events["subject"] == person) | (events["true_subject"] == person)]
        for record in mine.itertuples(index=False):
            against = int(record.subject) == person
            actor = int(record.true_subject)
            if against and record.genuine:
                what, false = "their act, recorded against them", False
            elif against and actor != person:
                what, false = f"false: person {actor}'s act, recorded against them", True
            elif against:
                what, false = "false: made or altered by an incident at the source", True
            else:
                what, false = f"their act, recorded against person {int(record.subject)}", False
            rows.append({"date": date_of(record.time), "time": float(record.time), "kind": str(record.kind),
                         "value": float(record.value), "source": str(record.source), "scheme": name, "what": what,
                         "false": false, "against": against})
    return sorted(rows, key=lambda r: (r["time"], r["scheme"]))


def story(folder: Path, person: int) -> Story:
    summary = read_summary(folder)
    people = read_parquet(folder / "people.parquet")
    found = people[people["person"] == person]
    if found.empty:
        raise FolderProblem(f"no person {person} in this run: ids run from 0 to {len(people) - 1}")
    row = found.iloc[0]
    lost = int(row["degree_initial"]) - int(row["degree"])
    facts = [("group", str(row["group"])), ("district", str(row["district"])), ("age", str(row["age"])),
             ("income at the start", f"{row['income_initial']:,.0f}"), ("income at the end", f"{row['income']:,.0f}"),
             ("ties at the start", str(row["degree_initial"])), ("ties at the end", str(row["degree"])),
             ("ties lost (net: cut minus made)", str(lost)), ("false records against them", str(row["false_records"]))]
    if "false_stops" in row.index:
        facts.append(("stopped on a false alert", str(row["false_stops"])))
    kinds = [c.removeprefix("true.") for c in people.columns if c.startswith("true.")]
    names = [name for name, _ in scheme_sections(summary)]
    schemes = [scheme_story(row, name) for name in names]
    saved = any(events_path(folder, name).is_file() for name in names)
    records = timeline(folder, person, names) if saved else []
    # with one scheme, a record made against them and no longer in events.parquet was voided on appeal
    on_file = {kind: sum(1 for r in records if r["against"] and r["kind"] == kind) for kind in kinds} \
        if saved and len(names) == 1 else {}
    acts = [(kind, int(row[f"true.{kind}"]), int(row.get(f"observed.{kind}", 0)), on_file.get(kind))
            for kind in kinds]
    result = Story(person, facts, acts, schemes)
    if saved:
        result.timeline = records
        result.events_note = ("Records as saved at the end (events.parquet): a record voided on appeal is no "
                              "longer in the file. Acts nobody recorded are not saved one by one; their counts "
                              "are under What they did.")
        for entry in schemes:
            rescore(folder, summary, entry, result.timeline, row)
    else:
        result.events_note = ("This run was made without --save-events, so its records are not saved one by one: "
                              "no timeline of this person's acts and records, and no day-by-day score. Run "
                              "`socialcredit simulate ... --save-events` to keep them.")
        for entry in schemes:
            entry.rescore_note = "Only the final state is saved (people.parquet): no day-by-day score without events."
    return result


def rescore(folder: Path, summary: dict[str, Any], entry: SchemeStory, records: list[dict[str, Any]],
            row: pd.Series) -> None:
    """The person's score, tier, lists and entitlements at the end of each day, recomputed from their
    saved records with the run's scheme by the scoring core (scoring.score_events)."""
    from ..scenario.load import load_scenario
    from ..scheme import SchemeError
    from ..scoring import EventArrays, kind_codes, score_events

    try:
        _, schemes = load_scenario(str(folder / "scenario.yaml"))
    except (SchemeError, OSError) as error:
        entry.rescore_note = f"No day-by-day score: the run's scenario.yaml cannot be loaded again ({error})."
        return
    chosen = [s for s in schemes if s.name == entry.name or (not entry.name and len(schemes) == 1)]
    if not chosen:
        entry.rescore_note = "No day-by-day score: the scheme is not in the run's scenario.yaml."
        return
    scheme = chosen[0].scheme
    # With a network term the score reads the ties' scores, and only the final ties are saved: the
    # day-by-day figure is then `pre`, the score from one's own records, which needs no ties.
    networked = scheme.network is not None
    start = float((dt.date.fromisoformat(str(load_start(folder))) - EPOCH).days)
    days = int(summary["days"])
    by_name = {s.name: s for s in schemes}
    held: list[str] = []  # imported lists held at their final state (their scheme has a network term)

    def daily(loaded: ScenarioScheme, name: str) -> list[Scores]:
        """The person's scores with one scheme at the end of each day, from the records saved
        against them for it; the lists it imports (lists_from) as their own schemes give them that day."""
        mine = [r for r in records if r["against"] and r["scheme"] == name]
        codes = kind_codes(loaded.scheme)
        events = EventArrays.build(np.zeros(len(mine)), [codes[r["kind"]] for r in mine],
                                   [r["time"] for r in mine], [r["value"] for r in mine], n_subjects=1)
        imported: dict[str, list[np.ndarray]] = {}
        for own, source, list_name in loaded.lists_from:
            if by_name[source].scheme.network is not None:  # its lists read the ties' scores: not recomputable
                final = bool(row.get(f"{source}.listed.{list_name}", False))
                imported[own] = [np.array([final])] * days
                held.append(f"{own} ({source}.{list_name})")
            else:
                imported[own] = [scores.lists[list_name] for scores in daily(by_name[source], source)]
        return [score_events(loaded.scheme, events, start + day,
                             inputs={own: members[day] for own, members in imported.items()})
                for day in range(days)]

    dates, score, tiers = [], [], []
    lists: dict[str, list[bool]] = {name: [] for name in scheme.lists}
    denied: dict[str, list[bool]] = {name: [] for name in scheme.entitlements}
    for day, scores in enumerate(daily(chosen[0], entry.name)):
        dates.append(date_of(start + day))
        scored = bool(scores.scored[0])
        score.append(float((scores.pre if networked else scores.score)[0]) if scored else None)
        tiers.append(scheme.tiers[int(scores.tier[0])].name if scored and scores.tier[0] >= 0 else "")
        for name in lists:
            lists[name].append(bool(scores.lists[name][0]))
        for name in denied:
            denied[name].append(not bool(scores.entitlements[name][0]))
    prefix = f"{entry.name}." if entry.name else ""
    final = row.get(prefix + ("pre" if networked else "score"))
    same = final is not None and score[-1] is not None and abs(score[-1] - float(final)) < 1e-6 * max(1, abs(final))
    what = "score before the network term" if networked else "score"
    entry.rescored = {"dates": dates, "score": score, "tiers": tiers, "label": what,
                      "spans": [] if networked else spans(dates, lists, "on") + spans(dates, denied, "denied")}
    entry.rescore_note = (
        ("This scheme's score adds a term from the scores of one's ties, and only the final ties are saved: "
         "the curve is the score before that term (from one's own records), and lists and entitlements day by "
         "day, which read the whole score, are not recomputed. " if networked else "")
        + f"The {what} is recomputed by the scoring core from the records saved against this person, at the end "
        "of each day"
        + (" (the lists it imports from other schemes recomputed the same way, from this person's records "
           "with those schemes" + (f"; {', '.join(held)} held as they were at the end" if held else "") + ")"
           if chosen[0].lists_from else "")
        + ": "
        "records voided on appeal are no longer saved (so the days before a void are shown without them), and a "
        "record that reached the scheme late counts from the day of the act. "
        + (f"On the last day it gives {score[-1]:,.1f}, as the run's final one." if same else
           f"On the last day it gives {score[-1]}, not the run's final {final}: read the curve with care."))


def spans(dates: list[str], flags: dict[str, list[bool]], word: str) -> list[str]:
    """'on blacklist 2025-01-04 to 2025-01-20' for each run of days a flag holds."""
    found = []
    for name, days in flags.items():
        start = None
        for index, flag in enumerate([*days, False]):
            if flag and start is None:
                start = index
            elif not flag and start is not None:
                found.append(f"{word} {name}: {dates[start]} to {dates[index - 1]}")
                start = None
    return found


def load_start(folder: Path) -> str:
    import yaml

    data = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    return str(data["run"]["start"])


def score_figure(entry: SchemeStory, records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The recomputed score over time, with each record against the person marked (false ones in red)."""
    if entry.rescored is None:
        return None
    rescored = entry.rescored
    data: list[dict[str, Any]] = [{"type": "scatter", "mode": "lines", "x": rescored["dates"], "y": rescored["score"],
                                   "name": rescored["label"], "text": rescored["tiers"], "line": {"shape": "hv"},
                                   "hovertemplate": "%{y:.1f}" + (" (tier %{text})" if any(rescored["tiers"]) else "")
                                   + "<extra></extra>"}]
    by_date = dict(zip(rescored["dates"], rescored["score"], strict=True))
    for false, colour, label in ((False, "#2ca02c", "genuine record"), (True, "#d62728", "false record")):
        chosen = [r for r in records if r["against"] and r["false"] == false and r["scheme"] == entry.name]
        if chosen:
            data.append({"type": "scatter", "mode": "markers", "name": label,
                         "x": [r["date"] for r in chosen], "y": [by_date.get(r["date"]) for r in chosen],
                         "text": [f"{r['kind']} ({r['source']})" for r in chosen],
                         "marker": {"color": colour, "size": 9, "symbol": "x" if false else "circle"},
                         "hovertemplate": "%{text}<extra>" + label + "</extra>"})
    title = rescored["label"].capitalize() + " day by day" + (f" ({entry.name})" if entry.name else "")
    return {"data": data, "layout": {"title": {"text": title, "font": {"size": 15}}, "height": 380,
                                     "margin": {"l": 60, "r": 20, "t": 50, "b": 40}, "hovermode": "closest",
                                     "yaxis": {"title": {"text": rescored["label"]}},
                                     "legend": {"orientation": "h", "y": -0.15}}}
