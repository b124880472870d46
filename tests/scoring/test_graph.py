"""Relations as CSR: undirected, no self-ties, no duplicates; batch edits equal set semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialcredit.scoring import Relations

pairs = st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), max_size=60)


def tie_set(graph: Relations) -> set[tuple[int, int]]:
    rows = np.repeat(np.arange(graph.n_subjects), np.diff(graph.indptr))
    return {(int(a), int(b)) for a, b in zip(rows, graph.indices, strict=True) if a < b}


def build(ties: list[tuple[int, int]]) -> Relations:
    a = np.array([t[0] for t in ties], dtype=np.int64)
    b = np.array([t[1] for t in ties], dtype=np.int64)
    return Relations.from_pairs(a, b, 20)


def undirected(ties) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in ties if a != b}


@given(pairs)
def test_from_pairs_is_symmetric_sorted_and_without_self_ties_or_duplicates(ties):
    graph = build(ties)
    assert tie_set(graph) == undirected(ties)
    rows = np.repeat(np.arange(20), np.diff(graph.indptr))
    keys = rows * 20 + graph.indices
    assert np.all(np.diff(keys) > 0)
    assert np.diff(graph.indptr).sum() == 2 * len(undirected(ties))


@settings(max_examples=300)
@given(pairs, pairs, pairs)
def test_edits_equal_removing_then_adding_sets(ties, removed, added):
    graph = build(ties)
    ra = np.array([t[0] for t in removed], dtype=np.int64)
    rb = np.array([t[1] for t in removed], dtype=np.int64)
    aa = np.array([t[0] for t in added], dtype=np.int64)
    ab = np.array([t[1] for t in added], dtype=np.int64)
    edited = graph.edited(ra, rb, aa, ab)
    expected = (undirected(ties) - undirected(removed)) | undirected(added)
    assert tie_set(edited) == expected
    reference = build(sorted(expected))
    assert np.array_equal(edited.indptr, reference.indptr)
    assert np.array_equal(edited.indices, reference.indices)


def test_neighbour_sums_are_over_each_subjects_ties():
    graph = Relations.from_pairs(np.array([0, 0, 1]), np.array([1, 2, 0]), 4)
    assert graph.neighbour_sum(np.array([10, 20, 40, 80])).tolist() == [60, 10, 10, 0]


@pytest.mark.parametrize("n", [400, 20_000])  # at 20,000, thousands change: the threads split the rows
def test_kept_neighbour_sums_equal_a_full_pass_bit_for_bit(n):
    """Day after day some values change; the kept sums, updated by the changes' differences, are
    exactly what a full pass gives (integers in fixed point: no drift)."""
    from socialcredit.scoring.graph import NeighbourSums, fixed_point_factor, to_fixed

    rng = np.random.default_rng(3)
    graph = Relations.from_pairs(rng.integers(0, n, 5 * n), rng.integers(0, n, 5 * n), n)
    kept = NeighbourSums()
    factor = fixed_point_factor(1000)
    values = rng.random(n) * 1000
    for day in range(60 if n < 1000 else 12):
        values = values.copy()
        changed = rng.choice(n, size=[0, 1, 5, 30, 200, 350][day % 6] * n // 400, replace=False)
        values[changed] = rng.random(changed.size) * 1000
        if day % 5 == 3:  # a rebuilt graph: its edited rows summed afresh (absent ties removed, present added too)
            graph = graph.edited(rng.integers(0, n, 50), rng.integers(0, n, 50), rng.integers(0, n, 50),
                                 rng.integers(0, n, 50))
            if day % 10 == 8:  # edited twice between two calls: a graph the sums never saw, a full pass
                graph = graph.edited(rng.integers(0, n, 9), rng.integers(0, n, 9), [1], [2])
        full = graph.neighbour_sum(to_fixed(values, factor))
        np.testing.assert_array_equal(kept.sums(graph, values, factor), full)
        direct = np.bincount(graph.rows, weights=values[graph.indices], minlength=n)
        # each value is rounded to the nearest 1/factor: at most half of that off, per tie
        assert (np.abs(full / factor - direct) <= graph.degree * 0.5 / factor + 1e-12 * np.abs(direct)).all()
    values = values.copy()
    values[7] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        kept.sums(graph, values, factor)


@pytest.mark.parametrize("parts", [2, 3, 7])
@pytest.mark.parametrize("most_kept", [0, 40, 10_000])
@pytest.mark.parametrize("clustered", [False, True])
def test_kept_sums_by_ranges_of_ids_equal_a_full_pass_whatever_the_ties_kept_for_other_ranges(
        parts, most_kept, clustered):
    """Each range of ids adds its own changed subjects' ties and keeps those into other ranges for
    them, as many as its buffer holds; subjects that do not fit are walked again by the others.
    With no room, some room and room for all (most ties near, some far, one subject with 400 ties
    in its own range), the changes spread or all in one range: the sums of a full pass."""
    from socialcredit.scoring.graph import fixed_point_factor, to_fixed
    from socialcredit.scoring.kernels import add_changes

    rng = np.random.default_rng(parts)
    n = 3000
    near = rng.integers(0, n, 4 * n)
    far = rng.random(near.size) < 0.1
    hub = np.setdiff1d(np.arange(401), [100])  # subject 100's ties, all within the first range of 7
    graph = Relations.from_pairs(np.r_[near, np.full(hub.size, 100)],
                                 np.r_[np.where(far, rng.integers(0, n, near.size),
                                                np.clip(near + rng.integers(-20, 20, near.size), 0, n - 1)), hub], n)
    assert graph.degree[100] >= 400
    factor = fixed_point_factor(100)
    old = rng.random(n) * 100
    sums = graph.neighbour_sum(to_fixed(old, factor))
    new = old.copy()
    changed = np.sort(rng.choice(n // parts if clustered else n, 300, replace=False))
    changed = np.union1d(changed, [100])
    new[changed] = rng.random(changed.size) * 100
    assert add_changes(graph.indptr, graph.indices, changed, new, old, factor, sums, parts, most_kept)
    np.testing.assert_array_equal(sums, graph.neighbour_sum(to_fixed(new, factor)))


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_edits_merged_by_ranges_of_rows_equal_one_pass(parts):
    """The merged entries are written a range of rows per thread: the same graph as one thread
    writes, with edits at the ranges' first and last rows and in rows with no other edit."""
    from socialcredit.scoring.kernels import merge_rows

    rng = np.random.default_rng(parts)
    n = 3000
    graph = Relations.from_pairs(rng.integers(0, n, 4 * n), rng.integers(0, n, 4 * n), n)
    edges = np.array([part * n // parts + end for part in range(1, parts) for end in (-1, 0)] + [0, n - 1])
    at_edges = graph.indptr[edges[graph.degree[edges] > 0]]  # each edge row's first entry
    gone = np.unique(np.r_[rng.choice(graph.rows.size, 300, replace=False), at_edges])  # sorted by (row, column)
    made = np.unique(np.r_[rng.integers(0, n, 200), edges] * n + rng.integers(0, n, 200 + edges.size))
    args = (graph.indptr, graph.indices, graph.rows[gone].astype(np.int64), graph.indices[gone].astype(np.int64),
            (made // n).astype(graph.indices.dtype), (made % n).astype(graph.indices.dtype))
    one = merge_rows(*args, parts=1)
    split = merge_rows(*args, parts=parts)
    for a, b in zip(one, split, strict=True):
        np.testing.assert_array_equal(a, b)
    assert one[1].size != graph.indices.size and np.isin(edges, one[2]).all()


def test_a_graph_made_from_another_is_never_taken_for_it():
    """Kept neighbour sums know a graph by its serial: a copy with other ties gets its own."""
    import dataclasses

    from socialcredit.scoring.graph import NeighbourSums, fixed_point_factor

    graph = Relations.from_pairs(np.array([0, 1]), np.array([1, 2]), 3)
    other = dataclasses.replace(graph, indices=np.array([2, 2, 0, 1], dtype=graph.indices.dtype),
                                indptr=np.array([0, 1, 2, 4], dtype=graph.indptr.dtype))
    assert other.serial != graph.serial
    kept, factor = NeighbourSums(), fixed_point_factor(10)
    values = np.array([1.0, 2.0, 4.0])
    kept.sums(graph, values, factor)
    np.testing.assert_array_equal(kept.sums(other, values, factor) / factor, [4.0, 4.0, 3.0])


def test_fixed_point_keeps_the_largest_values_within_range_and_rounds_to_a_tiny_step():
    from socialcredit.scoring.graph import FIXED_BITS, fixed_point_factor, to_fixed

    for largest in (0.5, 1, 850, 1000, 1024, 2000, 1e6, 3.7e9):
        factor = fixed_point_factor(largest)
        assert largest * factor <= 2.0**FIXED_BITS
        assert largest * factor > 2.0 ** (FIXED_BITS - 1) or largest <= 1
        values = np.array([largest, -largest, largest / 3, 0.0])
        assert np.abs(to_fixed(values, factor) / factor - values).max() <= 0.5 / factor
    with pytest.raises(ValueError, match="not finite"):
        to_fixed(np.array([1.0, np.nan]), 1.0)


@pytest.mark.parametrize("share", [0.0, 0.1, 1.0])
def test_differing_positions_are_numpys_nonzero_of_not_equal(share):
    from socialcredit.scoring.kernels import differing

    rng = np.random.default_rng(int(share * 10))
    old = rng.random(1000)
    old[[3, 500]] = np.nan  # NaN differs even from NaN, as with !=
    new = np.where(rng.random(1000) < share, rng.random(1000), old)
    old[7], new[7], new[9] = 0.0, -0.0, np.inf  # -0.0 == 0.0: not a difference
    for parts in (1, 2, 3):  # in ranges on threads, the same positions
        np.testing.assert_array_equal(differing(old, new, parts), np.flatnonzero(old != new))
        assert differing(old[:0], new[:0], parts).size == 0


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(0, 60)), st.sets(st.integers(0, 60)))
def test_union_of_increasing_ids_is_numpys_union1d(a, b):
    from socialcredit.scoring.kernels import union_sorted

    first, second = np.array(sorted(a), dtype=np.int64), np.array(sorted(b), dtype=np.int64)
    union = union_sorted(first, second)
    assert union.dtype == np.int64 and union.tolist() == np.union1d(first, second).tolist()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 40))
