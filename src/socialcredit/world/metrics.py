"""Metrics of a run: a preallocated table with one row per day, and end-of-run figures.

Means, shares and counts (overall and by group) are recorded every day. Figures that need a sort, a
partition or a pass over every tie (score percentiles, Gini of score and income, score
assortativity, same-group share of ties) are recorded on the first day, every `SLOW_EVERY` days
from `SLOW_FROM` and on the last day (other days hold NaN): daily, at a million people, they would
cost more than the rest of the step. They are worked out on a thread of their own while the next
days run (the simulation's other phases leave a core idle most of the time), from arrays the
simulation no longer changes."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..analysis.fairness import disparity
from ..analysis.measures import assortativity, gini, percentiles_of_sorted, tie_figures
from ..scoring import Relations
from ..scoring.kernels import block_category_counts, masked_degrees, same_label_entries
from ..sim.model import Sim
from ..sim.module import Module
from ..sim.schemes import SchemeState
from .appeals import Appeals
from .social import shown
from .tallies import Tallies

SLOW_EVERY = 7
# The day from which they are taken every SLOW_EVERY days: day 1, the first on which people weigh
# their stakes (behaviour, after the first scoring, then every `perception_every_days`, 7 by
# default), the heaviest step of a week. Started after it, the figures run through the light days
# that follow; started the day before, they run beside it and slow it by more than their own
# time (figures in benchmarks/RESULTS.md).
SLOW_FROM = 1
LARGE_BLOCKS = 4096  # people per (district, group) block, on average, from which blocks are counted one by one



# A scheme's figures of its scores made on the worker (`Metrics._slow`), in the order it makes them.
SLOW_SCORE_FIGURES = ("score_p10", "score_p50", "score_p90", "gini_score", "assortativity_score")


class SlowScores(NamedTuple):
    """A scheme's scores of a day, for the figures worked out on the worker."""

    prefix: str                  # the scheme's prefix of its columns ("" with one scheme)
    score: np.ndarray            # everyone's
    scored: np.ndarray | None    # the scored's alone, where some are unscored
    scale_min: float


