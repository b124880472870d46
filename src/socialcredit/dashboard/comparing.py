"""Side by side: a comparison's variants with their 95% intervals (its table.csv, made by
`socialcredit compare`), or several runs' headline figures (one seed each: no intervals)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from ..runner.compare import headline_figures
from ..runner.compare_report import LEAD, cell
from .figures import COLOURS, Figure
from .folders import FolderProblem, read_summary, read_table
from .runview import read_parquet

PERCENT_KINDS = {"share", "rate", "ratio"}


def lead_rank(figure: str) -> tuple[int, str]:
    for rank, prefix in enumerate(LEAD):
        if figure == prefix or figure.startswith(prefix + "."):
            return rank, figure
    return len(LEAD), figure


def comparison_rows(table: pd.DataFrame) -> tuple[list[str], list[dict[str, Any]]]:
    """The variants, and per figure (lead figures first) each variant's `mean [low, high]`."""
    variants = list(dict.fromkeys(table["variant"]))
    rows = []
    for figure in sorted(dict.fromkeys(table["figure"]), key=lead_rank):
        mine = table[table["figure"] == figure].set_index("variant")
        cells = [cell(mine.loc[v, "mean"], mine.loc[v, "low"], mine.loc[v, "high"],
                      mine.loc[v, "kind"] if "kind" in mine else None) if v in mine.index else "" for v in variants]
        note = "; ".join(sorted({str(n) for n in mine.get("note", pd.Series(dtype=str)).dropna() if str(n)}))
        rows.append({"figure": figure, "cells": cells, "note": note})
    return variants, rows


def by_group_figures(table: pd.DataFrame, groups: list[str]) -> tuple[list[Figure], list[str]]:
    """For each lead figure with by-group values: mean and 95% interval per variant, a dot per group;
    and the figures that are 0 for every variant and seed (not drawn)."""
    zeros: list[str] = []
    variants = list(dict.fromkeys(table["variant"]))
    figures = []
    bases = sorted({f.rsplit(".", 1)[0] for f in table["figure"] if f.rsplit(".", 1)[-1] in groups}, key=lead_rank)
    for base in bases[:12]:
        data = []
        for index, group in enumerate(groups):
            mine = table[table["figure"] == f"{base}.{group}"].set_index("variant").reindex(variants)
            if mine["mean"].isna().all():
                continue
            mean = mine["mean"].tolist()
            up = [(h - m) if not (math.isnan(h) or math.isnan(m)) else 0 for h, m in zip(mine["high"], mean,
                                                                                         strict=True)]
            down = [(m - lo) if not (math.isnan(lo) or math.isnan(m)) else 0 for lo, m in zip(mine["low"], mean,
                                                                                              strict=True)]
            # dots with whiskers, not bars: a bar of scores from 0 hides the differences
            data.append({"type": "scatter", "mode": "markers", "x": variants,
                         "y": [None if math.isnan(m) else m for m in mean], "name": group,
                         "marker": {"color": COLOURS[index % len(COLOURS)], "size": 10},
                         "error_y": {"type": "data", "array": up, "arrayminus": down, "visible": True},
                         "customdata": [[lo, hi] for lo, hi in zip(mine["low"].fillna(-1), mine["high"].fillna(-1),
                                                                   strict=True)],
                         "hovertemplate": "%{y:.4g} [%{customdata[0]:.4g}, %{customdata[1]:.4g}]"})
        if data and all(v in (0, None) for trace in data for v in trace["y"]) and \
                all(v == 0 for trace in data for v in trace["error_y"]["array"]):
            zeros.append(base)  # every variant and seed gave 0: said in words, not drawn as a flat line
        elif data:
            ends = [v for t in data for y, u, d in zip(t["y"], t["error_y"]["array"], t["error_y"]["arrayminus"],
                                                         strict=True) if y is not None for v in (y + u, y - d)]
            pad = (max(ends) - min(ends)) * 0.08 or abs(max(ends)) * 0.01 or 1
            figures.append({"data": data, "layout": {
                "title": {"text": f"{base} by group: mean and 95% interval", "font": {"size": 15}},
                "scattermode": "group", "height": 380, "hovermode": "closest",
                "margin": {"l": 60, "r": 20, "t": 50, "b": 60}, "legend": {"orientation": "h", "y": -0.2},
                "xaxis": {"type": "category", "automargin": True},
                # the whiskers' span, padded: never stretched to 0 for a figure far from it
                "yaxis": {"range": [min(ends) - pad, max(ends) + pad]}}})
    return figures, zeros


def groups_of_results(folder: Path, table: pd.DataFrame) -> list[str]:
    """The population's groups, from the by-group score figures of the table."""
    return sorted({f.split(".", 1)[1] for f in table["figure"] if f.startswith("score_mean.") and f.count(".") == 1})


def comparison_view(folder: Path) -> dict[str, Any]:
    table = read_table(folder)
    variants, rows = comparison_rows(table)
    seeds = sorted({int(s) for s in table["seeds"]}) if len(table) else []
    figures, zeros = by_group_figures(table, groups_of_results(folder, table))
    return {"variants": variants, "rows": rows, "seeds": seeds, "figures": figures, "zeros": zeros,
            "methods": sorted(set(table.get("interval_method", pd.Series(dtype=str)).dropna()))}


def runs_view(folders: list[Path]) -> dict[str, Any]:
    """Several runs' headline figures side by side, and their mean scores over time in one plot."""
    if len(folders) < 2:
        raise FolderProblem("pick two runs or more to compare (tick them in the list of runs)")
    figures_by_run = {}
    data = []
    for index, folder in enumerate(folders):
        summary = read_summary(folder)
        try:
            figures_by_run[folder.name] = headline_figures(summary)
        except (KeyError, TypeError) as error:
            raise FolderProblem(f"{folder.name}: summary.json lacks a figure the comparison reads ({error})") from None
        metrics = read_parquet(folder / "metrics.parquet")
        column = "score_mean" if "score_mean" in metrics else next(
            (c for c in metrics.columns if c.endswith(".score_mean")), None)
        if column:
            data.append({"type": "scatter", "mode": "lines", "x": [str(d)[:10] for d in metrics["date"]],
                         "y": metrics[column].tolist(), "name": f"{folder.name} ({column})",
                         "line": {"color": COLOURS[index % len(COLOURS)]}})
    names = list(figures_by_run)
    every = sorted({f for figures in figures_by_run.values() for f in figures}, key=lead_rank)
    rows = [{"figure": f, "cells": [f"{figures_by_run[n][f]:.4g}" if f in figures_by_run[n] else "not in this run"
                                   for n in names],
             "note": ""} for f in every]
    plot = {"data": data, "layout": {"title": {"text": "Mean score over time", "font": {"size": 15}}, "height": 380,
                                     "hovermode": "x unified", "legend": {"orientation": "h", "y": -0.15},
                                     "margin": {"l": 60, "r": 20, "t": 50, "b": 40}}}
    return {"variants": names, "rows": rows, "figures": [plot] if data else []}
