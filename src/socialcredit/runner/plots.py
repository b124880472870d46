"""The report's figures, drawn with Matplotlib: each function returns a Figure (tests read its axes),
and `png_of` turns one into PNG bytes for the report.

Habits every figure keeps, as a reader checks them: every y axis says what it counts; a legend sits
beside the plot, never on its lines; a quantity that stayed at zero the whole run is said in words
("none ...") rather than drawn as a flat line on an axis of -0.04..0.04; dates are labelled
concisely (a year once, then months) so that their labels never run into each other."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no screen: draw to memory
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:
    from ..sim.schemes import SchemeState
    from .run import Run

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]


def png_of(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    # "tight" keeps a legend placed beside the axes inside the picture
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _dates(run: Run) -> pd.Series:
    return run.metrics["date"]


def date_axis(axis: Axes) -> None:
    """Dates on the x axis, labelled so that they fit: 'Jan', 'Feb' ... with the year once."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def legend_beside(axis: Axes, **options) -> None:
    """The legend to the right of the axes, where it cannot cover a line."""
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=8, **options)


def say_none(axis: Axes, words: str) -> None:
    """An axis whose quantity was zero throughout: the words instead of a flat line."""
    axis.text(0.5, 0.5, words, ha="center", va="center", wrap=True, transform=axis.transAxes, fontsize=10,
              color="#444444")
    axis.set_xticks([])
    axis.set_yticks([])


def all_zero(values: list[np.ndarray]) -> bool:
    """True where every value is zero or missing (nothing happened that the plot would show)."""
    return not any(np.nan_to_num(np.asarray(v, dtype=float)).any() for v in values)


def harms_over_time(run: Run) -> Figure | None:
    """Share of each group wrongly listed and wrongly denied over time (by each scheme), and the
    appeal backlog."""
    metrics, groups = run.metrics, run.population.group_names
    prefixes = [state.prefix for state in run.sim.schemes]
    wrong = [c for prefix in prefixes for c in metrics.columns if c.startswith(prefix)
             and c[len(prefix):].count(".") == 1 and c[len(prefix):].split(".")[0] in (
                 "wrongly_listed", "wrongly_left_off", "wrongly_denied")]
    if not wrong:
        return None
    backlog = "appeal_backlog" in metrics
    figure, axes = plt.subplots(1, 2 if backlog else 1, figsize=(11 if backlog else 7, 3.6), squeeze=False)
    axis = axes[0][0]
    axis.set_title("Listed or denied because of false records")
    shares = [metrics[f"{column}.{group}"] for column in wrong for group in groups]
    if all_zero(shares):
        say_none(axis, "none: no one was listed or denied\nbecause of a false record")
    else:
        def words(column: str) -> str:
            return column.replace("wrongly_", "wrongly ").replace("left_off", "left off").replace(".", " ")

        styles = ["-", "--", ":", "-."]
        drawn = [c for c in wrong if not all_zero([metrics[f"{c}.{group}"] for group in groups])]
        for index, column in enumerate(drawn):
            for g, group in enumerate(groups):
                axis.plot(_dates(run), metrics[f"{column}.{group}"] * 100, color=COLOURS[g], ls=styles[index % 4],
                          label=f"{words(column)}, {group}")
        axis.set_ylabel("% of group")
        date_axis(axis)
        nobody = [words(c) for c in wrong if c not in drawn]  # said, not drawn as lines along 0
        legend_beside(axis, title="\n".join(["none in any group:", *nobody]) if nobody else None)
        if nobody:
            axis.get_legend().get_title().set_fontsize(7)
    if backlog:
        waiting = axes[0][1]
        waiting.set_title("Appeals waiting for a decision")
        if all_zero([metrics["appeal_backlog"]]):
            say_none(waiting, "none: every appeal was decided\nthe day it was filed, or none was filed")
        else:
            waiting.plot(_dates(run), metrics["appeal_backlog"], color=COLOURS[3])
            waiting.set_ylabel("appeals waiting")
            date_axis(waiting)
    return figure


