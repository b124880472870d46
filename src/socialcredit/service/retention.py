"""Retention: what is older than the scheme keeps it is deleted from every table that holds
personal data, and so is every event dated in the future (it can never age out, and no event can
have happened yet). The audit log keeps its entries: they hold no personal data (pseudonyms and
digests), and each covered row deleted leaves a tombstone its entry still verifies with
(`coverage.py`).

- events dated before the cutoff (the scheme's `retention_days` before now), or after tomorrow;
- scores in the history computed before the cutoff;
- ties added before the cutoff;
- appeals decided before the cutoff once none of the events they name is kept (an appeal is what
  explains its events' status, so it stays as long as they do); pending appeals stay;
- places on input lists that ended (the subject was delisted) before the cutoff; a current one stays;
- a subject's pseudonym, once nothing else about them is held: their entries in the audit log can
  then no longer be tied to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, delete, exists, not_, or_, select

from ..eventlog import days_to_text
from ..scheme import Scheme
from . import audit, runs
from .coverage import Cover
from .db import ApiKey, Appeal, Event, InputListMember, Relation, ScoreRecord, Subject, on_day
from .keys import Actor
from .store import Store, dialect_of

GRACE_DAYS = 1.0  # as ingest: a day's grace for time zones; later is in the future


def purge(scheme: Scheme, store: Store, now: Callable[[], float], actor: Actor) -> dict[str, int]:
    """Delete what the scheme no longer keeps (and events dated in the future); how many of each."""
    today = now()
    cutoff = today - scheme.retention_days if scheme.retention_days is not None else None
    with store.writing() as session:
        cover = Cover(audit.next_seq(session))
        old = Event.time > today + GRACE_DAYS if cutoff is None else or_(Event.time < cutoff,
                                                                         Event.time > today + GRACE_DAYS)
        deleted = {"events": cover.erase(session, "events", old)}
        if cutoff is not None:
            before = on_day(cutoff)
            deleted["scores"] = cover.erase(session, "scores", ScoreRecord.as_of < cutoff)
            deleted["ties"] = cover.erase(session, "ties", Relation.added_at < before)
            done = [appeal for appeal, event_ids in session.execute(
                select(Appeal.id, Appeal.event_ids).where(Appeal.status != "pending", Appeal.decided_at < before))
                if not session.execute(select(Event.id).where(Event.id.in_(event_ids or [])).limit(1)).first()]
            cover.erase(session, "decision", Appeal.id.in_(done))
            deleted["appeals"] = cover.erase(session, "appeal", Appeal.id.in_(done))
            # a place on an input list ages out as an event does, by its date: the day it ended
            ended = InputListMember.delisted_on < cutoff
            cover.erase(session, "delisting", ended)
            deleted["input_lists"] = cover.erase(session, "listing", ended)
        deleted["pseudonyms"] = forget_the_unheld(session)
        detail: dict[str, Any] = {"deleted": deleted, "before": days_to_text(cutoff) if cutoff is not None else None,
                                  "after": days_to_text(today + GRACE_DAYS)}
        audit.append(session, actor.name, "purge", None, detail, cover=cover)
    return deleted


def forget_the_unheld(session: Any) -> int:
    """Delete the pseudonyms of subjects about whom nothing is held any more; how many."""
    # the score history read through once on SQLite (its index leads with the bucket: `buckets.py`);
    # on PostgreSQL an anti-join (`IN` there materialises the table for each subject past work_mem)
    scored = (Subject.id.in_(select(ScoreRecord.subject)) if dialect_of(session) == "sqlite"
              else exists().where(ScoreRecord.subject == Subject.id))
    held = or_(exists().where(*runs.naming(dialect_of(session), Subject.id)), scored,
               exists().where(or_(Relation.a == Subject.id, Relation.b == Subject.id)),
               exists().where(Appeal.subject == Subject.id), exists().where(ApiKey.subject == Subject.id),
               exists().where(InputListMember.subject == Subject.id))
    return int(session.execute(delete(Subject).where(and_(not_(held)))).rowcount or 0)
