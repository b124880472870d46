"""Relations between subjects as a CSR graph: undirected, no self-ties, no duplicate pairs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .kernels import row_sums


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
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        keep = a != b
        a, b = a[keep], b[keep]
        keys = np.concatenate([a * n_subjects + b, b * n_subjects + a])
        keys.sort()  # sort and drop repeats: far faster than np.unique's hashing for int64 keys
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys
        return cls.from_sorted_keys(keys, n_subjects)

    @classmethod
    def from_sorted_keys(cls, keys: np.ndarray, n_subjects: int) -> Relations:
        """From unique, increasing row * n + column keys (both directions of every tie present)."""
        rows, cols = np.divmod(keys, n_subjects) if n_subjects else (keys, keys)
        # int32 wherever it fits, so that SciPy shares these arrays instead of copying them.
        small = n_subjects < 2**31 and keys.size < 2**31
        index_type = np.int32 if small else np.int64
        indptr = np.zeros(n_subjects + 1, dtype=index_type)
        np.cumsum(np.bincount(rows, minlength=n_subjects), out=indptr[1:])
        return cls(indptr, cols.astype(index_type))

    def pair_keys(self) -> np.ndarray:
        """row * n + column of every stored entry: increasing, since rows and their columns are sorted."""
        return self.rows.astype(np.int64) * self.n_subjects + self.indices

    def edited(self, remove_a: np.ndarray, remove_b: np.ndarray, add_a: np.ndarray, add_b: np.ndarray) -> Relations:
        """A new graph without the ties (remove_a[i], remove_b[i]) and with the ties (add_a[i], add_b[i]).

        Edits are few next to the ties, so this costs a few linear passes: removals are found by
        binary search in the sorted entry keys, insertions go in at their sorted places in one copy
        (np.insert), and ties that already exist or are self-ties are ignored."""
        n = self.n_subjects
        keys = self.pair_keys()
        rows, cols = self.rows, self.indices
        ra, rb = np.asarray(remove_a, np.int64), np.asarray(remove_b, np.int64)
        aa, ab = np.asarray(add_a, np.int64), np.asarray(add_b, np.int64)
        doomed = np.concatenate([ra * n + rb, rb * n + ra])
        keep = np.ones(keys.size, dtype=bool)
        if doomed.size and keys.size:
            position = np.minimum(np.searchsorted(keys, doomed), keys.size - 1)
            keep[position[keys[position] == doomed]] = False  # ties that exist; others are ignored
        fresh = aa != ab
        added = np.concatenate([aa[fresh] * n + ab[fresh], ab[fresh] * n + aa[fresh]])
        added = np.unique(added) if added.size else added
        if added.size and keys.size:
            # Skip ties that exist and stay; re-adding a tie removed in this batch keeps it.
            position = np.minimum(np.searchsorted(keys, added), keys.size - 1)
            existing = keys[position] == added
            keep[position[existing]] = True  # stored already: keep it rather than insert it twice
            added = added[~existing]
        if not keep.all():
            keys, rows, cols = keys[keep], rows[keep], cols[keep]
        if added.size:
            where = np.searchsorted(keys, added)
            added_rows, added_cols = np.divmod(added, n)
            rows = np.insert(rows, where, added_rows.astype(rows.dtype))
            cols = np.insert(cols, where, added_cols.astype(cols.dtype))
        degree = np.bincount(rows, minlength=n)
        small = n < 2**31 and cols.size < 2**31
        indptr = np.zeros(n + 1, dtype=np.int32 if small else np.int64)
        np.cumsum(degree, out=indptr[1:])
        return Relations(indptr, cols.astype(np.int32 if small else np.int64, copy=False))

    @classmethod
    def empty(cls, n_subjects: int) -> Relations:
        return cls(np.zeros(n_subjects + 1, dtype=np.int32), np.zeros(0, dtype=np.int32))

    def neighbour_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of `values` over each subject's neighbours (A @ values, with A the 0/1 adjacency).

        Sums run row by row in stored order, so the result does not depend on threads or chunks."""
        return row_sums(self.indptr, self.indices, np.ascontiguousarray(values, dtype=np.float64))

    def neighbour_mean(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean of `values` over each subject's neighbours, and whether the subject has any."""
        degree = self.degree
        totals = self.neighbour_sum(values)
        has = degree > 0
        mean = np.zeros(self.n_subjects)
        np.divide(totals, degree, out=mean, where=has)
        return mean, has
