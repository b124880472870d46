"""The comparison report: a table of mean and 95% interval per variant, and plots with error bars,
leading with the harms by group."""

from __future__ import annotations

import base64
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: E402

from .plots import COLOURS, _png  # noqa: E402

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
        low = np.maximum(mine["low"].to_numpy() * scale, 0.0) if percent else mine["low"].to_numpy() * scale
        error = np.vstack([mean - low, mine["high"].to_numpy() * scale - mean])  # shares are never below 0
        axis.bar(x + (index - (len(groups) - 1) / 2) * width, mean, width, yerr=error, capsize=3,
                 color=COLOURS[index % len(COLOURS)], label=group)
    axis.set_xticks(x, [v.replace(" [", "\n[") for v in variants], fontsize=8)
    axis.set_ylabel("% of group" if percent else "")
    axis.set_title(title, fontsize=10)
    if percent:
        axis.set_ylim(bottom=0)
    axis.legend(fontsize=8)
    return _png(figure)


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
    wide = table.assign(cell=[f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in
                              zip(table["mean"], table["low"], table["high"], strict=True)])
    wide = wide.pivot(index="figure", columns="variant", values="cell")
    wide = wide.reindex(sorted(wide.index, key=_order))[list(dict.fromkeys(table["variant"]))]
    environment = Environment(loader=PackageLoader("socialcredit", "analysis/templates"),
                              autoescape=select_autoescape(["html"]))
    html = environment.get_template("compare.html").render(
        figures=figures, table=wide, runs=len(results), seeds=sorted(results["seed"].unique().tolist()),
        variants=list(dict.fromkeys(table["variant"])))
    path.write_text(html, encoding="utf-8")
    return path
