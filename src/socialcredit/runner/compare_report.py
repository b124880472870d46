"""The comparison report: a table of mean and 95% interval per variant, and plots with error bars,
leading with the harms by group. The intervals are summarise's (see intervals.py): the report says
over how many seeds and how they were made."""

from __future__ import annotations

import base64
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: E402

from ..analysis.intervals import FEW_SEEDS, seeds_note  # noqa: E402
from .plots import COLOURS, png_of  # noqa: E402

LEAD = ("wrongly_listed", "wrongly_sanctioned", "false_sanction_person_days", "listed", "denied",
        "disparate_impact", "chilling", "appeal_backlog", "income_gap_sanctioned", "score_mean")


def _order(figure: str) -> tuple[int, str]:
    for rank, prefix in enumerate(LEAD):
        if figure == prefix or figure.startswith(prefix + "."):
            return rank, figure
    return len(LEAD), figure


def by_group_plot(table: pd.DataFrame, prefix: str, groups: list[str], title: str, percent: bool) -> bytes | None:
    """Mean and 95% interval of `prefix.<group>` for each variant, one bar per group."""
    variants = list(dict.fromkeys(table["variant"]))
    rows = table[table["figure"].isin([f"{prefix}.{g}" for g in groups])]
    if rows.empty:
        return None
    scale = 100 if percent else 1
    figure, axis = plt.subplots(figsize=(max(6, 1.6 * len(variants) + 2), 3.8))
    width = 0.8 / len(groups)
    x = np.arange(len(variants))
    for index, group in enumerate(groups):
        mine = rows[rows["figure"] == f"{prefix}.{group}"].set_index("variant").reindex(variants)
        mean = mine["mean"].to_numpy() * scale
        # no bar where there is no interval (one seed)
        low, high = mine["low"].to_numpy() * scale, mine["high"].to_numpy() * scale
        error = np.nan_to_num(np.vstack([mean - low, high - mean]))
        axis.bar(x + (index - (len(groups) - 1) / 2) * width, mean, width, yerr=error, capsize=3,
                 color=COLOURS[index % len(COLOURS)], label=group)
    axis.set_xticks(x, [v.replace(" [", "\n[") for v in variants], fontsize=8)
    axis.set_ylabel("% of group" if percent else "")
    axis.set_title(title, fontsize=10)
    if percent:
        axis.set_ylim(bottom=0)
    axis.legend(fontsize=8)
    return png_of(figure)


def cell(mean: float, low: float, high: float, digits: int = 4) -> str:
    """`mean [low, high]`, or `mean (no interval)` where there is none."""
    if low != low or high != high:  # NaN: one seed
        return f"{mean:.{digits}g} (no interval)"
    return f"{mean:.{digits}g} [{low:.{digits}g}, {high:.{digits}g}]"


METHODS = {
    "t-logit": "Student t over seeds on the logit scale (shares, rates, disparate impact: within [0, 1])",
    "t-log": "Student t over seeds on the log scale (counts: never below 0)",
    "t-log-complement": "Student t over seeds on the scale log(1 - x) (suppressed shares: at most 1)",
    "t": "Student t over seeds (scores and other levels)",
    "t-clipped": "Student t over seeds, clipped to the figure's range (a mean on the range's end)",
    "none": "no interval: one seed",
}


def methods(table: pd.DataFrame) -> list[str]:
    """How the table's intervals were made, one sentence per method used."""
    counts = table["interval_method"].value_counts(sort=False)
    return [f"{METHODS[method]}: {count} figure{'s' if count != 1 else ''}" for method, count in counts.items()]


def notes(table: pd.DataFrame, seeds: int) -> list[str]:
    """The notes on the table's cells (undefined for some seeds, no spread), each once with its
    cells; that there are few seeds, said above the table, is not repeated."""
    cells: dict[str, list[str]] = {}
    for variant, figure, note in zip(table["variant"], table["figure"], table["note"], strict=True):
        if note and note != seeds_note(seeds):
            cells.setdefault(note, []).append(f"{figure} ({variant})" if variant else figure)
    return [f"{note}: {', '.join(where[:6])}{f' and {len(where) - 6} more' if len(where) > 6 else ''}"
            for note, where in cells.items()]


def write_compare_report(results: pd.DataFrame, table: pd.DataFrame, groups: list[str], path: Path) -> Path:
    figures = []
    prefixes = sorted({f.rsplit(".", 1)[0] for f in table["figure"] if any(f.endswith("." + g) for g in groups)},
                      key=_order)
    for prefix in prefixes:
        title = {"wrongly_sanctioned": "Sanctioned because of acts they did not do",
                 "wrongly_listed": "Listed because of acts they did not do"}.get(prefix, prefix.replace(".", ": "))
        png = by_group_plot(table, prefix, groups, title + "\n(mean and 95% interval over seeds)",
                            percent=not prefix.startswith("score_mean"))
        if png is not None:
            figures.append((title, "data:image/png;base64," + base64.b64encode(png).decode("ascii")))
    wide = table.assign(cell=[cell(m, lo, hi) for m, lo, hi in zip(table["mean"], table["low"], table["high"],
                                                                   strict=True)])
    wide = wide.pivot(index="figure", columns="variant", values="cell")
    wide = wide.reindex(sorted(wide.index, key=_order))[list(dict.fromkeys(table["variant"]))]
    environment = Environment(loader=PackageLoader("socialcredit", "templates"),
                              autoescape=select_autoescape(["html"]))
    html = environment.get_template("compare.html").render(
        figures=figures, table=wide, runs=len(results), seeds=sorted(results["seed"].unique().tolist()),
        variants=list(dict.fromkeys(table["variant"])), methods=methods(table),
        notes=notes(table, results["seed"].nunique()), few_seeds=FEW_SEEDS)
    path.write_text(html, encoding="utf-8")
    return path
