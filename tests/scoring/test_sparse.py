"""The truth's sparse feature state (`scoring.sparse.SparseFeatures`) gives, to the bit, what a full
second state of everyone fed the same events gives: rows only for the subjects a differing event has
reached, the rest read from the base. Drawn with the feature contract's schemes and logs (windows,
retention, half-lives, merged counts, late records, voids), values of any float (so that the order
in which a sum takes its events back shows in its bits), some records false and some subjects
forgotten."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.scoring.incremental import IncrementalFeatures
from socialcredit.scoring.sparse import ROWS_CHUNK, SparseFeatures

from .test_feature_contract import KINDS, Case, assert_same_bits, cases


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Case, list[bool], list[float], dict[int, list[int]]]:
    case = draw(cases(most_days=40, most_events=60))
    false = [draw(st.integers(0, 3)) == 0 for _ in case.records]
    values = [draw(st.floats(-50, 50, allow_nan=False, allow_infinity=False)) for _ in case.records]
    forgotten = {draw(st.integers(0, case.days - 1)): draw(st.lists(st.integers(0, case.n - 1), max_size=2))
                 for _ in range(draw(st.integers(0, 2)))}
    return case, false, values, forgotten


def feed(case: Case, false: list[bool], values: list[float], forgotten: dict[int, list[int]]):
    """As the simulation keeps a scheme's states: the base takes every record and voids by appeal;
    the truth (full, the reference; and sparse) takes the genuine ones, its rows beginning for the
    subjects of a false record as it arrives and of a voided one before the void. Yields both truths
    after each day and at each query."""
    voidable = tuple(k for c, k in enumerate(KINDS) if c not in case.merged_kinds)
    base = IncrementalFeatures(case.scheme, case.n, start=case.start, voidable=voidable)
    full = IncrementalFeatures(case.scheme, case.n, start=case.start)
    sparse = SparseFeatures(base)
    queries = list(case.queries)
    records = list(zip(case.records, false, values, strict=True))
    for day in range(case.days):
        now = case.start + day
        full.advance(now)
        sparse.advance(now)
        arriving = [(r, f, v) for r, f, v in records if r.arrives == day]
        sparse.track(np.array([r.subject for r, f, _ in arriving if f], dtype=np.int64))
        for time in sorted({r.time for r, _, _ in arriving}):
            at = [(r, f, v) for r, f, v in arriving if r.time == time]
            columns = [np.array(c) for c in zip(*[(r.subject, r.kind, v, r.weight, r.id, f) for r, f, v in at],
                                                 strict=True)]
            subject, kind, value, weight, ids, is_false = columns
            base.add(time, subject, kind, value, weight, ids)
            genuine = ~is_false.astype(bool)
            full.add(time, subject[genuine], kind[genuine], value[genuine], weight[genuine])
            sparse.add(time, subject[genuine], kind[genuine], value[genuine], weight[genuine])
        voided = [r for r, _, _ in records if r.voided == day]
        if voided:
            sparse.track(np.array([r.subject for r in voided], dtype=np.int64))
            base.void(np.array([r.id for r in voided], dtype=np.int64))
        if day in forgotten:
            gone = np.array(forgotten[day], dtype=np.int64)
            for state in (base, full, sparse):
                state.forget(gone)
        yield f"day {day}", full, sparse
        while queries and queries[0] < now + 1:
            as_of = queries.pop(0)
            full.advance(as_of)
            sparse.advance(as_of)
            yield f"query {as_of}", full, sparse


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_sparse_truth_gives_the_full_truths_features_to_the_bit(world) -> None:
    for when, full, sparse in feed(*world):
        assert_same_bits(sparse.features(), full.features(), when)
        people = np.arange(sparse.n)[::-1].copy()
        assert_same_bits(sparse.features(people), full.features(people), f"{when}, some people")
        assert_same_bits(sparse.features(slice(0, 1)), full.features(slice(0, 1)), f"{when}, a slice")


def test_rows_begin_only_for_the_people_tracked_and_grow_in_chunks():
    """Rows for whoever a false record reached, and room that grows in chunks, not a row a person."""
    from socialcredit.scheme import load_scheme

    scheme = load_scheme("example")
    base = IncrementalFeatures(scheme, 100_000)
    sparse = SparseFeatures(base)
    assert sparse.rows.n == 0 and not sparse.differs().any()
    sparse.track(np.array([5, 7, 5]))
    assert sparse.size == 2 and sparse.rows.n == ROWS_CHUNK
    assert np.flatnonzero(sparse.differs()).tolist() == [5, 7]
    sparse.track(np.arange(ROWS_CHUNK + 10))
    assert sparse.size == ROWS_CHUNK + 10 and sparse.rows.n == 2 * ROWS_CHUNK


def test_a_late_record_leaves_after_one_of_its_date_taken_before_the_row_began():
    """A sum takes back, on one day, a record of day 0 added before the subject's row began (in the
    base's history) and a late record of the same date added after: in the order the full state
    takes them back, which shows in the sum's last bits (0.1 + 0.7 + 0.01, less 0.1 then 0.7)."""
    from socialcredit.scheme import scheme_from_data

    scheme = scheme_from_data({"id": "late", "title": "late", "scale": {"min": 0, "max": 1, "base": 0},
                               "events": {"pay": {"category": "financial"}},
                               "features": {"paid": {"sum": "pay", "window_days": 5}}, "components": {}})
    base, full = IncrementalFeatures(scheme, 1), IncrementalFeatures(scheme, 1)
    sparse = SparseFeatures(base)
    one, pay = np.array([0]), np.array([0])
    for state in (base, full):
        state.add(0.0, one, pay, np.array([0.1]))
    for day in (1, 2, 5):
        for state in (full, sparse):
            state.advance(float(day))
        if day == 1:  # a false record: the row begins
            sparse.track(one)
            base.add(1.0, one, pay, np.array([5.0]))
        if day == 2:  # a genuine one, late, of day 0; and one of today
            for state in (base, full, sparse):
                state.add(0.0, one, pay, np.array([0.7]))
                state.add(2.0, one, pay, np.array([0.01]))
    taken_back_in_turn = ((0.1 + 0.7) + 0.01 - 0.1) - 0.7
    assert taken_back_in_turn != ((0.1 + 0.7) + 0.01 - 0.7) - 0.1  # the order shows
    assert full.features()["paid"][0] == taken_back_in_turn
    assert_same_bits(sparse.features(), full.features(), "day 5")