def score_over_time(run: Run, prefix: str = "") -> Figure:
    """A scheme's score distribution over time (`prefix`: its columns' prefix, "" with one scheme)."""
    metrics, groups = run.metrics, run.population.group_names
    figure, axis = plt.subplots(figsize=(9, 3.6))
    slow = metrics.dropna(subset=[f"{prefix}score_p10"])  # none before the first scoring
    axis.fill_between(slow["date"], slow[f"{prefix}score_p10"], slow[f"{prefix}score_p90"], color="#cccccc",
                      label="10th-90th percentile")
    axis.plot(slow["date"], slow[f"{prefix}score_p50"], color="#555555", lw=1, ls="--", label="median")
    for index, group in enumerate(groups):
        axis.plot(_dates(run), metrics[f"{prefix}score_mean.{group}"], color=COLOURS[index], lw=2,
                  label=f"mean, {group}")
    some_unscored = f"{prefix}unscored_share" in metrics  # then every figure here is of the scored
    axis.set_ylabel("score (of the scored)" if some_unscored else "score")
    axis.set_title(f"{prefix.removesuffix('.')}: score distribution over time" if prefix else
                   "Score distribution over time")
    date_axis(axis)
    legend_beside(axis)
    return figure


def tier_shares(run: Run, state: SchemeState | None = None) -> Figure:
    """A scheme's tier shares over time (the first scheme's by default)."""
    state = state or run.sim.schemes[0]
    metrics, tiers, prefix = run.metrics, state.scheme.tier_names, state.prefix
    figure, axis = plt.subplots(figsize=(8, 3.2))
    if not tiers:
        say_none(axis, "this scheme has no tiers")
        axis.set_axis_off()
        return figure
    shares = [metrics[f"{prefix}tier_share.{t}"].fillna(0).to_numpy() * 100 for t in tiers]
    labels, colours = list(tiers), list(plt.cm.RdYlGn(np.linspace(0.9, 0.1, len(tiers))))
    if f"{prefix}unscored_share" in metrics:  # the tiers' shares sum to the scored: the rest have no tier
        shares.append(metrics[f"{prefix}unscored_share"].fillna(0).to_numpy() * 100)
        labels.append("no score (unscored or not enrolled)" if state.enrolled is not None else "no score (unscored)")
        colours.append("#dddddd")
    axis.stackplot(_dates(run), *shares, labels=labels, colors=colours)
    axis.set_ylim(0, 100)
    axis.set_ylabel("% of people")
    axis.set_title(f"{state.name}: tier shares" if prefix else "Tier shares")
    date_axis(axis)
    legend_beside(axis)
    return figure


def by_group_over_time(run: Run, prefix: str, names: list[str], title: str, ylabel: str, nobody: str) -> Figure:
    """One panel per list or entitlement: the share of each group over time; a panel where no one in
    any group ever was (`nobody`, e.g. "on the list") says so in words."""
    metrics, groups = run.metrics, run.population.group_names
    figure, axes = plt.subplots(1, max(len(names), 1), figsize=(4.4 * max(len(names), 1) + 1.2, 3.2),
                                squeeze=False)
    for axis, name in zip(axes[0], names, strict=False):
        axis.set_title(name, fontsize=10)
        columns = [metrics[f"{prefix}.{name}.{group}"] for group in groups]
        if all_zero(columns):
            say_none(axis, f"none: no one was {nobody}\n'{name}' during the run")
            continue
        for g, (group, column) in enumerate(zip(groups, columns, strict=True)):
            axis.plot(_dates(run), column * 100, color=COLOURS[g], label=group)
        axis.set_ylabel(ylabel)
        date_axis(axis)
    lines = next((axis for axis in axes[0] if axis.get_lines()), None)
    if lines is not None:  # one legend for the groups, beside the last panel, clear of every line
        handles, labels = lines.get_legend_handles_labels()
        axes[0][-1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
                           fontsize=8)
    figure.suptitle(title)
    return figure


PLOTTED_PEOPLE = 1_000_000  # at most this many people in a person-by-person plot: every k-th id


