"""Incremental feature state gives what the batch core gives on the same events, day after day."""

from __future__ import annotations

import numpy as np
import pytest

from socialcredit.scheme import load_scheme, scheme_from_data
from socialcredit.scoring import EventArrays, compute_features
from socialcredit.scoring.incremental import IncrementalFeatures


def varied_scheme(retention):
    scheme = load_scheme("example").model_dump(exclude_none=True)
    scheme["retention_days"] = retention
    scheme["features"].update({
        "volunteer_decay": {"sum": "volunteering", "half_life_days": 7},
        "rating_ever": {"mean": "rating", "default": 2},
        "ratings_decay": {"mean": "rating", "half_life_days": 30},
        "late_window_3": {"count": "late_payment", "window_days": 3},
        "late_window_frac": {"count": "late_payment", "window_days": 2.5},
        "paid_ever": {"count": "payment"},
    })
    if retention is None:
        del scheme["retention_days"]
    return scheme_from_data(scheme)


@pytest.mark.parametrize("retention", [None, 40, 100.5])
def test_incremental_equals_batch_every_day(retention):
    scheme = varied_scheme(retention)
    rng = np.random.default_rng(11)
    n, kinds = 60, len(scheme.events)
    state = IncrementalFeatures(scheme, n, start=1000.0)
    log: list[np.ndarray] = []
    for day in range(1000, 1250):
        state.advance(float(day))
        m = int(rng.integers(0, 25))
        subject, kind = rng.integers(0, n, m), rng.integers(0, kinds, m)
        value, weight = rng.integers(0, 6, m).astype(float), rng.integers(0, 3, m).astype(float)
        state.add(float(day), subject, kind, value, weight)
        log.append(np.stack([subject, kind, np.full(m, day), value, weight]))
        if day % 9 == 0 or day == 1249:
            events = np.concatenate(log, axis=1)
            batch = compute_features(scheme, EventArrays.build(*events[:2], events[2], events[3], events[4],
                                                               n_subjects=n), float(day))
            for name, values in state.features().items():
                np.testing.assert_allclose(values, batch[name], rtol=1e-9, atol=1e-12, err_msg=f"{name} day {day}")


def test_a_subject_whose_events_all_left_is_exactly_zero():
    scheme = varied_scheme(None)
    state = IncrementalFeatures(scheme, 2, start=0.0)
    state.add(0.0, np.array([0, 0]), np.array([4, 4]), np.array([0.1, 0.7]), np.array([1.0, 1.0]))
    state.advance(95.0)  # the 90-day rating window has passed
    assert state.features()["peer_rating"][0] == 3.0  # back to the default, not 0.1+0.7-0.7-0.1 residue


def test_one_more_event_matches_the_batch_core():
    scheme = varied_scheme(30)
    state = IncrementalFeatures(scheme, 3, start=0.0)
    state.add(0.0, np.array([0, 1, 2]), np.array([1, 4, 3]), np.array([1.0, 4.0, 2.0]), np.ones(3))
    state.advance(10.0)
    for kind in scheme.events:
        code = list(scheme.events).index(kind)
        extra = state.features_with_one_more(kind, value=2.0, weight=1.0)
        events = EventArrays.build([0, 1, 2, 0, 1, 2], [1, 4, 3, code, code, code], [0, 0, 0, 10, 10, 10],
                                   [1, 4, 2, 2, 2, 2], n_subjects=3)
        batch = compute_features(scheme, events, 10.0)
        for name in batch:
            np.testing.assert_allclose(extra[name], batch[name], rtol=1e-12, err_msg=f"{kind}: {name}")


def test_time_only_moves_forward():
    state = IncrementalFeatures(varied_scheme(None), 1, start=5.0)
    with pytest.raises(ValueError, match="back in time"):
        state.advance(4.0)
    with pytest.raises(ValueError, match="advance first"):
        state.add(6.0, np.array([0]), np.array([0]))


