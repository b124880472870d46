"""Relations as CSR: undirected, no self-ties, no duplicates; batch edits equal set semantics."""

from __future__ import annotations

import numpy as np
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


def test_neighbour_mean_and_whether_anyone_is_there():
    graph = Relations.from_pairs(np.array([0, 0, 1]), np.array([1, 2, 0]), 4)
    mean, has = graph.neighbour_mean(np.array([10.0, 20.0, 40.0, 80.0]))
    assert mean.tolist() == [30.0, 10.0, 10.0, 0.0]
    assert has.tolist() == [True, True, True, False]


def test_kept_neighbour_sums_equal_a_full_pass_bit_for_bit():
    """Day after day a few values change; the kept sums, updated near the changes, are exactly what
    a full pass gives (fractional values, so a running update would drift)."""
    from socialcredit.scoring.graph import NeighbourSums

    rng = np.random.default_rng(3)
    n = 400
    graph = Relations.from_pairs(rng.integers(0, n, 2000), rng.integers(0, n, 2000), n)
    kept = NeighbourSums()
    values = rng.random(n) * 1000
    for day in range(60):
        values = values.copy()
        changed = rng.choice(n, size=int(rng.choice([0, 1, 5, 30, 200])), replace=False)
        values[changed] = rng.random(changed.size) * 1000
        if day == 30:  # a rebuilt graph: a full pass
            graph = graph.edited(rng.integers(0, n, 50), rng.integers(0, n, 50), rng.integers(0, n, 50),
                                 rng.integers(0, n, 50))
        np.testing.assert_array_equal(kept.sums(graph, values), graph.neighbour_sum(values))
        mean, has = graph.neighbour_mean(values, kept)
        full_mean, full_has = graph.neighbour_mean(values)
        np.testing.assert_array_equal(mean, full_mean)
        np.testing.assert_array_equal(has, full_has)