def test_a_term_had_a_few_pre_been_other_is_the_full_pass_on_them_to_the_bit(seed, changed):
    """`core.network_term_were`: the term from kept sums and a few changed `pre` (the truth's, at the
    people false records reached) equals the term of everyone's `pre` so changed, summed afresh; and
    the people it says moved are those whose term differs."""
    from socialcredit.scheme import load_scheme
    from socialcredit.scoring.core import network_term_of, network_term_were
    from socialcredit.scoring.graph import NeighbourSums

    scheme = load_scheme("example")
    rng = np.random.default_rng(seed)
    n = 300
    graph = Relations.from_pairs(rng.integers(0, n, 1200), rng.integers(0, n, 1200), n)
    pre = rng.uniform(scheme.scale.min, scheme.scale.max, n)
    kept = NeighbourSums()
    term = network_term_of(scheme, pre, graph, kept)
    rows = np.unique(rng.integers(0, n, changed))
    values = np.where(rng.random(rows.size) < 0.2, pre[rows], rng.uniform(scheme.scale.min, scheme.scale.max,
                                                                           rows.size))
    other = pre.copy()
    other[rows] = values
    expected = network_term_of(scheme, other, graph)
    moved, moved_term = network_term_were(scheme, graph, kept, term, rows, values)
    assert moved.tolist() == np.flatnonzero(expected.view(np.int64) != term.view(np.int64)).tolist()
    assert moved_term.tobytes() == expected[moved].tobytes()
    assert kept.values is pre and term.tobytes() == network_term_of(scheme, pre, graph).tobytes()  # kept as was
