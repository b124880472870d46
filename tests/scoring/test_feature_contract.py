"""One contract for every implementation of a feature (docs/design.md, "Features: one rule, four
implementations").

A feature is computed in four places, each applying the rule of `scoring/window.py`:

- batch, NumPy: `features.compute_features` on a small log (selections and bincounts);
- batch, compiled: the same on a large log (`features.add_up`, `window.add_up_feature`), forced
  here on small logs by lowering `features.COMPILED_FROM`;
- incremental: `incremental.IncrementalFeatures`, as the simulation feeds it, day by day, with
  late records added at their own date and records voided by id;
- one more act: `IncrementalFeatures.features_with_one_more`, the stake people weigh.

The property draws a scheme with features of every type the format allows (count, sum, mean,
days_since, ratio; a window, a half-life or all time; retention; merged counts; defaults; value
ranges on kinds) and an event log (times on and off whole days and on the bounds of windows and
retention, late arrivals, voids), runs it through all four and demands the same features:

- batch NumPy and batch compiled: the same bits, always;
- incremental and one more against batch: the same bits for every feature without a half-life
  (events' values and weights are drawn as multiples of 1/4, so every sum of them is exact in any
  order, as the simulation's integer-valued kinds are). A half-life is applied to the incremental
  state as days pass (a multiplication a day) and to each event at once in batch (`exp2` of its
  age): those features, and the ratios that read them, agree to rounding (relative 1e-9). The
  half-lives drawn are at least a sixteenth of the days drawn, so no event weighs less than 2^-16
  of a newer one: voiding a newer event from a sum that also holds far lighter ones leaves a
  rounding error of the newer one's weight, which can outweigh the lighter ones (a limit of
  keeping sums by adding and taking back, not a disagreement about the rule);
- one more against the incremental state with that act added: the same bits, always.

The simulation's constraints hold in the log drawn: events of a kind a merged count reads arrive
on their day and are never voided (`IncrementalFeatures` refuses otherwise, a tested error).
A new feature type goes into DIRECT_TYPES below (a test fails until it does).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from socialcredit.scheme import Scheme, scheme_from_data
from socialcredit.scheme.models import FEATURE_TYPES
from socialcredit.scoring import EventArrays
from socialcredit.scoring import features as batch
from socialcredit.scoring.incremental import IncrementalFeatures

KINDS = ("pay", "late", "rate")
DIRECT_TYPES = ("count", "sum", "mean", "days_since")
QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------------
# What is drawn
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One event as the sources report it."""

    subject: int
    kind: int
    time: float
    arrives: int        # the day it is reported (>= its own day)
    value: float
    weight: float
    voided: int | None  # the day a granted appeal voids it, if one does
    id: int


@dataclass
class Case:
    data: dict[str, Any]
    scheme: Scheme
    n: int
    start: float
    days: int
    queries: list[float]        # as-of times at which every implementation is asked (increasing)
    records: list[Record]
    merged_kinds: set[int]      # kinds a merged count reads: on their day, never voided
    one_more: list[tuple[int, float, float]]  # per kind code: (code, value, weight) of the extra act


# Durations: whole days (most edges land on whole-day events), quarters, and any positive number.
durations = st.one_of(st.integers(1, 40).map(float), st.integers(1, 160).map(lambda q: q / 4),
                      st.floats(0.05, 60.0, allow_nan=False, allow_infinity=False))
quarters = st.integers(-40, 40).map(lambda q: q / 4)


