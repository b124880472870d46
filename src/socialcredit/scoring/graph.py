"""Relations between subjects as a CSR graph: undirected, no self-ties, no duplicate pairs."""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

# The compiled kernels (kernels.py) are imported where they are called, so that importing the
# scoring core loads numba only when a graph is made or summed (a `score` without relations never).

# One parallel kernel at a time in this process: numba's threading layers other than OpenMP and
# TBB (its fallback, "workqueue") abort when two threads launch parallel kernels at once, as two
# requests to the service could. The simulation launches them from one thread: never contended.
PARALLEL_KERNELS = threading.Lock()

# Neighbour sums are taken in fixed point: a value of magnitude up to `largest` becomes an integer
# of at most 2**FIXED_BITS (value x a power of two, rounded), and up to MAX_TIES of them add up below
# 2**62. Integer sums are exact in any order, so the sums kept from day to day and updated by
# differences, the sums of a full pass and those of a live read of a few subjects agree to the
# last bit. The rounding is 2**-40 of the largest value: for scores up to 2,000, 2e-9 points.
FIXED_BITS = 40
MAX_TIES = 2**22
_SERIALS = itertools.count()  # a number for each graph made, never reused (unlike id())


def restart_serials(after: int) -> None:
    """Number graphs made from now on from `after` up (at least): a run continued from a saved state
    holds graphs whose serials were given in another process (sim/state.py)."""
    global _SERIALS
    current = next(_SERIALS)
    _SERIALS = itertools.count(max(current, after))


def fixed_point_factor(largest: float) -> float:
    """The power of two that turns values of magnitude up to `largest` into integers of at most
    2**FIXED_BITS."""
    return 2.0 ** (FIXED_BITS - max(0, math.ceil(math.log2(max(float(largest), 1.0)))))


def to_fixed(values: np.ndarray, factor: float) -> np.ndarray:
    """Values in fixed point: round(value x factor) as int64 (factor from `fixed_point_factor`)."""
    from .kernels import fixed_point

    fixed, finite = fixed_point(np.ascontiguousarray(values, dtype=np.float64), float(factor))
    if not finite:
        raise ValueError("neighbour sums of values that are not finite numbers")
    return fixed