@pytest.mark.parametrize("retention", [None, 30])
def test_late_reports_and_voided_events_match_the_batch_core(retention):
    scheme = varied_scheme(retention)
    rng = np.random.default_rng(5)
    n, kinds = 40, len(scheme.events)
    state = IncrementalFeatures(scheme, n, start=0.0, voidable=tuple(scheme.events))
    log = []  # (subject, kind, time, value, weight, id)
    pending = []  # events reported later: (report day, time, subject, kind, value, weight, id)
    voided: set[int] = set()
    next_id = 0
    for day in range(0, 150):
        state.advance(float(day))
        for _report_day, time, *event in [p for p in pending if p[0] == day]:
            subject, kind, value, weight, event_id = event
            state.add(time, np.array([subject]), np.array([kind]), np.array([value]), np.array([weight]),
                      np.array([event_id]))
            log.append((subject, kind, time, value, weight, event_id))
        pending = [p for p in pending if p[0] != day]
        m = int(rng.integers(0, 12))
        subject, kind = rng.integers(0, n, m), rng.integers(0, kinds, m)
        value, weight = rng.integers(0, 6, m).astype(float), rng.integers(0, 3, m).astype(float)
        delay = rng.integers(0, 6, m) * (rng.random(m) < 0.3)
        ids = np.arange(next_id, next_id + m)
        next_id += m
        now = delay == 0
        state.add(float(day), subject[now], kind[now], value[now], weight[now], ids[now])
        log += [(s, k, day, v, w, i) for s, k, v, w, i in zip(subject[now], kind[now], value[now], weight[now],
                                                               ids[now], strict=True)]
        pending += [(day + d, float(day), s, k, v, w, i) for d, s, k, v, w, i in
                    zip(delay[~now], subject[~now], kind[~now], value[~now], weight[~now], ids[~now], strict=True)]
        if day % 5 == 4 and log:
            chosen = rng.choice(len(log), size=min(3, len(log)), replace=False)
            gone = [log[c][5] for c in chosen if log[c][5] not in voided]
            voided |= set(gone)
            state.void(np.array(gone, dtype=np.int64))
        if day % 7 == 0 or day == 149:
            kept = [e for e in log if e[5] not in voided]
            columns = list(zip(*kept, strict=True))
            batch = compute_features(scheme, EventArrays.build(columns[0], columns[1], columns[2], columns[3],
                                                               columns[4], n_subjects=n), float(day))
            for name, values in state.features().items():
                np.testing.assert_allclose(values, batch[name], rtol=1e-9, atol=1e-9, err_msg=f"{name} day {day}")


def test_merged_counts_match_the_batch_core_day_by_day():
    scheme = varied_scheme(200)
    data = scheme.model_dump(exclude_none=True)
    data["features"]["late_runs"] = {"count": "late_payment", "window_days": 60, "merge_within_days": 7}
    data["features"]["late_runs_decay"] = {"count": "late_payment", "half_life_days": 20, "merge_within_days": 3}
    data["features"]["late_runs_ever"] = {"count": "late_payment", "merge_within_days": 10}
    scheme = scheme_from_data(data)
    rng = np.random.default_rng(8)
    n, kinds = 30, len(scheme.events)
    state = IncrementalFeatures(scheme, n, start=0.0)
    log = []
    for day in range(300):
        state.advance(float(day))
        m = int(rng.integers(0, 10))
        subject, kind = rng.integers(0, n, m), rng.integers(0, kinds, m)
        state.add(float(day), subject, kind)
        log.append(np.stack([subject, kind, np.full(m, day)]))
        if day % 11 == 0 or day == 299:
            events = np.concatenate(log, axis=1)
            batch = compute_features(scheme, EventArrays.build(events[0], events[1], events[2], n_subjects=n),
                                     float(day))
            for name in ("late_runs", "late_runs_decay", "late_runs_ever"):
                np.testing.assert_allclose(state.features()[name], batch[name], rtol=1e-9, atol=1e-12,
                                           err_msg=f"{name} day {day}")