@st.composite
def schemes(draw: st.DrawFn, most_days: int) -> dict[str, Any]:
    events: dict[str, Any] = {}
    for kind in KINDS:
        events[kind] = {"category": "financial"}
        if draw(st.booleans()):
            low = draw(st.integers(-8, 8)) / 4
            events[kind]["value"] = [low, low + draw(st.integers(0, 16)) / 4]
    features: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(DIRECT_TYPES))
        feature: dict[str, Any] = {kind: draw(st.sampled_from(KINDS))}
        if kind == "days_since":
            feature["default"] = draw(st.sampled_from([0.0, 3650.0, -1.0]))
        else:
            timing = draw(st.sampled_from(["window_days", "half_life_days", "all time"]))
            if timing == "window_days":
                feature[timing] = draw(durations)
            elif timing == "half_life_days":  # (see the module's docstring for how short)
                shortest = most_days / 16
                feature[timing] = draw(st.floats(shortest, 4.0 * most_days)
                                       | st.integers(math.ceil(shortest), 60).map(float))
            if kind == "mean" and draw(st.booleans()):
                feature["default"] = draw(quarters)
            if kind == "count" and draw(st.booleans()):
                feature["merge_within_days"] = draw(durations)
        features[f"f{index}"] = feature
    for index in range(draw(st.integers(0, 2))):  # ratios of earlier features, ratios included
        features[f"r{index}"] = {"ratio": draw(st.lists(st.sampled_from(sorted(features)), min_size=2, max_size=2))}
    data: dict[str, Any] = {"id": "contract", "title": "the feature contract", "scale": {"min": 0, "max": 1000,
                                                                                          "base": 500},
                            "events": events, "features": features, "components": {}}
    if draw(st.booleans()):
        data["retention_days"] = draw(durations)
    return data


def first_day(start: float, time: float) -> int:
    """The first day whose as-of (start + day) reaches `time`: when it can be reported."""
    day = max(math.ceil(time - start), 0)
    while day > 0 and start + (day - 1) >= time:
        day -= 1
    while start + day < time:
        day += 1
    return day


def thresholds(data: dict[str, Any]) -> list[float]:
    """The durations whose bounds an event can sit on: windows and retention."""
    found = [f["window_days"] for f in data["features"].values() if "window_days" in f]
    return found + ([data["retention_days"]] if "retention_days" in data else [])


@st.composite
def cases(draw: st.DrawFn, most_days: int = 30, most_events: int = 40) -> Case:
    data = draw(schemes(most_days))
    scheme = scheme_from_data(data)
    codes = {kind: code for code, kind in enumerate(scheme.events)}
    merged_kinds = {codes[f.event or ""] for f in scheme.features.values() if f.merge_within_days is not None}
    n = draw(st.integers(1, 5))
    start = draw(st.sampled_from([0.0, 19_723.0, 3.3]))  # 1970, 2024, off a whole number
    days = draw(st.integers(1, most_days))
    query_days = sorted(draw(st.sets(st.integers(0, days - 1), max_size=3)) | {days - 1})
    queries = [start + day + draw(st.sampled_from([0.0, 0.0, 0.5]) | st.floats(0.0, 0.99)) for day in query_days]

    def value_of(code: int) -> float:
        bounds = scheme.events[KINDS[code]].value
        if bounds is None:
            return draw(quarters)
        return draw(st.integers(int(bounds[0] * 4), int(bounds[1] * 4))) / 4

    records: list[Record] = []

    def record(subject: int, code: int, time: float, delay: int) -> None:
        if time < start:
            return
        day = first_day(start, time)
        if code in merged_kinds:  # on its day, dated at the day's as-of
            if start + day != time:
                return
            delay = 0
        arrives = day + delay
        if arrives >= days:
            return
        voided = None
        if code not in merged_kinds and draw(st.integers(0, 5)) == 0:
            voided = arrives + draw(st.integers(0, 3))
        records.append(Record(subject, code, time, arrives, value_of(code), draw(st.sampled_from([0.0, 0.5, 1, 2])),
                              voided, len(records)))

    for _ in range(draw(st.integers(0, most_events))):
        subject, code, day = draw(st.integers(0, n - 1)), draw(st.integers(0, 2)), draw(st.integers(0, days - 1))
        offset = 0.0 if code in merged_kinds else draw(st.sampled_from([0.0, 0.0, 0.25, 0.5]) | st.floats(0.0, 0.99))
        record(subject, code, start + day + offset, draw(st.sampled_from([0, 0, 0, 1, 3])))
    # Events on a bound: exactly a window or retention before a query, or one float step either side.
    edges = thresholds(data)
    for _ in range(draw(st.integers(0, 6)) if edges else 0):
        subject, code = draw(st.integers(0, n - 1)), draw(st.integers(0, 2))
        at = draw(st.sampled_from(queries)) - draw(st.sampled_from(edges))
        at = float(np.nextafter(at, at + draw(st.sampled_from([-1.0, 0.0, 1.0]))))
        record(subject, code, at, draw(st.sampled_from([0, 1])))
    one_more = [(code, value_of(code), draw(st.sampled_from([0.5, 1.0, 2.0]))) for code in range(len(KINDS))]
    return Case(data, scheme, n, start, days, queries, records, merged_kinds, one_more)


