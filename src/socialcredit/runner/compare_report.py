"""The comparison report: a table of mean and 95% interval per variant, and plots with error bars,
leading with the harms by group. The intervals are summarise's (see intervals.py): the report says
over how many seeds and how they were made."""

from __future__ import annotations

import base64
import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..analysis.intervals import FEW_SEEDS, seeds_note  # noqa: E402
from .plots import COLOURS, all_zero, legend_beside, png_of, say_none  # noqa: E402

LEAD = ("wrongly_listed", "wrongly_sanctioned", "false_sanction_person_days", "listed", "denied",
        "disparate_impact", "chilling", "appeal_backlog", "income_gap_sanctioned", "score_mean")


def _order(figure: str) -> tuple[int, str]:
    for rank, prefix in enumerate(LEAD):
        if figure == prefix or figure.startswith(prefix + "."):
            return rank, figure
    return len(LEAD), figure


def by_group_plot(table: pd.DataFrame, prefix: str, groups: list[str], title: str, percent: bool) -> Figure | None:
    """Mean and 95% interval of `prefix.<group>` for each variant: bars of a share (from 0, in
    percent), dots with whiskers for a score (a bar of scores from 0 would hide every difference)."""
    variants = list(dict.fromkeys(table["variant"]))
    rows = table[table["figure"].isin([f"{prefix}.{g}" for g in groups])]
    if rows.empty:
        return None
    scale = 100 if percent else 1
    figure, axis = plt.subplots(figsize=(max(6, 1.8 * len(variants) + 2.5), 3.8))
    axis.set_title(title, fontsize=10)
    if percent and all_zero([rows["mean"].to_numpy(), rows["high"].to_numpy()]):
        say_none(axis, "none: no one in any group, in any variant or seed")
        return figure
    width = 0.8 / len(groups)
    x = np.arange(len(variants))
    for index, group in enumerate(groups):
        mine = rows[rows["figure"] == f"{prefix}.{group}"].set_index("variant").reindex(variants)
        mean = mine["mean"].to_numpy() * scale
        # no whisker where there is no interval (one seed)
        low, high = mine["low"].to_numpy() * scale, mine["high"].to_numpy() * scale
        error = np.nan_to_num(np.vstack([mean - low, high - mean]))
        where = x + (index - (len(groups) - 1) / 2) * width
        colour = COLOURS[index % len(COLOURS)]
        if percent:
            axis.bar(where, mean, width, yerr=error, capsize=3, color=colour, label=group)
        else:
            axis.errorbar(where, mean, yerr=error, fmt="o", capsize=3, color=colour, label=group)
    axis.set_xticks(x, [variant_label(v) for v in variants], fontsize=8)
    axis.set_ylabel("% of group" if percent else "mean score of the group")
    if percent:
        axis.set_ylim(bottom=0)
    legend_beside(axis)
    return figure


def variant_label(variant: str, width: int = 16) -> str:
    """A variant's name wrapped to lines of about `width` characters, so that names side by side on
    an axis never run into each other."""
    return "\n".join(textwrap.wrap(variant, width, break_on_hyphens=False)) or "(as given)"


def _decimals(value: float, significant: int = 3, most: int = 4) -> int:
    """Decimals that show `value` to about `significant` figures in fixed point (never 1e-05)."""
    if not value or not math.isfinite(value):
        return 1
    return max(0, min(most, significant - 1 - math.floor(math.log10(abs(value)))))


def number(value: float, kind: str | None, decimals: int | None = None) -> str:
    """One figure in its unit: shares in percent, disparate impact as a ratio of rates, counts and
    scores as numbers; in fixed point whatever its size."""
    if value != value:
        return "n/a"
    if kind in ("share", "suppressed"):
        places = _places(value, kind) if decimals is None else decimals
        return f"{value * 100:.{places}f}%"
    if kind == "impact":
        return f"{value:.3f}"
    places = _places(value, kind) if decimals is None else decimals
    return f"{value:,.{places}f}"


def _places(value: float, kind: str | None) -> int:
    """Decimals of a figure in its unit: a share in percent to 3 figures (at most 4 decimals), a
    count to 3 figures (at most 1 decimal: counts are means over seeds), a score or other level to
    4 figures (998.4, 0.01234)."""
    if kind in ("share", "suppressed"):
        return _decimals(value * 100, 3, 4)
    if kind == "impact":
        return 3
    if kind == "count":
        return _decimals(value, 3, 1)
    return _decimals(value, 4, 4)


def cell(mean: float, low: float, high: float, kind: str | None = None) -> str:
    """`mean [low, high]` in the figure's unit (see `number`; the bounds to the mean's decimals), or
    `mean (no interval)` where there is none."""
    if low != low or high != high:  # NaN: one seed
        return f"{number(mean, kind)} (no interval)"
    places = _places(mean or high, kind)
    return f"{number(mean, kind, places)} [{number(low, kind, places)}, {number(high, kind, places)}]"


UNITS = ("Shares of people (listed, denied, wrongly listed, chilling) are in percent everywhere, in the "
         "table and the plots; disparate impact is a ratio of two groups' rates (below 0.800 fails the "
         "four-fifths rule); counts (people, records, person-days) and scores are plain numbers.")


def settings_of(results: pd.DataFrame) -> tuple[list[str], dict[str, str], list[str]]:
    """From the results' columns: the scenarios compared, the settings every variant shares
    (name -> value) and the names of those that vary between variants."""
    columns = list(results.columns)
    names = columns[columns.index("scenario") + 1:columns.index("seed")]
    fixed = {name: str(results[name].iloc[0]) for name in names if results[name].astype(str).nunique() == 1}
    return list(dict.fromkeys(results["scenario"])), fixed, [name for name in names if name not in fixed]


def scenario_titles(scenarios: list[str], fixed: dict[str, str]) -> dict[str, str]:
    """Each scenario's title with its size and length as the variants ran it (settings applied)."""
    from ..scenario.load import load_scenario

    titles = {}
    for name in scenarios:
        try:
            settings = {key: yaml.safe_load(value) for key, value in fixed.items()}
            titles[name] = load_scenario(name, settings)[0].full_title
        except Exception:  # the file moved since: its name is all there is to show  # noqa: BLE001
            titles[name] = name
    return titles


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
        drawn = by_group_plot(table, prefix, groups, title + "\n(mean and 95% interval over seeds)",
                              percent=not prefix.startswith("score_mean"))
        if drawn is not None:
            figures.append((title, "data:image/png;base64," + base64.b64encode(png_of(drawn)).decode("ascii")))
    wide = table.assign(cell=[cell(m, lo, hi, kind) for m, lo, hi, kind in zip(
        table["mean"], table["low"], table["high"], table["kind"], strict=True)])
    wide = wide.pivot(index="figure", columns="variant", values="cell")
    wide = wide.reindex(sorted(wide.index, key=_order))[list(dict.fromkeys(table["variant"]))]
    environment = Environment(loader=PackageLoader("socialcredit", "templates"),
                              autoescape=select_autoescape(["html"]))
    scenarios, fixed, varied = settings_of(results)
    html = environment.get_template("compare.html").render(
        scenarios=scenario_titles(scenarios, fixed), fixed=fixed, varied=varied, units=UNITS,
        figures=figures, table=wide, runs=len(results), seeds=sorted(results["seed"].unique().tolist()),
        variants=list(dict.fromkeys(table["variant"])), methods=methods(table),
        notes=notes(table, results["seed"].nunique()), few_seeds=FEW_SEEDS)
    path.write_text(html, encoding="utf-8")
    return path
