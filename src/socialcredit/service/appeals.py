"""Appeals: a subject (or an operator for them) contests events; a reviewer grants the appeal (the
events are voided: they drop out and the subject is rescored from the rest) or rejects it (the
events stand).

The words are the API's: a decision is `grant` or `reject`, an appeal's status `pending`, `granted`
or `rejected`. The database keeps the status words it was created with (`voided`, `upheld`): they
are covered by the audit log's digests, so renaming them in stored rows would need a migration that
rewrites covered rows. STATUS translates at the edge, both ways."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from . import audit
from .coverage import Cover
from .db import Appeal, Event, on_day
from .errors import ServiceError
from .keys import Actor
from .scorer import Scorer
from .store import Store

DECISIONS = {"grant": "voided", "reject": "upheld"}  # a decision -> the appeal's stored status after it
STATUS = {"pending": "pending", "voided": "granted", "upheld": "rejected"}  # stored -> the API's word
STORED = {shown: stored for stored, shown in STATUS.items()}  # the API's word -> stored
SHOWN = 20  # ids a refusal names at most
MAX_EVENT_IDS = 100  # events one appeal contests at most (a denial rests on a few); more go in another appeal


def appeal_json(a: Appeal) -> dict[str, Any]:
    return {"id": a.id, "subject": a.subject, "event_ids": a.event_ids, "statement": a.statement,
            "status": STATUS[a.status], "filed_at": a.filed_at.isoformat() if a.filed_at else None,
            "decided_at": a.decided_at.isoformat() if a.decided_at else None, "note": a.note}


class Appeals:
    def __init__(self, store: Store, scorer: Scorer):
        self.store = store
        self.scorer = scorer

    def file(self, subject: str, event_ids: list[str], statement: str, actor: Actor) -> dict[str, Any]:
        """File an appeal against some of the subject's own events. An id of another person's event
        is answered as an unknown id is, word for word: an appeal cannot tell whether it exists."""
        if not event_ids:
            raise ServiceError(422, "event_ids: name at least one event you contest")
        if len(event_ids) > MAX_EVENT_IDS:
            raise ServiceError(422, f"event_ids: an appeal contests at most {MAX_EVENT_IDS} events, got "
                                    f"{len(event_ids):,}; file the others in another appeal")
        with self.store.writing() as session:
            own = set(session.execute(select(Event.id).where(Event.subject == subject, Event.id.in_(event_ids)))
                      .scalars())
            unknown = [e for e in event_ids if e not in own]
            lists = [e for e in unknown if e in self.scorer.scheme.input_lists]
            if lists:  # a place on another body's list: not this scheme's to decide
                raise ServiceError(422, f"event_ids: {self.not_ours(lists[0])}")
            if unknown:
                raise ServiceError(404, f"event_ids: not events of '{subject}': {', '.join(unknown[:SHOWN])}")
            appeal = Appeal(subject=subject, event_ids=list(event_ids), statement=statement, filed_by=actor.name,
                            filed_at=on_day(self.scorer.now()))
            session.add(appeal)
            session.flush()
            # the entry covers the filing by digest: the statement stays in the row, erasable (coverage.py)
            cover = Cover(audit.next_seq(session))
            cover.add("appeal", [appeal])
            audit.append(session, actor.name, "appeal_filed", subject, {"appeal": appeal.id,
                                                                         "events": len(event_ids)}, cover=cover)
            return appeal_json(appeal)

    def not_ours(self, name: str) -> str:
        """Why an appeal against one's place on input list `name` is not taken here, and who decides it."""
        kept_by = self.scorer.scheme.input_lists[name].description
        return (f"'{name}' is another body's list{f' ({kept_by})' if kept_by else ''}, which this scheme reads and "
                "does not keep: it cannot decide an appeal against a place on it, so it takes none; fix: contest "
                "the listing with whoever keeps the list (your record names their reference), and contest here "
                "only events of this scheme's")

    def find(self, status: str | None, actor: Actor) -> list[dict[str, Any]]:
        """Appeals by number, of one status if given (the API's word); a subject key sees only its own."""
        with self.store.reader() as session:
            query = select(Appeal).order_by(Appeal.id)
            if status is not None:
                query = query.where(Appeal.status == STORED[status])
            if actor.role == "subject":
                query = query.where(Appeal.subject == actor.subject)
            return [appeal_json(a) for a in session.execute(query).scalars()]

    def decide(self, appeal_id: int, decision: str, note: str, actor: Actor) -> dict[str, Any]:
        """Decide a pending appeal: `grant` voids its events and rescores the subject (and, with a
        network term, their neighbours) from the events that remain; `reject` leaves them standing."""
        if decision not in DECISIONS:
            raise ServiceError(422, "decision: must be 'grant' (the appeal succeeds: its events are voided) or "
                                    "'reject' (the appeal fails: its events stand)")
        with self.store.writing() as session:
            appeal = session.get(Appeal, appeal_id)
            if appeal is None:
                raise ServiceError(404, f"appeal: no appeal {appeal_id}")
            if appeal.status != "pending":
                raise ServiceError(409, f"appeal: appeal {appeal_id} was already decided ({STATUS[appeal.status]})")
            appeal.status = DECISIONS[decision]
            appeal.decided_at = on_day(self.scorer.now())  # by the clock retention reads
            appeal.decided_by = actor.name
            appeal.note = note
            if decision == "grant":
                session.execute(update(Event).where(Event.id.in_(appeal.event_ids)).values(status="voided"))
            session.flush()
            # the entry covers the decision (and the scores it moved) by digest: the note stays in the row
            cover = Cover(audit.next_seq(session))
            cover.add("decision", [appeal])
            if decision == "grant":  # the score follows from the remaining events: recomputed, never edited
                self.scorer.record_scores(session, self.scorer.affected(session, [appeal.subject]), cover)
            audit.append(session, actor.name, "appeal_decided", appeal.subject,
                         {"appeal": appeal_id, "decision": decision}, cover=cover)
            return appeal_json(appeal)
