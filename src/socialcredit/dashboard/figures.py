"""A run's figures as Plotly figure dicts (data and layout), drawn in the browser by Plotly.js.

The figures are built from metrics.parquet (one row per day), people.parquet and summary.json as
plain dicts, not with plotly's Python objects: the page only needs JSON, and this keeps a run's
page quick to build. Groups are separate traces, so the legend toggles them; districts are
traces in the district figures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

Figure = dict[str, Any]
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]
DASHES = ["solid", "dot", "dash", "longdash", "dashdot"]


def _layout(title: str, y_title: str, percent: bool = False, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 15}}, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "hovermode": "x unified", "legend": {"orientation": "h", "y": -0.15},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero" if percent else "normal"},
        "xaxis": {"title": {"text": ""}, "tickformat": "%b %d"}, "height": 400,
    }
    if percent:
        layout["yaxis"]["tickformat"] = ".2%"
    layout.update(extra)
    return layout


def _line(x: list[str], y: pd.Series, name: str, colour: str, dash: str = "solid", percent: bool = False,
          visible: bool | str = True) -> dict[str, Any]:
    values = [None if v is None or v != v else float(v) for v in y]  # NaN (undefined that day) -> a gap
    return {"type": "scatter", "mode": "lines", "x": x, "y": values, "name": name, "visible": visible,
            "line": {"color": colour, "dash": dash, "width": 2},
            "hovertemplate": "%{y:.3%}" if percent else "%{y:.4g}"}


def _dates(metrics: pd.DataFrame) -> list[str]:
    return [str(d)[:10] for d in metrics["date"]] if "date" in metrics else [str(d) for d in metrics["day"]]


def groups_of(metrics: pd.DataFrame, prefix: str) -> list[str]:
    """The population's groups, from the score mean's by-group columns."""
    head = f"{prefix}score_mean."
    return [c[len(head):] for c in metrics.columns if c.startswith(head)]


def _by_group(metrics: pd.DataFrame, x: list[str], column: str, label: str, groups: list[str], colour: str,
              percent: bool) -> list[dict[str, Any]]:
    """The overall line and one line per group (dashed), in one colour: toggled in the legend."""
    traces = [_line(x, metrics[column], f"{label}: all", colour, percent=percent)]
    for index, group in enumerate(groups):
        if f"{column}.{group}" in metrics:
            traces.append(_line(x, metrics[f"{column}.{group}"], f"{label}: {group}", colour,
                                DASHES[(index + 1) % len(DASHES)], percent))
    return traces


def score_figure(metrics: pd.DataFrame, prefix: str, title: str) -> Figure | None:
    if f"{prefix}score_mean" not in metrics:
        return None
    x, groups = _dates(metrics), groups_of(metrics, prefix)
    traces = _by_group(metrics, x, f"{prefix}score_mean", "mean", groups, COLOURS[0], False)
    for index, quantile in enumerate(("p10", "p50", "p90")):
        column = f"{prefix}score_{quantile}"
        if column in metrics:
            traces.append(_line(x, metrics[column], quantile, COLOURS[2 + index], "dot", visible="legendonly"))
    return {"data": traces, "layout": _layout(f"Scores over time{title}", "score")}


def tier_figure(metrics: pd.DataFrame, prefix: str, title: str) -> Figure | None:
    head = f"{prefix}tier_share."
    tiers = [c[len(head):] for c in metrics.columns if c.startswith(head) and "." not in c[len(head):]]
    if not tiers:
        return None
    x, groups = _dates(metrics), groups_of(metrics, prefix)
    traces = []
    for index, tier in enumerate(tiers):
        colour = COLOURS[index % len(COLOURS)]
        trace = _line(x, metrics[head + tier], f"tier {tier}", colour, percent=True)
        traces.append({**trace, "stackgroup": "tiers", "line": {"color": colour, "width": 1}})
        for g_index, group in enumerate(groups):  # by group, as lines to switch on
            if f"{head}{tier}.{group}" in metrics:
                traces.append(_line(x, metrics[f"{head}{tier}.{group}"], f"tier {tier}: {group}", colour,
                                    DASHES[(g_index + 1) % len(DASHES)], True, "legendonly"))
    return {"data": traces, "layout": _layout(f"Tier shares over time{title}", "share of people", percent=True)}


def _outcome_columns(metrics: pd.DataFrame, prefix: str, section: str) -> list[str]:
    head = f"{prefix}{section}."
    return [c for c in metrics.columns if c.startswith(head) and c[len(head):].count(".") == 0]


def outcomes_figure(metrics: pd.DataFrame, prefix: str, title: str, sections: tuple[str, ...], heading: str
                    ) -> Figure | None:
    """Each list or entitlement of `sections` over time, overall and by group."""
    x, groups = _dates(metrics), groups_of(metrics, prefix)
    traces: list[dict[str, Any]] = []
    index = 0
    for section in sections:
        for column in _outcome_columns(metrics, prefix, section):
            label = f"{section.replace('_', ' ')} {column.rsplit('.', 1)[-1]}"
            traces += _by_group(metrics, x, column, label, groups, COLOURS[index % len(COLOURS)], True)
            index += 1
    if not traces:
        return None
    return {"data": traces, "layout": _layout(f"{heading}{title}", "share of people", percent=True)}


def appeals_figure(metrics: pd.DataFrame, prefix: str, title: str) -> Figure | None:
    # appeals_upheld: what runs of socialcredit 0.3.0 and before called appeals granted (records voided)
    columns = [c for c in (f"{prefix}appeal_backlog", f"{prefix}appeals_decided", f"{prefix}appeals_granted",
                           f"{prefix}appeals_upheld") if c in metrics]
    if not columns:
        return None
    x = _dates(metrics)
    traces = [_line(x, metrics[c], c[len(prefix):].replace("upheld", "granted").replace("_", " "), COLOURS[i])
              for i, c in enumerate(columns)]
    return {"data": traces, "layout": _layout(f"Appeals{title}", "appeals (count)")}


def network_figure(metrics: pd.DataFrame) -> Figure | None:
    x = _dates(metrics)
    traces = []
    for index, (column, label, percent) in enumerate((
            ("isolated_listed_share", "disclosed people with no ties (share)", True),
            ("same_group_ties", "ties within one's group (share)", True),
            ("mean_degree", "ties per person", False), ("mean_degree_listed", "ties per disclosed person", False))):
        if column in metrics:
            trace = _line(x, metrics[column], label, COLOURS[index], percent=percent)
            if not percent:
                trace["yaxis"] = "y2"
            traces.append(trace)
    if not traces:
        return None
    layout = _layout("Network: isolation of the listed", "share", percent=True,
                     yaxis2={"title": {"text": "ties"}, "overlaying": "y", "side": "right", "rangemode": "tozero"})
    layout["margin"]["r"] = 60
    layout["yaxis"]["range"] = [0, 1]
    return {"data": traces, "layout": layout}


def income_figure(metrics: pd.DataFrame) -> Figure | None:
    if "income_mean" not in metrics:
        return None
    x = _dates(metrics)
    groups = [c.split(".", 1)[1] for c in metrics.columns if c.startswith("income_mean.")]
    traces = _by_group(metrics, x, "income_mean", "mean income", groups, COLOURS[0], False)
    return {"data": traces, "layout": _layout("Income over time", "income")}


def feedback_figure(summary: dict[str, Any]) -> Figure | None:
    """Income growth of the ever sanctioned against the rest: a comparison within the run."""
    feedback = summary.get("feedback", {})
    pairs = [("ever sanctioned", feedback.get("income_log_growth_sanctioned")),
             ("never sanctioned", feedback.get("income_log_growth_others"))]
    pairs = [(label, value) for label, value in pairs if value is not None]
    if not pairs:
        return None
    data = [{"type": "bar", "x": [p[0] for p in pairs], "y": [p[1] for p in pairs], "name": "log income change",
             "marker": {"color": [COLOURS[1], COLOURS[0]][:len(pairs)]}, "hovertemplate": "%{y:+.3%}"}]
    layout = _layout("Income change over the run (a comparison, not an effect)", "log income change", percent=True)
    layout.update({"hovermode": "closest", "xaxis": {"title": {"text": ""}}})
    return {"data": data, "layout": layout}


def chilling_figure(summary: dict[str, Any]) -> Figure | None:
    harms = summary.get("harms", {})
    chilled = {kind: figure.get("suppressed_share") for kind, figure in harms.get("chilling", {}).items()}
    encouraged = {kind: figure.get("increase_share") for kind, figure in harms.get("encouraged", {}).items()}
    data = []
    if chilled:
        data.append({"type": "bar", "x": list(chilled), "y": list(chilled.values()), "name": "acts suppressed",
                     "marker": {"color": COLOURS[1]}, "hovertemplate": "%{y:.2%} suppressed"})
    if encouraged:
        data.append({"type": "bar", "x": list(encouraged), "y": list(encouraged.values()), "name": "acts encouraged",
                     "marker": {"color": COLOURS[2]}, "hovertemplate": "%{y:.2%} more"})
    if not data:
        return None
    layout = _layout("Chilling: acts the scheme deters (and encourages)", "share of the acts there would be",
                     percent=True)
    layout.update({"hovermode": "closest", "xaxis": {"title": {"text": "kind of act"}}})
    return {"data": data, "layout": layout}


def _box(values: np.ndarray, name: str, colour: str) -> dict[str, Any]:
    """A box from its quartiles (not the values), so a district of millions costs a few numbers."""
    q1, median, q3 = (float(v) for v in np.percentile(values, [25, 50, 75]))
    return {"type": "box", "name": name, "q1": [q1], "median": [median], "q3": [q3],
            "lowerfence": [float(values.min())], "upperfence": [float(values.max())],
            "marker": {"color": colour}, "x": [name.removeprefix("district ")]}


def district_figures(people: pd.DataFrame, prefix: str, title: str) -> list[Figure]:
    """Final scores by district (one box a district: toggled in the legend), and the share of each
    district listed or sanctioned during the run, by group."""
    if "district" not in people:
        return []
    figures = []
    score = f"{prefix}score"
    districts = sorted(people["district"].unique())
    if score in people:
        boxes = [_box(people.loc[people["district"] == d, score].to_numpy(float), f"district {d}",
                      COLOURS[i % len(COLOURS)]) for i, d in enumerate(districts)]
        layout = _layout(f"Final scores by district{title}", "score", hovermode="closest", showlegend=True)
        layout["xaxis"] = {"title": {"text": "district"}, "type": "category"}
        figures.append({"data": boxes, "layout": layout})
    listed = [c for c in people.columns if c.startswith(f"{prefix}days_listed.")]
    denied = [c for c in people.columns if c.startswith(f"{prefix}days_denied.")]
    wrongly = [c for c in people.columns if c.startswith(f"{prefix}days_wrongly_")]
    data = []
    for index, (label, columns) in enumerate((("ever listed", listed), ("ever denied", denied),
                                              ("ever wrongly listed or denied", wrongly))):
        if not columns:
            continue
        ever = (people[columns] > 0).any(axis=1)
        for g_index, group in enumerate(people["group"].astype(str).unique()):
            mine = people["group"].astype(str) == group
            shares = [float(ever[mine & (people["district"] == d)].mean()) if (mine & (people["district"] == d)).any()
                      else None for d in districts]
            data.append({"type": "bar", "x": [str(d) for d in districts], "y": shares,
                         "name": f"{label}: {group}", "visible": True if index == 0 else "legendonly",
                         "marker": {"color": COLOURS[(index * 3 + g_index) % len(COLOURS)]},
                         "hovertemplate": "%{y:.2%}"})
    if data:
        layout = _layout(f"Listed and denied by district and group{title}", "share of the district's group",
                         percent=True, hovermode="closest", barmode="group")
        layout["xaxis"] = {"title": {"text": "district"}, "type": "category"}
        figures.append({"data": data, "layout": layout})
    return figures


def counterfactual_figure(summary: dict[str, Any]) -> Figure | None:
    """A paired counterfactual's differences with their intervals (where the run has one)."""
    effects = summary.get("counterfactual")
    if not effects:
        return None
    rows = [row for row in effects.get("figures", []) if row.get("difference") is not None]
    if not rows:
        return None
    errors = [[(r["high"] - r["difference"]) if r.get("high") is not None else 0 for r in rows],
              [(r["difference"] - r["low"]) if r.get("low") is not None else 0 for r in rows]]
    data = [{"type": "bar", "x": [r["figure"] for r in rows], "y": [r["difference"] for r in rows],
             "error_y": {"type": "data", "array": errors[0], "arrayminus": errors[1], "visible": True},
             "name": "with minus without", "hovertemplate": "%{y:.4g}"}]
    layout = _layout(f"What {effects.get('mechanism', '').replace('_', ' ')} causes (paired twin, "
                     f"seeds {', '.join(map(str, effects.get('seeds', [])))})", "difference", hovermode="closest")
    layout["xaxis"] = {"title": {"text": ""}, "automargin": True}
    return {"data": data, "layout": layout}