@dataclass(frozen=True)
class Relations:
    """Undirected ties in CSR form: the neighbours of i are indices[indptr[i]:indptr[i + 1]], sorted.

    `serial` names this graph; a graph made by `edited` records in `edit_of` the serial of the
    graph it was made from and the rows the edits touched (the others have the same neighbours)."""

    indptr: np.ndarray
    indices: np.ndarray
    edit_of: tuple[int, np.ndarray] | None = field(default=None, compare=False, repr=False)
    serial: int = field(default_factory=lambda: next(_SERIALS), init=False, compare=False, repr=False)

    @property
    def n_subjects(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @cached_property
    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    @cached_property
    def most_ties(self) -> int:
        """The largest degree (0 without subjects)."""
        return int(self.degree.max()) if self.n_subjects else 0

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
        from .kernels import pairs_to_csr

        used = pairs_to_csr(a, b, n_subjects, indptr, indices)
        indices.resize(used, refcheck=False)  # shrinks in place: no second copy of the ties
        return cls(indptr, indices)

    def edited(self, remove_a: np.ndarray, remove_b: np.ndarray, add_a: np.ndarray, add_b: np.ndarray) -> Relations:
        """A new graph without the ties (remove_a[i], remove_b[i]) and with the ties (add_a[i], add_b[i]).

        Edits are few next to the ties: they are sorted, then merged row by row with the stored
        entries in one compiled pass (ties that do not exist are not removed, ties that exist are not
        added twice, self-ties are ignored). A tie both removed and added in one batch stays."""
        remove_rows, remove_cols, add_rows, add_cols = self._edits(remove_a, remove_b, add_a, add_b)
        with PARALLEL_KERNELS:
            from .kernels import merge_rows

            indptr, indices, rows = merge_rows(self.indptr, self.indices, remove_rows, remove_cols, add_rows, add_cols)
        return Relations(indptr, indices, edit_of=(self.serial, rows))

    def edited_in_place(self, remove_a: np.ndarray, remove_b: np.ndarray, add_a: np.ndarray,
                        add_b: np.ndarray) -> Relations:
        """`edited`'s graph, its ties moved within the array that stores this graph's `indices`, not
        copied into new arrays: no second copy of the ties is held while it is made
        (`kernels.edit_in_place`). The new `indices` is a view of that array, whose room beyond the
        ties (`with_room`) takes the ties added; only where there is not room enough is it enlarged
        (realloc, which may copy). This graph is used up: it must not be read again, nor any other
        view of its storage be in use. Where its `indices` is not stored so (a view of memory that
        is not a writeable array of its own: a graph read from a saved state), `edited`'s copy."""
        storage = self._storage()
        if storage is None:
            return self.edited(remove_a, remove_b, add_a, add_b)
        from .kernels import edit_in_place

        remove_rows, remove_cols, add_rows, add_cols = self._edits(remove_a, remove_b, add_a, add_b)
        with PARALLEL_KERNELS:
            indptr, indices, rows = edit_in_place(self.indptr, storage, remove_rows, remove_cols, add_rows, add_cols)
        return Relations(indptr, indices, edit_of=(self.serial, rows))

    def with_room(self, share: float) -> Relations:
        """This graph with its ties stored in an array `share` of their number longer (and 1,024
        entries), `indices` a view of its start: room for the ties a later `edited_in_place` adds
        without enlarging the array. A copy of the ties: made where memory is not at its peak (a
        simulation's set-up), it spares the runs' weeks a second copy."""
        storage = np.empty(self.indices.size + int(self.indices.size * share) + 1024, dtype=self.indices.dtype)
        storage[:self.indices.size] = self.indices
        return Relations(self.indptr, storage[:self.indices.size])

    def _storage(self) -> np.ndarray | None:
        """The writeable array of its own whose start `indices` is, or None."""
        indices = self.indices
        storage = indices if indices.base is None else indices.base
        if not isinstance(storage, np.ndarray) or not (storage.flags.owndata and storage.flags.writeable) \
                or storage.ndim != 1 or storage.dtype != indices.dtype or not indices.flags.c_contiguous \
                or storage.ctypes.data != indices.ctypes.data:
            return None
        return storage

    def _edits(self, remove_a: np.ndarray, remove_b: np.ndarray, add_a: np.ndarray,
               add_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The removals (rows, columns; int64) and additions (in the indices' type), both ways
        round, sorted by (row, column), each once, without self-ties."""
        n = self.n_subjects

        def both_ways(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
            keep = a != b
            rows, cols = np.concatenate([a[keep], b[keep]]), np.concatenate([b[keep], a[keep]])
            keys = np.sort(rows * n + cols)  # then each once: a quarter of np.unique's time here
            keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys
            return (keys // n).astype(np.int64), (keys % n).astype(np.int64)

        add_rows, add_cols = both_ways(add_a, add_b)
        remove_rows, remove_cols = both_ways(remove_a, remove_b)
        return remove_rows, remove_cols, add_rows.astype(self.indices.dtype), add_cols.astype(self.indices.dtype)

    @classmethod
    def empty(cls, n_subjects: int) -> Relations:
        return cls(np.zeros(n_subjects + 1, dtype=np.int32), np.zeros(0, dtype=np.int32))

    def neighbour_sum(self, fixed: np.ndarray) -> np.ndarray:
        """Sum of `fixed` (int64, see `to_fixed`) over each subject's neighbours: A @ fixed, with A
        the 0/1 adjacency, exact."""
        if self.most_ties > MAX_TIES:
            raise ValueError(f"a subject has {self.most_ties:,} ties; neighbour sums are exact up to "
                             f"{MAX_TIES:,} ties a subject")
        from .kernels import row_sums, row_sums_serial

        fixed = np.ascontiguousarray(fixed, dtype=np.int64)
        if self.indices.size < 1 << 16:
            return row_sums_serial(self.indptr, self.indices, fixed)
        with PARALLEL_KERNELS:
            return row_sums(self.indptr, self.indices, fixed)


class NeighbourSums:
    """Sums of a value over each subject's neighbours, in fixed point (see `to_fixed`), kept from
    one call to the next.

    From one day to the next a simulation changes the `pre` of some people: each changed value's
    difference in fixed point is added to its neighbours' sums. The sums are integers, so this is
    exactly what a full pass gives. A new graph, or changes to most people, takes a full pass. The
    values passed in are kept (not copied): they must not be changed in place afterwards."""

    FULL_PASS_SHARE = 0.5  # above this share of people changed, one full pass is cheaper
    FAR_SHARE = 1 / 4  # see most_kept

    def __init__(self) -> None:
        # The graph the sums were made on, by its serial: a graph replaced by a rebuilt one is not
        # kept alive here (at 50M people that would be 2 GiB).
        self.graph: int | None = None
        self.values: np.ndarray | None = None
        self.factor = 0.0
        self.totals: np.ndarray | None = None

    def sums(self, graph: Relations, values: np.ndarray, factor: float) -> np.ndarray:
        """The neighbour sums of `values` in fixed point (`factor` units to one) on `graph`: an
        int64 array this object owns and updates later. On a graph edited from the one the sums
        were made on, the edited rows are summed again from the kept values (the rest have the
        same neighbours), then the changes are added as on any day."""
        import numba

        from .kernels import add_changes, differing, fixed_row_sums

        values = np.ascontiguousarray(values, dtype=np.float64)
        kept = self.values is not None and self.totals is not None and self.values.shape == values.shape \
            and self.factor == factor
        if kept and self.graph != graph.serial and graph.edit_of is not None and graph.edit_of[0] == self.graph:
            assert self.totals is not None and self.values is not None
            rows = graph.edit_of[1]
            with PARALLEL_KERNELS:
                self.totals[rows] = fixed_row_sums(graph.indptr, graph.indices, self.values, factor, rows)
            self.graph = graph.serial
        if kept and self.graph == graph.serial:
            assert self.totals is not None and self.values is not None
            with PARALLEL_KERNELS:  # a million compared on every thread; few (a live read): one
                changed = differing(self.values, values, numba.get_num_threads() if values.size >= 1 << 18 else 1)
            if changed.size <= self.FULL_PASS_SHARE * values.size:
                parts = numba.get_num_threads() if changed.size >= 1 << 12 else 1  # few: one thread
                with PARALLEL_KERNELS:
                    finite = add_changes(graph.indptr, graph.indices, changed, values, self.values, factor,
                                         self.totals, parts, self.most_kept(values.size, parts))
                if not finite:
                    raise ValueError("neighbour sums of values that are not finite numbers")
                self.values = values
                return self.totals
        totals = graph.neighbour_sum(to_fixed(values, factor))
        self.graph, self.values, self.factor, self.totals = graph.serial, values, factor, totals
        return totals

    def sums_were(self, graph: Relations, rows: np.ndarray, values: np.ndarray, factor: float
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The sums had the kept values been `values` at `rows` (the kept sums stay as they are):
        the subjects whose sums that changes, and those sums. Each changed value's difference in
        fixed point is added to its neighbours' kept sums, exactly as a full pass would sum them:
        added into the kept sums in place, the subjects reached read in id order (a pass over a
        mark array as long as the population), then taken back out (integers: exact). So the kept
        sums are altered while it runs: no reader may use them meanwhile."""
        assert self.graph == graph.serial and self.values is not None and self.totals is not None, \
            "sums kept on this graph"
        from .kernels import sums_with_steps

        step = to_fixed(values, factor) - to_fixed(self.values[rows], factor)
        moving = np.flatnonzero(step)
        reached = np.empty(self.totals.size + 1, dtype=np.int64)  # NumPy's memory (see the kernels' docstring)
        count, totals = sums_with_steps(graph.indptr, graph.indices, np.asarray(rows, dtype=np.int64)[moving],
                                        step[moving], self.totals, reached)
        return reached[:count], totals

    def most_kept(self, n: int, parts: int) -> int:
        """The most ties out of its range each part of `add_changes` keeps for the others (beyond
        which a subject's ties are walked again by them: slower, never wrong): n x FAR_SHARE in all,
        12 bytes each, so 3 bytes a person at most whatever the threads. A part keeps room for two
        per changed subject of its own within that, about twice what they need (a tenth of ~10
        ties lead out of a part's range)."""
        return int(n * self.FAR_SHARE) // parts if parts > 1 else 0