# --------------------------------------------------------------------------------------------------
# The four implementations
# --------------------------------------------------------------------------------------------------


def log_of(records: list[Record], n: int, extra: tuple[int, float, float, float] | None = None) -> EventArrays:
    """The records as a log (in the order they were reported), with one more event for everyone."""
    columns = [[r.subject for r in records], [r.kind for r in records], [r.time for r in records],
               [r.value for r in records], [r.weight for r in records]]
    if extra is not None:
        code, time, value, weight = extra
        for column, added in zip(columns, (range(n), [code] * n, [time] * n, [value] * n, [weight] * n), strict=True):
            column.extend(added)
    return EventArrays.build(*columns, n_subjects=n)


def batch_numpy(scheme: Scheme, events: EventArrays, as_of: float) -> dict[str, np.ndarray]:
    with mock.patch.object(batch, "COMPILED_FROM", 1 << 62):
        return batch.compute_features(scheme, events, as_of)


def batch_compiled(scheme: Scheme, events: EventArrays, as_of: float) -> dict[str, np.ndarray]:
    with mock.patch.object(batch, "COMPILED_FROM", 0):  # compiled passes (and ratios) whatever the size
        return batch.compute_features(scheme, events, as_of)


def fed_day_by_day(case: Case):
    """The incremental state as the simulation keeps it: each day, advance, add the day's reports
    (one call per event time, late ones at their own), then void; at a query, advance to it and
    yield (as-of, the state, the log reported and not voided so far)."""
    state = IncrementalFeatures(case.scheme, case.n, start=case.start,
                                voidable=tuple(k for c, k in enumerate(KINDS) if c not in case.merged_kinds))
    queries = list(case.queries)
    for day in range(case.days):
        state.advance(case.start + day)
        arriving = [r for r in case.records if r.arrives == day]
        for time in sorted({r.time for r in arriving}):  # in date order, as the simulation adds them
            at = [r for r in arriving if r.time == time]
            state.add(time, np.array([r.subject for r in at]), np.array([r.kind for r in at]),
                      np.array([r.value for r in at]), np.array([r.weight for r in at]),
                      np.array([r.id for r in at]))
        voided_today = [r.id for r in case.records if r.voided == day]
        if voided_today:
            state.void(np.array(voided_today, dtype=np.int64))
        while queries and queries[0] < case.start + day + 1:
            as_of = queries.pop(0)
            state.advance(as_of)
            log = [r for r in case.records if r.arrives <= day and (r.voided is None or r.voided > day)]
            yield as_of, state, log


# --------------------------------------------------------------------------------------------------
# What equal means
# --------------------------------------------------------------------------------------------------


def exact(scheme: Scheme, name: str) -> bool:
    """Whether the incremental state must give this feature's bits: no half-life in it or in what a
    ratio divides."""
    feature = scheme.features[name]
    if feature.ratio is not None:
        return all(exact(scheme, part) for part in feature.ratio)
    return feature.half_life_days is None


def assert_same_bits(got: dict[str, np.ndarray], expected: dict[str, np.ndarray], what: str) -> None:
    assert list(got) == list(expected), what
    for name, values in expected.items():
        assert got[name].dtype == np.float64 and got[name].shape == values.shape, f"{what}: {name}"
        np.testing.assert_array_equal(got[name], values, err_msg=f"{what}: {name}", strict=True)
        # assert_array_equal takes -0.0 for 0.0: the bits too
        assert got[name].tobytes() == values.tobytes(), f"{what}: {name} {got[name]!r} {values!r}"


