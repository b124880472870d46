"""Erasure (GDPR Art. 17): every personal datum of one subject deleted from every table, the erasure
itself recorded in the audit log, and the log still verifying. The reads answered before the
erasure, staged in the read log (`readlog.py`), are moved into the log before the erasure's entry,
in its transaction, so the log shows them in the order they happened.

What goes: the subject's events, their score history, the ties that name them, their appeals (and
the statements and notes in them), their places on input lists (past ones too), their API keys,
and their pseudonym (so the audit log's entries about them, which name them only by it, can no
longer be tied to them). Each covered row deleted leaves a tombstone (`coverage.py`): a digest
whose salt went with the row. With a network term, the neighbours the erased ties joined are
rescored, as any change of ties rescores them.

On SQLite, deleted rows are overwritten (`PRAGMA secure_delete`, `db.make_engine`) and the
write-ahead log is checkpointed and truncated after the erasure, so neither file keeps the
subject's data; a VACUUM (which `erase` leaves to the operator) then also shrinks the file.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select

from ..scheme import Scheme
from . import audit
from .coverage import Cover
from .db import ApiKey, Appeal, Event, InputListMember, Relation, Subject
from .errors import ServiceError
from .keys import Actor
from .readlog import ReadLog
from .scorer import Scorer
from .store import Store, events_of, scores_of


def holds_anything(session: Any, subject: str) -> bool:
    """Whether anything about the subject is held: a row in any table that names them, or a pseudonym."""
    # the events by their index first (a seek); by the table last, only if nothing else names them
    # (on SQLite a scan): the index is not covered by the audit chain, and an entry missing from it
    # must not hide an event from an erasure
    return any(session.execute(select(exists().where(*condition))).scalar() for condition in (
        events_of(session, subject), scores_of(session, subject),
        (Relation.a == subject,), (Relation.b == subject,), (Appeal.subject == subject,),
        (ApiKey.subject == subject,), (InputListMember.subject == subject,), (Subject.id == subject,),
        (Event.subject == subject,)))


class Erasure:
    def __init__(self, scheme: Scheme, store: Store, scorer: Scorer, reads: ReadLog):
        self.scheme = scheme
        self.store = store
        self.scorer = scorer
        self.reads = reads

    def erase(self, subject: str, actor: Actor) -> dict[str, Any]:
        """Erase the subject; what was deleted, and the audit entry that records it."""
        with ExitStack() as after_commit, self.store.writing() as session:
            if not holds_anything(session, subject):
                raise ServiceError(404, f"subject: nothing is held about '{subject}'")
            # the reads answered before the erasure go into the log before its entry, and none
            # answered meanwhile lands between them
            after_commit.enter_context(self.reads.moved_first(session))
            neighbours = sorted({s for tie in self.store.ties(session, [subject]) for s in tie} - {subject})
            cover = Cover(audit.next_seq(session))
            erased = {
                # by the table itself (on SQLite a scan: erasures are rare), not its index (`holds_anything`)
                "events": cover.erase(session, "events", Event.subject == subject),
                "scores": cover.erase(session, "scores", and_(*scores_of(session, subject))),
                "ties": cover.erase(session, "ties", or_(Relation.a == subject, Relation.b == subject)),
            }
            cover.erase(session, "decision", Appeal.subject == subject)  # before the rows go, as "appeal"
            erased["appeals"] = cover.erase(session, "appeal", Appeal.subject == subject)
            cover.erase(session, "delisting", InputListMember.subject == subject)  # before the rows go, as "listing"
            erased["input_lists"] = cover.erase(session, "listing", InputListMember.subject == subject)
            erased["keys"] = int(session.execute(delete(ApiKey).where(ApiKey.subject == subject)).rowcount or 0)
            if neighbours and self.scheme.network is not None:
                self.scorer.record_scores(session, self.scorer.affected(session, neighbours), cover)
            entry = audit.append(session, actor.name, "erased", subject, {"erased": erased}, cover=cover)
            session.execute(delete(Subject).where(Subject.id == subject))
        self._flush_write_ahead_log()
        return {"subject": subject, "erased": erased, "entry": entry.seq}

    def _flush_write_ahead_log(self) -> None:
        """SQLite: copy the write-ahead log into the database and truncate it, so the pages that held
        the subject's rows before the erasure are not left in it. (A reader holding an older
        snapshot keeps them until it ends; the next erasure or checkpoint takes them.)"""
        sqlite(self.store, "PRAGMA wal_checkpoint(TRUNCATE)")


def sqlite(store: Store, *statements: str) -> None:
    """Run statements that take no transaction (checkpoints, VACUUM) on SQLite; nothing elsewhere."""
    if store.write_engine.dialect.name != "sqlite":
        return
    raw = store.write_engine.raw_connection()
    try:
        with store.checkpoint_lock:  # not beside the store's own checkpoint, which would make it a no-op
            for statement in statements:
                raw.driver_connection.execute(statement)  # type: ignore[union-attr]
    finally:
        raw.close()


def vacuum(store: Store) -> None:
    """SQLite: rebuild the file without its free pages, and empty the write-ahead log."""
    sqlite(store, "PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)")
