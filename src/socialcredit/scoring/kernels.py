"""Compiled loops where NumPy has no single operation for the job.

A sum over each subject's neighbours is a segmented gather-and-add: NumPy needs a gathered copy
of every tie (`values[indices]`) and a second pass to add it up by row; SciPy's sparse product
needs a matrix of ones beside the indices. This loop reads the CSR arrays as they are, one row per
iteration, rows shared between threads. The values are integers (fixed point, see
`graph.to_fixed`), so every order of adding them, and every update by differences, gives the
same sums exactly.

Arrays as large as the people that a simulation makes afresh each day or week are allocated by
NumPy, never inside a compiled loop (which takes them as `out`, or behind a wrapper here that
makes them): compiled code allocates through glibc in 4 KiB pages, and an array past glibc's
32 MB mmap threshold is fresh memory on every call, first touched a page at a time, where NumPy
asks the kernel for huge pages: at scale those page faults cost a compiled pass more than its
arithmetic (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from typing import Any

import llvmlite.binding
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# How many changed subjects ahead `add_changes` asks for the memory it will read (see `prefetch`).
PREFETCH_AHEAD = 16
# The prefetch intrinsic's name for a pointer argument: opaque pointers from LLVM 17 on.
_PREFETCH = "llvm.prefetch.p0" if llvmlite.binding.llvm_version_info[0] >= 17 else "llvm.prefetch.p0i8"


@intrinsic
def _prefetch(typingctx, array, index):  # pragma: no cover
    """Ask the CPU to bring `array[index]` into cache without waiting for it (LLVM's prefetch: a
    read, kept close): a hint, never a fault, whatever the index. For loops whose next reads
    are known but scattered, which otherwise wait on memory one read at a time."""
    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        address = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [address.type, int32, int32, int32]), _PREFETCH)
        builder.call(function, [address, ir.Constant(int32, 0), ir.Constant(int32, 3), ir.Constant(int32, 1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


prefetch: Any = _prefetch  # prefetch(array, index) in compiled code (numba types the call, not mypy)


@intrinsic
def _memmove(typingctx, array, to, start, count):  # pragma: no cover
    """array[to:to + count] = array[start:start + count], the two ranges free to overlap: the C
    library's memmove (LLVM's intrinsic), which moves at the memory's speed where a compiled loop
    over one array cannot be vectorised (the compiler cannot rule out the overlap). No bounds
    are checked: the caller keeps both ranges within the array."""
    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        cgutils.raw_memmove(builder, builder.gep(data, [args[1]]), builder.gep(data, [args[2]]), args[3],
                            context.get_abi_sizeof(context.get_data_type(signature.args[0].dtype)))
        return context.get_dummy_value()

    return types.void(array, types.int64, types.int64, types.int64), codegen


memmove: Any = _memmove  # memmove(array, to, start, count) in compiled code


@numba.njit(parallel=True, cache=True, nogil=True)
def row_sums(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Per row, the sum of `values` (int64) over its entries."""
    n = indptr.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    for row in numba.prange(n):
        out[row] = _row_total(indptr, indices, values, row)
    return out


@numba.njit(cache=True, nogil=True)
def row_sums_serial(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray) -> np.ndarray:  # pragma: no cover
    """`row_sums` on one thread: for a handful of subjects (a live read), where waking the thread
    pool costs far more than the sums."""
    n = indptr.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    for row in range(n):
        out[row] = _row_total(indptr, indices, values, row)
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _row_total(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, row: int) -> np.int64:  # pragma: no cover
    total = np.int64(0)
    for entry in range(indptr[row], indptr[row + 1]):
        total += values[indices[entry]]
    return total


@numba.njit(cache=True, nogil=True, inline="always")
def _fixed(value: float, factor: float) -> np.int64:  # pragma: no cover
    """One value in fixed point: round(value x factor), half to even (as np.rint). Every path to a
    neighbour sum rounds here, so that they agree exactly."""
    return np.int64(np.rint(value * factor))


@numba.njit(parallel=True, cache=True, nogil=True)
def fixed_row_sums(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, factor: float,
                   rows: np.ndarray) -> np.ndarray:  # pragma: no cover
    """For each of `rows`, the sum over its neighbours of their `values` in fixed point (see
    `_fixed`): a few rows summed afresh, as a full pass would sum them (each row on its own, so
    the threads share them out)."""
    out = np.empty(rows.shape[0], dtype=np.int64)
    for k in numba.prange(rows.shape[0]):
        total = np.int64(0)
        for entry in range(indptr[rows[k]], indptr[rows[k] + 1]):
            total += _fixed(values[indices[entry]], factor)
        out[k] = total
    return out


def differing(old: np.ndarray, new: np.ndarray, parts: int = 1) -> np.ndarray:
    """np.flatnonzero(old != new) (NaN differs from everything), in one pass and without the
    mask between: each position is written and the end moves on where the two differ (no branch
    to mispredict where a tenth differ, scattered), into room for every position, of which only
    the pages written are touched. Half NumPy's time at a million. With `parts` > 1, that many
    ranges of positions are compared at once (a parallel kernel: the caller holds
    `graph.PARALLEL_KERNELS`), each written at its own place, then moved up behind the one before."""
    out = np.empty(old.shape[0] + 1, dtype=np.int64)  # the last write: one past
    return _differing(old, new, out) if parts <= 1 else _differing_parts(old, new, out, parts)


