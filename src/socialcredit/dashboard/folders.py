"""What a runs folder holds: each subfolder read as a run, a comparison or a validation, or named
with what is wrong with it. Nothing here raises on a bad folder: a half-written or foreign folder
is an entry with a problem, so one broken run never hides the others."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

RUN_FILES = ("summary.json", "metrics.parquet", "people.parquet")
COMPARISON_FILES = ("table.csv", "results.csv")


@dataclass
class Entry:
    """One subfolder of the runs folder, as the list shows it."""

    name: str
    kind: str                      # "run", "comparison", "validation" or "unreadable"
    modified: dt.datetime
    scenario: str = ""
    size: str = ""
    headline: list[tuple[str, str]] = field(default_factory=list)  # (figure, value as shown)
    problem: str = ""


class FolderProblem(Exception):
    """A folder that cannot be read as what it claims to be; the message says what is wrong."""


def modified(folder: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(folder.stat().st_mtime, tz=dt.UTC)


def read_summary(folder: Path) -> dict[str, Any]:
    """A run's summary.json, or FolderProblem saying what is wrong with the run folder."""
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise FolderProblem(f"missing {', '.join(missing)}: not a complete run folder (a run writes all of "
                            "summary.json, metrics.parquet and people.parquet at once)")
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise FolderProblem(f"summary.json cannot be read: {error}") from None
    if not isinstance(summary, dict) or "people" not in summary or "days" not in summary:
        raise FolderProblem("summary.json is not a run's summary (no 'people' or 'days')")
    return summary