class Metrics(Module):
    name = "metrics"
    params = ("behaviours",)
    state_fields = ("columns",)

    def __init__(self, sim: Sim):
        self.days = sim.days
        self.groups = sim.people.group_names
        self.columns: dict[str, np.ndarray] = {}
        group = sim.people.group
        # People are sorted by (district, group): each block is a contiguous run of one group, so
        # per-group sums are sums over slices (np.add.reduceat), with no gather.
        block = sim.people.district.astype(np.int64) * len(self.groups) + group
        self.block_starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
        # Large blocks (a few districts of many people): counts block by block, np.count_nonzero
        # being several times as fast as a reduceat over a bool array (benchmarks/RESULTS.md);
        # many small ones: one reduceat.
        ends = np.r_[self.block_starts[1:], block.size]
        self.block_ranges = list(zip(self.block_starts.tolist(), ends.tolist(), strict=True)) \
            if block.size >= LARGE_BLOCKS * max(self.block_starts.size, 1) else None
        self.block_group = group[self.block_starts].astype(np.int64)
        self.group_sizes = np.bincount(group, minlength=len(self.groups)).astype(np.float64)
        self.worker: ThreadPoolExecutor | None = None  # for the slow figures, started when first needed
        self.slow_figures: Future[None] | None = None

    def put(self, name: str, day: int, value: float) -> None:
        column = self.columns.get(name)
        if column is None:
            column = self.columns[name] = np.full(self.days, np.nan)
        column[day] = value

    def resume(self, sim: Sim) -> None:
        """A continued run may be longer or shorter than the saved one (`--days`): its columns, one row
        per day, cut to its days or lengthened with NaN for the days not yet simulated."""
        for name, column in self.columns.items():
            if column.shape != (self.days,):
                resized = np.full(self.days, np.nan)
                kept = min(self.days, column.size)
                resized[:kept] = column.reshape(-1)[:kept]
                self.columns[name] = resized

    def group_sums(self, values: np.ndarray) -> np.ndarray:
        if values.dtype == np.bool_ and self.block_ranges is not None:
            blocks = np.array([np.count_nonzero(values[start:end]) for start, end in self.block_ranges],
                              dtype=np.float64)
        else:
            blocks = np.add.reduceat(values.view(np.uint8) if values.dtype == np.bool_ else values,
                                     self.block_starts, dtype=np.float64)
        return np.bincount(self.block_group, weights=blocks, minlength=len(self.groups))

    def nonzero_group_sums(self, counts: np.ndarray) -> np.ndarray:
        """How many in each group have a count above 0 (block by block on the counts themselves where
        blocks are large: no array of flags made each day)."""
        if self.block_ranges is None:
            return self.group_sums(counts > 0)
        blocks = np.array([np.count_nonzero(counts[start:end]) for start, end in self.block_ranges],
                          dtype=np.float64)
        return np.bincount(self.block_group, weights=blocks, minlength=len(self.groups))

    def count_by_group(self, group: np.ndarray) -> np.ndarray:
        """How many in each group, from the group codes of some people (as `group_sums` counts)."""
        return np.bincount(group, minlength=len(self.groups)).astype(np.float64)

    def category_counts(self, codes: np.ndarray, categories: int) -> np.ndarray:
        """(blocks, categories): how many of each block's codes are each of 0..categories-1."""
        if self.block_ranges is None:
            return block_category_counts(codes, self.block_starts, categories)
        return np.array([[np.count_nonzero(codes[start:end] == code) for code in range(categories)]
                         for start, end in self.block_ranges], dtype=np.int64).reshape(-1, categories)

    def by_group(self, name: str, day: int, values: np.ndarray) -> np.ndarray:
        """Record the overall mean of `values` and its mean in each group; return the group means."""
        return self.group_means(name, day, self.group_sums(values))

    def group_means(self, name: str, day: int, sums: np.ndarray) -> np.ndarray:
        """Record the overall mean and each group's from the sums by group; return the group means."""
        self.put(name, day, float(sums.sum() / self.group_sizes.sum()))
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / self.group_sizes
        for index, group in enumerate(self.groups):
            self.put(f"{name}.{group}", day, float(means[index]))
        return means

    def adverse(self, name: str, day: int, sums: np.ndarray, prefix: str = "") -> None:
        """An adverse outcome (listed, denied) from its count by group: its rate by group, disparate
        impact and parity gap, each column after a scheme's `prefix` (as all its columns are)."""
        rates = self.group_means(f"{prefix}{name}", day, sums)
        impact, _ = disparity(rates)
        finite = rates[np.isfinite(rates)]
        self.put(f"{prefix}disparate_impact.{name}", day, impact)
        self.put(f"{prefix}parity_difference.{name}", day, float(finite.max() - finite.min()) if finite.size else 0.0)

    def step(self, sim: Sim, day: int) -> None:
        if day < 0:  # a burn-in's days are not reported
            return
        slow = day == 0 or day % SLOW_EVERY == SLOW_FROM or day == sim.days - 1
        graph = sim.graph
        scored_figures: list[SlowScores] = []  # each scheme's scores for the slow figures
        stepped: dict[int, list[SlowScores]] = {}
        for state in sim.schemes:
            same = state.scored_as
            if same is not None and same.index in stepped:  # the same scores: the same figures
                scored_figures += self._same_figures(state, same, day, stepped[same.index])
            else:
                scored_figures += stepped.setdefault(state.index, self._scheme_step(sim, state, day))
        tallies = sim.module(Tallies)
        if sim.several and tallies is not None:  # who is listed or sanctioned by any scheme, and by several
            now = tallies.combined(sim)
            self.adverse("listed_any", day, self.group_sums(now.listed_any))
            self.adverse("sanctioned_any", day, self.group_sums(now.sanctioned_any))
            self.by_group("listed_by_several", day, now.listing > 1)
            self.by_group("sanctioned_by_several", day, now.sanctioning > 1)
        self.by_group("income_mean", day, sim.people.income)
        if slow:
            # Handed to the worker: the scores and graph of today (later days replace them, never
            # change them) and a copy of incomes (changed in place each day), which it sorts.
            self._start_slow(day, scored_figures, sim.people.income.copy(), graph, sim.people.group)
        degree = graph.degree
        ends = int(graph.indptr[-1] - graph.indptr[0])  # the mean of the degrees, without a pass over them
        self.put("mean_degree", day, ends / graph.n_subjects if graph.n_subjects else np.nan)
        listed, isolated, ties = masked_degrees(shown(sim), degree)
        self.put("public_listed", day, float(listed))
        self.put("isolated_listed_share", day, isolated / listed if listed else np.nan)  # nobody shown: undefined
        self.put("mean_degree_listed", day, ties / listed if listed else np.nan)
        appeals = sim.module(Appeals)
        if appeals is not None and appeals.spec is not None:
            self.put("appeal_backlog", day, float(appeals.backlog))
            self.put("appeals_decided", day, float(appeals.decided))
            self.put("appeals_granted", day, float(appeals.granted))
        self.put("false_records", day, float((~sim.observed_events.genuine).sum()))
        true_per_kind = np.bincount(sim.true_events.kind, minlength=len(sim.kinds))
        observed_per_kind = np.bincount(sim.observed_events.kind, minlength=len(sim.kinds))
        for code, kind in enumerate(sim.kinds):
            if kind in sim.scenario.behaviours:
                self.put(f"events_true.{kind}", day, float(true_per_kind[code]))
                self.put(f"events_observed.{kind}", day, float(observed_per_kind[code]))

    def _scheme_step(self, sim: Sim, state: SchemeState, day: int) -> list[SlowScores]:
        """A scheme's figures of the day (its columns prefixed by its name where there are several);
        its scores for the slow figures, if it has scored."""
        scores, prefix = state.scores, state.prefix
        if scores is None:
            return []
        scored = scores.scored if scores.withholds else None
        if scored is None:
            self.by_group(f"{prefix}score_mean", day, scores.score)
        else:  # over the scored: the unscored have no score
            self.by_group(f"{prefix}unscored_share", day, ~scored)
            self.scored_means(f"{prefix}score_mean", day, self.group_sums(np.where(scored, scores.score, 0.0)),
                              self.group_sums(scored))
        tiers = state.scheme.tier_names
        if tiers:  # every tier's count per block, then as by_group does for each
            counts = self.category_counts(scores.tier, len(tiers))
            for index, tier in enumerate(tiers):
                self.group_means(f"{prefix}tier_share.{tier}", day, np.bincount(
                    self.block_group, weights=counts[:, index].astype(np.float64), minlength=len(self.groups)))
        for name, member in scores.lists.items():
            self.adverse(f"listed.{name}", day, self.group_sums(member), prefix)
        for name, days in state.listed_days.items():
            # Everyone listed at least once from day 0 (Tallies has counted today's): the cumulative
            # count a list's keeper publishes ("placed on the list since 2013"), beside `listed`,
            # those on it now; on the last day, summary.json's `ever_listed`.
            self.group_means(f"{prefix}ever_listed.{name}", day, self.nonzero_group_sums(days))
        for name, allowed in scores.entitlements.items():  # the denied: those not allowed (counts are exact)
            self.adverse(f"denied.{name}", day, self.group_sizes - self.group_sums(allowed), prefix)
        tallies = sim.module(Tallies)
        if sim.has_truth and tallies is not None:
            none = np.zeros(len(self.groups))  # a scheme that receives only true records wrongs no one
            wrong_listed: dict[str, np.ndarray] = dict.fromkeys(state.scheme.lists, none)
            wrong_denied: dict[str, np.ndarray] = dict.fromkeys(state.scheme.entitlements, none)
            if state.truth is not None:  # counted by group among the few rows they can be (the tallies')
                rows, listed_at, denied_at = tallies.wrongly_at(state)
                group = sim.people.group[rows]
                wrong_listed = {name: self.count_by_group(group[at]) for name, at in listed_at.items()}
                wrong_denied = {name: self.count_by_group(group[at]) for name, at in denied_at.items()}
            for name, sums in wrong_listed.items():
                kind = "wrongly_left_off" if name in state.scheme.honour_lists else "wrongly_listed"
                self.group_means(f"{prefix}{kind}.{name}", day, sums)
            for name, sums in wrong_denied.items():
                self.group_means(f"{prefix}wrongly_denied.{name}", day, sums)
        return [SlowScores(prefix, scores.score, None if scored is None else scores.score[scored],
                           state.scheme.scale.min)]

    def _same_figures(self, state: SchemeState, same: SchemeState, day: int,
                      figures: list[SlowScores]) -> list[SlowScores]:
        """`_scheme_step` of a scheme whose scores are those of `same` (`SchemeState.scores_as`),
        stepped before it today: its figures of the day under its own prefix, in the order `same`'s
        were first made; the same scores for the slow figures."""
        slow = {f"{same.prefix}{name}" for name in SLOW_SCORE_FIGURES}
        for name in [name for name in self.columns if name.startswith(same.prefix) and name not in slow]:
            self.put(f"{state.prefix}{name.removeprefix(same.prefix)}", day, float(self.columns[name][day]))
        return [scores._replace(prefix=state.prefix) for scores in figures]

    def scored_means(self, name: str, day: int, sums: np.ndarray, counts: np.ndarray) -> None:
        """Record the overall mean and each group's over the scored, from sums and counts by group
        (NaN where no one is scored)."""
        total = float(counts.sum())
        self.put(name, day, float(sums.sum()) / total if total else np.nan)
        for index, group in enumerate(self.groups):
            self.put(f"{name}.{group}", day, float(sums[index] / counts[index]) if counts[index] else np.nan)

    def _start_slow(self, day: int, schemes: list[SlowScores], income: np.ndarray, graph: Relations,
                    group: np.ndarray) -> None:
        """The figures that need a sort or a pass over every tie, on the worker: each scheme's score
        figures (of its scored alone, where some are unscored: percentiles and the Gini are of them;
        assortativity reads `score`, what everyone's points come to), then income's and the ties'."""
        # The last batch had days to finish (SLOW_EVERY but after day 0); its errors surface here.
        self.wait_for_slow_figures()
        names = [f"{figures.prefix}{name}" for figures in schemes for name in SLOW_SCORE_FIGURES]
        for name in [*names, "gini_income", "same_group_ties"]:  # made here: the worker only writes into them
            self.put(name, day, np.nan)
        if self.worker is None:
            self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="socialcredit-metrics")
        self.slow_figures = self.worker.submit(self._slow, day, schemes, income, graph, group)

    def _slow(self, day: int, schemes: list[SlowScores], income: np.ndarray, graph: Relations,
              group: np.ndarray) -> None:
        """The figures that need a sort or a pass over every tie (on the worker thread; only serial
        kernels here, beside the main thread's parallel ones)."""
        same: int | None = None
        made: dict[tuple[int, int], list[float]] = {}  # by the arrays: schemes that share scores share figures
        for figures in schemes:
            prefix, score = figures.prefix, figures.score
            key = (id(score), id(figures.scored))
            if key not in made:
                ordered = np.sort(score if figures.scored is None else figures.scored)  # percentiles and Gini
                values = [*percentiles_of_sorted(ordered, [10, 50, 90]),
                          gini(ordered, ordered=True, shift=figures.scale_min) if ordered.size else np.nan]
                del ordered
                if same is None:
                    assorted, same = tie_figures(graph, score, group)  # one pass over the ties for both
                else:
                    assorted = assortativity(graph, score)
                made[key] = [*values, assorted]
            for name, value in zip(SLOW_SCORE_FIGURES, made[key], strict=True):
                self.put(f"{prefix}{name}", day, value)
        if same is None and graph.indices.size:
            same = same_label_entries(graph.indptr, graph.indices, group)
        income.sort()  # the worker's own copy: sorted in place (NumPy's sort, twice the speed of a radix sort here)
        self.put("gini_income", day, gini(income, ordered=True))
        if same is not None and graph.indices.size:  # the share of ties whose two ends share a group
            self.put("same_group_ties", day, same / graph.indices.size)

    def wait_for_slow_figures(self) -> None:
        """Wait for the slow figures in progress (and raise what went wrong working them out)."""
        if self.slow_figures is not None:
            pending, self.slow_figures = self.slow_figures, None
            pending.result()

    def settle(self, sim: Sim) -> None:
        self.wait_for_slow_figures()  # they write into `columns`, which the state keeps

    def finish(self, sim: Sim) -> None:
        self.close()

    def close(self) -> None:
        self.wait_for_slow_figures()
        if self.worker is not None:
            self.worker.shutdown()
            self.worker = None

    def frame(self, sim: Sim) -> pd.DataFrame:
        self.close()
        days = np.arange(self.days)
        dates = pd.to_datetime(sim.scenario.run.start) + pd.to_timedelta(days, unit="D")
        return pd.DataFrame({"day": days, "date": dates, **self.columns})
