"""Ingest: events and relations come in, are checked, stored once, audited, and the subjects they
move are rescored, all in one transaction answered after its commit.

Events are checked by the same rules as `socialcredit score` checks a log's rows
(`eventlog.check_events`), so the two accept and refuse the same events with the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..eventlog import EVENT_FIELDS, BadRows, check_events, repeated_ids, table_from_records
from ..scheme import Scheme
from . import audit
from .coverage import Cover
from .db import Relation, on_day, utcnow
from .errors import ServiceError, invalid
from .keys import Actor
from .scorer import Scorer
from .store import Store

MAX_BATCH = 10_000


class Ingest:
    def __init__(self, scheme: Scheme, store: Store, scorer: Scorer, now: Callable[[], float]):
        self.scheme = scheme
        self.store = store
        self.scorer = scorer
        self.now = now

    def check(self, events: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
        """The batch's good events as rows to store, its bad ones as {index, field, problem} (the
        first problem of each, in the order of `EVENT_FIELDS`), and the ids of events that repeat
        an earlier event of the batch (kept once, as `score` keeps the first of a log's)."""
        bad = BadRows("request", is_csv=False)
        table = table_from_records(events, bad)
        latest = self.now() + 1  # a day's grace, for time zones: later is in the future
        checked = check_events(table, self.scheme, bad, latest, for_service=True)
        first: dict[int, tuple[int, str, str]] = {}
        if bad.count:
            rows, problems = np.concatenate(bad.rows).tolist(), np.concatenate(bad.problems).tolist()
            for row, column, problem in zip(rows, bad.columns, problems, strict=True):
                found = (EVENT_FIELDS.index(column), column, problem)
                if row not in first or found[0] < first[row][0]:
                    first[row] = found
        rejected = [{"index": row, "field": column, "problem": problem}
                    for row, (_, column, problem) in sorted(first.items())]
        good = checked.good
        repeated = repeated_ids(table.column("id"), good)
        good[repeated] = False
        ids, subjects, sources, actors = (table.column(name).to_pylist()
                                          for name in ("id", "subject", "source", "actor"))
        names = list(self.scheme.events)
        kept = [{"id": ids[i], "subject": subjects[i],
                 "kind": names[checked.kinds[i]], "time": float(checked.times[i]), "value": float(checked.values[i]),
                 "weight": float(checked.weights[i]), "source": sources[i], "actor": actors[i]}
                for i in np.flatnonzero(good).tolist()]
        return kept, rejected, [ids[i] for i in repeated.tolist()]

    def events(self, events: Sequence[dict[str, Any]], actor: Actor, atomic: bool = False) -> dict[str, Any]:
        """Store a batch; answer only after commit. Invalid events are reported by index and reason;
        an event whose id is stored already (or came earlier in the batch) is a duplicate, not stored
        again."""
        if len(events) > MAX_BATCH:
            raise invalid("events", f"a batch holds at most {MAX_BATCH:,} events, got {len(events):,}")
        rows, rejected, repeated = self.check(events)
        if rejected and atomic:
            said = f"nothing was stored (atomic batch): {len(rejected):,} of {len(events):,} events are invalid"
            raise ServiceError(422, f"events: {said}", [{"field": "events", "problem": said}] + [
                {"field": f"events.{r['index']}.{r['field']}", "problem": r["problem"]} for r in rejected])
        with self.store.writing() as session:
            existing = self.store.stored_ids(session, [row["id"] for row in rows])
            fresh = [dict(row, ingested_by=actor.name) for row in rows if row["id"] not in existing]
            # the audit entry covers the events and scores stored, by digest (coverage.py)
            cover = Cover(audit.next_seq(session))
            ingested_at = utcnow()
            for row in fresh:
                row["ingested_at"] = ingested_at
            cover.add("events", fresh)
            if fresh:
                self.store.insert_events(session, fresh)
            duplicates = existing | set(repeated)
            subjects = sorted({row["subject"] for row in fresh})
            if subjects:
                self.scorer.record_scores(session, self.scorer.affected(session, subjects), cover)
            audit.append(session, actor.name, "ingest", None,
                         {"stored": len(fresh), "duplicates": len(existing) + len(repeated),
                          "rejected": len(rejected)}, cover=cover)
        return {"stored": len(fresh), "duplicates": sorted(duplicates), "rejected": rejected}

    def relations(self, pairs: Iterable[tuple[str, str]], actor: Actor) -> dict[str, Any]:
        """Add undirected ties (a tie of one with oneself is none); with a network term, the subjects
        they join are rescored."""
        ties = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
        with self.store.writing() as session:
            existing = {tie for tie in ties if session.get(Relation, tie) is not None}
            fresh = ties - existing
            # the audit entry covers the ties and scores stored, by digest (coverage.py)
            cover = Cover(audit.next_seq(session))
            added_at = on_day(self.now())  # by the clock retention reads
            added = [Relation(a=a, b=b, added_at=added_at) for a, b in sorted(fresh)]
            cover.add("ties", added)
            session.add_all(added)
            session.flush()
            if fresh and self.scheme.network is not None:
                self.scorer.record_scores(session, self.scorer.affected(session, sorted({s for tie in fresh
                                                                                        for s in tie})), cover)
            audit.append(session, actor.name, "relations", None, {"added": len(fresh), "existing": len(existing)},
                         cover=cover)
        return {"added": len(fresh), "existing": len(existing)}
