"""Compiled loops where NumPy has no single operation for the job.

A sum over each subject's neighbours is a segmented gather-and-add: NumPy needs a gathered copy
of every tie (`values[indices]`) and a second pass to add it up by row; SciPy's sparse product
needs a matrix of ones beside the indices. This loop reads the CSR arrays as they are, one row per
iteration, rows shared between threads. Each row is added up in stored order by one thread, so
the result is the same bit for bit whatever the number of threads.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(parallel=True, cache=True, nogil=True)
def row_sums(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray) -> np.ndarray:  # pragma: no cover
    n = indptr.shape[0] - 1
    out = np.empty(n, dtype=np.float64)
    for row in numba.prange(n):
        total = 0.0
        for entry in range(indptr[row], indptr[row + 1]):
            total += values[indices[entry]]
        out[row] = total
    return out
