"""Each subject's scoring state kept between ingests, so that a batch does not read again the
history of the subjects it moves.

What the state is: the subjects' active events (kind, time, value, weight), in the order they were
stored, as columns in memory. Not running sums by window, because no rule of the scheme format
can be scored from sums to the bit: every feature is read at the time of scoring ("now"), and
windows, retention and half-lives are relative to it, so an event leaves a window or the
retention at a time no sum can know without the event's time, a decayed weight changes with every
scoring, and sums of fractional values depend on the order they are added in (the scores sum each
subject's events in the order they were stored). So the state is what scoring reads, and scoring
runs on it as it runs on what the database gives: the same events in the same order, hence the same
scores to the bit (tests/service/test_history.py).

When it is good: the state reflects the store as of audit entry `seq`. Every change appends its
entry in the transaction that makes it (`audit.changed_since`), so before each use the log is read
from `seq` on: reads and changes that leave every event as it was (a tie, an appeal filed) keep the
state; this process's own ingests add their events as they commit (`added`); any other change (an
ingest by another server process, an appeal decided, an erasure, a purge) drops the whole state,
which is then read again from the database, subject by subject, as batches name them. Events
written into the database by other hands, with no entry, are not seen until the state is dropped
(an id of theirs met by a batch drops it: `Ingest.prepare` finds it stored with no entry, or
`Ingest.events` finds it stored meanwhile as it inserts).

A process holds one state for its scheme (a new scheme or a restart starts empty); it is used only
under `Store.change_lock`, by one ingest at a time. It holds at most `MAX_KEPT_EVENTS` events (34
bytes each) and starts over once past that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..scoring import EventArrays
from . import audit, runs
from .columns import Columns
from .db import AuditEntry, Event
from .scorer import codes_of
from .store import CHUNK, PG_ORDER, Reader, dialect_of, driver_rows, places

MAX_KEPT_EVENTS = 4_000_000  # ~136 MB of columns

# the changes that leave every event as it was (they add a tie, an appeal not yet decided, or
# change an input list: the scores read those from the database each time, `listings.inputs`)
KEEP_EVENTS = ("relations", "appeal_filed", "input_list")

# every active event (of some subjects: `ALL_ACTIVE`; of all: `EVERY_ACTIVE`), whatever its time,
# with the entry and the place that stored it, in the order every read of events for scoring gives
# (`store.SCORED_EVENTS`): the order stored, and for events with no entry (written by other hands)
# their content's. The stable sort by entry in `_keep` keeps it, so a warmed server sums the same
# events in the same order as a read. On SQLite from the runs of the events' index (`runs.py`).
_ACTIVE = {"sqlite": ("SELECT subject, kind, time, value, weight, entry, pos FROM event_runs WHERE "
                      f"{runs.IN_RUNS}{{}} AND status = 'active' ORDER BY {runs.ORDER}"),
           "postgresql": ("SELECT subject, kind, time, value, weight, coalesce(entry, -1), coalesce(pos, -1) "
                          f"FROM events WHERE status = 'active'{{}} ORDER BY {PG_ORDER}")}
ALL_ACTIVE = {"sqlite": _ACTIVE["sqlite"].format(" AND subject IN ({})"),
              "postgresql": _ACTIVE["postgresql"].format(" AND subject = ANY(%s)")}
EVERY_ACTIVE = {dialect: statement.format("") for dialect, statement in _ACTIVE.items()}
LOAD_PART = 100_000
# rows appended since the last grouping by subject that are grouped again (`KeptHistory._regroup`):
# past an eighth of those grouped, and at least this many (a batch scans them all)
REGROUP_FROM = 20_000

KEPT_ROW = np.dtype([("subject", object), ("kind", object), ("time", np.float64), ("value", np.float64),
                     ("weight", np.float64), ("entry", np.int64), ("pos", np.int64)])


class KeptHistory:
    def __init__(self, kinds: dict[str, int], most: int = MAX_KEPT_EVENTS):
        self.kinds = kinds  # kind name -> the scheme's code; a kind the scheme no longer knows: -1
        self.most = most
        self._made: tuple[Columns, list[np.ndarray]] | None = None  # `_arrays`' last rows, and their arrays
        self.drop()

    def drop(self) -> None:
        """Keep nothing: the next use reads from the database every subject it names."""
        self.seq: int | None = None  # the audit entry the state reflects; None: not read yet
        # subjects known to have a pseudonym (`audit.name`) as of that entry: an ingest asks the store
        # about the others only (an erasure or a purge, which delete pseudonyms, drop the state)
        self.named: set[str] = set()
        self.slot_of: dict[str, int] = {}  # subject -> their number in the columns
        self.size = 0
        # rows [0, grouped) are ordered by subject (each subject's in the order stored), subject s's
        # being [bounds[s], bounds[s + 1]); rows from `grouped` on were appended since, in the order stored
        self.grouped = 0
        self.bounds = np.zeros(1, np.int64)
        self.subject = np.empty(0, np.int64)
        self.kind = np.empty(0, np.int16)
        self.time = np.empty(0, np.float64)
        self.value = np.empty(0, np.float64)
        self.weight = np.empty(0, np.float64)

    def __len__(self) -> int:
        return self.size

    def sync(self, reader: Reader, last: int | None = None) -> None:
        """Bring the state to the log's last entry (`last`, if the caller has just read it): kept if
        every entry since records a read or a change that leaves the events as they were, else
        dropped."""
        last = audit.last_seq(reader) if last is None else last
        if self.size > self.most or (self.seq is not None and last > self.seq and reader.execute(
                select(func.min(AuditEntry.seq)).where(AuditEntry.seq > self.seq,
                                                       AuditEntry.action.not_in(audit.READS + KEEP_EVENTS))
        ).scalar() is not None):
            self.drop()
        self.seq = last

    def events(self, reader: Reader, ids: Sequence[str], as_of: float,
               fresh: Columns | None = None) -> tuple[EventArrays, int]:
        """The active events up to `as_of` of the subjects `ids` (numbered by their place in it),
        each subject's in the order they were stored, then `fresh` ones (not stored yet: rows as
        `Ingest` stores them) as if they were; and how many events were read from the database.
        Events of kinds the scheme does not know are left out. The state is as the caller's `sync`
        left it (an ingest syncs once, as it begins making its batch)."""
        if self.seq is None:  # subjects read now would be kept with no entry to filter their events by
            raise RuntimeError("KeptHistory.events: the state was not brought to the log's last entry (sync)")
        missing = [s for s in ids if s not in self.slot_of]
        read = self._read(reader, missing) if missing else 0
        if self.size - self.grouped > max(self.grouped // 8, REGROUP_FROM):
            self._regroup()
        slots = np.array([self.slot_of[s] for s in ids], dtype=np.int64)
        local = np.full(len(self.slot_of), -1, dtype=np.int64)
        local[slots] = np.arange(len(ids))
        # each subject's grouped rows (one range each), then those appended since: the order stored
        known = slots[slots < self.bounds.size - 1]
        starts, ends = self.bounds[known], self.bounds[known + 1]
        lengths = ends - starts
        ranges = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
        tail = self.grouped + np.flatnonzero(local[self.subject[self.grouped:self.size]] >= 0)
        rows = np.concatenate([ranges, tail])
        time, kind = self.time[rows], self.kind[rows]
        wanted = (time <= as_of) & (kind >= 0)
        if not wanted.all():
            rows, time, kind = rows[wanted], time[wanted], kind[wanted]
        added: list[np.ndarray] = []
        if fresh:
            index = {s: i for i, s in enumerate(ids)}
            added = [np.array([index[s] for s in fresh["subject"]], dtype=np.int64), *self._arrays(fresh)]
            known = (added[1] >= 0) & (added[2] <= as_of)
            if not known.all():
                added = [column[known] for column in added]
        # the kept events then the fresh ones, gathered into their place (not gathered, then joined)
        size = rows.size + (added[0].size if added else 0)
        columns = [np.empty(size, np.int64), np.empty(size, np.int16), np.empty(size), np.empty(size), np.empty(size)]
        np.take(local, self.subject[rows], out=columns[0][:rows.size])
        columns[1][:rows.size], columns[2][:rows.size] = kind, time
        np.take(self.value, rows, out=columns[3][:rows.size])
        np.take(self.weight, rows, out=columns[4][:rows.size])
        for column, more in zip(columns, added, strict=False):
            column[rows.size:] = more
        return EventArrays.build(*columns, n_subjects=len(ids)), read

    def added(self, rows: Columns, seq: int) -> None:
        """This process's ingest stored `rows` under entry `seq`, and no other change was made since
        the state's entry: the kept subjects' events are now those and these."""
        subjects = rows["subject"]
        self.named.update(subjects)  # named by the ingest that stored them
        slot_of = self.slot_of
        slots = np.array([slot_of.get(s, -1) for s in subjects], dtype=np.int64)
        kept = slots >= 0
        if kept.any():
            self._append(slots[kept], *(column[kept] for column in self._arrays(rows)))
        self.seq = seq

    def _arrays(self, rows: Columns) -> list[np.ndarray]:
        """The kind codes (-1: a kind the scheme does not know), times, values and weights of rows
        not kept yet: made once for a batch, which is scored (`events`), then added (`added`)."""
        if self._made is None or self._made[0] is not rows:
            get = self.kinds.get
            self._made = (rows, [np.array([get(k, -1) for k in rows["kind"]], dtype=np.int16),
                                 *(np.array(rows[name], dtype=np.float64) for name in ("time", "value", "weight"))])
        return self._made[1]

    def load(self, reader: Reader) -> int:
        """Read every subject's active events into the state, if they are at most `most`: a server
        does it as it starts (`Service.warm`), so that its first batches do not read the subjects'
        events one batch at a time. How many events were read."""
        self.drop()
        self.sync(reader)
        if int(reader.execute(select(func.count()).select_from(Event)).scalar() or 0) > self.most:
            return 0  # the batches will read the subjects they name
        connection = reader.connection() if isinstance(reader, Session) else reader
        result = connection.exec_driver_sql(EVERY_ACTIVE[dialect_of(connection)])
        parts = []
        try:  # in parts: a million rows as Python tuples at once would take ~250 MB
            while rows := result.cursor.fetchmany(LOAD_PART):
                parts.append(np.array(rows, dtype=KEPT_ROW))
        finally:
            result.close()
        table = np.concatenate(parts) if parts else np.empty(0, dtype=KEPT_ROW)
        kept = self._keep(sorted(set(table["subject"].tolist())), table)
        self._regroup()
        return kept

    def _read(self, reader: Reader, subjects: list[str]) -> int:
        """Read these subjects' active events from the database into the state; how many."""
        dialect = dialect_of(reader)
        rows: list[tuple[Any, ...]] = []
        if dialect == "postgresql":
            rows = driver_rows(reader, ALL_ACTIVE[dialect], (subjects,))
        else:
            for start in range(0, len(subjects), CHUNK):
                chunk = subjects[start:start + CHUNK]
                rows += driver_rows(reader, places(ALL_ACTIVE[dialect], len(chunk)), chunk)
        return self._keep(subjects, np.array(rows, dtype=KEPT_ROW))

    def _keep(self, subjects: list[str], table: np.ndarray) -> int:
        """Keep these subjects (none kept yet) with their events `table` (`KEPT_ROW`); how many."""
        first = len(self.slot_of)
        self.slot_of.update((s, first + i) for i, s in enumerate(subjects))
        if not len(table):
            return 0
        # in the order they were stored (an event written by other hands, with no entry, first);
        # events of entries after the state's are left to the next `sync`, which drops the state
        table = table[np.lexsort((table["pos"], table["entry"]))]
        if self.seq is not None:
            table = table[table["entry"] <= self.seq]
        kinds = self.kinds
        self._append(codes_of(table["subject"], self.slot_of.__getitem__, np.int64),
                     codes_of(table["kind"], lambda k: kinds.get(k, -1), np.int16),
                     *(np.ascontiguousarray(table[name]) for name in ("time", "value", "weight")))
        return len(table)

    def _regroup(self) -> None:
        """Order every kept row by subject, keeping each subject's in the order stored (a stable
        sort): a subject's rows become one range, read without looking at the others'."""
        n = self.size
        order = np.argsort(self.subject[:n], kind="stable")
        for name in ("subject", "kind", "time", "value", "weight"):
            column = getattr(self, name)
            column[:n] = column[:n][order]
        self.bounds = np.concatenate([[0], np.cumsum(np.bincount(self.subject[:n], minlength=len(self.slot_of)))])
        self.grouped = n

    def _append(self, subject: np.ndarray, kind: np.ndarray, time: np.ndarray, value: np.ndarray,
                weight: np.ndarray) -> None:
        end = self.size + subject.size
        if end > self.subject.size:  # grow by doubling: appends cost their own size, on average
            capacity = max(end, 2 * self.subject.size, 1024)
            for name in ("subject", "kind", "time", "value", "weight"):
                old = getattr(self, name)
                grown = np.empty(capacity, dtype=old.dtype)
                grown[:self.size] = old[:self.size]
                setattr(self, name, grown)
        for name, column in (("subject", subject), ("kind", kind), ("time", time), ("value", value),
                             ("weight", weight)):
            getattr(self, name)[self.size:end] = column
        self.size = end
