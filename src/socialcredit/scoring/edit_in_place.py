"""A CSR graph's ties edited where they are stored (`Relations.edited_in_place`).

`kernels.merge_rows` writes the edited graph into new arrays: for a while the old graph and the
new one are both held, 44 MB more at a million people (the ties are ~40 bytes a person), which
is where a run's resident memory peaks each week (benchmarks/RESULTS.md, "world phases"). Here
the entries are moved within the one array that stores them, which has room to grow
(`Relations.with_room`).

Between two edited rows every row moves by the same offset (the change in length of the rows
before it), so the entries move a run of rows at a time. A run (or an edited row) whose entries
move towards the end is moved before anything that moves towards the start, those moving towards
the end last row first and those moving towards the start first row first: each then writes only
over entries already moved or its own (an edited row is merged into a small buffer first). So
every entry is read before it is written over."""

from __future__ import annotations

import numba
import numpy as np

from .kernels import _merge_plan, _merge_row

SHIFT_BLOCK = 4096  # entries moved at a time through a buffer (16 KiB of int32: in the L1 cache)


def edit_in_place(indptr: np.ndarray, storage: np.ndarray, remove_rows: np.ndarray, remove_cols: np.ndarray,
                  add_rows: np.ndarray, add_cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`kernels.merge_rows`'s result (indptr, indices, edited rows), the entries edited within
    `storage` (an array of its own, the old entries at its start, no view of it in use) and the new
    indices a view of its start. Enlarged only where the new entries do not fit (realloc, which
    may copy), then with room as `Relations.with_room` gives."""
    new_indptr = np.empty_like(indptr)
    edited = _merge_plan(indptr, storage, remove_rows, remove_cols, add_rows, add_cols, new_indptr)
    new_total = int(new_indptr[-1])
    if new_total > storage.size:
        storage.resize(new_total + new_total // 100 + 1024, refcheck=False)
    longest = int((new_indptr[edited + 1] - new_indptr[edited]).max()) if edited.size else 0
    _move_rows(indptr, new_indptr, storage, edited, remove_rows, remove_cols, add_rows, add_cols,
               np.empty(longest, dtype=storage.dtype), np.empty(SHIFT_BLOCK, dtype=storage.dtype))
    return new_indptr, storage[:new_total], edited


@numba.njit(cache=True, nogil=True)
def _move_rows(indptr: np.ndarray, new_indptr: np.ndarray, indices: np.ndarray, edited: np.ndarray,
               remove_rows: np.ndarray, remove_cols: np.ndarray, add_rows: np.ndarray, add_cols: np.ndarray,
               scratch: np.ndarray, buffer: np.ndarray) -> None:  # pragma: no cover
    """Move every row from indptr's place to new_indptr's, merging the edited rows' edits (see the
    module's docstring for the order). Items: the run of unedited rows before each edited row,
    the edited row, ..., the run after the last; item 2k is run k, item 2k + 1 edited row k."""
    n = indptr.shape[0] - 1
    m = edited.shape[0]
    for towards_end in (True, False):
        items = 2 * m + 1
        for step in range(items):
            item = items - 1 - step if towards_end else step
            k = item // 2
            if item % 2 == 0:  # run of unedited rows
                first = edited[k - 1] + 1 if k > 0 else 0
                last = edited[k] if k < m else n
                if first >= last:
                    continue
                old_start, old_end, new_start = indptr[first], indptr[last], new_indptr[first]
                shift = new_start - old_start
                if shift == 0 or (shift > 0) != towards_end:
                    continue
                _shift(indices, old_start, old_end, shift, buffer)
            else:  # an edited row: merged into the buffer, then written at its new place
                row = edited[k]
                if (new_indptr[row] > indptr[row]) != towards_end:
                    continue
                r = np.searchsorted(remove_rows, row)
                a = np.searchsorted(add_rows, row)
                length, _, _ = _merge_row(indptr, indices, row, remove_rows, remove_cols, r, add_rows, add_cols, a,
                                          scratch, 0, True)
                start = new_indptr[row]
                for p in range(length):
                    indices[start + p] = scratch[p]


@numba.njit(cache=True, nogil=True, inline="always")
def _shift(indices: np.ndarray, start: int, end: int, shift: int, buffer: np.ndarray) -> None:  # pragma: no cover
    """indices[start:end] moved to indices[start + shift:end + shift], a block of the buffer's size at
    a time (read whole into it, then written): two loops that vectorise, where a loop moving one
    entry at a time within the array does not (the compiler cannot rule out that the two overlap;
    3x the time). Blocks taken from the end when moving towards it, so that each is read before
    it is written over."""
    size = buffer.shape[0]
    done = 0
    while done < end - start:
        count = min(size, end - start - done)
        low = end - done - count if shift > 0 else start + done
        for j in range(count):
            buffer[j] = indices[low + j]
        for j in range(count):
            indices[low + shift + j] = buffer[j]
        done += count
