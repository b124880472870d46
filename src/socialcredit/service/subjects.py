"""Reads of one subject's file: their record and entitlement checks (scored now from their stored
events, and explained), their events, their score history, and everything held about them (the
export). Every read is in the read log before it is answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anyio import to_thread
from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from ..eventlog import days_to_text, text_problem
from ..scheme import Scheme
from ..scoring import Scores
from . import audit, listings
from .appeals import appeal_json
from .coverage import instant
from .db import ApiKey, Appeal, AuditEntry, Event, InputListMember, Relation
from .erasure import holds_anything
from .errors import ServiceError, invalid
from .explain import Explanations, Places, event_json
from .keys import Actor
from .readlog import ReadLog, moved_so_far
from .scorer import Scorer
from .store import Reader, Store, events_of, score_history


def listing_json(m: InputListMember) -> dict[str, Any]:
    """A place on an input list, as the export gives it."""
    return {"list": m.list, "listed_on": days_to_text(m.listed_on), "listed_source": m.listed_source,
            "listed_at": instant(m.listed_at), "listed_by": m.listed_by,
            "delisted_on": days_to_text(m.delisted_on) if m.delisted_on is not None else None,
            "delisted_source": m.delisted_source, "delisted_at": instant(m.delisted_at), "delisted_by": m.delisted_by}


def no_subject(subject: str) -> ServiceError:
    return ServiceError(404, f"subject: no events or relations name '{subject}'")


def named(subject: str) -> str:
    """The subject asked about, if it is one the service could store (else 422, as an ingest refuses
    it): a database is never asked about text it cannot hold (PostgreSQL refuses a NUL)."""
    problem = text_problem("subject", subject, in_a_path=True)
    if problem is not None:
        raise invalid("subject", problem)
    return subject


class Subjects:
    def __init__(self, scheme: Scheme, store: Store, scorer: Scorer, explanations: Explanations, reads: ReadLog,
                 now: Callable[[], float]):
        self.scheme = scheme
        self.store = store
        self.scorer = scorer
        self.explanations = explanations
        self.reads = reads
        self.now = now

    def _scored(self, connection: Reader, subject: str) -> tuple[Scores, int, float]:
        """Score one subject now: (scores, the subject's index, the as-of time used)."""
        as_of = self.now()
        scores, ids, found = self.scorer.score(connection, [named(subject)], as_of)
        # a subject exists when an event, a tie or a place on an input list names it (checked only
        # when no event was found)
        if not found and not self.exists(connection, subject):
            raise no_subject(subject)
        return scores, ids.index(subject), as_of

    def exists(self, reader: Reader, subject: str) -> bool:
        """Whether an event or a tie names the subject, or (for a scheme with input lists) a place
        on one: a member named in no event is scored too, as `score --list` scores them."""
        return self.store.subject_exists(reader, subject) or bool(self.scheme.input_lists
                                                                  and listings.named(reader, subject))

    def places(self, reader: Reader, subject: str, as_of: float) -> Places:
        """The subject's places on the scheme's input lists at `as_of` (none without input lists)."""
        return listings.places(reader, self.scheme, subject, as_of) if self.scheme.input_lists else {}

    # --- the record --------------------------------------------------------------------------
    def record_unlogged(self, subject: str) -> dict[str, Any]:
        """The subject's record now. Not logged: the caller logs the read before answering it."""
        def read(connection: Connection) -> dict[str, Any]:
            scores, i, as_of = self._scored(connection, subject)
            return self.explanations.record(subject, scores, i, as_of, self.places(connection, subject, as_of))

        return self.store.reading(read)

    def record(self, subject: str, actor: Actor) -> dict[str, Any]:
        answer = self.record_unlogged(subject)
        self.reads.log(actor.name, "read_record", subject, {})
        return answer

    async def record_async(self, subject: str, actor: Actor) -> dict[str, Any]:
        """`record` for an event loop: the read runs in a worker thread, and the wait for its audit
        commit holds no thread."""
        answer = await to_thread.run_sync(self.record_unlogged, subject)
        await self.reads.log_async(actor.name, "read_record", subject, {})
        return answer

    # --- entitlement checks ------------------------------------------------------------------
    def entitlement_unlogged(self, subject: str, action: str) -> dict[str, Any]:
        """May the subject do `action` now, and if not, why. Not logged: the caller logs the read."""
        if action not in self.scheme.entitlements:
            raise ServiceError(404, f"action: unknown entitlement '{action}'; this scheme has: "
                                    + ", ".join(self.scheme.entitlements))

        def check(connection: Connection) -> dict[str, Any]:
            scores, i, as_of = self._scored(connection, subject)
            return self.explanations.entitlement(
                subject, action, scores, i, as_of,
                lambda kinds: self.store.contestable_events(connection, subject, kinds, as_of),
                self.places(connection, subject, as_of))

        return self.store.reading(check)

    @staticmethod
    def _checked(answer: dict[str, Any]) -> dict[str, Any]:
        """What the read log keeps of an entitlement check."""
        return {"action": answer["action"], "allowed": answer["allowed"]}

    def entitlement(self, subject: str, action: str, actor: Actor) -> dict[str, Any]:
        answer = self.entitlement_unlogged(subject, action)
        self.reads.log(actor.name, "entitlement_check", subject, self._checked(answer))
        return answer

    async def entitlement_async(self, subject: str, action: str, actor: Actor) -> dict[str, Any]:
        """`entitlement` for an event loop, as `record_async`."""
        answer = await to_thread.run_sync(self.entitlement_unlogged, subject, action)
        await self.reads.log_async(actor.name, "entitlement_check", subject, self._checked(answer))
        return answer

    # --- what is stored about them -----------------------------------------------------------
    def events(self, subject: str, actor: Actor) -> list[dict[str, Any]]:
        """Every event stored about the subject, voided ones too, oldest first."""
        named(subject)
        with self.store.reader() as session:
            if not self.exists(session, subject):
                raise no_subject(subject)
            # at the same time, in the order stored (an event with no entry first)
            rows = session.execute(select(Event).where(*events_of(session, subject)).order_by(
                Event.time, Event.entry.nulls_first(), Event.pos.nulls_first(), Event.id)).scalars().all()
            out = [event_json(e) for e in rows]
        self.reads.log(actor.name, "read_events", subject, {"count": len(out)})
        return out

    def history(self, subject: str, actor: Actor) -> list[dict[str, Any]]:
        """The subject's score each time a change recomputed it, oldest first."""
        named(subject)
        with self.store.reader() as session:
            if not self.exists(session, subject):
                raise no_subject(subject)
            rows = score_history(session, subject)
            out = [{"as_of": days_to_text(r.as_of), "score": r.score, "tier": r.tier, "lists": r.lists,
                    "scheme_version": r.scheme_version} for r in rows]
        self.reads.log(actor.name, "read_history", subject, {"count": len(out)})
        return out

    # --- everything held about them (GDPR Art. 15 and 20) ------------------------------------------
    READS = audit.READS

    def export(self, subject: str, actor: Actor) -> dict[str, Any]:
        """Everything held about the subject, as JSON: their events (voided ones too, with where
        they came from), their current record, their score history, their appeals, their places on
        input lists (past ones too), their ties,
        their API keys, who read their file and when, and the other entries of the audit log that
        name them (by their pseudonym)."""
        with self.store.reader() as session:
            named_as = audit.pseudonym_of(session, subject)
        staged = self.reads.staged_of(named_as) if named_as is not None else []  # before the log (`readlog`)
        with self.store.reader() as session:
            if not holds_anything(session, subject):
                raise ServiceError(404, f"subject: nothing is held about '{subject}'")
            events = [{**event_json(e), "time_days": e.time, "actor": e.actor, "ingested_at": instant(e.ingested_at),
                       "ingested_by": e.ingested_by}
                      for e in session.execute(select(Event).where(*events_of(session, subject))
                                               .order_by(Event.time, Event.id)).scalars()]
            history = [{"as_of": days_to_text(r.as_of), "score": r.score, "tier": r.tier, "lists": r.lists,
                        "scheme_version": r.scheme_version, "recorded_at": instant(r.recorded_at)}
                       for r in score_history(session, subject)]
            appeals = [{**appeal_json(a), "filed_by": a.filed_by, "decided_by": a.decided_by}
                       for a in session.execute(select(Appeal).where(Appeal.subject == subject)
                                                .order_by(Appeal.id)).scalars()]
            places = [listing_json(m) for m in session.execute(
                select(InputListMember).where(InputListMember.subject == subject)
                .order_by(InputListMember.list, InputListMember.listed_on)).scalars()]
            ties = sorted({b if a == subject else a for a, b in session.execute(
                select(Relation.a, Relation.b).where(or_(Relation.a == subject, Relation.b == subject)))})
            keys = [{"id": k.id, "role": k.role, "created_at": instant(k.created_at)}
                    for k in session.execute(select(ApiKey).where(ApiKey.subject == subject)
                                             .order_by(ApiKey.created_at)).scalars()]
            pseudonym = audit.pseudonym_of(session, subject)
            entries = [] if pseudonym is None else [
                {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "detail": e.detail}
                for e in session.execute(select(AuditEntry).where(AuditEntry.subject == pseudonym)
                                         .order_by(AuditEntry.seq)).scalars()]
            moved = moved_so_far(session)  # the staged reads the log holds, in this snapshot
            waiting = [{"at": at, "actor": by, "action": action} for number, at, by, action, named, *_ in staged
                       if number > moved and named == pseudonym]
            exists = self.exists(session, subject)
        record = self.record_unlogged(subject) if exists else None
        self.reads.log(actor.name, "export", subject, {})
        return {"subject": subject, "scheme": self.scheme.id, "exported_at": days_to_text(self.now()),
                "pseudonym": pseudonym, "record": record, "events": events, "history": history, "appeals": appeals,
                "input_lists": places, "ties": ties, "keys": keys,
                "reads": [{"at": e["at"], "by": e["actor"], "read": e["action"]} for e in entries + waiting
                          if e["action"] in self.READS],
                "audit": [e for e in entries if e["action"] not in self.READS]}
