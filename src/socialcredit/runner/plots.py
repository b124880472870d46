"""The report's figures, drawn with Matplotlib and returned as PNG bytes."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no screen: draw to memory
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

if TYPE_CHECKING:
    from ..sim.schemes import SchemeState
    from .run import Run

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]


def png_of(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _dates(run: Run) -> pd.Series:
    return run.metrics["date"]


def harms_over_time(run: Run) -> bytes | None:
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
    figure, axes = plt.subplots(1, 2 if backlog else 1, figsize=(10 if backlog else 7, 3.6), squeeze=False)
    axis = axes[0][0]
    styles = ["-", "--", ":", "-."]
    for index, column in enumerate(wrong):
        for g, group in enumerate(groups):
            axis.plot(_dates(run), metrics[f"{column}.{group}"] * 100, color=COLOURS[g], ls=styles[index % 4],
                      label=f"{column.replace('wrongly_', 'wrongly ').replace('.', ' ')}, {group}")
    axis.set_ylabel("% of group")
    axis.set_title("Listed or denied because of false records")
    axis.tick_params(axis="x", labelrotation=30, labelsize=7)
    axis.legend(fontsize=7)
    if backlog:
        axes[0][1].plot(_dates(run), metrics["appeal_backlog"], color=COLOURS[3])
        axes[0][1].set_title("Appeals waiting for a decision")
        axes[0][1].tick_params(axis="x", labelrotation=30, labelsize=7)
    return png_of(figure)


def score_over_time(run: Run, prefix: str = "") -> bytes:
    """A scheme's score distribution over time (`prefix`: its columns' prefix, "" with one scheme)."""
    metrics, groups = run.metrics, run.population.group_names
    figure, axis = plt.subplots(figsize=(8, 3.6))
    slow = metrics.dropna(subset=[f"{prefix}score_p10"])  # none before the first scoring
    axis.fill_between(slow["date"], slow[f"{prefix}score_p10"], slow[f"{prefix}score_p90"], color="#cccccc",
                      label="10th-90th percentile")
    axis.plot(slow["date"], slow[f"{prefix}score_p50"], color="#555555", lw=1, ls="--", label="median")
    for index, group in enumerate(groups):
        axis.plot(_dates(run), metrics[f"{prefix}score_mean.{group}"], color=COLOURS[index], lw=2,
                  label=f"mean, {group}")
    axis.set_ylabel("score")
    axis.set_title(f"{prefix.removesuffix('.')}: score distribution over time" if prefix else
                   "Score distribution over time")
    axis.legend(fontsize=8, loc="lower left")
    return png_of(figure)


def tier_shares(run: Run, state: SchemeState | None = None) -> bytes:
    """A scheme's tier shares over time (the first scheme's by default)."""
    state = state or run.sim.schemes[0]
    metrics, tiers, prefix = run.metrics, state.scheme.tier_names, state.prefix
    figure, axis = plt.subplots(figsize=(8, 3.2))
    if not tiers:
        axis.text(0.5, 0.5, "this scheme has no tiers", ha="center", va="center", transform=axis.transAxes)
        axis.set_axis_off()
        return png_of(figure)
    shares = [metrics[f"{prefix}tier_share.{t}"].fillna(0).to_numpy() for t in tiers]
    axis.stackplot(_dates(run), *shares, labels=tiers, colors=plt.cm.RdYlGn(np.linspace(0.9, 0.1, len(tiers))))
    axis.set_ylim(0, 1)
    axis.set_ylabel("share of people")
    axis.set_title(f"{state.name}: tier shares" if prefix else "Tier shares")
    axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    return png_of(figure)


def by_group_over_time(run: Run, prefix: str, names: list[str], title: str, ylabel: str) -> bytes:
    metrics, groups = run.metrics, run.population.group_names
    figure, axes = plt.subplots(1, max(len(names), 1), figsize=(4 * max(len(names), 1), 3.2), squeeze=False)
    for axis, name in zip(axes[0], names, strict=False):
        for index, group in enumerate(groups):
            axis.plot(_dates(run), metrics[f"{prefix}.{name}.{group}"] * 100, color=COLOURS[index], label=group)
        axis.set_title(name, fontsize=10)
        axis.set_ylabel(ylabel)
        axis.tick_params(axis="x", labelrotation=30, labelsize=7)
        axis.legend(fontsize=8)
    figure.suptitle(title)
    return png_of(figure)


PLOTTED_PEOPLE = 1_000_000  # at most this many people in a person-by-person plot: every k-th id


def income_against_score(run: Run) -> bytes:
    """Income against the first scheme's score, and income growth of those sanctioned by any scheme."""
    sim = run.sim
    first = sim.schemes[0]
    assert first.scores is not None
    every = max(1, -(-sim.n // PLOTTED_PEOPLE))  # ids are ordered by district and group: a fair sample
    score = first.scores.score[::every]
    income, initial = sim.people.income[::every], sim.people.income_initial[::every]
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    axes[0].hexbin(score, np.log10(income), gridsize=40, bins="log", cmap="viridis", mincnt=1)
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
    axes[1].hist(growth[~sanctioned], bins=bins, density=True, alpha=0.6, label="never sanctioned", color=COLOURS[0])
    if sanctioned.any():
        axes[1].hist(growth[sanctioned], bins=bins, density=True, alpha=0.6, label="ever sanctioned", color=COLOURS[1])
    axes[1].set_xlabel("income change over the run (%)")
    axes[1].set_title("The feedback loop: sanctions and income")
    axes[1].legend(fontsize=8)
    return png_of(figure)


def network_segregation(run: Run) -> bytes:
    metrics = run.metrics
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for index, state in enumerate(run.sim.schemes):
        column = f"{state.prefix}assortativity_score"
        slow = metrics.dropna(subset=[column]) if column in metrics else metrics.iloc[:0]
        axes[0].plot(slow["date"], slow[column], marker="o", ms=3, color=COLOURS[(3 + index) % len(COLOURS)],
                     label=state.name if state.prefix else None)
    if run.sim.several:
        axes[0].legend(fontsize=8)
    axes[0].set_title("Score assortativity of ties")
    axes[0].set_ylabel("correlation of scores across ties")
    axes[0].tick_params(axis="x", labelrotation=30, labelsize=7)
    axes[1].plot(_dates(run), metrics["mean_degree"], color=COLOURS[0], label="everyone")
    axes[1].plot(_dates(run), metrics["mean_degree_listed"], color=COLOURS[1], label="publicly listed")
    axes[1].set_title("Ties per person")
    axes[1].tick_params(axis="x", labelrotation=30, labelsize=7)
    axes[1].legend(fontsize=8)
    return png_of(figure)


def mobility(run: Run, state: SchemeState | None = None) -> bytes:
    """A scheme's tier transitions (the first scheme's by default)."""
    state = state or run.sim.schemes[0]
    matrix = run.mobilities[state.name]
    figure, axis = plt.subplots(figsize=(4.6, 4))
    if matrix.empty:
        axis.text(0.5, 0.5, "no tiers in this scheme", ha="center")
        return png_of(figure)
    image = axis.imshow(matrix.to_numpy(), cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(matrix.columns)), matrix.columns)
    axis.set_yticks(range(len(matrix.index)), matrix.index)
    axis.set_xlabel("tier at the end")
    axis.set_ylabel("tier at the start")
    for (i, j), value in np.ndenumerate(matrix.to_numpy()):
        if value > 0:
            axis.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=8,
                      color="white" if value > 0.6 else "black")
    axis.set_title(f"{state.name}: tier mobility" if state.prefix else "Tier mobility")
    figure.colorbar(image, ax=axis, shrink=0.8)
    return png_of(figure)


def events_observed(run: Run) -> bytes:
    sim = run.sim
    done = sim.true_counts.sum(axis=1, dtype=np.int64)
    recorded = sim.observed_counts.sum(axis=1, dtype=np.int64)
    codes = [code for code in range(len(sim.kinds)) if done[code] > 0]
    kinds = [sim.kinds[code] for code in codes]
    true = [int(done[code]) for code in codes]
    seen = [int(recorded[code]) for code in codes]
    figure, axis = plt.subplots(figsize=(8, 3))
    x = np.arange(len(kinds))
    axis.bar(x - 0.2, true, 0.4, label="done", color=COLOURS[0])
    axis.bar(x + 0.2, seen, 0.4, label="recorded", color=COLOURS[4])
    axis.set_xticks(x, kinds)
    axis.set_yscale("log")
    axis.set_title("What people did, and what the system recorded")
    axis.legend(fontsize=8)
    return png_of(figure)
