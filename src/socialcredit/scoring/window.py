"""Which events a feature reads at a time, and what each weighs: the one rule every implementation
of a feature applies (docs/design.md, "Features: one rule, four implementations").

An event's age at `as_of` is `as_of - t`, always computed so and then compared (never `t` against
`as_of - window`, which rounds differently where times are not whole numbers), so that batch,
compiled, incremental and one-more make the same decision to the bit. An event counts in a feature
when its age is

- not negative (it is not in the future),
- at most the scheme's `retention_days` (an event exactly that old still counts), and
- under the feature's `window_days` (one exactly that old does not: `as_of - window < t`).

With `half_life_days` it weighs `0.5 ** (age / half_life)`. A merged count (`merge_within_days`)
counts runs: an event more than `merge_within_days` after the subject's previous one of its kind
begins a run; the others merge into theirs.

The rules are written with plain operators, so one function serves scalars (the incremental state,
a batch of events at a time) and arrays (NumPy's selections), and is compiled as it is into the
compiled pass below. That pass lives here, beside the rule, because numba's cache notices changes
to the file a compiled function is defined in, not to the files it calls into. It is compiled (or
loaded from numba's cache) when first called, so that importing the rule does not load numba.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from ..scheme.models import Feature

NO_LIMIT = math.inf  # the retention or window of a scheme or feature that sets none


def limits(feature: Feature, retention_days: float | None) -> tuple[float, float]:
    """(retention, window) to give `counts` for this feature, NO_LIMIT where none is set."""
    return (NO_LIMIT if retention_days is None else retention_days,
            NO_LIMIT if feature.window_days is None else feature.window_days)


def counts(age: Any, retention: float, window: float) -> Any:
    """Whether an event `age` days old (as_of - t) counts: 0 <= age <= retention and age < window.
    Element-wise for an array of ages. (An age that is not a number never counts; neither does an
    infinite one, the age of no event at all.)"""
    return (age >= 0.0) & (age <= retention) & (age < window)


def begins_run(gap: Any, merge_within_days: float) -> Any:
    """Whether an event `gap` days after the subject's previous one of its kind begins a run of a
    merged count (rather than merging into the previous one's)."""
    return gap > merge_within_days


def decay(age: Any, half_life_days: float) -> Any:
    """The weight of an event `age` days old under a half-life: 0.5 ** (age / half_life), as NumPy's
    exp2 gives it (numba's differs in the last bit, so the compiled pass takes these as input)."""
    return np.exp2(-age / half_life_days)


_counts: Any = counts  # the rule as `_add_up_feature` calls it: compiled (inlined) in `add_up_feature`

COUNT, SUM, MEAN, LATEST = 0, 1, 2, 3  # what `add_up_feature` does with each event it reads

_compiled: Any = None
_compiling = threading.Lock()


def add_up_feature(*arguments: Any) -> None:
    """`_add_up_feature`, compiled by numba (from its cache) on the first call."""
    global _compiled, _counts
    if _compiled is None:
        with _compiling:
            if _compiled is None:
                import numba

                _counts = numba.njit(cache=True, nogil=True, inline="always")(counts)
                _compiled = numba.njit(cache=True, nogil=True)(_add_up_feature)
    _compiled(*arguments)


def _add_up_feature(events: np.ndarray, subject: np.ndarray, time: np.ndarray, value: np.ndarray,
                   weight: np.ndarray, weights_by_age: np.ndarray, as_of: float, retention: float, window: float,
                   action: int, total: np.ndarray, weights: np.ndarray) -> None:  # pragma: no cover
    """One feature of every subject in one pass over the positions `events` (one kind's, in
    event order): those that `counts` at `as_of` under `retention` and `window`. Per subject,
    `total` gets by `action`: COUNT 1, SUM the value, MEAN weight * value (and `weights` the
    weight), LATEST the latest time; with a half-life, `weights_by_age[i]` (the i-th event's
    `decay`) multiplies the count, the value or the weight as `features.compute_features` does.
    Events are added in event order, as `np.bincount` adds them, so the sums equal NumPy's to the
    last bit. One feature's totals (8 bytes a subject) stay in the CPU's cache better than all
    features' at once: each event lands on a random subject. Serial and without the GIL: features
    run two at a time."""
    decayed = weights_by_age.shape[0] > 0
    for i in range(events.shape[0]):
        e = events[i]
        t = time[e]
        if not _counts(as_of - t, retention, window):
            continue
        s = subject[e]
        if s < 0 or s >= total.shape[0]:
            continue  # not a subject: never written out of bounds
        if action == COUNT:
            total[s] += weights_by_age[i] if decayed else 1.0
        elif action == SUM:
            total[s] += value[e] * weights_by_age[i] if decayed else value[e]
        elif action == MEAN:
            w = weight[e] * weights_by_age[i] if decayed else weight[e]
            total[s] += w * value[e]
            weights[s] += w
        elif t > total[s]:
            total[s] = t
