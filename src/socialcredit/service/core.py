"""The service's work, independent of HTTP: ingest, recompute, explain, appeal, purge.

Scores are computed by the one scoring core from the stored events (never edited): for a subject,
from their active events up to now, and, with a network term, their neighbours' `pre` from the
neighbours' own events. The same events through `socialcredit score` give the same results.
"""

from __future__ import annotations

import asyncio
import threading
import time as clock
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from sqlalchemy import bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ..eventlog import EARLIEST_TIME, days_to_text, parse_times
from ..scheme import Scheme
from ..scheme.guards import event_dependencies
from ..scoring import EventArrays, Relations, Scores, score_events
from ..scoring.core import COMPILED_FROM
from ..scoring.kernels import row_sums
from . import audit
from .db import Appeal, AuditEntry, Event, Relation, ScoreRecord, make_sessions, utcnow

MAX_BATCH = 10_000
T = TypeVar("T")

# The statements of the reads, built once: building a SELECT costs several times what SQLite takes
# to run it, and a statement built once also keys SQLAlchemy's compiled cache at no cost.
_EVENT_INPUTS = (Event.subject, Event.kind, Event.time, Event.value, Event.weight)
EVENTS_OF = select(*_EVENT_INPUTS).where(Event.subject == bindparam("subject"), Event.status == "active",
                                         Event.time <= bindparam("as_of"))
EVENTS_IN = select(*_EVENT_INPUTS).where(Event.subject.in_(bindparam("subjects", expanding=True)),
                                         Event.status == "active", Event.time <= bindparam("as_of"))
TIES_OF = select(Relation.a, Relation.b).where(or_(Relation.a == bindparam("subject"),
                                                   Relation.b == bindparam("subject")))
TIES_IN = select(Relation.a, Relation.b).where(or_(Relation.a.in_(bindparam("subjects", expanding=True)),
                                                   Relation.b.in_(bindparam("subjects", expanding=True))))
ANY_EVENT = select(Event.id).where(Event.subject == bindparam("subject")).limit(1)
ANY_TIE = select(Relation.a).where(or_(Relation.a == bindparam("subject"), Relation.b == bindparam("subject"))).limit(1)
EVENT_COLUMNS = (Event.id, Event.kind, Event.time, Event.value, Event.weight, Event.source, Event.status)
CONTESTABLE = select(*EVENT_COLUMNS).where(
    Event.subject == bindparam("subject"), Event.status == "active", Event.kind.in_(bindparam("kinds", expanding=True)),
    Event.time <= bindparam("as_of")).order_by(Event.time)


