"""A graph edited in place has the ties of one edited into new arrays, in the same array."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.scoring import Relations

pairs = st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), max_size=80)


def build(ties: list[tuple[int, int]], n: int = 30) -> Relations:
    return Relations.from_pairs(np.array([t[0] for t in ties], dtype=np.int64),
                                np.array([t[1] for t in ties], dtype=np.int64), n)


def ends(ties: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([t[0] for t in ties], dtype=np.int64), np.array([t[1] for t in ties], dtype=np.int64)


@settings(max_examples=400, deadline=None)
@given(pairs, pairs, pairs)
def test_an_edit_in_place_gives_the_copying_edits_graph(ties, removed, added):
    (ra, rb), (aa, ab) = ends(removed), ends(added)
    copied = build(ties).edited(ra, rb, aa, ab)
    in_place = build(ties).edited_in_place(ra, rb, aa, ab)
    assert np.array_equal(in_place.indptr, copied.indptr)
    assert np.array_equal(in_place.indices, copied.indices)
    assert np.array_equal(in_place.edit_of[1], copied.edit_of[1])  # the edited rows, for the kept sums


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_weeks_cuts_and_new_ties_in_a_large_graph_move_rows_both_ways_correctly(seed):
    rng = np.random.default_rng(seed)
    n = 5000
    graph = Relations.from_pairs(rng.integers(0, n, 25000), rng.integers(0, n, 25000), n)
    rows = graph.rows
    cut = rng.choice(graph.indices.size, size=300, replace=False)  # existing ties, and some absent ones
    ra, rb = np.r_[rows[cut], rng.integers(0, n, 20)], np.r_[graph.indices[cut], rng.integers(0, n, 20)]
    added = int(rng.integers(0, 600))  # fewer or more than the cuts: the ties shrink or grow
    aa, ab = rng.integers(0, n, added), rng.integers(0, n, added)
    copied = graph.edited(ra, rb, aa, ab)
    graph = graph.with_room(0.1)
    storage = graph.indices.base
    in_place = graph.edited_in_place(ra, rb, aa, ab)
    assert in_place.indices.base is storage  # within the same array: no second copy of the ties
    assert np.array_equal(in_place.indptr, copied.indptr)
    assert np.array_equal(in_place.indices, copied.indices)


def test_a_graph_whose_ties_are_not_stored_in_an_array_of_their_own_is_edited_into_new_arrays():
    graph = build([(0, 1), (1, 2), (2, 3)])
    frozen = np.frombuffer(bytearray(graph.indices.tobytes()), dtype=graph.indices.dtype)  # memory of a file read
    shared = Relations(graph.indptr, frozen)
    edited = shared.edited_in_place(np.array([0]), np.array([1]), np.array([0]), np.array([3]))
    assert np.array_equal(shared.indices, graph.indices)  # untouched
    assert np.array_equal(edited.indices, build([(1, 2), (2, 3), (0, 3)]).indices)


def test_ties_added_within_the_room_stay_in_the_same_storage_and_beyond_it_enlarge_it():
    rng = np.random.default_rng(3)
    graph = Relations.from_pairs(rng.integers(0, 400, 2000), rng.integers(0, 400, 2000), 400).with_room(0.0)
    storage = graph.indices.base
    assert storage.size == graph.indices.size + 1024
    for _ in range(6):  # 300 new ties a week (600 entries): the 1,024 entries of room fill, then it grows
        aa, ab = rng.integers(0, 400, 300), rng.integers(0, 400, 300)
        copied = graph.edited(np.zeros(0, np.int64), np.zeros(0, np.int64), aa, ab)
        graph = graph.edited_in_place(np.zeros(0, np.int64), np.zeros(0, np.int64), aa, ab)
        assert np.array_equal(graph.indices, copied.indices) and np.array_equal(graph.indptr, copied.indptr)
    assert graph.indices.base is storage  # enlarged in place (resized), never swapped for another array
    assert storage.size >= graph.indices.size


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 7), st.sampled_from([0, 300, 3000]))
def test_rows_moved_by_several_threads_give_the_one_threads_graph(seed, parts, edits):
    """Ranges of rows moved at once, some reaching into a neighbour's old entries (a range's rows
    grow or shrink by more than the ties the next one holds: few people, many edits)."""
    from socialcredit.scoring.kernels import edit_in_place

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    graph = Relations.from_pairs(rng.integers(0, n, 4 * n), rng.integers(0, n, 4 * n), n)
    rows = graph.rows
    cut = rng.choice(graph.indices.size, size=min(edits // 2, graph.indices.size), replace=False)
    ra, rb = rows[cut], graph.indices[cut]
    aa, ab = rng.integers(0, n, int(rng.integers(0, edits + 1))), rng.integers(0, n, int(rng.integers(0, edits + 1)))
    aa, ab = aa[:ab.size], ab[:aa.size]
    remove_rows, remove_cols, add_rows, add_cols = graph._edits(ra, rb, aa, ab)
    copied = graph.edited(ra, rb, aa, ab)
    results = []
    for threads in (1, parts):
        storage = graph.with_room(0.0).indices.base
        results.append(edit_in_place(graph.indptr, storage, remove_rows, remove_cols, add_rows, add_cols, threads))
    for indptr, indices, edited in results:
        assert np.array_equal(indptr, copied.indptr)
        assert np.array_equal(indices, copied.indices)
        assert np.array_equal(edited, copied.edit_of[1])
