"""Features from events, for all subjects at once (docs/design.md, "The scheme format": README's "Semantics, exactly").

Every feature is a grouped reduction over the events of one kind: selection by kind and by the
rule of `window.py` (window, retention, merged runs), then `np.bincount` by subject. No Python
loop runs over people or events. For a large log, every windowed or all-time count, sum, mean and
days-since is added up in a compiled pass over the events instead (`window.add_up_feature`), two
features at a time, to the same bits.
"""

from __future__ import annotations

import numpy as np

from ..parallel import parallel_map
from ..scheme import Scheme
from ..scheme.models import Feature
from .core import COMPILED_FROM, compiled_pays
from .events import EventArrays
from .window import COUNT, LATEST, MEAN, NO_LIMIT, SUM, add_up_feature, begins_run, counts, decay, limits

ACTIONS = {"count": COUNT, "sum": SUM, "mean": MEAN, "days_since": LATEST}


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0: for many values one compiled pass,
    for few a plain division then a masked write (half the time of a division with `where=`)."""
    if np.ndim(numerator) == np.ndim(denominator) == 1 and compiled_pays(np.shape(numerator)[0], COMPILED_FROM):
        from .kernels import ratio_of

        return ratio_of(np.ascontiguousarray(numerator, dtype=np.float64),
                        np.ascontiguousarray(denominator, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(numerator, denominator, dtype=np.float64)
    zero = np.asarray(denominator) == 0
    if np.ndim(out) == 0:
        return np.asarray(0.0 if zero else out)
    out[zero] = 0.0
    return out


def mean_or_default(feature: Feature, total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """total / weights, and the feature's default (0 without one) where there is no weight."""
    mean = np.full(total.shape[0], float(feature.default if feature.default is not None else 0.0))
    np.divide(total, weights, out=mean, where=weights != 0)
    return mean


def days_since(feature: Feature, latest: np.ndarray, as_of: float, retention: float | None = None) -> np.ndarray:
    """as_of - the latest event's time, and the feature's default where there is none (latest
    -inf) or, with `retention`, where it is older than that."""
    since = np.full(latest.shape[0], float(feature.default if feature.default is not None else 0.0))
    seen = np.isfinite(latest)
    if retention is not None:
        seen &= counts(as_of - latest, retention, NO_LIMIT)
    since[seen] = as_of - latest[seen]
    return since


def run_starts(events: EventArrays, code: int, as_of: float, merge_within_days: float) -> np.ndarray:
    """Indices of the events of kind `code` (up to as_of) that start a run: the subject's first, or
    more than `merge_within_days` after the subject's previous one. Later events of a run merge
    into its start. Every event up to as_of decides the runs, whatever its age: merging is decided
    when events happen, and retention then applies to what is counted."""
    happened = counts(as_of - events.time, NO_LIMIT, NO_LIMIT)  # whatever their age
    index = np.flatnonzero((events.kind == code) & happened)
    order = index[np.lexsort((events.time[index], events.subject[index]))]
    subject, time = events.subject[order], events.time[order]
    start = np.ones(order.size, dtype=bool)
    start[1:] = (subject[1:] != subject[:-1]) | begins_run(time[1:] - time[:-1], merge_within_days)
    return np.sort(order[start])


def compiled_features(scheme: Scheme) -> list[str]:
    """The features `add_up` adds up: counts, sums, means and days-since, each over a window, a
    half-life or all time. Merged counts and ratios are not sums over single events."""
    return [name for name, feature in scheme.features.items()
            if feature.type in ACTIONS and feature.merge_within_days is None]


def add_up(scheme: Scheme, events: EventArrays, as_of: float, names: list[str]) -> dict[str, np.ndarray]:
    """The features `names` (see `compiled_features`), each in one compiled pass over the events
    of its kind, two features at a time on the slice threads."""
    n = events.n_subjects
    if not names:
        return {}
    from .kernels import group_by_kind

    codes = {name: code for code, name in enumerate(scheme.events)}
    order, start = group_by_kind(events.kind, len(scheme.events))

    def one(name: str) -> np.ndarray:
        feature = scheme.features[name]
        latest = feature.type == "days_since"
        total = np.full(n, -np.inf) if latest else np.zeros(n)
        weights = np.zeros(n if feature.type == "mean" else 0)
        code = codes[feature.event or ""]
        positions = order[start[code]:start[code + 1]]
        by_age = (decay(as_of - events.time[positions], feature.half_life_days)
                  if feature.half_life_days is not None and not latest else np.zeros(0))
        retention, window = limits(feature, scheme.retention_days)
        add_up_feature(positions, events.subject, events.time, events.value, events.weight, by_age, float(as_of),
                       float(retention), float(window), ACTIONS[feature.type], total, weights)
        if feature.type == "mean":
            return mean_or_default(feature, total, weights)
        return days_since(feature, total, as_of) if latest else total

    return dict(zip(names, parallel_map(one, names), strict=True))


def compute_features(scheme: Scheme, events: EventArrays, as_of: float) -> dict[str, np.ndarray]:
    """Every feature of the scheme, as a float64 array over subjects 0..n-1."""
    n = events.n_subjects
    features: dict[str, np.ndarray] = {}
    if compiled_pays(len(events), COMPILED_FROM):  # a pass per feature beats NumPy's selections by kind
        features.update(add_up(scheme, events, as_of, compiled_features(scheme)))
    codes = {name: code for code, name in enumerate(scheme.events)}
    by_kind: dict[str, np.ndarray] = {}  # the positions of each kind's events
    for name in scheme.rules.feature_order:
        feature = scheme.features[name]
        kind = feature.type
        if name in features:
            continue
        if kind == "ratio":
            a, b = feature.ratio or ("", "")
            features[name] = safe_ratio(features[a], features[b])
            continue
        event = feature.event or ""
        if event not in by_kind:
            by_kind[event] = np.flatnonzero(events.kind == codes[event])
        index = by_kind[event]
        if feature.merge_within_days is not None:  # a run counts at its start
            index = run_starts(events, codes[event], as_of, feature.merge_within_days)
        age = as_of - events.time[index]
        read = counts(age, *limits(feature, scheme.retention_days))
        index, age = index[read], age[read]
        by_age = decay(age, feature.half_life_days) if feature.half_life_days is not None else None
        subject = events.subject[index]
        if kind == "count":
            features[name] = np.bincount(subject, weights=by_age, minlength=n).astype(np.float64)
        elif kind == "sum":
            value = events.value[index]
            weights = value if by_age is None else value * by_age
            features[name] = np.bincount(subject, weights=weights, minlength=n).astype(np.float64)
        elif kind == "mean":
            weight = events.weight[index] if by_age is None else events.weight[index] * by_age
            total = np.bincount(subject, weights=weight * events.value[index], minlength=n)
            weights = np.bincount(subject, weights=weight, minlength=n)
            features[name] = mean_or_default(feature, total, weights)
        elif kind == "days_since":
            latest = np.full(n, -np.inf)
            np.maximum.at(latest, subject, events.time[index])
            features[name] = days_since(feature, latest, as_of)
    return {name: features[name] for name in scheme.features}
