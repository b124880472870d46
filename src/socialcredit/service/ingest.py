"""Ingest: events and relations come in, are checked, stored once, audited, and the subjects they
move are rescored, all in one transaction answered after its commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..eventlog import EARLIEST_TIME, parse_times
from ..scheme import Scheme
from . import audit
from .db import Relation
from .errors import ServiceError
from .keys import Actor
from .scorer import Scorer
from .store import Store

MAX_BATCH = 10_000
SHOWN = 1000  # ids and subjects an audit entry names at most


class Ingest:
    def __init__(self, scheme: Scheme, store: Store, scorer: Scorer, now: Callable[[], float]):
        self.scheme = scheme
        self.store = store
        self.scorer = scorer
        self.now = now

    def check(self, events: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The batch's good events as rows to store, and its bad ones as {index, field, problem}."""
        rows: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        codes = {name: code for code, name in enumerate(self.scheme.events)}
        raw_times = [e.get("time") for e in events]
        as_text = pa.array([None if t is None else str(t) for t in raw_times], type=pa.string())
        times = parse_times(as_text)
        latest = self.now() + 1  # a day's grace, for time zones: later is in the future
        for index, event in enumerate(events):
            problem = None
            subject, kind = event.get("subject"), event.get("kind")
            if not isinstance(subject, str) or not subject.strip():
                problem = ("subject", "missing; give every event a subject id")
            elif kind not in codes:
                problem = ("kind", f"unknown event kind {kind!r} for scheme '{self.scheme.id}'; use one of: "
                                   + ", ".join(codes))
            elif np.isnan(times[index]):
                problem = ("time", f"cannot read {raw_times[index]!r} as a time; use an ISO date or datetime, or "
                                   "days since 1970-01-01")
            elif times[index] < EARLIEST_TIME or times[index] > latest:
                # as `score` does: a record of what has not happened yet, or before any record, is a typo
                problem = ("time", f"{raw_times[index]!r} is " + ("before 1900" if times[index] < EARLIEST_TIME
                                                                  else "in the future") + "; correct the date")
            else:
                for field in ("value", "weight"):
                    number = event.get(field, 1.0)
                    if number is None:
                        continue
                    if isinstance(number, bool) or not isinstance(number, int | float) or not np.isfinite(number):
                        problem = (field, f"{number!r} is not a number")
                        break
                    if field == "weight" and number < 0:
                        problem = (field, "must not be negative")
                        break
                    event_kind = self.scheme.events[kind]
                    if field == "value" and not event_kind.accepts(np.array([float(number)]))[0]:
                        problem = (field, f"{number!r} is outside what a '{kind}' may carry "
                                          f"({event_kind.range_text()})")
                        break
            if problem is not None:
                rejected.append({"index": index, "field": problem[0], "problem": problem[1]})
                continue
            event_id = event.get("id") or uuid.uuid4().hex
            rows.append({"id": str(event_id), "subject": subject, "kind": kind, "time": float(times[index]),
                         "value": float(event.get("value") if event.get("value") is not None else 1.0),
                         "weight": float(event.get("weight") if event.get("weight") is not None else 1.0),
                         "source": event.get("source"), "actor": event.get("actor")})
        return rows, rejected

    def events(self, events: Sequence[dict[str, Any]], actor: Actor, atomic: bool = False) -> dict[str, Any]:
        """Store a batch; answer only after commit. Invalid events are reported by index and reason;
        an event whose id is stored already is a duplicate, not stored again."""
        if len(events) > MAX_BATCH:
            raise ServiceError(413, f"events: a batch holds at most {MAX_BATCH:,} events, got {len(events):,}")
        rows, rejected = self.check(events)
        if rejected and atomic:
            raise ServiceError(422, "events: nothing was stored (atomic batch): " + "; ".join(
                f"[{r['index']}] {r['field']}: {r['problem']}" for r in rejected[:20]))
        with self.store.writing() as session:
            existing = self.store.stored_ids(session, [row["id"] for row in rows])
            fresh = [dict(row, ingested_by=actor.name) for row in rows if row["id"] not in existing]
            if fresh:
                self.store.insert_events(session, fresh)
            subjects = sorted({row["subject"] for row in fresh})
            audit.append(session, actor.name, "ingest", None,
                         {"stored": len(fresh), "duplicates": len(existing),
                          "rejected": len(rejected), "subjects": subjects[:SHOWN],
                          "event_ids": [row["id"] for row in fresh][:SHOWN]})
            if subjects:
                self.scorer.record_scores(session, self.scorer.affected(session, subjects))
        return {"stored": len(fresh), "duplicates": sorted(existing), "rejected": rejected}

    def relations(self, pairs: Iterable[tuple[str, str]], actor: Actor) -> dict[str, Any]:
        """Add undirected ties (a tie of one with oneself is none); with a network term, the subjects
        they join are rescored."""
        ties = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
        with self.store.writing() as session:
            existing = {tie for tie in ties if session.get(Relation, tie) is not None}
            fresh = ties - existing
            session.add_all([Relation(a=a, b=b) for a, b in sorted(fresh)])
            audit.append(session, actor.name, "relations", None, {"added": sorted(fresh)[:SHOWN]})
            session.flush()
            if fresh and self.scheme.network is not None:
                self.scorer.record_scores(session, self.scorer.affected(session, sorted({s for tie in fresh
                                                                                        for s in tie})))
        return {"added": len(fresh), "existing": len(existing)}
