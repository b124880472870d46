"""The scoring adapter: stored events in, the one scoring core, scores out.

For a subject, the score is computed from their active events up to now, and, with a network
term, from their neighbours' `pre` on the neighbours' own events; stored events are never edited,
so a score is always recomputed, never patched. The same events through `socialcredit score` give
the same results (tests/service/test_durability.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from sqlalchemy.orm import Session

from ..eventlog import parse_times
from ..scheme import Scheme
from ..scoring import EventArrays, Relations, Scores, score_events
from ..scoring.core import COMPILED_FROM
from ..scoring.kernels import row_sums
from . import listings
from .columns import Columns
from .coverage import Cover
from .db import ScoreRecord, utcnow
from .store import SCORE_ROW, DriverRows, Reader, Store

if TYPE_CHECKING:
    from .history import KeptHistory

# a row of `Store.active_events`; made into columns at once: transposing ~100,000 rows (what an
# ingest's scoring reads with 1M events stored) with zip and making an array of each took twice as long
READ_ROW = np.dtype([("subject", object), ("kind", object), ("time", np.float64), ("value", np.float64),
                     ("weight", np.float64)])
# up to this many names a dict is quicker than Arrow (its set-up is most of a read's look-up)
FEW_NAMES = 2000


def codes_of(names: Sequence[str] | np.ndarray, code: Callable[[str], int], dtype: type) -> np.ndarray:
    """Each name's code, `code` asked once for each distinct name: an ingest's scoring reads every
    stored event of the batch's subjects (~100,000 rows of ~1,000 subjects and a few kinds for a
    batch of 1,000 with 1M events stored): a dict look-up per row is Python's work, this is Arrow's."""
    if len(names) <= FEW_NAMES:  # a read's subject: Python's dict is quicker than Arrow's set-up
        codes: dict[str, int] = {}
        return np.array([codes[name] if name in codes else codes.setdefault(name, code(name)) for name in names],
                        dtype=dtype)
    encoded = pa.array(names, type=pa.string()).dictionary_encode()
    lookup = np.array([code(name) for name in encoded.dictionary.to_pylist()], dtype=dtype)
    return lookup[encoded.indices.to_numpy(zero_copy_only=False)]


class Scorer:
    def __init__(self, scheme: Scheme, now: Callable[[], float]):
        self.scheme = scheme
        self.now = now
        self.codes = {name: code for code, name in enumerate(scheme.events)}

    def warm(self) -> None:
        """Score a made-up population large enough to take the compiled paths, once, before
        serving: numba loads each kernel from its cache at its first call, a cost (far above a
        read's) which would otherwise fall on the first requests (the first ingest's scoring, the
        first read). The same for reading times sent as text, which loads pandas the first time."""
        parse_times(pa.array(["2026-01-01"]))
        kinds = len(self.scheme.events)
        for n in (COMPILED_FROM, 1):  # the batch paths, and those of a read of one subject
            ids = np.arange(n)
            held = ids if kinds else ids[:0]  # a scheme without events scores everyone at base
            events = EventArrays.build(held, held % max(kinds, 1), np.zeros(held.size), np.ones(held.size),
                                       np.ones(held.size), n_subjects=n)
            relations = Relations.from_pairs(ids, (ids + 1) % n, n) if self.scheme.network is not None else None
            # a made-up population's made-up places on the input lists (every other one on each)
            inputs = {name: ids % 2 == 0 for name in self.scheme.input_lists}
            score_events(self.scheme, events, 1.0, relations, inputs=inputs).reasons  # noqa: B018 (made when asked)
        if self.scheme.network is not None:  # the parallel sum of large graphs, and OpenMP's threads
            ring = np.arange(4, dtype=np.int32)
            row_sums(np.arange(5, dtype=np.int32), ring[::-1].copy(), np.ones(4, dtype=np.int64))

    def affected(self, session: Reader, subjects: Sequence[str]) -> list[str]:
        """Subjects whose score changes when these subjects' events change: they and, with a network
        term, their neighbours."""
        if self.scheme.network is None:
            return sorted(set(subjects))
        return sorted(set(subjects) | {s for tie in Store.ties(session, subjects) for s in tie})

    def score(self, session: Reader, subjects: Sequence[str], as_of: float | None = None,
              fresh: Columns | None = None, history: KeptHistory | None = None
              ) -> tuple[Scores, list[str], int]:
        """Score these subjects at `as_of` (default now) from stored active events: (the scores of
        the subjects and, with a network term, their neighbours; their ids in that order; how many
        events were read). `fresh`: events not stored yet (rows as `Ingest` stores them, of these
        subjects), scored as if they were: after each subject's stored events, as they will be.
        `history`: the events kept in memory (an ingest's, brought to the log's last entry by its
        `sync` first), read from the database only for the subjects it does not hold yet."""
        as_of = self.now() if as_of is None else as_of
        ring = set(subjects)
        ties: list[tuple[str, str]] = []
        if self.scheme.network is not None:
            ties = Store.ties(session, subjects)
            ring |= {s for tie in ties for s in tie}
        ids = sorted(ring)
        index = {s: i for i, s in enumerate(ids)}
        if history is not None:
            events, read = history.events(session, ids, as_of, fresh)
        else:
            events, read = self.stored_events(session, ids, index, as_of, fresh)
        relations = None
        if self.scheme.network is not None:
            relations = Relations.from_pairs(np.array([index[a] for a, _ in ties], dtype=np.int64),
                                             np.array([index[b] for _, b in ties], dtype=np.int64), len(ids))
        # another body's lists, as they stood at `as_of` (read only for a scheme that has them)
        inputs = listings.inputs(session, self.scheme, ids, as_of) if self.scheme.input_lists else None
        return score_events(self.scheme, events, as_of, relations, inputs=inputs), ids, read

    def stored_events(self, session: Reader, ids: list[str], index: dict[str, int], as_of: float,
                      fresh: Columns | None) -> tuple[EventArrays, int]:
        """The active events up to `as_of` of the subjects `ids`, read from the database (then `fresh`
        ones, as `score`), and how many were read; events of kinds the scheme does not know left out."""
        rows = Store.active_events(session, ids, as_of)
        read = len(rows)
        if fresh:  # as the read above would give them once stored: active, up to `as_of`, each subject's last
            rows = rows + [e for e in fresh.tuples(("subject", "kind", "time", "value", "weight")) if e[2] <= as_of]
        table = np.array(rows, dtype=READ_ROW)  # the rows as columns, in one pass in C
        codes = self.codes
        events = EventArrays.build(codes_of(table["subject"], index.__getitem__, np.int64) if len(ids) > 1
                                   else np.zeros(len(table), np.int64),
                                   codes_of(table["kind"], lambda k: codes.get(k, -1), np.int16),
                                   *(np.ascontiguousarray(table[name]) for name in ("time", "value", "weight")),
                                   n_subjects=len(ids))
        known = events.kind >= 0  # kinds a newer scheme version no longer knows are not read
        if not known.all():
            events = EventArrays.build(events.subject[known], events.kind[known], events.time[known],
                                       events.value[known], events.weight[known], n_subjects=len(ids))
        return events, read

    def score_rows(self, session: Reader, subjects: Sequence[str], fresh: Columns | None = None,
                   history: KeptHistory | None = None) -> Columns:
        """These subjects' scores now, as rows of their history (`fresh`, `history`: as `score`)."""
        as_of = self.now()
        recorded_at = utcnow()
        scores, ids, _ = self.score(session, subjects, as_of, fresh, history)
        wanted = set(subjects)
        # whole columns as Python values at once, and one `lists` dict per pattern of membership,
        # shared by the rows that have it (an ingest records a row for each subject it moves:
        # per-row NumPy indexing and dicts were over a third of this in a profile of batches of 1,000)
        tiers = scores.tier_names().tolist()
        score, scored = scores.score.tolist(), scores.scored.tolist()
        names = list(scores.lists)
        patterns: dict[tuple[bool, ...], dict[str, bool]] = {}
        members = (zip(*(scores.lists[name].tolist() for name in names), strict=True) if names
                   else [()] * len(ids))
        picked: list[tuple[str, float | None, str, dict[str, bool]]] = []
        for s, value, counted, tier, member in zip(ids, score, scored, tiers, members, strict=True):
            if s in wanted:
                lists = patterns.get(member)
                if lists is None:
                    lists = patterns[member] = dict(zip(names, map(bool, member), strict=True))
                picked.append((s, float(value) if counted else None, str(tier), lists))
        names_of = ("subject", "score", "tier", "lists")
        rows = Columns(dict(zip(names_of, zip(*picked, strict=True), strict=True)) if picked
                       else dict.fromkeys(names_of, ()), len(picked))
        rows.constant("as_of", as_of)
        rows.constant("scheme_version", f"{self.scheme.id}@{self.scheme.version}")
        rows.constant("recorded_at", recorded_at)
        return rows

    def record_scores(self, session: Session, subjects: Sequence[str], cover: Cover) -> None:
        """Add these subjects' scores now to their history, in the caller's transaction (the change
        that moved them), covered by that change's audit entry."""
        rows = self.score_rows(session, subjects)
        cover.add("scores", rows)
        DriverRows.of(session.get_bind().dialect, ScoreRecord.__table__, SCORE_ROW, rows).insert(session)