def income_against_score(run: Run) -> Figure:
    """Income against the first scheme's score, and income growth of those sanctioned by any scheme."""
    sim = run.sim
    first = sim.schemes[0]
    assert first.scores is not None
    every = max(1, -(-sim.n // PLOTTED_PEOPLE))  # ids are ordered by district and group: a fair sample
    score = first.scores.score[::every]
    income, initial = sim.people.income[::every], sim.people.income_initial[::every]
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    cells = axes[0].hexbin(score, np.log10(income), gridsize=40, bins="log", cmap="viridis", mincnt=1)
    figure.colorbar(cells, ax=axes[0], label="people in the hexagon (log scale)")
    axes[0].set_xlabel(f"{first.name} score (final)" if first.prefix else "score (final)")
    axes[0].set_ylabel("log10 yearly income (final)")
    axes[0].set_title("Income against score" + (f" (every {every}th person)" if every > 1 else ""))
    growth = np.log(income / initial) * 100
    sanctioned = np.zeros(score.size, dtype=bool)
    for state in sim.schemes:
        for name in state.scheme.sanctions:  # perks aside
            sanctioned |= state.denied_days[name][::every] > 0
    low, high = np.percentile(growth, [1, 99])
    bins = np.linspace(low, high if high > low else low + 1, 40)  # a run too short to move incomes still plots
    for who, label, colour in ((~sanctioned, "never sanctioned", COLOURS[0]), (sanctioned, "ever sanctioned",
                                                                                COLOURS[1])):
        if who.any():  # each group's bars add up to 100% of it: groups of any size compare
            axes[1].hist(growth[who], bins=bins, weights=np.full(int(who.sum()), 100 / who.sum()), alpha=0.6,
                         label=label, color=colour)
    axes[1].set_xlabel("income change over the run (%)")
    axes[1].set_ylabel("% of the group")
    axes[1].set_title("The feedback loop: sanctions and income")
    legend_beside(axes[1])
    return figure


def network_segregation(run: Run) -> Figure:
    metrics = run.metrics
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.2))
    for index, state in enumerate(run.sim.schemes):
        column = f"{state.prefix}assortativity_score"
        slow = metrics.dropna(subset=[column]) if column in metrics else metrics.iloc[:0]
        axes[0].plot(slow["date"], slow[column], marker="o", ms=3, color=COLOURS[(3 + index) % len(COLOURS)],
                     label=state.name if state.prefix else None)
    if run.sim.several:
        legend_beside(axes[0])
    axes[0].set_title("Score assortativity of ties")
    axes[0].set_ylabel("correlation of scores across ties")
    date_axis(axes[0])
    axes[1].plot(_dates(run), metrics["mean_degree"], color=COLOURS[0], label="everyone")
    if metrics["mean_degree_listed"].notna().any():  # NaN on a day no one is publicly listed
        axes[1].plot(_dates(run), metrics["mean_degree_listed"], color=COLOURS[1], label="publicly listed")
    axes[1].set_title("Ties per person")
    axes[1].set_ylabel("mean ties per person")
    date_axis(axes[1])
    legend_beside(axes[1])
    return figure


def events_observed(run: Run) -> Figure:
    """What people did and what the system recorded, by kind: horizontal bars, so that kinds' names
    never run into each other however many there are."""
    sim = run.sim
    done = sim.true_counts.sum(axis=1, dtype=np.int64)
    recorded = sim.observed_counts.sum(axis=1, dtype=np.int64)
    codes = [code for code in range(len(sim.kinds)) if done[code] > 0 or recorded[code] > 0]
    kinds = [sim.kinds[code] for code in codes]
    figure, axis = plt.subplots(figsize=(8, 0.5 * len(kinds) + 1.4))
    y = np.arange(len(kinds))
    axis.barh(y - 0.2, [int(done[code]) for code in codes], 0.4, label="done", color=COLOURS[0])
    axis.barh(y + 0.2, [int(recorded[code]) for code in codes], 0.4, label="recorded", color=COLOURS[4])
    axis.set_yticks(y, kinds)
    axis.invert_yaxis()  # the scheme's order, top to bottom
    axis.set_xscale("log")
    axis.set_xlabel("acts over the run (log scale)")
    axis.set_title("What people did, and what the system recorded")
    legend_beside(axis)
    return figure
