"""Features from events, for all subjects at once (DESIGN.md §4, exact semantics).

Every feature is a grouped reduction over the events of one kind: selection by kind and window,
then `np.bincount` by subject. No Python loop runs over people or events.
"""

from __future__ import annotations

import numpy as np

from ..scheme import Scheme
from ..scheme.models import Feature
from .events import EventArrays


def retained(events: EventArrays, as_of: float, retention_days: float | None) -> np.ndarray:
    """Events the scheme may read at `as_of`: not in the future, not older than retention."""
    keep = events.time <= as_of
    if retention_days is not None:
        keep &= events.time >= as_of - retention_days
    return keep


def time_weights(feature: Feature, age: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(selection within the window or None, exponential weights or None) for events of `age` days."""
    if feature.window_days is not None:
        return age < feature.window_days, None  # as_of - window < t  <=>  age < window
    if feature.half_life_days is not None:
        return None, np.exp2(-age / feature.half_life_days)
    return None, None


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (a plain division then a masked
    write: half the time of a division with `where=`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(numerator, denominator, dtype=np.float64)
    zero = np.asarray(denominator) == 0
    if np.ndim(out) == 0:
        return np.asarray(0.0 if zero else out)
    out[zero] = 0.0
    return out


def run_starts(events: EventArrays, code: int, as_of: float, merge_within_days: float) -> np.ndarray:
    """Indices of the events of kind `code` (up to as_of) that start a run: the subject's first, or
    more than `merge_within_days` after the subject's previous one. Later events of a run merge
    into its start. Every event up to as_of decides the runs, whatever its age: merging is decided
    when events happen, and retention then applies to what is counted."""
    index = np.flatnonzero((events.kind == code) & (events.time <= as_of))
    order = index[np.lexsort((events.time[index], events.subject[index]))]
    subject, time = events.subject[order], events.time[order]
    start = np.ones(order.size, dtype=bool)
    start[1:] = (subject[1:] != subject[:-1]) | (time[1:] - time[:-1] > merge_within_days)
    return np.sort(order[start])


def compute_features(scheme: Scheme, events: EventArrays, as_of: float) -> dict[str, np.ndarray]:
    """Every feature of the scheme, as a float64 array over subjects 0..n-1."""
    n = events.n_subjects
    keep = retained(events, as_of, scheme.retention_days)
    codes = {name: code for code, name in enumerate(scheme.events)}
    by_kind: dict[str, np.ndarray] = {}
    features: dict[str, np.ndarray] = {}
    for name in scheme.rules.feature_order:
        feature = scheme.features[name]
        kind = feature.type
        if kind == "ratio":
            a, b = feature.ratio or ("", "")
            features[name] = safe_ratio(features[a], features[b])
            continue
        event = feature.event or ""
        if event not in by_kind:
            by_kind[event] = np.flatnonzero(keep & (events.kind == codes[event]))
        index = by_kind[event]
        if feature.merge_within_days is not None:
            starts = run_starts(events, codes[event], as_of, feature.merge_within_days)
            index = starts[keep[starts]]
        age = as_of - events.time[index]
        selection, decay = time_weights(feature, age)
        if selection is not None:
            index, age = index[selection], age[selection]
        subject = events.subject[index]
        if kind == "count":
            features[name] = np.bincount(subject, weights=decay, minlength=n).astype(np.float64)
        elif kind == "sum":
            value = events.value[index]
            weights = value if decay is None else value * decay
            features[name] = np.bincount(subject, weights=weights, minlength=n).astype(np.float64)
        elif kind == "mean":
            weight = events.weight[index] if decay is None else events.weight[index] * decay
            total = np.bincount(subject, weights=weight * events.value[index], minlength=n)
            weights = np.bincount(subject, weights=weight, minlength=n)
            mean = np.full(n, feature.default if feature.default is not None else 0.0)
            np.divide(total, weights, out=mean, where=weights != 0)
            features[name] = mean
        elif kind == "days_since":
            latest = np.full(n, -np.inf)
            np.maximum.at(latest, subject, events.time[index])
            seen = np.isfinite(latest)
            since = np.full(n, float(feature.default if feature.default is not None else 0.0))
            since[seen] = as_of - latest[seen]
            features[name] = since
    return {name: features[name] for name in scheme.features}