class ServiceError(Exception):
    """A request the service refuses: an HTTP status and a message naming the field."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def now_days() -> float:
    return clock.time() / 86_400.0


@dataclass
class Actor:
    key_id: str
    role: str
    subject: str | None = None

    @property
    def name(self) -> str:
        return f"{self.role}:{self.key_id}"


class Service:
    def __init__(self, engine: Engine, scheme: Scheme, now: Callable[[], float] = now_days,
                 write_engine: Engine | None = None):
        self.engine = engine
        self.write_engine = write_engine or engine
        self.reader: sessionmaker = make_sessions(engine)
        self.sessions: sessionmaker = make_sessions(self.write_engine)
        self.scheme = scheme
        self.now = now
        self.codes = {name: code for code, name in enumerate(scheme.events)}
        # One writer at a time: the audit chain and idempotent ingest read then write.
        self.write_lock = threading.Lock()
        self.dependencies = event_dependencies(scheme)
        # The hot reads (record, entitlement) run on one kept Core connection: no ORM session, no
        # pool checkout and ping per read. A read that finds it in use takes one from the pool.
        self._kept: Connection | None = None
        self._kept_lock = threading.Lock()
        self.reads = ReadLog(self)

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
            score_events(self.scheme, events, 1.0, relations).reasons  # noqa: B018 (made when first asked for)
        if self.scheme.network is not None:  # the parallel sum of large graphs, and OpenMP's threads
            ring = np.arange(4, dtype=np.int32)
            row_sums(np.arange(5, dtype=np.int32), ring[::-1].copy(), np.ones(4, dtype=np.int64))

    # --- writing ---------------------------------------------------------------------------
    def _begin_write(self, session: Session | Connection) -> None:
        if self.engine.dialect.name == "postgresql":  # serialise writers across processes too
            session.execute(text("SELECT pg_advisory_xact_lock(726173)"))

    def ingest(self, events: Sequence[dict[str, Any]], actor: Actor, atomic: bool = False) -> dict[str, Any]:
        """Store a batch; answer only after commit. Invalid events are reported by index and reason."""
        if len(events) > MAX_BATCH:
            raise ServiceError(413, f"events: a batch holds at most {MAX_BATCH:,} events, got {len(events):,}")
        rows, rejected = self._check_events(events)
        if rejected and atomic:
            raise ServiceError(422, "events: nothing was stored (atomic batch): " + "; ".join(
                f"[{r['index']}] {r['field']}: {r['problem']}" for r in rejected[:20]))
        with self.write_lock, self.sessions.begin() as session:
            self._begin_write(session)
            ids = [row["id"] for row in rows]
            existing: set[str] = set()
            for start in range(0, len(ids), 500):
                existing |= set(session.execute(select(Event.id).where(Event.id.in_(ids[start:start + 500])))
                                .scalars())
            fresh = [dict(row, ingested_by=actor.name) for row in rows if row["id"] not in existing]
            if fresh:
                session.execute(self._insert_ignoring_duplicates(), fresh)
            subjects = sorted({row["subject"] for row in fresh})
            audit.append(session, actor.name, "ingest", None,
                         {"stored": len(fresh), "duplicates": len(existing), "rejected": len(rejected),
                          "subjects": subjects[:1000], "event_ids": [row["id"] for row in fresh][:1000]})
            if subjects:
                self._record_scores(session, self._affected(session, subjects))
        return {"stored": len(fresh), "duplicates": sorted(existing), "rejected": rejected}

    def _insert_ignoring_duplicates(self):  # type: ignore[no-untyped-def]
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        return insert(Event).on_conflict_do_nothing(index_elements=["id"])

    def _check_events(self, events: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        raw_times = [e.get("time") for e in events]
        as_text = pa.array([None if t is None else str(t) for t in raw_times], type=pa.string())
        times = parse_times(as_text)
        latest = self.now() + 1  # a day's grace, for time zones: later is in the future
        for index, event in enumerate(events):
            problem = None
            subject, kind = event.get("subject"), event.get("kind")
            if not isinstance(subject, str) or not subject.strip():
                problem = ("subject", "missing; give every event a subject id")
            elif kind not in self.codes:
                problem = ("kind", f"unknown event kind {kind!r} for scheme '{self.scheme.id}'; use one of: "
                                   + ", ".join(self.codes))
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

    def add_relations(self, pairs: Iterable[tuple[str, str]], actor: Actor) -> dict[str, Any]:
        ties = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
        with self.write_lock, self.sessions.begin() as session:
            self._begin_write(session)
            existing = set()
            for a, b in ties:
                if session.get(Relation, (a, b)) is not None:
                    existing.add((a, b))
            fresh = ties - existing
            session.add_all([Relation(a=a, b=b) for a, b in sorted(fresh)])
            audit.append(session, actor.name, "relations", None, {"added": sorted(fresh)[:1000]})
            session.flush()
            if fresh and self.scheme.network is not None:
                self._record_scores(session, self._affected(session, sorted({s for tie in fresh for s in tie})))
        return {"added": len(fresh), "existing": len(existing)}

    # --- scoring ---------------------------------------------------------------------------
    def _neighbours(self, session: Session, subjects: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for tie in self._ties(session, subjects):
            found.update(tie)
        return found

    @staticmethod
    def _ties(session: Session | Connection, subjects: Sequence[str]) -> list[tuple[str, str]]:
        """The ties that name any of these subjects."""
        if len(subjects) == 1:
            return [(a, b) for a, b in session.execute(TIES_OF, {"subject": subjects[0]})]
        ties: list[tuple[str, str]] = []
        for start in range(0, len(subjects), 500):
            ties += [(a, b) for a, b in session.execute(TIES_IN, {"subjects": list(subjects[start:start + 500])})]
        return ties

    def _affected(self, session: Session, subjects: Sequence[str]) -> list[str]:
        """Subjects whose score changes when these subjects' events change: they and, with a network
        term, their neighbours."""
        if self.scheme.network is None:
            return sorted(set(subjects))
        return sorted(set(subjects) | self._neighbours(session, subjects))

    def score(self, session: Session, subjects: Sequence[str], as_of: float | None = None) -> tuple[Scores, list[str]]:
        """Score these subjects at `as_of` (default now) from stored active events."""
        scores, ids, _ = self._score(session, subjects, as_of)
        return scores, ids

    def _score(self, session: Session | Connection, subjects: Sequence[str], as_of: float | None = None
               ) -> tuple[Scores, list[str], int]:
        as_of = self.now() if as_of is None else as_of
        ring = set(subjects)
        ties: list[tuple[str, str]] = []
        if self.scheme.network is not None:
            ties = self._ties(session, subjects)
            ring |= {s for tie in ties for s in tie}
        ids = sorted(ring)
        index = {s: i for i, s in enumerate(ids)}
        rows: list[Any] = []
        if len(ids) == 1:
            rows = session.execute(EVENTS_OF, {"subject": ids[0], "as_of": as_of}).all()
        else:
            for start in range(0, len(ids), 500):
                rows += session.execute(EVENTS_IN, {"subjects": ids[start:start + 500], "as_of": as_of}).all()
        subject, kind, time, value, weight = zip(*rows, strict=True) if rows else ((), (), (), (), ())
        codes = self.codes
        events = EventArrays.build([index[s] for s in subject] if len(ids) > 1 else np.zeros(len(rows), np.int64),
                                   [codes.get(k, -1) for k in kind], time, value, weight, n_subjects=len(ids))
        known = events.kind >= 0  # kinds a newer scheme version no longer knows are not read
        if not known.all():
            events = EventArrays.build(events.subject[known], events.kind[known], events.time[known],
                                       events.value[known], events.weight[known], n_subjects=len(ids))
        relations = None
        if self.scheme.network is not None:
            relations = Relations.from_pairs(np.array([index[a] for a, _ in ties], dtype=np.int64),
                                             np.array([index[b] for _, b in ties], dtype=np.int64), len(ids))
        return score_events(self.scheme, events, as_of, relations), ids, len(rows)

    def _record_scores(self, session: Session, subjects: Sequence[str]) -> None:
        as_of = self.now()
        scores, ids = self.score(session, subjects, as_of)
        wanted = set(subjects)
        tiers = scores.tier_names()
        scored = scores.scored
        session.execute(ScoreRecord.__table__.insert(), [
            {"subject": s, "as_of": as_of, "score": float(scores.score[i]) if scored[i] else None,
             "tier": str(tiers[i]),
             "lists": {name: bool(member[i]) for name, member in scores.lists.items()},
             "scheme_version": f"{self.scheme.id}@{self.scheme.version}"}
            for i, s in enumerate(ids) if s in wanted])

    # --- reading ---------------------------------------------------------------------------
    def subject_exists(self, session: Session | Connection, subject: str) -> bool:
        if session.execute(ANY_EVENT, {"subject": subject}).first():
            return True
        return session.execute(ANY_TIE, {"subject": subject}).first() is not None

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A Core connection for one read, its transaction ended after (so the next read sees every
        commit made since). The kept one when free; one that failed is dropped, not kept."""
        if not self._kept_lock.acquire(blocking=False):
            with self.engine.connect() as connection:
                yield connection
            return
        try:
            connection = self._kept if self._kept is not None else self.engine.connect()
            self._kept = None
            try:
                yield connection
                connection.rollback()
            except ServiceError:
                connection.rollback()
                self._kept = connection
                raise
            except BaseException:
                with suppress(Exception):
                    connection.close()
                raise
            self._kept = connection
        finally:
            self._kept_lock.release()

    def _reading(self, work: Callable[[Connection], T]) -> T:
        """`work` on a read connection. The kept connection is not pinged before each read (a ping
        is a round trip): if the server dropped it meanwhile, the read runs once more on a new one."""
        try:
            with self._connection() as connection:
                return work(connection)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        with self._connection() as connection:
            return work(connection)

    def _read(self, connection: Connection, subject: str) -> tuple[Scores, int, float]:
        """Score one subject now: (scores, the subject's index, the as-of time used)."""
        as_of = self.now()
        scores, ids, found = self._score(connection, [subject], as_of)
        # a subject exists when an event or a tie names it (checked only when no event was found)
        if not found and not self.subject_exists(connection, subject):
            raise ServiceError(404, f"subject: no events or relations name '{subject}'")
        return scores, ids.index(subject), as_of

    def _log_read(self, actor: Actor, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        """Log a read; return once the entry is committed (reads logged together share a commit)."""
        self.reads.log(actor.name, action, subject, detail or {})

    def record(self, subject: str, actor: Actor) -> dict[str, Any]:
        answer = self.record_unlogged(subject)
        self._log_read(actor, "read_record", subject)
        return answer

    async def record_async(self, subject: str, actor: Actor) -> dict[str, Any]:
        """`record` for an event loop: it waits for the audit commit without holding a thread."""
        answer = self.record_unlogged(subject)
        await self.reads.log_async(actor.name, "read_record", subject, {})
        return answer

    def record_unlogged(self, subject: str) -> dict[str, Any]:
        """The subject's record now. Not logged: the caller logs the read before answering it."""
        scores, i, as_of = self._reading(lambda connection: self._read(connection, subject))
        tier = scores.tier_names()[i]
        scored = bool(scores.scored[i])  # an unscored subject has no score, pre or tier
        return {
            "subject": subject, "scheme": self.scheme.id, "scheme_version": self.scheme.version,
            "as_of": days_to_text(as_of), "as_of_days": as_of,
            "score": float(scores.score[i]) if scored else None, "pre": float(scores.pre[i]) if scored else None,
            "tier": str(tier) if scored else None,
            "capped_by": scores.capped_by()[i] or None,
            "scored": scored, "unscored_by": scores.unscored_by()[i].split(";") if not scored else [],
            "lists": {name: bool(member[i]) for name, member in scores.lists.items()},
            "entitlements": {name: bool(allowed[i]) for name, allowed in scores.entitlements.items()},
            "components": {name: float(points[i]) for name, points in scores.components.items()},
            "features": {name: float(values[i]) for name, values in scores.features.items()},
            "reasons": scores.explain(i),
        }

    def entitlement(self, subject: str, action: str, actor: Actor) -> dict[str, Any]:
        answer = self.entitlement_unlogged(subject, action)
        self._log_read(actor, "entitlement_check", subject, {"action": action, "allowed": answer["allowed"]})
        return answer

    async def entitlement_async(self, subject: str, action: str, actor: Actor) -> dict[str, Any]:
        """`entitlement` for an event loop: it waits for the audit commit without holding a thread."""
        answer = self.entitlement_unlogged(subject, action)
        await self.reads.log_async(actor.name, "entitlement_check", subject,
                                   {"action": action, "allowed": answer["allowed"]})
        return answer

    def entitlement_unlogged(self, subject: str, action: str) -> dict[str, Any]:
        """May the subject do `action` now, and if not, why. Not logged: the caller logs the read."""
        if action not in self.scheme.entitlements:
            raise ServiceError(404, f"action: unknown entitlement '{action}'; this scheme has: "
                                    + ", ".join(self.scheme.entitlements))
        return self._reading(lambda connection: self._check(connection, subject, action))

    def _check(self, connection: Connection, subject: str, action: str) -> dict[str, Any]:
        """The answer of `entitlement_unlogged`, read on `connection`."""
        scores, i, as_of = self._read(connection, subject)
        allowed = bool(scores.entitlements[action][i])
        answer: dict[str, Any] = {"subject": subject, "action": action, "allowed": allowed,
                                  "as_of": days_to_text(as_of), "scheme": self.scheme.id,
                                  "scheme_version": self.scheme.version}
        if not allowed:
            answer["because"] = self._why_denied(connection, scores, i, action, subject, as_of)
            answer["appeal"] = {
                "how": "POST /v1/appeals with {'subject': ..., 'event_ids': [...], 'statement': ...} naming the "
                       "events you contest; a reviewer decides, voided events drop out and the score is "
                       "recomputed",
                "events_you_can_contest": [e["id"] for e in answer["because"]["events"]],
            }
        return answer

    def _why_denied(self, session: Session | Connection, scores: Scores, i: int, action: str, subject: str,
                    as_of: float) -> dict[str, Any]:
        expression = self.scheme.rules.entitlements[action]
        names = set(expression.names)
        # follow lists to what they read, so the reasons reach the components and events
        for name in self.scheme.rules.list_order[::-1]:
            if name in names and scores.lists[name][i]:
                names |= set(self.scheme.rules.lists[name].names)
        lists = [name for name in self.scheme.lists if name in names and bool(scores.lists[name][i])]
        kinds: set[str] = set()
        for name in names:
            kinds |= self.dependencies.get(name, set())
        events = session.execute(CONTESTABLE, {"subject": subject, "kinds": sorted(kinds), "as_of": as_of}).all()
        scored = bool(scores.scored[i])
        because: dict[str, Any] = {
            "rule": expression.source, "lists": lists, "tier": str(scores.tier_names()[i]) if scored else None,
            "score": float(scores.score[i]) if scored else None,
            "components": [r for r in scores.explain(i) if "component" in r],
            "events": [self._event_json(e) for e in events],
        }
        # Where the rule (or a list it follows) reads whether one is scored, or what the unscored
        # lack (score, pre, tier), the unscored conditions that hold decided it.
        if not scored and names & {"scored", "score", "pre", "tier"}:
            because["unscored"] = [r for r in scores.explain(i) if "unscored" in r]
        # Where the rule (or a list it follows) reads the tier, a cap that held the tier down decided it.
        cap = scores.explain_cap(i) if "tier" in names else None
        if cap is not None:
            because["tier_cap"] = cap
        return because

    @staticmethod
    def _event_json(e: Any) -> dict[str, Any]:  # an Event, or a row of EVENT_COLUMNS
        return {"id": e.id, "kind": e.kind, "time": days_to_text(e.time), "value": e.value, "weight": e.weight,
                "source": e.source, "status": e.status}

    def events(self, subject: str, actor: Actor) -> list[dict[str, Any]]:
        with self.reader() as session:
            if not self.subject_exists(session, subject):
                raise ServiceError(404, f"subject: no events or relations name '{subject}'")
            rows = session.execute(select(Event).where(Event.subject == subject).order_by(Event.time)).scalars().all()
            out = [self._event_json(e) for e in rows]
        self._log_read(actor, "read_events", subject, {"count": len(out)})
        return out

    def history(self, subject: str, actor: Actor) -> list[dict[str, Any]]:
        with self.reader() as session:
            if not self.subject_exists(session, subject):
                raise ServiceError(404, f"subject: no events or relations name '{subject}'")
            rows = session.execute(select(ScoreRecord).where(ScoreRecord.subject == subject)
                                   .order_by(ScoreRecord.seq)).scalars().all()
            out = [{"as_of": days_to_text(r.as_of), "score": r.score, "tier": r.tier, "lists": r.lists,
                    "scheme_version": r.scheme_version} for r in rows]
        self._log_read(actor, "read_history", subject, {"count": len(out)})
        return out

    def stats(self, actor: Actor) -> dict[str, Any]:
        """Distribution, tier shares and list sizes over every subject, scored now."""
        with self.reader() as session:
            subjects = sorted(set(session.execute(select(Event.subject).distinct()).scalars())
                              | set(session.execute(select(Relation.a)).scalars())
                              | set(session.execute(select(Relation.b)).scalars()))
            if not subjects:
                return {"subjects": 0}
            scores, ids = self.score(session, subjects)
        keep = np.isin(np.array(ids, dtype=object), np.array(subjects, dtype=object))
        score = scores.score[keep & scores.scored]  # of the scored: an unscored subject has none
        tiers = scores.tier_names()[keep]
        centre: dict[str, float | None] = dict.fromkeys(("mean", "p10", "p50", "p90"))
        if score.size:
            centre = {"mean": float(score.mean()), "p10": float(np.percentile(score, 10)),
                      "p50": float(np.median(score)), "p90": float(np.percentile(score, 90))}
        return {
            "subjects": int(keep.sum()), "as_of": days_to_text(self.now()),
            "unscored": int((keep & ~scores.scored).sum()),
            "score": {**centre,
                      "histogram": np.histogram(score, bins=10, range=(self.scheme.scale.min,
                                                                       self.scheme.scale.max))[0].tolist()},
            "tiers": {name: int((tiers == name).sum()) for name in self.scheme.tier_names},
            "lists": {name: int(member[keep].sum()) for name, member in scores.lists.items()},
            "entitlements_denied": {name: int((~allowed[keep]).sum()) for name, allowed in
                                    scores.entitlements.items()},
        }

    # --- appeals ---------------------------------------------------------------------------
    def file_appeal(self, subject: str, event_ids: list[str], statement: str, actor: Actor) -> dict[str, Any]:
        if not event_ids:
            raise ServiceError(422, "event_ids: name at least one event you contest")
        with self.write_lock, self.sessions.begin() as session:
            self._begin_write(session)
            found = session.execute(select(Event.id, Event.subject, Event.status).where(Event.id.in_(event_ids))).all()
            known = {row[0]: row for row in found}
            missing = [e for e in event_ids if e not in known]
            if missing:
                raise ServiceError(404, f"event_ids: no such events: {', '.join(missing[:20])}")
            foreign = [e for e in event_ids if known[e][1] != subject]
            if foreign:
                raise ServiceError(422, f"event_ids: not events of '{subject}': {', '.join(foreign[:20])}")
            appeal = Appeal(subject=subject, event_ids=list(event_ids), statement=statement, filed_by=actor.name)
            session.add(appeal)
            session.flush()
            audit.append(session, actor.name, "appeal_filed", subject, {"appeal": appeal.id, "event_ids": event_ids})
            return self._appeal_json(appeal)

    @staticmethod
    def _appeal_json(a: Appeal) -> dict[str, Any]:
        return {"id": a.id, "subject": a.subject, "event_ids": a.event_ids, "statement": a.statement,
                "status": a.status, "filed_at": a.filed_at.isoformat() if a.filed_at else None,
                "decided_at": a.decided_at.isoformat() if a.decided_at else None, "note": a.note}

    def appeals(self, status: str | None, actor: Actor) -> list[dict[str, Any]]:
        with self.reader() as session:
            query = select(Appeal).order_by(Appeal.id)
            if status is not None:
                query = query.where(Appeal.status == status)
            if actor.role == "subject":
                query = query.where(Appeal.subject == actor.subject)
            return [self._appeal_json(a) for a in session.execute(query).scalars()]

    def decide(self, appeal_id: int, decision: str, note: str, actor: Actor) -> dict[str, Any]:
        if decision not in ("void", "uphold"):
            raise ServiceError(422, "decision: must be 'void' (the events drop out) or 'uphold' (they stand)")
        with self.write_lock, self.sessions.begin() as session:
            self._begin_write(session)
            appeal = session.get(Appeal, appeal_id)
            if appeal is None:
                raise ServiceError(404, f"appeal: no appeal {appeal_id}")
            if appeal.status != "pending":
                raise ServiceError(409, f"appeal: appeal {appeal_id} was already decided ({appeal.status})")
            appeal.status = "voided" if decision == "void" else "upheld"
            appeal.decided_at = utcnow()
            appeal.decided_by = actor.name
            appeal.note = note
            if decision == "void":
                session.execute(update(Event).where(Event.id.in_(appeal.event_ids)).values(status="voided"))
            audit.append(session, actor.name, "appeal_decided", appeal.subject,
                         {"appeal": appeal_id, "decision": decision, "note": note, "event_ids": appeal.event_ids})
            session.flush()
            if decision == "void":  # the score follows from the remaining events: recomputed, never edited
                self._record_scores(session, self._affected(session, [appeal.subject]))
            return self._appeal_json(appeal)

    # --- audit and retention ---------------------------------------------------------------
    def audit_log(self, actor: Actor, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        with self.reader() as session:
            rows = session.execute(select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
                                   .limit(limit)).scalars().all()
            return [{"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "subject": r.subject,
                     "detail": r.detail, "hash": r.hash} for r in rows]

    def purge(self, actor: Actor) -> int:
        """Delete events older than the scheme's retention; the audit log keeps its entries."""
        if self.scheme.retention_days is None:
            return 0
        cutoff = self.now() - self.scheme.retention_days
        with self.write_lock, self.sessions.begin() as session:
            self._begin_write(session)
            count = session.execute(select(func.count()).select_from(Event).where(Event.time < cutoff)).scalar_one()
            session.execute(delete(Event).where(Event.time < cutoff))
            audit.append(session, actor.name, "purge", None, {"deleted": int(count), "before": days_to_text(cutoff)})
        return int(count)


Entry = tuple[str, str, str, dict[str, Any]]          # actor, action, subject, detail
Done = Callable[[BaseException | None], None]          # told the outcome of the commit that held the entry


class ReadLog:
    """Group commit of read entries: concurrent readers' entries go into the chain in one
    transaction, and each reader is answered only after the commit that holds its entry. One fsync
    serves many reads, and no read goes unlogged.

    The entries are written by one thread on a connection it keeps, with Core statements (no ORM
    session), on SQLite with the driver's own (`audit.commit_many_sqlite`): a transaction of a few
    reads is BEGIN (IMMEDIATE on SQLite), read the last entry, insert, COMMIT. Readers wait on a
    threading.Event (`log`), or on a future of their event loop (`log_async`), which holds no
    thread while the commit runs."""

    def __init__(self, service: Service):
        self.service = service
        self.pending: list[tuple[Entry, Done]] = []
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.connection: Connection | None = None
        self.thread = threading.Thread(target=self._run, name="audit-reads", daemon=True)
        self.thread.start()

    def _submit(self, entry: Entry, done: Done) -> None:
        with self.wake:
            self.pending.append((entry, done))
            self.wake.notify()

    @staticmethod
    def _refuse(error: BaseException) -> ServiceError:
        return ServiceError(503, f"audit: the read could not be logged ({error}); try again")

    def log(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """Append a read entry; return once it is committed."""
        committed = threading.Event()
        outcome: list[BaseException | None] = []

        def done(error: BaseException | None) -> None:
            outcome.append(error)
            committed.set()

        self._submit((actor, action, subject, detail), done)
        committed.wait()
        if outcome[0] is not None:
            raise self._refuse(outcome[0])

    async def log_async(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """Append a read entry; return (to the running event loop) once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[BaseException | None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if not future.done():  # the request may have been cancelled meanwhile
                future.set_result(error)

        self._submit((actor, action, subject, detail), lambda error: loop.call_soon_threadsafe(settle, error))
        error = await future
        if error is not None:
            raise self._refuse(error)

    def _commit(self, entries: list[Entry]) -> None:
        kept = self.connection
        try:
            self._commit_on(kept if kept is not None else self.service.write_engine.connect(), entries)
        except DBAPIError as error:
            if not (kept is not None and error.connection_invalidated):
                raise
            # the kept connection was dropped by the server meanwhile (nothing was committed on it)
            self._commit_on(self.service.write_engine.connect(), entries)

    def _commit_on(self, connection: Connection, entries: list[Entry]) -> None:
        service = self.service
        self.connection = None
        try:
            if connection.dialect.name == "sqlite":
                with service.write_lock:
                    audit.commit_many_sqlite(connection.connection.dbapi_connection, entries)
            else:
                with service.write_lock, connection.begin():
                    service._begin_write(connection)
                    audit.append_many(connection, entries)
        except BaseException:
            with suppress(Exception):
                connection.close()  # a failed connection is not reused: the next batch opens another
            raise
        self.connection = connection

    def _run(self) -> None:
        while True:
            with self.wake:
                while not self.pending:
                    self.wake.wait()
                batch, self.pending = self.pending, []
            failure: BaseException | None = None
            try:
                self._commit([entry for entry, _ in batch])
            except Exception as error:  # the readers are told; the service keeps running
                failure = error
            for _, done in batch:
                with suppress(Exception):  # e.g. a reader whose event loop closed meanwhile: tell the others
                    done(failure)