@numba.njit(cache=True, nogil=True)
def _differing(old: np.ndarray, new: np.ndarray, out: np.ndarray) -> np.ndarray:  # pragma: no cover
    k = 0
    for i in range(old.shape[0]):
        out[k] = i
        k += old[i] != new[i]
    return out[:k]


@numba.njit(parallel=True, cache=True, nogil=True)
def _differing_parts(old: np.ndarray, new: np.ndarray, out: np.ndarray, parts: int) -> np.ndarray:  # pragma: no cover
    n = old.shape[0]
    found = np.zeros(parts, dtype=np.int64)
    for part in numba.prange(parts):
        low, high = part * n // parts, (part + 1) * n // parts
        k = low
        for i in range(low, high):
            out[k] = i
            k += old[i] != new[i]
        found[part] = k - low
    end = found[0]
    for part in range(1, parts):  # each range's positions behind the last (never over unread ones)
        low = part * n // parts
        for j in range(found[part]):
            out[end + j] = out[low + j]
        end += found[part]
    return out[:end]


@numba.njit(cache=True, nogil=True)
def union_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pragma: no cover
    """np.union1d(a, b) (int64) for `a` and `b` each increasing without repeats, as one merge: no
    sort, and none of np.unique's hash table, which costs it a millisecond for 13,000 ids."""
    out = np.empty(a.shape[0] + b.shape[0], dtype=np.int64)
    i = j = k = 0
    while i < a.shape[0] and j < b.shape[0]:
        if a[i] < b[j]:
            out[k] = a[i]
            i += 1
        elif b[j] < a[i]:
            out[k] = b[j]
            j += 1
        else:
            out[k] = a[i]
            i += 1
            j += 1
        k += 1
    while i < a.shape[0]:
        out[k] = a[i]
        i += 1
        k += 1
    while j < b.shape[0]:
        out[k] = b[j]
        j += 1
        k += 1
    return out[:k].copy()


@numba.njit(cache=True, nogil=True)
def sums_with_steps(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray, steps: np.ndarray,
                    sums: np.ndarray, reached: np.ndarray) -> tuple[int, np.ndarray]:  # pragma: no cover
    """The neighbour sums had each of `rows` changed by its step (fixed point, int64): how many
    subjects that reaches, m (their ids, increasing, into reached[:m]: room for every subject plus
    one, of which only the pages written are touched), and their sums. `sums` is left as it was:
    the steps are added to it in place, read, then taken back (integers: exactly), which marks the
    subjects reached without a sort or a table of their own."""
    n = sums.shape[0]
    mark = np.zeros(n, dtype=np.uint8)
    for k in range(rows.shape[0]):
        step = steps[k]
        for entry in range(indptr[rows[k]], indptr[rows[k] + 1]):
            row = indices[entry]
            sums[row] += step
            mark[row] = 1
    m = 0
    for i in range(n):  # in id order, the position moving on where marked (as `_differing`)
        reached[m] = i
        m += mark[i]
    out = np.empty(m, dtype=np.int64)
    for j in range(m):
        out[j] = sums[reached[j]]
    for k in range(rows.shape[0]):
        step = steps[k]
        for entry in range(indptr[rows[k]], indptr[rows[k] + 1]):
            sums[indices[entry]] -= step
    return m, out


