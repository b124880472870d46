"""A second feature state that differs from a base state for few subjects: kept only for them.

A simulation scores every scheme twice where records can be false: on every record received (the
base, an `IncrementalFeatures` of everyone) and on the genuine ones only (the truth). The two agree
for everyone no false record has reached, so the truth keeps rows only for the subjects it has
been told differ (`track`), from the moment they do; everyone else's features are read from the
base. To the bit the same as a full second state:

- a subject's row starts as a copy of the base's row, taken before the base takes the event that
  makes them differ (the two states had taken the same events of theirs in the same order);
- from then on the row takes the subject's own events (`add`: the caller gives the events this state
  takes, of anyone; those of subjects without a row are the base's too and are dropped here);
- events added before a subject's row began are in the base's history only: when they leave a window
  or retention there (`advance`), the base hands them on and the row takes them back too, before
  its own of the same time, in the order the full state would have taken both. Such an event voided
  in the base (a granted appeal) stays in its batch, marked (`_Batch.voided`), and is still handed
  on: it was genuine, since the subject had no false event before their row began (and a voided
  event's subject is given a row before the base takes it back: `track` first).
"""

from __future__ import annotations

import numpy as np

from .incremental import IncrementalFeatures, Leaving

# Rows are added in chunks of at least this many (and the room doubles): few reallocations.
ROWS_CHUNK = 4096


class SparseFeatures:
    """Features of a state that equals `base` but for the subjects it holds a row for."""

    # The subjects with a row, increasing (what `differs` marks), kept as rows are added; None where
    # not yet made from `row_of` (a state saved before it was kept).
    tracked: np.ndarray | None = None

    def __init__(self, base: IncrementalFeatures):
        self.base = base
        self.n = base.n
        self.row_of = np.full(base.n, -1, dtype=np.int32)  # subject -> its row, -1 for none
        # row -> the base's serial when the row began: its batches before it are the ones to follow
        self.began = np.zeros(0, dtype=np.int64)
        self.size = 0  # rows in use
        self.rows = IncrementalFeatures(base.scheme, 0, start=base.as_of)

    @property
    def as_of(self) -> float:
        return self.rows.as_of

    def differs(self) -> np.ndarray:
        """Per subject, whether they have a row (may differ from the base)."""
        return self.row_of >= 0

    def subjects(self) -> np.ndarray:
        """The subjects with a row, increasing: `np.flatnonzero(self.differs())` without a pass over
        everyone."""
        if self.tracked is None:
            self.tracked = np.flatnonzero(self.row_of >= 0)
        return self.tracked

    def track(self, subjects: np.ndarray) -> None:
        """Give `subjects` rows (those without one yet), as the base has them now: call before the base
        takes the events that make them differ, with both states at the same time."""
        subjects = np.asarray(subjects, dtype=np.int64)
        new = np.unique(subjects[self.row_of[subjects] < 0])
        if not new.size:
            return
        base, rows = self.base, self.rows
        assert base.as_of == rows.as_of, "rows begin with both states at the same time"
        start, end = self.size, self.size + new.size
        if end > rows.n:
            capacity = max(end, 2 * rows.n, ROWS_CHUNK)
            rows.grow(capacity)
            self.began = np.concatenate([self.began, np.zeros(capacity - self.began.size, dtype=np.int64)])
        mine = np.arange(start, end)
        self.row_of[new] = mine
        if self.tracked is not None:
            from .kernels import union_sorted

            self.tracked = union_sorted(self.tracked, new)  # both increasing (none of `new` had a row)
        self.began[mine] = base.serial
        self.size = end
        for kept, theirs in ((rows.total, base.total), (rows.weight, base.weight), (rows.held, base.held),
                             (rows.latest, base.latest), (rows.merged, base.merged)):
            for name, values in kept.items():
                values[mine] = theirs[name][new]

    def advance(self, as_of: float) -> None:
        """Move the base and this state to `as_of`: the base's events of subjects with a row that leave
        and were added before the row began are taken back from the row too."""
        left: list[Leaving] = []
        self.base.advance(as_of, leaving=left if self.size else None)
        self.rows.advance(as_of, also=self._followed(left))

    def _followed(self, left: list[Leaving]) -> list[Leaving]:
        """Of the events that left the base, those of subjects with rows added before their rows began,
        as rows."""
        out: list[Leaving] = []
        for name, time, serial, subject, value, weight in left:
            row = self.row_of[subject]
            mine = row >= 0
            if not mine.any():
                continue
            mine[mine] = self.began[row[mine]] > serial
            if mine.any():
                out.append((name, time, serial, row[mine].astype(np.int64),
                            None if value is None else value[mine], None if weight is None else weight[mine]))
        return out

    def add(self, time: float, subject: np.ndarray, kind: np.ndarray, value: np.ndarray | None = None,
            weight: np.ndarray | None = None) -> None:
        """Events this state takes (of anyone): those of subjects with a row go to their rows; everyone
        else's the base has taken too."""
        row = self.row_of[np.asarray(subject, dtype=np.int64)]
        mine = np.flatnonzero(row >= 0)
        if mine.size:
            self.rows.add(time, row[mine].astype(np.int64), np.asarray(kind)[mine],
                          None if value is None else np.asarray(value)[mine],
                          None if weight is None else np.asarray(weight)[mine])

    def forget(self, subjects: np.ndarray) -> None:
        """Drop every event of `subjects` held here (the base forgets its own)."""
        row = self.row_of[np.asarray(subjects, dtype=np.int64)]
        self.rows.forget(row[row >= 0].astype(np.int64))

    def features(self, part: slice | np.ndarray | None = None, only: frozenset[str] | None = None,
                 views: bool = False) -> dict[str, np.ndarray]:
        """As `IncrementalFeatures.features`: the base's, with the rows' where subjects have them."""
        row = self.row_of[part if part is not None else slice(0, self.n)]
        mine = np.flatnonzero(row >= 0)
        if not mine.size:
            return self.base.features(part, only, views)
        out = self.base.features(part, only)
        own = self.rows.features(row[mine].astype(np.int64), only)
        for name, values in out.items():
            values[mine] = own[name]
        return out