def scheme_sections(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(scheme name, its section) for each scheme: `schemes.<name>` with several, else ("", summary)."""
    if isinstance(summary.get("schemes"), dict):
        return list(summary["schemes"].items())
    return [("", summary)]


def percent(value: Any, digits: int = 2) -> str:
    return "n/a" if value is None else f"{100 * float(value):.{digits}f}%"


def run_headline(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The harms a reader looks at first: wrongful listing and sanctions, lists, false records."""
    shown: list[tuple[str, str]] = []
    harms = summary.get("harms", {})
    for key, label in (("wrongly_listed_any", "wrongly listed (any scheme)"),
                       ("wrongly_sanctioned_any", "wrongly sanctioned (any scheme)")):
        if key in harms:
            shown.append((label, percent(harms[key].get("rate"), 3)))
    for name, section in scheme_sections(summary):
        of = f" ({name})" if name else ""
        section_harms = section.get("harms", {})
        for key, label in (("wrongly_listed", "wrongly listed"), ("wrongly_sanctioned", "wrongly sanctioned")):
            if key in section_harms and not name:
                shown.append((label + of, percent(section_harms[key].get("rate"), 3)))
        for list_name, listed in section.get("lists", {}).items():
            shown.append((f"on {list_name}{of}", percent(listed.get("share"))))
    false_records = harms.get("false_records", {}).get("count")
    if false_records is not None:
        shown.append(("false records", f"{false_records:,}"))
    return shown


def read_run(folder: Path) -> Entry:
    summary = read_summary(folder)
    days = summary["days"]
    size = f"{summary['people']:,} people, {days:,} day{'s' * (days != 1)}"
    return Entry(folder.name, "run", modified(folder), str(summary.get("scenario", "")), size,
                 run_headline(summary))


def read_table(folder: Path) -> pd.DataFrame:
    """A comparison's table.csv, checked for the columns `compare` writes."""
    try:
        table = pd.read_csv(folder / "table.csv")
    except (OSError, ValueError) as error:
        raise FolderProblem(f"table.csv cannot be read: {error}") from None
    needed = {"variant", "figure", "mean", "low", "high", "seeds"}
    if not needed <= set(table.columns):
        raise FolderProblem(f"table.csv lacks the columns {', '.join(sorted(needed - set(table.columns)))}")
    return table


def read_results(folder: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(folder / "results.csv")
    except (OSError, ValueError) as error:
        raise FolderProblem(f"results.csv cannot be read: {error}") from None


def read_comparison(folder: Path) -> Entry:
    table = read_table(folder)
    results = read_results(folder)
    variants = list(dict.fromkeys(table["variant"]))
    scenarios = ", ".join(dict.fromkeys(str(s) for s in results.get("scenario", pd.Series(dtype=str))))
    seeds = int(results["seed"].nunique()) if "seed" in results else 0
    size = f"{len(variants)} variant{'s' * (len(variants) != 1)} x {seeds} seed{'s' * (seeds != 1)}"
    if "population.size" in results:
        size += f", {int(results['population.size'].iloc[0]):,} people"
    if "run.days" in results:
        size += f", {int(results['run.days'].iloc[0]):,} days"
    headline = []
    for figure in ("wrongly_listed", "wrongly_sanctioned"):
        rows = table[table["figure"] == figure]
        if len(rows):
            headline.append((figure.replace("_", " "), ", ".join(f"{percent(v, 3)} ({variant})" for variant, v in
                                                                  zip(rows["variant"], rows["mean"], strict=True))))
    return Entry(folder.name, "comparison", modified(folder), scenarios, size, headline)


def read_validation(folder: Path) -> Entry:
    try:
        checks = pd.read_csv(folder / "validation.csv")
    except (OSError, ValueError) as error:
        raise FolderProblem(f"validation.csv cannot be read: {error}") from None
    if "passed" not in checks or "check" not in checks:
        raise FolderProblem("validation.csv lacks the columns check and passed that `validate` writes")
    passed = int(checks["passed"].astype(str).str.lower().eq("true").sum())
    return Entry(folder.name, "validation", modified(folder), "validate", f"{len(checks)} checks",
                 [("checks passed", f"{passed} of {len(checks)}")])


def kind_of(folder: Path) -> str:
    if (folder / "summary.json").exists() or (folder / "metrics.parquet").exists():
        return "run"
    if (folder / "table.csv").exists() or (folder / "results.csv").exists():
        return "comparison"
    if (folder / "validation.csv").exists():
        return "validation"
    return "unreadable"


def read_entry(folder: Path) -> Entry:
    """The folder as the list shows it; never raises for what the folder holds."""
    kind = kind_of(folder)
    try:
        if kind == "run":
            return read_run(folder)
        if kind == "comparison":
            missing = [name for name in COMPARISON_FILES if not (folder / name).is_file()]
            if missing:
                raise FolderProblem(f"missing {', '.join(missing)}: not a complete comparison folder")
            return read_comparison(folder)
        if kind == "validation":
            return read_validation(folder)
    except FolderProblem as problem:
        return Entry(folder.name, kind, modified(folder), problem=str(problem))
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a file of the right name, wrong content
        return Entry(folder.name, kind, modified(folder), problem=f"unexpected content ({type(error).__name__}: "
                                                                  f"{error})")
    names = sorted(path.name for path in folder.iterdir())[:5]
    return Entry(folder.name, "unreadable", modified(folder),
                 problem="no summary.json, table.csv or validation.csv: not a run, comparison or validation"
                         + (f" (holds {', '.join(names)})" if names else " (empty)"))


def list_entries(runs: Path) -> list[Entry]:
    """Every visible subfolder of `runs`, newest first. Hidden folders (a run being written,
    `.name.partial-PID`; the dashboard's own `.dashboard`) are left out."""
    entries = [read_entry(path) for path in runs.iterdir() if path.is_dir() and not path.name.startswith(".")]
    return sorted(entries, key=lambda entry: entry.modified, reverse=True)


def folder_of(runs: Path, name: str) -> Path:
    """The subfolder `name` of `runs`, refusing any name that would leave it."""
    if not name or name.startswith(".") or "/" in name or "\\" in name or name in ("..", "."):
        raise FolderProblem(f"'{name}' is not a folder name of this runs folder")
    folder = runs / name
    if not folder.is_dir():
        raise FolderProblem(f"no folder '{name}' in {runs}")
    return folder