def assert_agree(scheme: Scheme, got: dict[str, np.ndarray], expected: dict[str, np.ndarray], what: str) -> None:
    """The same bits where arithmetic is exact, the same to rounding where a half-life decays. A ratio
    of decayed sums is held to its parts instead: each part agrees to rounding (it is a feature of
    its own, checked here too) and the ratio is the format's division of the parts given; compared
    with the batch ratio directly, a denominator that cancels to 0 in one and to a rounding residue
    in the other (values of both signs) would give 0 against residue / residue."""
    assert list(got) == list(expected), what
    for name, values in expected.items():
        feature = scheme.features[name]
        if exact(scheme, name):
            assert_same_bits({name: got[name]}, {name: values}, what)
        elif feature.ratio is not None:
            top, bottom = (got[part] for part in feature.ratio)
            with np.errstate(divide="ignore", invalid="ignore"):
                divided = np.where(bottom == 0, 0.0, top / bottom)
            np.testing.assert_allclose(got[name], divided, rtol=1e-12, atol=0, err_msg=f"{what}: {name}")
        else:
            np.testing.assert_allclose(got[name], values, rtol=1e-9, atol=1e-12, err_msg=f"{what}: {name}")


def check(case: Case) -> None:
    scheme = case.scheme
    for as_of, state, log in fed_day_by_day(case):
        events = log_of(log, case.n)
        expected = batch_numpy(scheme, events, as_of)
        assert_same_bits(batch_compiled(scheme, events, as_of), expected, f"compiled at {as_of}")
        assert_agree(scheme, state.features(), expected, f"incremental at {as_of}")
        for code, value, weight in case.one_more:
            kind = KINDS[code]
            one_more = state.features_with_one_more(kind, value, weight)
            plus = log_of(log, case.n, (code, as_of, value, weight))
            assert_agree(scheme, one_more, batch_numpy(scheme, plus, as_of), f"one more {kind} at {as_of}")
            acted = copy.deepcopy(state)
            acted.add(as_of, np.arange(case.n), np.full(case.n, code), np.full(case.n, value), np.full(case.n, weight))
            assert_same_bits(one_more, acted.features(), f"one more {kind} at {as_of} against adding it")
        if currently_in_test_context():
            if any(r.time < as_of - edge for r in log for edge in thresholds(case.data)):
                event("an event has left a window or retention")
            if any(r.arrives > first_day(case.start, r.time) for r in log):
                event("a late record")
            if any(r.voided is not None for r in case.records):
                event("a voided record")


# --------------------------------------------------------------------------------------------------
# The properties
# --------------------------------------------------------------------------------------------------


@QUICK
@given(cases())
def test_every_implementation_gives_the_batch_features(case: Case) -> None:
    check(case)


@pytest.mark.slow
@THOROUGH
@given(cases(most_days=120, most_events=150))
def test_every_implementation_gives_the_batch_features_thoroughly(case: Case) -> None:
    check(case)


