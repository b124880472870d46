"""Incremental feature state: the same features as `features.compute_features`, kept current as
time passes and events arrive, without re-reading history.

- hard windows: an event is added when it happens and subtracted the day it leaves the window;
  the events still inside some window are kept as per-batch arrays, not W buckets per person;
- half-lives: the state decays by 0.5 ** (elapsed / half_life) as time advances;
- days_since: the time of each subject's latest event;
- retention: an event older than `retention_days` is subtracted from every feature that holds it.

Whether an event counts, begins a merged run or how much it weighs is decided by `window.py`, as
in batch; the state only adds and takes back what that rule says.

Sums of floating values are kept with a count of the events they hold, and reset to exactly 0
when the count reaches 0, so that a subject whose events have all left agrees with the batch core
bit for bit (no 1e-17 residue that would fall into another bin).

Events may arrive late (dated before the current time, as a source with a reporting delay sends
them), and events of `voidable` kinds may be voided later by id (a granted appeal): their
contribution is taken back and the scores recomputed from what remains, never edited.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..scheme import Scheme
from .features import days_since, mean_or_default, safe_ratio
from .window import NO_LIMIT, begins_run, counts, decay, limits

Entry = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # subject, value, weight, id


@dataclass
class _Batch:
    """Events of one time, grouped by kind code."""

    time: float
    by_kind: dict[int, KeptEntry]
    starts: dict[str, np.ndarray] = field(default_factory=dict)  # merged counts: the subjects whose run began here
    serial: int = 0  # which `add` made it (they count up): whether it came before a subject's divergence
    # Per kind, which of its events were voided (no longer counted here; a state following this one
    # for some subjects, `SparseFeatures`, may still hold them, in their places, so kept in the batch).
    voided: dict[int, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class SortedIds:
    """Increasing subject ids as the first and the 16-bit gaps between them: 2 bytes an event
    rather than 4 where a day's events are spread over a population (gaps under 65,536). Over a
    year of daily events this history is the state's largest part."""

    first: int
    gaps: np.ndarray  # uint16

    @classmethod
    def pack(cls, ids: np.ndarray) -> SortedIds | None:
        """Packed increasing `ids`, or None where a gap does not fit in 16 bits."""
        if not ids.size:
            return None
        gaps = np.diff(ids)
        if gaps.size and gaps.max() >= 2**16:
            return None
        return cls(int(ids[0]), gaps.astype(np.uint16))

    def unpack(self) -> np.ndarray:
        ids = np.empty(self.gaps.size + 1, dtype=np.int64)
        ids[0] = self.first
        np.cumsum(self.gaps, out=ids[1:])
        ids[1:] += self.first
        return ids


# Events that left a state's windows on an `advance`: (feature, their time, their batch's serial,
# subjects, values, weights), values and weights None where the feature does not read them.
Leaving = tuple[str, float, int, np.ndarray, np.ndarray | None, np.ndarray | None]

# What the history keeps of a batch's events of one kind: subjects (packed where they can be),
# and values, weights and ids only where something reads them (None otherwise).
KeptEntry = tuple[np.ndarray | SortedIds, np.ndarray | None, np.ndarray | None, np.ndarray | None]


def _narrow(values: np.ndarray) -> np.ndarray:
    """float32 where that holds every value exactly (stars, hours, whole amounts), else as given:
    half the memory of a kept value, and the same float64 when read back."""
    narrow = values.astype(np.float32)
    return narrow if np.array_equal(narrow, values) else values


# How far (in days) the bisections that look for batches leaving a feature reach past their bounds:
# far more than any rounding of a difference of times, and at most a few batches more to test
# with `counts`, which decides.
SEARCH_MARGIN = 1.0


def added(feature_type: str, value: Any, weight: Any, by_age: Any) -> tuple[Any, Any]:
    """What an event adds to a count, sum or mean's total, and to a mean's weights (None for the
    others), weighing `by_age` (1 without a half-life; scalars or arrays): the one place that says
    it, for events entering, leaving and voided, and for one more act."""
    if feature_type == "count":
        return by_age, None
    if feature_type == "sum":
        return value * by_age, None
    return weight * value * by_age, weight * by_age


