"""Relations between subjects as a CSR graph: undirected, no self-ties, no duplicate pairs."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .kernels import merge_rows, pairs_to_csr, resum_rows_near, row_sums, row_sums_serial


@dataclass(frozen=True)
class Relations:
    """Undirected ties in CSR form: the neighbours of i are indices[indptr[i]:indptr[i + 1]], sorted."""

    indptr: np.ndarray
    indices: np.ndarray

    @property
    def n_subjects(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @cached_property
    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    @cached_property
    def rows(self) -> np.ndarray:
        """The row (subject) of every stored entry: the other half of the (rows, indices) edge list."""
        return np.repeat(np.arange(self.n_subjects, dtype=self.indices.dtype), self.degree)

    @classmethod
    def from_pairs(cls, a, b, n_subjects: int) -> Relations:
        """Build from tie endpoints; direction, duplicates and self-ties are ignored."""
        a = np.asarray(a)
        b = np.asarray(b)
        # int32 wherever it fits, so that SciPy shares these arrays instead of copying them.
        index_type = np.int32 if n_subjects < 2**31 and 2 * a.size < 2**31 else np.int64
        a = a.astype(index_type, copy=False)
        b = b.astype(index_type, copy=False)
        indptr = np.empty(n_subjects + 1, dtype=index_type)
        indices = np.empty(2 * a.size, dtype=index_type)
        used = pairs_to_csr(a, b, n_subjects, indptr, indices)
        indices.resize(used, refcheck=False)  # shrinks in place: no second copy of the ties
        return cls(indptr, indices)

    def edited(self, remove_a: np.ndarray, remove_b: np.ndarray, add_a: np.ndarray, add_b: np.ndarray) -> Relations:
        """A new graph without the ties (remove_a[i], remove_b[i]) and with the ties (add_a[i], add_b[i]).

        Edits are few next to the ties: they are sorted, then merged row by row with the stored
        entries in one compiled pass (ties that do not exist are not removed, ties that exist are not
        added twice, self-ties are ignored). A tie both removed and added in one batch stays."""
        n = self.n_subjects

        def both_ways(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
            keep = a != b
            rows, cols = np.concatenate([a[keep], b[keep]]), np.concatenate([b[keep], a[keep]])
            keys = np.unique(rows * n + cols)
            return (keys // n).astype(np.int64), (keys % n).astype(np.int64)

        add_rows, add_cols = both_ways(add_a, add_b)
        remove_rows, remove_cols = both_ways(remove_a, remove_b)
        if add_rows.size and remove_rows.size:  # a tie removed and added again in one batch stays
            again = np.isin(remove_rows * n + remove_cols, add_rows * n + add_cols)
            remove_rows, remove_cols = remove_rows[~again], remove_cols[~again]
        indptr, indices = merge_rows(self.indptr, self.indices, remove_rows, remove_cols,
                                     add_rows.astype(self.indices.dtype), add_cols.astype(self.indices.dtype))
        return Relations(indptr, indices)

    @classmethod
    def empty(cls, n_subjects: int) -> Relations:
        return cls(np.zeros(n_subjects + 1, dtype=np.int32), np.zeros(0, dtype=np.int32))

    def neighbour_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of `values` over each subject's neighbours (A @ values, with A the 0/1 adjacency).

        Sums run row by row in stored order, so the result does not depend on threads or chunks."""
        kernel = row_sums if self.indices.size >= 1 << 16 else row_sums_serial
        return kernel(self.indptr, self.indices, np.ascontiguousarray(values, dtype=np.float64))

    def neighbour_mean(self, values: np.ndarray, kept: NeighbourSums | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean of `values` over each subject's neighbours, and whether the subject has any
        (`kept`: sums kept from the last call, updated where values changed)."""
        degree = self.degree
        totals = kept.sums(self, values) if kept is not None else self.neighbour_sum(values)
        has = degree > 0
        mean = np.zeros(self.n_subjects)
        np.divide(totals, degree, out=mean, where=has)
        return mean, has


class NeighbourSums:
    """Sums of a value over each subject's neighbours, kept from one call to the next.

    From one day to the next a simulation changes the `pre` of a few people in a hundred: only the
    rows of their neighbours are added up again, each in stored order as a full pass would, so the
    sums are the same bit for bit. A new graph, or many changes, takes a full pass. The values
    passed in are kept (not copied): they must not be changed in place afterwards."""

    FULL_PASS_SHARE = 0.25  # above this share of rows to add up again, one full pass is cheaper

    def __init__(self) -> None:
        # The graph the sums were made on, by weak reference: a graph replaced by a rebuilt one is
        # not kept alive here (at 50M people that would be 2 GiB).
        self.graph: weakref.ref[Relations] | None = None
        self.values: np.ndarray | None = None
        self.totals: np.ndarray | None = None

    def sums(self, graph: Relations, values: np.ndarray) -> np.ndarray:
        """The neighbour sums of `values` on `graph` (an array this object owns and updates later)."""
        values = np.ascontiguousarray(values, dtype=np.float64)
        if self.graph is not None and self.graph() is graph and self.values is not None and self.totals is not None \
                and self.values.shape == values.shape:
            changed = np.flatnonzero(self.values != values)
            # The rows to add up again are at most the changed people's ties: beyond a share of
            # all rows, one full pass costs less.
            mean_degree = max(graph.indices.size / max(values.size, 1), 1.0)
            if changed.size * mean_degree <= self.FULL_PASS_SHARE * values.size:
                resum_rows_near(graph.indptr, graph.indices, values, changed, self.totals)
                self.values = values
                return self.totals
        self.graph, self.values, self.totals = weakref.ref(graph), values, graph.neighbour_sum(values)
        return self.totals
