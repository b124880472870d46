"""Intervals over seeds that stay inside a figure's range.

Every headline figure an experiment compares is of one kind, and the kind fixes its range: a share
(a rate, a probability) lies in [0, 1], a count is never negative, a disparate impact lies in
[0, 1], a suppressed share is at most 1 (a reward can make it negative), a score is a level. The
kind of each figure is decided here, from its name, by the table FIGURE_KINDS, and nowhere else.

The interval is Student's t over the seeds' values, worked out on a scale on which the range has no
ends and mapped back: logit for what lies in [0, 1], log for what is never negative, log(1 - x) for
what is at most 1, the figure itself for a level. The standard error of the mean is carried to that
scale by the delta method (se / g'(mean)), as Stata's `proportion` does for proportions with its
logit interval, so the interval is one for the mean of the seeds' values (not for their geometric
mean), it keeps the t distribution's width for few seeds, and its ends never leave the range. It
needs no resampling: the same values give the same interval to the bit. A percentile bootstrap over
seeds stays in range too, but with few seeds it covers the mean far less often than it says: on
overdispersed counts (negative binomial with dispersion 2, means 1, 5 and 30, 2,000 draws each) over
5 seeds it covered the mean 81-83% of the time, these intervals 94-95% (over 10 seeds, 89-90%
against 94-96%); a test holds them to it.

With one seed there is no spread between seeds to measure: no interval. With two to four, the t
quantile is large (12.7 for two seeds, 3.18 for four) and the interval wide: the table says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase

import numpy as np
from scipy import stats

LEVEL = 0.95
FEW_SEEDS = 5  # fewer seeds than this give a wide, rough interval, and the table says so


@dataclass(frozen=True)
class FigureKind:
    """What a figure is, its range, and the scale its interval is worked out on."""

    name: str
    low: float
    high: float
    scale: str  # "logit", "log", "log_complement" (log(1 - x)) or "identity"
    method: str  # how table.csv names the interval

    def to_scale(self, mean: float) -> tuple[float, float]:
        """The mean on the unbounded scale, and the derivative of that scale at the mean."""
        if self.scale == "logit":
            return math.log(mean / (1 - mean)), 1 / (mean * (1 - mean))
        if self.scale == "log":
            return math.log(mean), 1 / mean
        if self.scale == "log_complement":
            return math.log(1 - mean), -1 / (1 - mean)
        return mean, 1.0

    def from_scale(self, value: float) -> float:
        if self.scale == "logit":
            return 1 / (1 + math.exp(-value)) if value >= 0 else math.exp(value) / (1 + math.exp(value))
        if self.scale == "log":
            return math.exp(value)
        if self.scale == "log_complement":
            return 1 - math.exp(value)
        return value


KINDS = {kind.name: kind for kind in (
    FigureKind("share", 0.0, 1.0, "logit", "t-logit"),           # a share of people, a rate, a probability
    FigureKind("count", 0.0, math.inf, "log", "t-log"),          # people, person-days, records
    FigureKind("impact", 0.0, 1.0, "logit", "t-logit"),          # disparate impact: a ratio of rates, at most 1
    FigureKind("suppressed", -math.inf, 1.0, "log_complement", "t-log-complement"),  # 1 - acts with / without
    FigureKind("level", -math.inf, math.inf, "identity", "t"),   # a score, a difference of log growths
)}

# The kind of every headline figure (experiments.headline_figures), by its name: the first pattern
# (fnmatch, case-sensitive) that matches decides. A figure no pattern matches is an error, so that a
# new figure is given its range here rather than an interval that may leave it.
FIGURE_KINDS: tuple[tuple[str, str], ...] = (
    ("score_mean", "level"), ("score_mean.*", "level"),
    ("income_gap_sanctioned", "level"),
    ("wrongly_*.count", "count"), ("falsely_stopped.count", "count"), ("false_alerts.*", "count"),
    ("false_sanction_person_days", "count"), ("false_sanction_person_days.*", "count"), ("false_records", "count"),
    ("false_records.*", "count"), ("records.*", "count"),
    ("appeal_backlog", "count"), ("appeal_backlog.*", "count"),
    ("disparate_impact.*", "impact"),
    ("chilling.*", "suppressed"),
    ("encouraged.*", "count"),  # the increase an act's reward causes: at least 0, without a bound
    ("listed.*", "share"), ("denied.*", "share"), ("wrongly_*", "share"), ("isolated_listed_share", "share"),
    ("listed_by_any", "share"), ("listed_by_any.*", "share"), ("sanctioned_by_any", "share"),
    ("sanctioned_by_any.*", "share"), ("denied_through_imports.*", "share"),
    ("falsely_stopped", "share"), ("falsely_stopped.*", "share"), ("false_alert_share.*", "share"),
    ("farmed_share.*", "share"), ("points_from_farming", "level"), ("points_from_farming.*", "level"),
    ("ties_pruned_per_person_year", "count"), ("isolated_low_unlisted_share", "share"),
    ("mean_degree_low_unlisted", "count"),
    ("ratings_inflated_share.*", "share"), ("rating_spread.*", "count"),  # a standard deviation: at least 0
    ("rating_tracks_quality.*", "level"),  # a correlation, -1 to 1, taken without a bound
    # lists with a removal fee (world/display.py): person-days, fees and a ratio of shares are at least 0
    ("days_shown.*", "count"), ("days_shown_per_person.*", "count"), ("fees_collected.*", "count"),
    ("still_shown_poorest_to_richest.*", "count"), ("paid_share.*", "share"), ("still_shown.*", "share"),
    # enrolment (world/enrolment.py): shares enrolled and denied; a gap of scores and the switch's changes
    ("enrolled_share.*", "share"), ("unenrolled_denied_share.*", "share"), ("would_be_score_gap.*", "level"),
    ("switch.*", "level"),
)


def figure_kind(figure: str) -> FigureKind:
    """The kind (and so the range) of a headline figure, from FIGURE_KINDS."""
    for pattern, kind in FIGURE_KINDS:
        if fnmatchcase(figure, pattern):
            return KINDS[kind]
    raise ValueError(f"figure {figure!r} has no kind: add a pattern for it to FIGURE_KINDS in "
                     f"socialcredit/analysis/intervals.py (one of {', '.join(KINDS)})")


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float   # NaN where there is no interval
    high: float
    method: str  # the kind's method, or "none"
    note: str    # what a reader should know: one seed, few seeds, no spread; else ""


def seeds_note(n: int) -> str:
    """What a reader should know of an interval over `n` seeds, or ""."""
    if n == 1:
        return "one seed: no spread between seeds to measure"
    return f"only {n} seeds: a wide, rough interval" if n < FEW_SEEDS else ""


def interval(values: np.ndarray, kind: FigureKind, level: float = LEVEL) -> Interval:
    """The mean of the seeds' values and a `level` interval for it that stays in the kind's range."""
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    mean = float(values.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, "none", seeds_note(n))
    spread = float(values.std(ddof=1))
    few = seeds_note(n)
    if spread == 0:
        return Interval(mean, mean, mean, kind.method, f"every seed gave {mean:.6g}: the interval has no width")
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * spread / math.sqrt(n)
    if kind.scale != "identity" and kind.low < mean < kind.high:
        centre, slope = kind.to_scale(mean)
        ends = sorted(kind.from_scale(centre + sign * half * abs(slope)) for sign in (-1, 1))
        # the mapping back can round onto the range's end; it never crosses it
        return Interval(mean, max(ends[0], kind.low), min(ends[1], kind.high), kind.method, few)
    # a level; or a mean on the range's end with a spread, which only rounding makes: clipped
    return Interval(mean, max(mean - half, kind.low), min(mean + half, kind.high), kind.method if
                    kind.scale == "identity" else "t-clipped", few)
