"""Metrics of a run: a preallocated table with one row per day, and end-of-run figures.

Cheap figures (means, shares, counts) are recorded every day. Figures that need a sort or a pass
over every tie (percentiles, Gini, assortativity) are recorded every `SLOW_EVERY` days and on the
last day; other days hold NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..sim.model import Sim

SLOW_EVERY = 7


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = equal, 1 = one holds everything)."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    n = values.size
    total = values.sum()
    if n == 0 or total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * np.sum(ranks * values) / (n * total)) - (n + 1) / n)


def assortativity(graph, values: np.ndarray) -> float:
    """Pearson correlation of a value across the two ends of every tie (Newman's r for scalars)."""
    if graph.indices.size == 0:
        return float("nan")
    a, b = values[graph.rows], values[graph.indices]
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


class Metrics:
    name = "metrics"

    def __init__(self, sim: Sim):
        self.days = sim.days
        self.groups = sim.people.group_names
        self.columns: dict[str, np.ndarray] = {}
        self.group_masks = [sim.people.group == g for g in range(len(self.groups))]
        self.group_sizes = np.array([m.sum() for m in self.group_masks], dtype=np.float64)
        sim.metrics = self

    def put(self, name: str, day: int, value: float) -> None:
        column = self.columns.get(name)
        if column is None:
            column = self.columns[name] = np.full(self.days, np.nan)
        column[day] = value

    def by_group(self, name: str, day: int, values: np.ndarray) -> None:
        """Record the overall mean of `values` and its mean in each group."""
        self.put(name, day, float(values.mean()))
        sums = np.bincount(self._group, weights=values, minlength=len(self.groups))
        for index, group in enumerate(self.groups):
            self.put(f"{name}.{group}", day, sums[index] / self.group_sizes[index] if self.group_sizes[index] else
                     np.nan)

    def step(self, sim: Sim, day: int) -> None:
        self._group = sim.people.group
        scores = sim.scores
        slow = day % SLOW_EVERY == 0 or day == sim.days - 1
        if scores is not None:
            self.by_group("score_mean", day, scores.score)
            for index, tier in enumerate(sim.scheme.tier_names):
                self.by_group(f"tier_share.{tier}", day, (scores.tier == index).astype(np.float64))
            for name, member in scores.lists.items():
                self.by_group(f"listed.{name}", day, member.astype(np.float64))
            for name, allowed in scores.entitlements.items():
                self.by_group(f"denied.{name}", day, (~allowed).astype(np.float64))
            if slow:
                p10, p50, p90 = np.percentile(scores.score, [10, 50, 90])
                self.put("score_p10", day, p10)
                self.put("score_p50", day, p50)
                self.put("score_p90", day, p90)
                self.put("gini_score", day, gini(scores.score - sim.scheme.scale.min))
                self.put("assortativity_score", day, assortativity(sim.graph, scores.score))
        self.by_group("income_mean", day, sim.people.income)
        if slow:
            self.put("gini_income", day, gini(sim.people.income))
            rows = sim.graph.rows
            self.put("same_group_ties", day, float((sim.people.group[rows] == sim.people.group[sim.graph.indices])
                                                   .mean()) if rows.size else np.nan)
        degree = sim.graph.degree
        self.put("mean_degree", day, float(degree.mean()))
        social = sim.scenario.social
        public = social.public_lists if social.public_lists is not None else list(sim.scheme.lists)
        shown = np.zeros(sim.n, dtype=bool)
        for name in public:
            shown |= sim.listed[name]
        self.put("public_listed", day, float(shown.sum()))
        self.put("isolated_listed_share", day, float((degree[shown] == 0).mean()) if shown.any() else 0.0)
        self.put("mean_degree_listed", day, float(degree[shown].mean()) if shown.any() else np.nan)
        true_per_kind = np.bincount(sim.true_events.kind, minlength=len(sim.scheme.events))
        observed_per_kind = np.bincount(sim.observed_events.kind, minlength=len(sim.scheme.events))
        for code, kind in enumerate(sim.scheme.events):
            if kind in sim.scenario.behaviours:
                self.put(f"events_true.{kind}", day, float(true_per_kind[code]))
                self.put(f"events_observed.{kind}", day, float(observed_per_kind[code]))

    def frame(self, sim: Sim) -> pd.DataFrame:
        days = np.arange(self.days)
        dates = pd.to_datetime(sim.scenario.run.start) + pd.to_timedelta(days, unit="D")
        return pd.DataFrame({"day": days, "date": dates, **self.columns})
