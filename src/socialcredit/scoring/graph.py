"""Relations between subjects as a CSR graph: undirected, no self-ties, no duplicate pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Relations:
    """Undirected ties in CSR form: the neighbours of i are indices[indptr[i]:indptr[i + 1]], sorted."""

    indptr: np.ndarray
    indices: np.ndarray

    @property
    def n_subjects(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    @classmethod
    def from_pairs(cls, a, b, n_subjects: int) -> Relations:
        """Build from tie endpoints; direction, duplicates and self-ties are ignored."""
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        keep = a != b
        a, b = a[keep], b[keep]
        keys = np.unique(np.concatenate([a * n_subjects + b, b * n_subjects + a]))
        rows, cols = np.divmod(keys, n_subjects) if n_subjects else (keys, keys)
        index_type = np.int32 if n_subjects < 2**31 else np.int64
        indptr = np.zeros(n_subjects + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_subjects), out=indptr[1:])
        return cls(indptr, cols.astype(index_type))

    @classmethod
    def empty(cls, n_subjects: int) -> Relations:
        return cls(np.zeros(n_subjects + 1, dtype=np.int64), np.zeros(0, dtype=np.int32))

    def neighbour_mean(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean of `values` over each subject's neighbours, and whether the subject has any."""
        degree = self.degree
        rows = np.repeat(np.arange(self.n_subjects), degree)
        totals = np.bincount(rows, weights=values[self.indices], minlength=self.n_subjects)
        has = degree > 0
        mean = np.zeros(self.n_subjects)
        np.divide(totals, degree, out=mean, where=has)
        return mean, has