def test_the_strategy_draws_every_option() -> None:
    """The property is only as good as its examples: every feature type and option, and every kind
    of record, is drawn."""
    seen: set[str] = set()

    @settings(max_examples=100, database=None, phases=[Phase.generate], deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(cases())
    def draw_some(case: Case) -> None:
        for feature in case.scheme.features.values():
            seen.add(feature.type)
            seen.update(option for option in ("window_days", "half_life_days", "merge_within_days", "default")
                        if getattr(feature, option) is not None)
        if case.scheme.retention_days is not None:
            seen.add("retention")
        seen.update({"late"} if any(r.arrives > first_day(case.start, r.time) for r in case.records) else set())
        seen.update({"voided"} if any(r.voided is not None for r in case.records) else set())
        seen.update({"off a whole day"} if any(r.time != math.floor(r.time) for r in case.records) else set())
        for edge in thresholds(case.data):
            if any(r.time == q - edge for r in case.records for q in case.queries):
                seen.add("on a bound")

    draw_some()
    assert set(DIRECT_TYPES) | {"ratio"} == set(FEATURE_TYPES), "draw every type of the format"
    assert seen >= {"count", "sum", "mean", "days_since", "ratio", "window_days", "half_life_days",
                    "merge_within_days", "default", "retention", "late", "voided", "off a whole day",
                    "on a bound"}, seen


# --------------------------------------------------------------------------------------------------
# What the property found, as named examples (each failed on the code before the rule was one)
# --------------------------------------------------------------------------------------------------


def hand_case(features: dict[str, Any], records: list[tuple[int, int, float, int]], days: int, queries: list[float],
              retention: float | None = None, start: float = 0.0) -> Case:
    """A case from (subject, kind code, time, day reported) records of value and weight 1."""
    data: dict[str, Any] = {"id": "hand", "title": "by hand", "scale": {"min": 0, "max": 1000, "base": 500},
                            "events": {kind: {"category": "financial"} for kind in KINDS}, "features": features,
                            "components": {}}
    if retention is not None:
        data["retention_days"] = retention
    scheme = scheme_from_data(data)
    merged = {KINDS.index(f.event or "") for f in scheme.features.values() if f.merge_within_days is not None}
    return Case(data, scheme, 1 + max((r[0] for r in records), default=0), start, days, queries,
                [Record(subject, kind, time, day, 1.0, 1.0, None, i)
                 for i, (subject, kind, time, day) in enumerate(records)], merged, [(0, 1.0, 1.0)])


def test_an_event_leaves_its_window_when_as_of_minus_the_window_rounds_below_it() -> None:
    # 36.3 - 33 rounds to 3.2999999999999972, below the event's 3.3; its age, 36.3 - 3.3, is 33.0:
    # out of a 33-day window. The incremental state looked for leaving events below the former.
    check(hand_case({"paid_33d": {"count": "pay", "window_days": 33}}, [(0, 0, 3.3, 0)], days=34,
                    queries=[36.3], start=3.3))


def test_an_event_exactly_retention_days_old_counts_in_batch_too() -> None:
    # 12.3 - 4.3 is 8.0: exactly the retention, so read; 12.3 - 8 rounds to 4.300000000000001,
    # above 4.3, and the batch core compared the time with that.
    check(hand_case({"paid": {"count": "pay"}, "since_paid": {"days_since": "pay", "default": -1}},
                    [(0, 0, 4.3, 1)], days=10, queries=[12.3], retention=8, start=3.3))


def test_the_incremental_history_keeps_an_event_until_it_leaves_retention() -> None:
    # At 194.02 the record of 66.02 is exactly 128 days old and still counts; 194.02 - 128 rounds
    # above 66.02, and the history's clean-up (past 64 old batches) dropped it there, so that it
    # never left the count after.
    records = [(0, 0, day + 0.02, day + 1) for day in range(130)]
    check(hand_case({"paid": {"count": "pay"}}, records, days=197, queries=[194.02, 195.0, 196.0], retention=128))


def test_a_late_record_is_as_old_as_its_own_time() -> None:
    # Reported on day 5, a record of 0.3 is 4.7 days old; 5 - (5 - 0.3) is 0.2999999999999998,
    # the time the incremental state kept for it.
    check(hand_case({"since_paid": {"days_since": "pay", "default": -1}}, [(0, 0, 0.3, 5)], days=6, queries=[5.0]))


def test_one_more_act_that_merges_into_a_run_adds_nothing() -> None:
    # FICO: inquiries within 45 days count once; one more 10 days after another still counts 1.
    case = hand_case({"inquiries_1y": {"count": "pay", "window_days": 365, "merge_within_days": 45}},
                     [(0, 0, 100.0, 100)], days=111, queries=[110.0])
    check(case)
    state = IncrementalFeatures(case.scheme, 1, start=100.0)
    state.add(100.0, np.array([0]), np.array([0]))
    state.advance(110.0)
    assert state.features_with_one_more("pay")["inquiries_1y"].tolist() == [1.0]