class IncrementalFeatures:
    """Per-subject feature state for one scheme, advanced through time in order."""

    def __init__(self, scheme: Scheme, n_subjects: int, start: float = 0.0, voidable: tuple[str, ...] = ()):
        self.scheme = scheme
        self.n = n_subjects
        self.as_of = start
        self.codes = {name: code for code, name in enumerate(scheme.events)}
        self.retention = scheme.retention_days
        self.direct = [name for name in scheme.rules.feature_order if scheme.features[name].type != "ratio"]
        self.bounds = {name: limits(scheme.features[name], self.retention) for name in self.direct}
        self.total: dict[str, np.ndarray] = {}     # count, sum, or mean's numerator
        self.weight: dict[str, np.ndarray] = {}    # mean's denominator
        self.held: dict[str, np.ndarray] = {}      # events currently held, where a float sum needs it
        self.latest: dict[str, np.ndarray] = {}    # days_since: latest event time
        for name in self.direct:
            feature = scheme.features[name]
            if feature.type == "days_since":
                self.latest[name] = np.full(n_subjects, -np.inf)
                continue
            self.total[name] = np.zeros(n_subjects)
            if feature.type == "mean":
                self.weight[name] = np.zeros(n_subjects)
            if feature.type != "count" or feature.half_life_days is not None:
                # for a mean, the events with a non-zero weight: those its denominator holds
                self.held[name] = np.zeros(n_subjects, dtype=np.int32)
        # Only features that ever drop an event need the history of batches.
        self.expiring = [name for name in self.direct if scheme.features[name].type != "days_since"
                         and min(self.bounds[name]) != NO_LIMIT]
        self.horizon = max((min(self.bounds[name]) for name in self.expiring), default=0.0)
        self.history: list[_Batch] = []   # in time order
        self.times: list[float] = []
        # Every event of a voidable kind, for the whole run: (time, subject, value, weight, id) parts.
        self.voidable = {self.codes[kind] for kind in voidable}
        # Merged counts: the time of each subject's latest event of the kind, which decides runs.
        self.merged = {name: np.full(n_subjects, -np.inf) for name in self.direct
                       if scheme.features[name].merge_within_days is not None}
        self.merged_kinds = {self.codes[scheme.features[name].event or ""] for name in self.merged}
        if self.merged_kinds & self.voidable:
            names = ", ".join(sorted(scheme.features[n].event or "" for n in self.merged))
            raise ValueError(f"events of {names} feed a merged count and cannot be voided yet; leave them out of "
                             "the contestable kinds")
        # Kinds whose events the history keeps (some expiring feature reads them), and what of them.
        self.kept_kinds = {self.codes[scheme.features[name].event or ""] for name in self.expiring}
        self.valued_kinds = {self.codes[scheme.features[name].event or ""] for name in self.expiring
                             if scheme.features[name].type in ("sum", "mean")}
        self.weighted_kinds = {self.codes[scheme.features[name].event or ""] for name in self.expiring
                               if scheme.features[name].type == "mean"}
        self.log: dict[int, list[tuple[np.ndarray, ...]]] = {code: [] for code in self.voidable}
        self.serial = 0  # how many times `add` was called: the next batch's serial

    def grow(self, n_subjects: int) -> None:
        """Room for `n_subjects` subjects (at least as many as now), the new ones without events."""
        extra = n_subjects - self.n
        if extra <= 0:
            return
        def grown(values: np.ndarray, fill: float) -> np.ndarray:
            return np.concatenate([values, np.full(extra, fill, dtype=values.dtype)])
        for kept in (self.total, self.weight, self.held):
            for name in kept:
                kept[name] = grown(kept[name], 0)
        for kept in (self.latest, self.merged):
            for name in kept:
                kept[name] = grown(kept[name], -np.inf)
        self.n = n_subjects

    # --- events in -------------------------------------------------------------------------
    def add(self, time: float, subject: np.ndarray, kind: np.ndarray, value: np.ndarray | None = None,
            weight: np.ndarray | None = None, ids: np.ndarray | None = None) -> None:
        """Add events that happened at `time` (now, or earlier for late reports)."""
        if time > self.as_of:
            raise ValueError(f"events at {time} added while the state is at {self.as_of}; advance first")
        age = self.as_of - time
        subject = np.asarray(subject, dtype=np.int64)
        if age and self.merged_kinds and np.isin(np.asarray(kind), list(self.merged_kinds)).any():
            raise ValueError(f"late events (dated {time}, now {self.as_of}) of a kind a merged count reads: runs are "
                             "decided as events happen, so such events must arrive on their day")
        kind = np.asarray(kind)
        size = subject.shape[0]
        value = np.ones(size) if value is None else np.asarray(value, dtype=np.float64)
        weight = np.ones(size) if weight is None else np.asarray(weight, dtype=np.float64)
        ids = np.full(size, -1, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        by_kind: dict[int, Entry] = {}
        # Each kind's events in their order (a code no kind has is read by nothing): one counting
        # pass rather than np.unique of the kinds and a comparison of every event per kind.
        from .kernels import group_by_kind

        order, start = group_by_kind(kind, len(self.codes))
        for code in range(len(self.codes)):
            if start[code + 1] > start[code]:
                chosen = order[start[code]:start[code + 1]]
                by_kind[code] = (subject[chosen], value[chosen], weight[chosen], ids[chosen])
        starts: dict[str, np.ndarray] = {}
        for name in self.direct:
            feature = self.scheme.features[name]
            entry = by_kind.get(self.codes[feature.event or ""])
            if entry is None:
                continue
            if name in self.merged:
                last = self.merged[name]
                first = np.unique(entry[0])  # several events of one subject at one time: one run at most
                begins = first[begins_run(time - last[first], feature.merge_within_days or 0.0)]
                np.maximum.at(last, entry[0], time)
                starts[name] = begins
                if counts(age, *self.bounds[name]):
                    self._apply(name, begins, None, None, sign=1.0, age=age)
            elif feature.type == "days_since":
                np.maximum.at(self.latest[name], entry[0], time)  # its own time, not as_of - age rounded
            elif counts(age, *self.bounds[name]):
                self._apply(name, *entry[:3], sign=1.0, age=age)
        for code, entry in by_kind.items():
            if code in self.voidable:
                self.log[code].append((np.full(entry[0].size, time), *entry))
        kept = {code: self._compact(code, entry) for code, entry in by_kind.items() if code in self.kept_kinds}
        starts = {name: begins for name, begins in starts.items() if begins.size and name in self.expiring}
        if kept or starts:
            at = bisect_right(self.times, time)  # late reports go in at their own time
            self.history.insert(at, _Batch(time, kept, starts, serial=self.serial))
            self.times.insert(at, time)
        self.serial += 1

    def _compact(self, code: int, entry: Entry) -> KeptEntry:
        """What the history must keep of a batch: subjects always (int32 where they fit), values and
        weights only for the kinds a sum or mean reads, ids only for kinds that can be voided. Over a
        year this history is most of the state's memory."""
        subject, value, weight, ids = entry
        kept_value = _narrow(value) if code in self.valued_kinds else None
        # all ones, as a simulation's events are: None, which is read as ones
        kept_weight = weight if code in self.weighted_kinds and not np.all(weight == 1.0) else None
        if code not in self.voidable:  # voiding picks events out by id: those are kept as they are
            # In id order (a stable sort: each subject's own events keep their order, and so the
            # totals their rounding), as 16-bit gaps where they fit.
            order = np.argsort(subject, kind="stable")
            packed = SortedIds.pack(subject[order])
            if packed is not None:
                return (packed, None if kept_value is None else kept_value[order],
                        None if kept_weight is None else kept_weight[order], None)
        small = subject.astype(np.int32) if self.n < 2**31 else subject
        return (small, kept_value, kept_weight, ids if code in self.voidable else None)

    def void(self, ids: np.ndarray) -> np.ndarray:
        """Take back events of voidable kinds by id; return the subjects whose features changed."""
        ids = np.asarray(ids, dtype=np.int64)
        touched_subjects: list[np.ndarray] = []
        for code in self.voidable:
            if not self.log[code]:
                continue
            times, subject, value, weight, event_ids = (np.concatenate(part) for part in zip(*self.log[code],
                                                                                            strict=True))
            gone = np.isin(event_ids, ids)
            if not gone.any():
                continue
            self.log[code] = [tuple(a[~gone] for a in (times, subject, value, weight, event_ids))]
            age = self.as_of - times[gone]
            for name in self.direct:
                feature = self.scheme.features[name]
                if self.codes[feature.event or ""] != code or feature.type == "days_since":
                    continue
                counted = counts(age, *self.bounds[name])
                self._apply(name, subject[gone][counted], value[gone][counted], weight[gone][counted],
                            sign=-1.0, age=age[counted])
                self._reset_empty(name)
            for batch_time in np.unique(times[gone]):
                first, last = bisect_left(self.times, batch_time), bisect_right(self.times, batch_time)
                for batch in self.history[first:last]:
                    if code in batch.by_kind:
                        kept_ids = batch.by_kind[code][3]
                        # a voidable kind's events are kept with their ids (see _compact)
                        assert kept_ids is not None
                        voided = np.isin(kept_ids, ids)
                        if voided.any():
                            batch.voided[code] = voided | batch.voided[code] if code in batch.voided else voided
            affected = np.unique(subject[gone])
            touched_subjects.append(affected)
            for name in self.direct:  # latest event among those that remain
                feature = self.scheme.features[name]
                if feature.type == "days_since" and self.codes[feature.event or ""] == code:
                    self.latest[name][affected] = -np.inf
                    remaining_times, remaining_subjects = self.log[code][0][0], self.log[code][0][1]
                    mine = np.isin(remaining_subjects, affected) & (remaining_times <= self.as_of)
                    np.maximum.at(self.latest[name], remaining_subjects[mine], remaining_times[mine])
        return np.unique(np.concatenate(touched_subjects)) if touched_subjects else np.zeros(0, np.int64)

    def _reset_empty(self, name: str, subjects: np.ndarray | None = None) -> None:
        """A sum that holds no event any more is exactly 0, whatever rounding left behind (looked
        at among `subjects`, those whose events left, when given)."""
        if name not in self.held:
            return
        if subjects is None:
            empty: np.ndarray = self.held[name] == 0
        else:
            empty = subjects[self.held[name][subjects] == 0]
        self.total[name][empty] = 0.0
        if name in self.weight:
            self.weight[name][empty] = 0.0

    def _apply(self, name: str, subject: np.ndarray, value: np.ndarray | None, weight: np.ndarray | None,
               sign: float, age: float | np.ndarray) -> None:
        """Add (sign +1) or take back (-1) events of `age` days (one age, or one per event); values
        and weights may be None where the feature does not read them."""
        feature = self.scheme.features[name]
        # float64 whatever was kept (a float32 value times a Python float would stay float32)
        value = np.ones(subject.shape[0]) if value is None else value.astype(np.float64, copy=False)
        weight = np.ones(subject.shape[0]) if weight is None else weight.astype(np.float64, copy=False)
        by_age: float | np.ndarray
        if feature.half_life_days is None:
            by_age = 1.0
        elif np.ndim(age):
            by_age = decay(np.asarray(age), feature.half_life_days)
        else:
            by_age = float(decay(float(age), feature.half_life_days))
        amount, weighs = added(feature.type, value, weight, by_age)
        # np.add.at costs in proportion to the events, not the subjects: a day's few events touch few people.
        if np.ndim(amount) == 0:
            amount = np.full(subject.size, amount)
        if weighs is not None:
            np.add.at(self.weight[name], subject, sign * weighs)
        np.add.at(self.total[name], subject, sign * amount)
        if name in self.held:
            holding = subject if feature.type != "mean" else subject[weight != 0]
            np.add.at(self.held[name], holding, np.int32(sign))  # an int32 one: numpy's fast path

    def forget(self, subjects: np.ndarray) -> None:
        """Drop every record of `subjects`, as if none had been received: their features are those
        of a subject without events, and nothing of theirs is kept to leave a window later (a scheme
        that keeps nothing of a person who leaves it, `world/enrolment.py`)."""
        subjects = np.asarray(subjects, dtype=np.int64)
        if not subjects.size:
            return
        for name in self.direct:
            if name in self.latest:
                self.latest[name][subjects] = -np.inf
                continue
            self.total[name][subjects] = 0.0
            if name in self.weight:
                self.weight[name][subjects] = 0.0
            if name in self.held:
                self.held[name][subjects] = 0
        for last in self.merged.values():
            last[subjects] = -np.inf
        for batch in self.history:
            for code, (kept_subject, value, weight, ids) in list(batch.by_kind.items()):
                packed = isinstance(kept_subject, SortedIds)
                every = kept_subject.unpack() if isinstance(kept_subject, SortedIds) else kept_subject
                keep = ~np.isin(every, subjects)
                if keep.all():
                    continue
                rest = every[keep]
                repacked = SortedIds.pack(rest) if packed else None
                batch.by_kind[code] = (repacked if repacked is not None else rest.astype(np.int32 if packed else
                                                                                          rest.dtype),
                                       None if value is None else value[keep], None if weight is None else
                                       weight[keep], None if ids is None else ids[keep])
                if code in batch.voided:
                    batch.voided[code] = batch.voided[code][keep]
            for name, begins in batch.starts.items():
                batch.starts[name] = begins[~np.isin(begins, subjects)]
        for code, parts in self.log.items():
            self.log[code] = [tuple(a[~np.isin(part[1], subjects)] for a in part) for part in parts]

    # --- time passing ----------------------------------------------------------------------
    def advance(self, as_of: float, leaving: list[Leaving] | None = None, also: list[Leaving] | None = None) -> None:
        """Move the state to `as_of` (>= the current time): decay, and drop events that leave.

        `leaving`: a list that takes every event that left (voided ones too), for a state that follows
        this one for some subjects (`SparseFeatures`). `also`: events that left such a state, its
        subjects written as this one's, to take back here too; each feature takes them back before
        its own of the same time, as they were added before them (whichever comes first changes the
        rounding of a sum)."""
        if as_of < self.as_of:
            raise ValueError(f"cannot go back in time from {self.as_of} to {as_of}")
        previous, self.as_of = self.as_of, as_of
        elapsed = as_of - previous
        for name in self.direct:
            half_life = self.scheme.features[name].half_life_days
            if half_life is not None and elapsed:
                factor = float(decay(elapsed, half_life))
                self.total[name] *= factor
                if name in self.weight:
                    self.weight[name] *= factor
        touched: dict[str, list[np.ndarray]] = {}  # per feature, the subjects whose events left
        for name in self.expiring:
            feature = self.scheme.features[name]
            code = self.codes[feature.event or ""]
            bounds = self.bounds[name]
            # (time, 0 for another state's and 1 for its own, subjects, values, weights) to take back
            parts: list[tuple[float, int, np.ndarray, np.ndarray | None, np.ndarray | None]] = []
            for batch in self._crossing(previous, as_of, [t for t in bounds if t != NO_LIMIT]):
                if not (counts(previous - batch.time, *bounds) and not counts(as_of - batch.time, *bounds)):
                    continue
                if name in self.merged:
                    if name not in batch.starts:
                        continue
                    subject, value, weight = batch.starts[name], None, None
                elif code in batch.by_kind:
                    packed, value, weight, _ = batch.by_kind[code]
                    subject = packed.unpack() if isinstance(packed, SortedIds) else packed
                else:
                    continue
                if leaving is not None:
                    leaving.append((name, batch.time, batch.serial, subject, value, weight))
                voided = batch.voided.get(code) if name not in self.merged else None
                if voided is not None:  # voided here: no longer counted
                    counted = ~voided
                    subject = subject[counted]
                    value = None if value is None else value[counted]
                    weight = None if weight is None else weight[counted]
                parts.append((batch.time, 1, subject, value, weight))
            parts.extend((time, 0, subject, value, weight) for left, time, _, subject, value, weight in also or ()
                         if left == name)
            parts.sort(key=lambda part: (part[0], part[1]))  # stable: each source's own order kept
            for time, _, subject, value, weight in parts:
                self._apply(name, subject, value, weight, sign=-1.0, age=as_of - time)
                touched.setdefault(name, []).append(subject)
        for name, left in touched.items():
            self._reset_empty(name, np.concatenate(left))
        stale = bisect_left(self.times, as_of - self.horizon - SEARCH_MARGIN)  # no feature holds events older
        if stale > 64:  # drop in slices, not one by one
            del self.history[:stale], self.times[:stale]

    def _crossing(self, previous: float, as_of: float, thresholds: list[float]) -> list[_Batch]:
        """The batches whose age may have crossed one of `thresholds` between `previous` and
        `as_of` (a superset: `counts` decides), each once, in time order."""
        found: set[int] = set()
        for threshold in thresholds:
            found.update(range(bisect_left(self.times, previous - threshold - SEARCH_MARGIN),
                               bisect_right(self.times, as_of - threshold + SEARCH_MARGIN)))
        return [self.history[at] for at in sorted(found)]

    # --- features out ----------------------------------------------------------------------
    def features(self, part: slice | np.ndarray | None = None, only: frozenset[str] | None = None,
                 views: bool = False) -> dict[str, np.ndarray]:
        """Every feature at the current as-of time, as `compute_features` would give it (for the
        subjects in `part` only, when given: a slice of ids, for scoring slice by slice, or an array
        of ids, copies then).

        `only`: just these features (closed under the ratios' inputs, as `scoring_features` gives
        them). `views`: counts and sums as views into the state rather than copies, for a caller
        done with them before the state next changes."""
        return self._features({}, part, only, views)

    def features_with_one_more(self, kind: str, value: float = 1.0, weight: float = 1.0,
                               part: slice | None = None, only: frozenset[str] | None = None,
                               views: bool = False) -> dict[str, np.ndarray]:
        """Every feature as if each subject had one more `kind` event now: what one more act would
        cost (or earn), for people weighing what is at stake (`only`, `views` as in `features`)."""
        code = self.codes[kind]
        part = part if part is not None else slice(0, self.n)
        extra: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for name in self.direct:
            feature = self.scheme.features[name]
            if self.codes[feature.event or ""] != code or (only is not None and name not in only):
                continue
            if feature.type == "days_since":
                extra[name] = (np.full(len(range(self.n)[part]), self.as_of), None)
            elif feature.type == "count" and name in self.merged:
                # one more now begins a run only where the last event is more than D days back;
                # else it merges into that run, which counts once already
                begins = begins_run(self.as_of - self.merged[name][part], feature.merge_within_days or 0.0)
                extra[name] = (self.total[name][part] + begins, None)
            else:
                amount, weighs = added(feature.type, value, weight, 1.0)
                extra[name] = (self.total[name][part] + amount,
                               None if weighs is None else self.weight[name][part] + weighs)
        return self._features(extra, part, only, views)

    def _features(self, extra: dict[str, tuple[np.ndarray, np.ndarray | None]], part: slice | np.ndarray | None,
                  only: frozenset[str] | None = None, views: bool = False) -> dict[str, np.ndarray]:
        part = part if part is not None else slice(0, self.n)
        out: dict[str, np.ndarray] = {}
        for name in self.scheme.rules.feature_order:
            if only is not None and name not in only:
                continue
            feature = self.scheme.features[name]
            if feature.type == "ratio":
                a, b = feature.ratio or ("", "")
                out[name] = safe_ratio(out[a], out[b])
            elif feature.type == "days_since":
                latest = extra[name][0] if name in extra else self.latest[name][part]
                out[name] = days_since(feature, latest, self.as_of, self.retention)
            elif feature.type == "mean":
                total, extra_weights = extra[name] if name in extra else (self.total[name][part], None)
                weights = self.weight[name][part] if extra_weights is None else extra_weights
                out[name] = mean_or_default(feature, total, weights)
            elif name in extra:
                out[name] = extra[name][0]
            else:
                out[name] = self.total[name][part] if views else self.total[name][part].copy()
        return {name: out[name] for name in self.scheme.features if name in out}