def test_one_more_event_of_a_merged_kind_counts_only_where_it_begins_a_run():
    # FICO's inquiries within 45 days count once: one more inquiry 10 days after another adds none
    scheme = varied_scheme(200)
    data = scheme.model_dump(exclude_none=True)
    data["features"]["late_runs"] = {"count": "late_payment", "window_days": 60, "merge_within_days": 7}
    data["features"]["late_runs_decay"] = {"count": "late_payment", "half_life_days": 20, "merge_within_days": 3}
    scheme = scheme_from_data(data)
    code = list(scheme.events).index("late_payment")
    rng = np.random.default_rng(5)
    n = 40
    state = IncrementalFeatures(scheme, n, start=0.0)
    log = []
    for day in range(120):
        state.advance(float(day))
        subject = rng.integers(0, n, int(rng.integers(0, 6)))
        state.add(float(day), subject, np.full(subject.size, code))
        log.append(np.stack([subject, np.full(subject.size, day)]))
    events = np.concatenate(log, axis=1)
    everyone = np.arange(n)
    batch = compute_features(scheme, EventArrays.build(np.concatenate([events[0], everyone]),
                                                       np.full(events.shape[1] + n, code),
                                                       np.concatenate([events[1], np.full(n, 119)]),
                                                       n_subjects=n), 119.0)
    extra = state.features_with_one_more("late_payment")
    for name in ("late_runs", "late_runs_decay"):
        np.testing.assert_allclose(extra[name], batch[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_merged_kinds_cannot_arrive_late_or_be_voided():
    data = varied_scheme(None).model_dump(exclude_none=True)
    data["features"]["late_runs"] = {"count": "late_payment", "merge_within_days": 7}
    scheme = scheme_from_data(data)
    with pytest.raises(ValueError, match="cannot be voided"):
        IncrementalFeatures(scheme, 2, voidable=("late_payment",))
    state = IncrementalFeatures(scheme, 2, start=5.0)
    with pytest.raises(ValueError, match="late events"):
        state.add(3.0, np.array([0]), np.array([1]))


@pytest.mark.parametrize("network", [False, True])
def test_scoring_slice_by_slice_equals_scoring_everyone_at_once(network):
    """The simulation scores in slices of ids (small temporaries); the outcome is the same bit for bit."""
    from socialcredit.scoring import Relations, score_features
    from socialcredit.scoring.core import score_slices

    data = varied_scheme(30).model_dump(exclude_none=True)
    if network:
        data["network"] = {"weight": 0.3}
    scheme = scheme_from_data(data)
    rng = np.random.default_rng(5)
    n = 101
    state = IncrementalFeatures(scheme, n, start=0.0)
    for day in range(40):
        state.advance(float(day))
        m = 30
        state.add(float(day), rng.integers(0, n, m), rng.integers(0, len(scheme.events), m),
                  rng.integers(0, 6, m).astype(float), np.ones(m))
    relations = Relations.from_pairs(rng.integers(0, n, 300), rng.integers(0, n, 300), n)
    whole = score_features(scheme, state.features(), relations)
    for size in (1, 7, 64, 1000):
        for detail in (False, True):
            sliced = score_slices(scheme, state.features, n, relations, detail=detail, size=size)
            for name in ("pre", "network_term", "score", "tier", "tier_cap"):
                np.testing.assert_array_equal(getattr(sliced, name), getattr(whole, name), err_msg=f"{name} {size}")
            for group in ("lists", "entitlements") + (("features", "components") if detail else ()):
                for name, values in getattr(whole, group).items():
                    np.testing.assert_array_equal(getattr(sliced, group)[name], values, err_msg=f"{name} {size}")
            if detail:
                np.testing.assert_array_equal(sliced.reasons, whole.reasons)
            else:
                assert sliced.features == {} and sliced.components == {}
    # What-if scoring with the neighbours' term held, slice by slice, as people weigh one more act.
    for kind in scheme.events:
        whole = score_features(scheme, state.features_with_one_more(kind, 2.0), network_term=whole.network_term)
        sliced = score_slices(scheme, lambda part, kind=kind: state.features_with_one_more(kind, 2.0, part=part),
                              n, network_term=whole.network_term, size=10)
        np.testing.assert_array_equal(sliced.score, whole.score)
        for name, allowed in whole.entitlements.items():
            np.testing.assert_array_equal(sliced.entitlements[name], allowed)


def test_history_packed_or_not_gives_the_batch_features():
    """A day's subjects are kept as 16-bit gaps where they fit and as they are where one does not;
    both give back the same features when the events leave their window."""
    from socialcredit.scoring.incremental import SortedIds

    ids = np.array([3, 3, 60_000, 60_001])
    packed = SortedIds.pack(ids)
    assert packed is not None and packed.gaps.dtype == np.uint16
    np.testing.assert_array_equal(packed.unpack(), ids)
    assert SortedIds.pack(np.array([0, 2**16])) is None and SortedIds.pack(np.array([], dtype=np.int64)) is None

    scheme = varied_scheme(None)
    n = 200_000
    state = IncrementalFeatures(scheme, n, start=0.0)
    log = []
    for day, subjects in enumerate([[5, 5, 90_000], [199_999, 0], [7, 65_542, 131_078]]):  # gaps over and under 2**16
        state.advance(float(day))
        subject = np.array(subjects)
        kind = np.full(subject.size, list(scheme.events).index("rating"))
        value = np.arange(1.0, subject.size + 1)
        state.add(float(day), subject, kind, value, np.ones(subject.size))
        log.append(np.stack([subject, kind, np.full(subject.size, day), value, np.ones(subject.size)]))
    events = np.concatenate(log, axis=1)
    arrays = EventArrays.build(*events[:2], events[2], events[3], events[4], n_subjects=n)
    for day in (50, 90, 90.5, 91, 92, 95):  # the 90-day rating window passes over each batch
        state.advance(float(day))
        batch = compute_features(scheme, arrays, float(day))
        for name, values in state.features().items():
            # (half-lives decay day by day: equal to rounding, as everywhere else)
            np.testing.assert_allclose(values, batch[name], rtol=1e-9, atol=1e-12, err_msg=f"{name} at {day}")
