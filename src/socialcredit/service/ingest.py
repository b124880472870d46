"""Ingest: events and relations come in, are checked, stored once, audited, and the subjects they
move are rescored, all in one transaction answered after its commit.

Events are checked by the same rules as `socialcredit score` checks a log's rows
(`eventlog.check_events`), so the two accept and refuse the same events with the same words.

A batch of events is made ready outside the write transaction: checked, its stored ids looked up,
the subjects it moves scored with it (`Scorer.score`'s `fresh`: as they will be once it is
stored), every row covered by digest. The write transaction then only writes, so the reads, whose
audit entries wait for the write lock, wait for that alone. What was made is good if nothing
changed the store meanwhile: in this process no other change runs (`Store.change_lock`), and a
change made by another process appended its audit entry (every change does), so the write
transaction looks for an entry after the one the batch was made at that records no read, and
makes the batch again inside, where nothing can change, if it finds one.

On PostgreSQL the scores are made in the write transaction instead, while the server stores the
events: the COPY sends them first, and the server indexes them as this process scores (on
SQLite, storing them is this process's own work, and it would only wait). The scoring reads on the
connection the batch was made ready on (the write transaction's is busy with the COPY), which sees
what the batch was made at: no change was committed since (the write transaction checked), and
none can be until it ends. Nor are the batch's ids looked up first there (a round trip, and as
many index reads as the COPY makes again): the COPY fails on an id stored already, and the batch
is then made again, looked up, in the transaction, as when other hands stored one meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ..eventlog import EVENT_FIELDS, BadRows, check_events, repeated_ids, table_from_records
from ..scheme import Scheme
from . import audit
from .columns import Columns
from .coverage import Cover
from .db import Event, Relation, ScoreRecord, on_day, utcnow
from .errors import ServiceError, invalid
from .history import KeptHistory
from .keys import Actor
from .scorer import Scorer
from .store import EVENT_ROW, SCORE_ROW, DriverRows, Reader, Store, StoredMeanwhile

MAX_BATCH = 10_000


@dataclass
class Batch:
    """A batch made ready to store, as the store stood at entry `seen`: the events to store and the
    scores they move (covered by `cover`; as the driver takes them: `events`, `scores`), and the
    ids stored before."""

    seen: int
    fresh: Columns
    events: DriverRows
    stored_before: set[str]
    cover: Cover
    unnamed: list[str]  # the subjects stored with no pseudonym yet (`audit.name`)
    looked_up: bool  # whether `stored_before` was looked up (else: none, and storing fails on one)
    scores: DriverRows | None = None  # None: not made yet (`Ingest.score`)

    def number(self, seq: int) -> None:
        """The number of the audit entry that covers the batch, once known (scores made later are
        covered under it as they are made)."""
        for rows in (self.cover, self.events, self.scores):
            if rows is not None:
                rows.number(seq)


class Ingest:
    def __init__(self, scheme: Scheme, store: Store, scorer: Scorer, now: Callable[[], float]):
        self.scheme = scheme
        self.store = store
        self.scorer = scorer
        self.now = now
        self.history = KeptHistory(scorer.codes)  # the subjects' events, kept between batches

    def check(self, events: Sequence[dict[str, Any]]) -> tuple[Columns, list[dict[str, Any]], list[str]]:
        """The batch's good events as rows to store (columns), its bad ones as {index, field, problem} (the
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
        names = list(self.scheme.events)
        picked = np.flatnonzero(good)
        every = len(picked) == len(good)

        def given(name: str) -> list[Any]:
            column = table.column(name)
            return (column if every else column.take(picked)).to_pylist()

        kept = Columns({"id": given("id"), "subject": given("subject"),
                        "kind": [names[code] for code in checked.kinds[picked].tolist()],
                        "time": checked.times[picked].tolist(), "value": checked.values[picked].tolist(),
                        "weight": checked.weights[picked].tolist(), "source": given("source"),
                        "actor": given("actor")}, len(picked))
        ids = table.column("id")
        return kept, rejected, [ids[i].as_py() for i in repeated.tolist()]

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
        for_copy = self.store.write_engine.dialect.name == "postgresql"  # scored while the server stores
        with self.store.change_lock:
            try:
                # a read (no write lock); its connection is kept for the scoring in the write transaction
                with self.store.engine.connect() as connection:
                    seen = audit.last_seq(connection)
                    batch = self.prepare(connection, rows, actor, seen, last=seen, for_copy=for_copy)
                    connection.rollback()  # no snapshot held meanwhile: a later read sees the newest
                    with self.store.writing() as session:
                        batch, seq = self.write(session, connection, batch, rows, actor)
                        audit.name(session, batch.unnamed)
                        audit.append(session, actor.name, "ingest", None,
                                     {"stored": len(batch.fresh),
                                      "duplicates": len(batch.stored_before) + len(repeated),
                                      "rejected": len(rejected)}, cover=batch.cover)
            except BaseException:
                self.history.drop()  # whatever was kept may no longer be what is stored: read it again
                raise
            # committed, and no other change since the state's entry (or the batch was made again)
            self.history.added(batch.fresh, seq)
        return {"stored": len(batch.fresh), "duplicates": sorted(batch.stored_before | set(repeated)),
                "rejected": rejected}

    def write(self, session: Session, connection: Connection, batch: Batch, rows: Columns,
              actor: Actor) -> tuple[Batch, int]:
        """Store the batch's events and scores in the write transaction `session` (`connection`: the
        one it was made ready on, for its scoring if not scored yet), made again in it if another
        process changed the store since, or if an id was stored before; the batch as stored, and
        the number of the audit entry that will cover it."""
        if audit.changed_since(session, batch.seen):  # by another process meanwhile
            batch = self.prepare(session, rows, actor, batch.seen)
        seq = audit.next_seq(session)
        batch.number(seq)
        try:
            batch.events.insert(session, meanwhile=None if batch.scores is not None
                                else partial(self.score, connection, batch))
        except StoredMeanwhile:
            # stored before, if not looked up (the batch made again drops the kept events if one
            # has no entry); else by other hands than a server's (which append an entry): the first stands
            if batch.looked_up:
                self.history.drop()  # they may have written other events, which no entry names
            batch = self.prepare(session, rows, actor, batch.seen)
            batch.number(seq)
            self.store.events_if_new(session, batch.fresh.dicts())
        assert batch.scores is not None  # made by `prepare`, or by the insert's meanwhile
        batch.scores.insert(session)
        return batch, seq

    def prepare(self, reader: Reader, rows: Columns, actor: Actor, seen: int, last: int | None = None,
                for_copy: bool = False) -> Batch:
        """The batch's events not stored yet, and the scores of the subjects they move with them, as
        rows covered by digest (the audit entry's number is given when it is appended); `seen`:
        the log's last entry, read before anything else; `last`: the log's last entry as of now,
        if the caller has just read it (a batch made again reads it afresh). `for_copy`: for
        PostgreSQL's COPY, the ids not looked up (all taken as not stored: the COPY fails on one
        that is) and the scores left to `score`, made while the COPY runs."""
        self.history.sync(reader, last)  # even for a batch that moves nobody: its entry will be the state's
        existing = {} if for_copy else self.store.stored_ids(reader, rows["id"])
        if None in existing.values():
            # an id of the batch written by other hands (no entry): other events of theirs, which no
            # entry names, may be missing from the kept state; it is read again from the database
            self.history.drop()
            self.history.sync(reader)
        fresh = rows.where(i not in existing for i in rows["id"])  # a copy: the batch may be made again
        fresh.constant("ingested_by", actor.name)
        fresh.constant("status", "active")
        fresh.constant("ingested_at", utcnow())
        # the audit entry covers the events and scores stored, by digest (coverage.py)
        cover = Cover()
        cover.add("events", fresh)
        unknown = [s for s in sorted(set(fresh["subject"])) if s not in self.history.named]
        named = self.store.named(reader, unknown) if unknown else set()
        batch = Batch(seen, fresh, DriverRows.of(self.store.write_engine.dialect, Event.__table__, EVENT_ROW, fresh),
                      set(existing), cover, [s for s in unknown if s not in named], looked_up=not for_copy)
        if not for_copy:
            self.score(reader, batch)
        return batch

    def score(self, reader: Reader, batch: Batch) -> None:
        """The scores of the subjects the batch moves, with its events, as rows covered by digest
        (numbered already if the batch is)."""
        subjects = sorted(set(batch.fresh["subject"]))
        scores = Columns({})
        if subjects:
            scores = self.scorer.score_rows(reader, self.scorer.affected(reader, subjects), batch.fresh, self.history)
            batch.cover.add("scores", scores)
        batch.scores = DriverRows.of(self.store.write_engine.dialect, ScoreRecord.__table__, SCORE_ROW, scores)

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
            joined = sorted({s for tie in fresh for s in tie})
            audit.name(session, sorted(set(joined) - self.store.named(session, joined)))
            if fresh and self.scheme.network is not None:
                self.scorer.record_scores(session, self.scorer.affected(session, sorted({s for tie in fresh
                                                                                        for s in tie})), cover)
            audit.append(session, actor.name, "relations", None, {"added": len(fresh), "existing": len(existing)},
                         cover=cover)
        return {"added": len(fresh), "existing": len(existing)}