@numba.njit(parallel=True, cache=True, nogil=True)
def add_changes(indptr: np.ndarray, indices: np.ndarray, changed: np.ndarray, new: np.ndarray, old: np.ndarray,
                factor: float, sums: np.ndarray, parts: int, most_kept: int) -> bool:  # pragma: no cover
    """Update row sums of values in fixed point (int64, in place; see `fixed_point`) for the
    `changed` subjects (increasing) going from `old` to `new` values: each one's difference, in
    fixed point, is added to the rows of its neighbours (ties are stored both ways). Integers: the
    sums are exactly what a full pass gives, in any order.

    The `parts` (one per thread) split the ids into ranges, and each writes only its own rows, so
    no two write one row. Each walks the ties of its own changed subjects once: it adds what falls
    in its range and keeps the rest (a tenth of the ties: people are ordered so that most ties stay
    within a range), as (row, difference), in a buffer with room for two entries per subject of its
    own and at most `most_kept`; then each adds the other parts' kept entries that fall in its
    range. A subject whose ties out of range overflow its part's buffer is listed instead (what it
    kept is dropped), and the other parts walk its ties again. False, and nothing changed, if a
    new value is not finite."""
    for subject in changed:
        if not np.isfinite(new[subject]):
            return False
    n = sums.shape[0]
    bounds = np.empty(parts + 1, dtype=np.int64)  # each part's changed subjects: changed[bounds[p]:bounds[p + 1]]
    room = np.zeros(parts + 1, dtype=np.int64)    # part p's buffer: room[p] to room[p + 1]
    for part in range(parts + 1):
        bounds[part] = np.searchsorted(changed, part * n // parts)
        if part:
            room[part] = room[part - 1] + min(2 * (bounds[part] - bounds[part - 1]), most_kept)
    far_rows = np.empty(room[parts], dtype=indices.dtype)
    far_differences = np.empty(room[parts], dtype=np.int64)
    far_end = room[:parts].copy()
    spilled = np.empty(changed.shape[0], dtype=changed.dtype)  # part p's from spilled[bounds[p]] on
    spill_count = np.zeros(parts, dtype=np.int64)
    for part in numba.prange(parts):
        low, high = part * n // parts, (part + 1) * n // parts
        first, last = bounds[part], bounds[part + 1]
        end, full = room[part], room[part + 1]
        spill = 0
        for k in range(first, last):
            _prefetch_values(indptr, indices, changed, k, last, new, old, sums)
            subject = changed[k]
            difference = _fixed(new[subject], factor) - _fixed(old[subject], factor)
            kept = end
            for entry in range(indptr[subject], indptr[subject + 1]):
                row = indices[entry]
                if low <= row < high:
                    sums[row] += difference
                elif kept < full:
                    far_rows[kept] = row
                    far_differences[kept] = difference
                    kept += 1
                else:
                    kept = full + 1  # no room: the others walk this subject's ties themselves
            if kept <= full:
                end = kept
            else:
                spilled[first + spill] = subject
                spill += 1
        far_end[part] = end
        spill_count[part] = spill
    for part in numba.prange(parts):
        low, high = part * n // parts, (part + 1) * n // parts
        for other in range(parts):
            if other == part:
                continue
            for i in range(room[other], far_end[other]):
                if i + PREFETCH_AHEAD < far_end[other]:
                    prefetch(sums, far_rows[i + PREFETCH_AHEAD])
                row = far_rows[i]
                if low <= row < high:
                    sums[row] += far_differences[i]
            first = bounds[other]
            for k in range(first, first + spill_count[other]):
                _prefetch_values(indptr, indices, spilled, k, first + spill_count[other], new, old, sums)
                _add_within(indptr, indices, spilled[k], new, old, factor, sums, low, high)
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def _prefetch_values(indptr: np.ndarray, indices: np.ndarray, subjects: np.ndarray, k: int, last: int,
                     new: np.ndarray, old: np.ndarray, sums: np.ndarray) -> None:  # pragma: no cover
    """While subjects[k] of subjects[:last] is worked on, ask for what later ones will read.

    A day's changes are a tenth of the people, scattered: each one's row start, ties, values and
    neighbours' sums are all reads from memory, and the loop would wait for them one subject at a
    time. So it asks for the memory of the subject PREFETCH_AHEAD places ahead, and for the ties of
    the one half as far ahead (whose row start has arrived by then): a quarter less time."""
    _prefetch_rows(indptr, indices, subjects, k, last)
    if k + PREFETCH_AHEAD < last:
        far = subjects[k + PREFETCH_AHEAD]
        prefetch(new, far)
        prefetch(old, far)
    if k + PREFETCH_AHEAD // 4 < last:
        # the sums of the neighbours of the one a quarter as far on, whose ties have arrived by
        # then: a fifth of ties lead far from one's own id, each a read of memory otherwise waited on
        near = subjects[k + PREFETCH_AHEAD // 4]
        for entry in range(indptr[near], indptr[near + 1]):
            prefetch(sums, indices[entry])


@numba.njit(cache=True, nogil=True, inline="always")
def _add_within(indptr: np.ndarray, indices: np.ndarray, subject: int, new: np.ndarray, old: np.ndarray,
                factor: float, sums: np.ndarray, low: int, high: int) -> None:  # pragma: no cover
    """Add one subject's change to its neighbours' sums, for the neighbours in low..high-1."""
    difference = _fixed(new[subject], factor) - _fixed(old[subject], factor)
    for entry in range(indptr[subject], indptr[subject + 1]):
        row = indices[entry]
        if low <= row < high:
            sums[row] += difference


def merge_rows(indptr: np.ndarray, indices: np.ndarray, remove_rows: np.ndarray, remove_cols: np.ndarray,
               add_rows: np.ndarray, add_cols: np.ndarray,
               parts: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CSR graph with some entries removed and some added, and the rows with an edit.

    `remove_*` and `add_*` are sorted by (row, column) and free of repeats; removals of absent
    entries and additions of present ones are ignored, and an entry both removed and added stays.
    Rows stay sorted. Only the rows with an edit are merged entry by entry; the runs of rows
    between them (nearly all the ties) are copied a run at a time. No int64 copy of the whole edge
    list is made. The new arrays are NumPy's, which asks the kernel for huge pages: first touching
    the compiled code's own 4 KiB pages costs more than the copy (benchmarks/RESULTS.md, a fresh
    40 MB array).
    The new lengths and entries are worked out by `parts` threads (default: every thread from a
    million entries)."""
    out_indptr = np.empty_like(indptr)
    if parts is None:
        parts = numba.get_num_threads() if indices.size >= 1 << 20 else 1
    edited = _merge_plan(indptr, indices, remove_rows, remove_cols, add_rows, add_cols, out_indptr, parts)
    out_indices = np.empty(int(out_indptr[-1]), dtype=indices.dtype)
    _merge_fill(indptr, indices, remove_rows, remove_cols, add_rows, add_cols, edited, out_indptr, out_indices, parts)
    return out_indptr, out_indices, edited


@numba.njit(parallel=True, cache=True, nogil=True)
def _merge_plan(indptr: np.ndarray, indices: np.ndarray, remove_rows: np.ndarray, remove_cols: np.ndarray,
                add_rows: np.ndarray, add_cols: np.ndarray, out_indptr: np.ndarray,
                parts: int) -> np.ndarray:  # pragma: no cover
    """The rows with an edit (increasing), and the merged graph's `out_indptr`, filled in place: the
    edited rows' new lengths and the row ends each by `parts` threads, a range each (the same
    whatever their number)."""
    n = indptr.shape[0] - 1
    edited = np.empty(remove_rows.shape[0] + add_rows.shape[0], dtype=np.int64)
    m = 0
    i = j = 0
    while i < remove_rows.shape[0] or j < add_rows.shape[0]:
        if j >= add_rows.shape[0] or (i < remove_rows.shape[0] and remove_rows[i] <= add_rows[j]):
            row = remove_rows[i]
            i += 1
        else:
            row = add_rows[j]
            j += 1
        if m == 0 or edited[m - 1] != row:
            edited[m] = row
            m += 1
    edited = edited[:m].copy()
    new_length = np.empty(m, dtype=np.int64)
    for part in numba.prange(parts):
        low, high = part * m // parts, (part + 1) * m // parts
        if low < high:
            r, a = np.searchsorted(remove_rows, edited[low]), np.searchsorted(add_rows, edited[low])
            for e in range(low, high):
                _prefetch_rows(indptr, indices, edited, e, high)
                new_length[e], r, a = _merge_row(indptr, indices, edited[e], remove_rows, remove_cols, r, add_rows,
                                                 add_cols, a, indices, 0, False)
    # Between two edited rows every row end moves by the same offset (the change in length of the
    # edited rows before): a loop without a branch, which vectorises, a run at a time.
    change = np.empty(m, dtype=np.int64)  # up to and with edited row e
    total = 0
    for e in range(m):
        total += new_length[e] - (indptr[edited[e] + 1] - indptr[edited[e]])
        change[e] = total
    out_indptr[0] = 0
    for part in numba.prange(parts):
        low, high = part * n // parts, (part + 1) * n // parts
        e = np.searchsorted(edited, low)
        offset = change[e - 1] if e > 0 else 0
        first = low
        while first < high:
            last = edited[e] if e < m and edited[e] < high else high
            for row in range(first, last):
                out_indptr[row + 1] = indptr[row + 1] + offset
            if last < high:  # edited row `last`
                offset = change[e]
                out_indptr[last + 1] = indptr[last + 1] + offset
                e += 1
            first = last + 1
    return edited


@numba.njit(parallel=True, cache=True, nogil=True)
def _merge_fill(indptr: np.ndarray, indices: np.ndarray, remove_rows: np.ndarray, remove_cols: np.ndarray,
                add_rows: np.ndarray, add_cols: np.ndarray, edited: np.ndarray, out_indptr: np.ndarray,
                out_indices: np.ndarray, parts: int) -> None:  # pragma: no cover
    """The merged graph's entries into `out_indices`: runs of unedited rows copied whole. The
    rows are split into `parts` ranges, one a thread, each written to its own place (the copy
    of 40 MB and the first touch of its new pages, at a million people, take two cores well)."""
    n = indptr.shape[0] - 1
    for part in numba.prange(parts):
        low, high = part * n // parts, (part + 1) * n // parts
        first, last = np.searchsorted(edited, low), np.searchsorted(edited, high)
        r, a = np.searchsorted(remove_rows, low), np.searchsorted(add_rows, low)
        first_unedited = low
        for e in range(first, last + 1):
            row = edited[e] if e < last else high
            # rows first_unedited .. row - 1 have no edit: one block copy
            old_start, old_end = indptr[first_unedited], indptr[row]
            start = out_indptr[first_unedited]
            out_indices[start:start + old_end - old_start] = indices[old_start:old_end]
            if e < last:
                _, r, a = _merge_row(indptr, indices, row, remove_rows, remove_cols, r, add_rows, add_cols, a,
                                     out_indices, out_indptr[row], True)
            first_unedited = row + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _prefetch_rows(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray, k: int,
                   count: int) -> None:  # pragma: no cover
    """While row rows[k] of rows[:count] is worked on, ask for the row start of the one
    PREFETCH_AHEAD places on and for the ties of the one half as far, whose row start has arrived
    by then (a day's changed subjects and a week's edited rows are scattered over the graph)."""
    if k + PREFETCH_AHEAD < count:
        prefetch(indptr, rows[k + PREFETCH_AHEAD])
    if k + PREFETCH_AHEAD // 2 < count:
        prefetch(indices, indptr[rows[k + PREFETCH_AHEAD // 2]])


@numba.njit(cache=True, nogil=True)
def _merge_row(indptr: np.ndarray, indices: np.ndarray, row: int, remove_rows: np.ndarray, remove_cols: np.ndarray,
               r: int, add_rows: np.ndarray, add_cols: np.ndarray, a: int, out: np.ndarray, start: int,
               write: bool) -> tuple[int, int, int]:  # pragma: no cover
    """Merge one row's stored entries with its removals and additions (from positions r and a of
    the sorted edits), writing them at out[start:] when `write`: (length, next r, next a)."""
    while r < remove_rows.shape[0] and remove_rows[r] < row:
        r += 1
    while a < add_rows.shape[0] and add_rows[a] < row:
        a += 1
    count = 0
    k = indptr[row]
    end = indptr[row + 1]
    while k < end or (a < add_rows.shape[0] and add_rows[a] == row):
        take_old = k < end and (a >= add_rows.shape[0] or add_rows[a] != row or indices[k] <= add_cols[a])
        if take_old:
            column = indices[k]
            added = a < add_rows.shape[0] and add_rows[a] == row and add_cols[a] == column
            if added:
                a += 1  # already there
            k += 1
            while r < remove_rows.shape[0] and remove_rows[r] == row and remove_cols[r] < column:
                r += 1
            if r < remove_rows.shape[0] and remove_rows[r] == row and remove_cols[r] == column:
                r += 1
                if not added:
                    continue  # removed (a tie removed and added in one batch stays)
        else:
            column = add_cols[a]
            a += 1
        if write:
            out[start + count] = column
        count += 1
    return count, r, a


# A CSR graph's ties edited where they are stored (`Relations.edited_in_place`).
#
# `kernels.merge_rows` writes the edited graph into new arrays: for a while the old graph and the
# new one are both held, 44 MB more at a million people (the ties are ~40 bytes a person), which
# is where a run's resident memory peaks each week (benchmarks/RESULTS.md, "world phases"). Here
# the entries are moved within the one array that stores them, which has room to grow
# (`Relations.with_room`).
#
# Between two edited rows every row moves by the same offset (the change in length of the rows
# before it), so the entries move a run of rows at a time (`memmove`). A run (or an edited row)
# whose entries move towards the end is moved before anything that moves towards the start, those
# moving towards the end last row first and those moving towards the start first row first: each
# then writes only over entries already moved or its own (an edited row is merged into a small
# buffer first). So every entry is read before it is written over.


def edit_in_place(indptr: np.ndarray, storage: np.ndarray, remove_rows: np.ndarray, remove_cols: np.ndarray,
                  add_rows: np.ndarray, add_cols: np.ndarray,
                  parts: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`merge_rows`'s result (indptr, indices, edited rows), the entries edited within
    `storage` (an array of its own, the old entries at its start, no view of it in use) and the new
    indices a view of its start. Enlarged only where the new entries do not fit (realloc, which
    may copy), then with room as `Relations.with_room` gives.

    The rows are moved by `parts` threads (default: every thread from a million entries), each
    a range of rows: where a range's new place reaches beyond its old entries (into a neighbour's,
    which that neighbour may not have read yet), those entries are written aside and put in place
    once every range has moved (a few: the change in length of the rows before the range's ends)."""
    new_indptr = np.empty_like(indptr)
    if parts is None:
        parts = numba.get_num_threads() if int(indptr[-1]) >= 1 << 20 else 1
    edited = _merge_plan(indptr, storage, remove_rows, remove_cols, add_rows, add_cols, new_indptr, parts)
    new_total = int(new_indptr[-1])
    if new_total > storage.size:
        storage.resize(new_total + new_total // 100 + 1024, refcheck=False)
    longest = int((new_indptr[edited + 1] - new_indptr[edited]).max()) if edited.size else 0
    n = indptr.shape[0] - 1
    bounds = np.arange(parts + 1, dtype=np.int64) * n // parts  # part p: rows bounds[p] .. bounds[p + 1] - 1
    own_start, own_end = indptr[bounds[:-1]].astype(np.int64), indptr[bounds[1:]].astype(np.int64)
    new_start, new_end = new_indptr[bounds[:-1]].astype(np.int64), new_indptr[bounds[1:]].astype(np.int64)
    # Each part's new place beyond its own old entries: its head (before them) and its tail (after).
    head = np.maximum(np.minimum(own_start, new_end) - new_start, 0)
    tail_start = np.maximum(own_end, new_start)
    tail = np.maximum(new_end - tail_start, 0)
    head_at = np.cumsum(head + tail) - head - tail
    aside = np.empty(int((head + tail).sum()), dtype=storage.dtype)
    _move_rows(indptr, new_indptr, storage, edited, remove_rows, remove_cols, add_rows, add_cols, longest, bounds,
               tail_start, head_at, head_at + head, aside)
    for part in range(parts):
        storage[new_start[part]:new_start[part] + head[part]] = aside[head_at[part]:head_at[part] + head[part]]
        at = head_at[part] + head[part]
        storage[tail_start[part]:tail_start[part] + tail[part]] = aside[at:at + tail[part]]
    return new_indptr, storage[:new_total], edited


@numba.njit(parallel=True, cache=True, nogil=True)
def _move_rows(indptr: np.ndarray, new_indptr: np.ndarray, indices: np.ndarray, edited: np.ndarray,
               remove_rows: np.ndarray, remove_cols: np.ndarray, add_rows: np.ndarray, add_cols: np.ndarray,
               longest: int, bounds: np.ndarray, tail_start: np.ndarray, head_at: np.ndarray, tail_at: np.ndarray,
               aside: np.ndarray) -> None:  # pragma: no cover
    """Move every row from indptr's place to new_indptr's, merging the edited rows' edits (see the
    module's docstring for the order), each range of rows bounds[p] .. bounds[p + 1] - 1 on a
    thread of its own; what a range writes beyond its own old entries goes to `aside` (its head
    from head_at[p], its tail, from tail_start[p] on in `indices`, from tail_at[p]). A range's
    items: the run of unedited rows before each of its edited rows, the edited row, ..., the run
    after its last; item 2k is run k, item 2k + 1 edited row k (k counted from the range's first)."""
    m = edited.shape[0]
    # Where each edited row's removals and additions start, in one walk along the sorted edits
    # (the moves towards the end visit the rows last first, where the positions cannot be carried).
    remove_at = np.empty(m, dtype=np.int64)
    add_at = np.empty(m, dtype=np.int64)
    r = a = 0
    for k in range(m):
        while r < remove_rows.shape[0] and remove_rows[r] < edited[k]:
            r += 1
        while a < add_rows.shape[0] and add_rows[a] < edited[k]:
            a += 1
        remove_at[k], add_at[k] = r, a
    for part in numba.prange(bounds.shape[0] - 1):
        low, high = bounds[part], bounds[part + 1]
        if low >= high:
            continue
        scratch = np.empty(longest, dtype=indices.dtype)
        window = (np.int64(new_indptr[low]), np.int64(indptr[low]), np.int64(indptr[high]), tail_start[part],
                  head_at[part], tail_at[part])
        first, last = np.searchsorted(edited, low), np.searchsorted(edited, high)
        items = 2 * (last - first) + 1
        for towards_end in (True, False):
            for step in range(items):
                item = items - 1 - step if towards_end else step
                k = first + item // 2
                if item % 2 == 0:  # run of unedited rows
                    begin = edited[k - 1] + 1 if k > first else low
                    end = edited[k] if k < last else high
                    if begin >= end:
                        continue
                    old_start, old_end, new_start = indptr[begin], indptr[end], new_indptr[begin]
                    shift = new_start - old_start
                    if shift == 0 or (shift > 0) != towards_end:
                        continue
                    _put(indices, new_start, indices, old_start, old_end - old_start, window, aside, True)
                else:  # an edited row: merged into the buffer, then written at its new place
                    row = edited[k]
                    if (new_indptr[row] > indptr[row]) != towards_end:
                        continue
                    length, _, _ = _merge_row(indptr, indices, row, remove_rows, remove_cols, remove_at[k], add_rows,
                                              add_cols, add_at[k], scratch, 0, True)
                    _put(indices, new_indptr[row], scratch, 0, length, window, aside, False)


@numba.njit(cache=True, nogil=True, inline="always")
def _put(indices: np.ndarray, to: int, source: np.ndarray, start: int, count: int, window: tuple,
         aside: np.ndarray, within: bool) -> None:  # pragma: no cover
    """source[start:start + count] written at indices[to:], those of its positions outside the range's
    own old entries (window: the range's new start, its own start and end, where its tail starts,
    and where its head and its tail are kept in `aside`) into `aside`, first: they may be read
    from where the rest is written. `within`: the source is `indices` itself (a run's move)."""
    new_low, own_start, own_end, tail_start, head_at, tail_at = window
    for p in range(to, min(to + count, own_start)):  # its head
        aside[head_at + p - new_low] = source[start + p - to]
    for p in range(max(to, own_end), to + count):  # its tail
        aside[tail_at + p - tail_start] = source[start + p - to]
    begin, end = max(to, own_start), min(to + count, own_end)
    if begin < end:
        if within:
            memmove(indices, begin, start + begin - to, end - begin)
        else:
            for p in range(begin, end):
                indices[p] = source[start + p - to]


@numba.njit(cache=True, nogil=True)
def pairs_to_csr(a: np.ndarray, b: np.ndarray, n: int, indptr: np.ndarray,
                 indices: np.ndarray) -> int:  # pragma: no cover
    """Undirected ties (a[k], b[k]) into CSR, in place: `indptr` (n + 1) and `indices` (2 * len(a))
    are filled with each row's neighbours sorted and without repeats; self-ties are dropped.
    Returns the number of entries used (indices[:used]).

    A counting sort by row, then a sort of each (short) row: no int64 key per entry and no sort of
    the whole edge list, so a graph of tens of millions of people is built in little more memory
    than it takes."""
    starts = np.zeros(n + 1, dtype=np.int64)
    for k in range(a.shape[0]):
        if a[k] != b[k]:
            starts[a[k] + 1] += 1
            starts[b[k] + 1] += 1
    for row in range(n):
        starts[row + 1] += starts[row]
    fill = starts[:n].copy()
    for k in range(a.shape[0]):
        if a[k] != b[k]:
            indices[fill[a[k]]] = b[k]
            fill[a[k]] += 1
            indices[fill[b[k]]] = a[k]
            fill[b[k]] += 1
    used = 0
    indptr[0] = 0
    for row in range(n):
        begin, end = starts[row], starts[row + 1]
        indices[begin:end] = np.sort(indices[begin:end])
        for k in range(begin, end):
            if k == begin or indices[k] != indices[k - 1]:
                indices[used] = indices[k]  # used <= k: compacting in place never overwrites unread entries
                used += 1
        indptr[row + 1] = used
    return used


@numba.njit(cache=True, nogil=True)
def rank_reasons(points: np.ndarray, best: np.ndarray, limit: int, also: np.ndarray, codes: np.ndarray,
                 start: int, stop: int) -> None:  # pragma: no cover
    """Reason codes of subjects start..stop-1 into their rows of `codes` (-1 pads each row's end).
    `points` holds one row per component (components in name order), `best` their most points.
    A component's loss is `best - points` rounded to 1e-9 points as np.round(loss, 9) rounds
    (times 1e9, to nearest even, over 1e9): floating noise (a decayed sum kept incrementally rather
    than summed afresh) must neither reorder equal losses nor turn a zero loss into a reason. Up to
    `limit` components that lost points, most lost first, ties in name order; then each `also`
    component that lost points and is not among them. Serial and without the GIL: slices of
    subjects run on the slice threads, and the live service calls it for one subject at a time."""
    components = points.shape[0]
    lost = np.empty(components)
    taken = np.empty(components, dtype=np.bool_)
    for row in range(start, stop):
        for j in range(components):
            lost[j] = np.rint((best[j] - points[j, row]) * 1e9) / 1e9
            taken[j] = False
        count = 0
        for _ in range(limit):
            pick = -1
            for j in range(components):
                # NaN never counts (it is not > 0); a strict > keeps the first name on ties
                if not taken[j] and lost[j] > 0 and (pick < 0 or lost[j] > lost[pick]):
                    pick = j
            if pick < 0:
                break
            taken[pick] = True
            codes[row, count] = pick
            count += 1
        for code in also:
            if lost[code] > 0 and not taken[code]:
                codes[row, count] = code
                count += 1
        for column in range(count, codes.shape[1]):
            codes[row, column] = -1


@numba.njit(cache=True, nogil=True)
def same_label_entries(indptr: np.ndarray, indices: np.ndarray, label: np.ndarray) -> int:  # pragma: no cover
    """How many stored entries (each tie counts from both ends) join two subjects of one label:
    one pass over the ties, where a sum per label would take one pass each. Serial and without
    the GIL: the metrics run it on their own thread, beside the day's parallel kernels."""
    n = indptr.shape[0] - 1
    total = 0
    for row in range(n):
        own = label[row]
        count = 0
        for entry in range(indptr[row], indptr[row + 1]):
            if label[indices[entry]] == own:
                count += 1
        total += count
    return total


@numba.njit(cache=True, nogil=True)
def ratio_of(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:  # pragma: no cover
    """numerator / denominator, 0.0 where the denominator is 0: one vectorised pass."""
    out = np.empty(numerator.shape[0], dtype=np.float64)
    for i in range(numerator.shape[0]):
        out[i] = numerator[i] / denominator[i] if denominator[i] != 0 else 0.0
    return out


@numba.njit(cache=True, nogil=True)
def tiers_of(mins: np.ndarray, scores: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Each score's tier index (0 = highest) for tiers of decreasing `mins`: how many tiers' min
    the score is below (NaN: 0, as a search that sorts NaN last gives). A pass over the scores per
    tier, each one a compare the compiler vectorises (several times as fast as a loop over the
    tiers inside a loop over the scores); int16 out."""
    n = scores.shape[0]
    out = np.zeros(n, dtype=np.int16)
    for j in range(mins.shape[0]):
        least = mins[j]
        for i in range(n):
            out[i] += np.int16(least > scores[i])
    for i in range(n):
        if scores[i] != scores[i]:
            out[i] = 0
    return out


@numba.njit(cache=True, nogil=True)
def component_points_of(values: np.ndarray, uptos: np.ndarray, bin_points: np.ndarray, per_unit: float,
                        low: float, high: float) -> np.ndarray:  # pragma: no cover
    """A component's points for each value, compiled: with bins (`bin_points` not empty), the
    points of the first bin whose upto the value does not exceed (NaN and values above every upto
    fall in the last); else per_unit x value. Then clipped to [low, high] (±inf when unbounded),
    and -0.0 written as 0.0. What `component_points` gives with NumPy, bit for bit."""
    n = values.shape[0]
    out = np.empty(n, dtype=np.float64)
    if bin_points.shape[0] > 0:
        # the bin of each value: how many uptos are below it, a vectorised pass per upto
        index = np.zeros(n, dtype=np.int32)
        for j in range(uptos.shape[0]):
            upto = uptos[j]
            for i in range(n):
                index[i] += np.int32(upto < values[i])
        last = uptos.shape[0]
        for i in range(n):
            out[i] = bin_points[last if values[i] != values[i] else index[i]]
        for i in range(n):  # apart from the gather, so that it vectorises
            out[i] = _clipped(out[i], low, high)
    else:
        for i in range(n):
            out[i] = _clipped(per_unit * values[i], low, high)
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _clipped(points: float, low: float, high: float) -> float:  # pragma: no cover
    """np.clip(points, low, high) + 0.0: NaN stays NaN, -0.0 becomes 0.0."""
    if points < low:
        points = low
    elif points > high:
        points = high
    return points + 0.0


@numba.njit(cache=True, nogil=True)
def mean_term(indptr: np.ndarray, totals: np.ndarray, factor: float, weight: float, base: float,
              out: np.ndarray) -> np.ndarray:  # pragma: no cover
    """weight x (mean over the neighbours - base) per subject from its neighbour sum in fixed point
    (`factor` units to one, a power of two: multiplying by its inverse is dividing by it, exactly),
    0 without neighbours, into `out`: one pass where NumPy takes five, without a branch around the
    division so that it vectorises."""
    n = indptr.shape[0] - 1
    unit = 1.0 / factor
    for row in range(n):
        degree = indptr[row + 1] - indptr[row]
        mean = np.float64(totals[row]) * unit / max(degree, 1)
        out[row] = weight * (mean - base) if degree > 0 else 0.0
    return out


@numba.njit(cache=True, nogil=True)
def ranked_sums(ordered: np.ndarray, shift: float) -> tuple[float, float]:  # pragma: no cover
    """For values in increasing order, less `shift`: (sum of rank x value with ranks from 1, sum of
    values), what the Gini coefficient needs, in one pass and no temporary array."""
    weighted = 0.0
    total = 0.0
    for i in range(ordered.shape[0]):
        value = ordered[i] - shift
        weighted += (i + 1) * value
        total += value
    return weighted, total


@numba.njit(cache=True, nogil=True)
def tie_moments(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, centre: float,
                label: np.ndarray) -> tuple[float, float, float, float, int]:  # pragma: no cover
    """With x = values - centre, over the ends of every stored tie: (sum of d.x, sum of d.x^2,
    sum over ties of x_i x_j, largest |x|), d the degree: the moments of a value's assortativity;
    and how many entries join two subjects of one `label` (as `same_label_entries`).

    Every tie is stored from both ends, with the same product and the same two labels, so the
    cross sum and the count are twice those over the entries to a higher id: half the scattered
    reads. In one serial pass (the same sums whatever the threads) and no temporary array:
    streaming the ties (40 MB at a million people) once, beside the day's threads, which share
    the cache."""
    first = second = cross = 0.0
    largest = 0.0
    same = 0
    for row in range(indptr.shape[0] - 1):
        x = values[row] - centre
        degree = indptr[row + 1] - indptr[row]
        first += degree * x
        second += degree * x * x
        neighbours = 0.0
        own = label[row]
        for entry in range(indptr[row], indptr[row + 1]):
            other = indices[entry]
            if other > row:
                neighbours += values[other] - centre
                same += label[other] == own
        cross += x * neighbours
        largest = max(largest, abs(x))
    return first, second, 2.0 * cross, largest, 2 * same


@numba.njit(cache=True, nogil=True)
def fixed_point(values: np.ndarray, factor: float) -> tuple[np.ndarray, bool]:  # pragma: no cover
    """round(value x factor) as int64 (half to even, as np.rint), in one pass; False if any value
    is not a finite number."""
    out = np.empty(values.shape[0], dtype=np.int64)
    finite = True
    for i in range(values.shape[0]):
        value = values[i]
        if not np.isfinite(value):
            finite = False
            out[i] = 0
        else:
            out[i] = _fixed(value, factor)
    return out, finite


@numba.njit(cache=True, nogil=True)
def block_category_counts(codes: np.ndarray, starts: np.ndarray, categories: int) -> np.ndarray:  # pragma: no cover
    """How many of each block's entries have each code 0..categories-1 (blocks are the runs of ids
    from each start to the next), in one pass: for the shares of a few categories (tiers) by group,
    where comparing and adding up category by category takes two passes each."""
    counts = np.zeros((starts.shape[0], categories), dtype=np.int64)
    for block in range(starts.shape[0]):
        end = starts[block + 1] if block + 1 < starts.shape[0] else codes.shape[0]
        for i in range(starts[block], end):
            code = codes[i]
            if 0 <= code < categories:
                counts[block, code] += 1
    return counts


@numba.njit(cache=True, nogil=True)
def masked_degrees(mask: np.ndarray, degree: np.ndarray) -> tuple[np.int64, np.int64, np.int64]:  # pragma: no cover
    """Over the subjects in `mask`: how many, how many have no tie, and their ties in all; in one
    pass without a branch (a boolean index would copy the degrees of the masked first)."""
    count = isolated = ties = np.int64(0)
    for i in range(mask.shape[0]):
        inside = np.int64(mask[i])
        count += inside
        isolated += inside & np.int64(degree[i] == 0)
        ties += inside * np.int64(degree[i])
    return count, isolated, ties


@numba.njit(cache=True, nogil=True)
def group_by_kind(kind: np.ndarray, kinds: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Event positions grouped by kind, in event order within a kind (a counting sort): the
    events of kind k are order[start[k]:start[k + 1]]. So a pass over one kind's events need not
    test every event's kind, a branch that random kinds would mispredict half the time. (Not
    split over the slice threads: two threads would contend for the fresh pages of `order`.)"""
    start = np.zeros(kinds + 1, dtype=np.int64)
    for e in range(kind.shape[0]):
        if 0 <= kind[e] < kinds:  # a code no kind has is read by no feature (as NumPy's selection by kind)
            start[kind[e] + 1] += 1
    for k in range(kinds):
        start[k + 1] += start[k]
    order = np.empty(start[kinds], dtype=np.int64)
    place = start[:kinds].copy()
    for e in range(kind.shape[0]):
        k = kind[e]
        if 0 <= k < kinds:
            order[place[k]] = e
            place[k] += 1
    return order, start

