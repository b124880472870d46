"""Retention: events older than the scheme keeps them are deleted; the audit log keeps its
entries (they name events by id, never hold them)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, func, select

from ..eventlog import days_to_text
from ..scheme import Scheme
from . import audit
from .db import Event
from .keys import Actor
from .store import Store


def purge(scheme: Scheme, store: Store, now: Callable[[], float], actor: Actor) -> int:
    """Delete events older than the scheme's retention; how many were deleted."""
    if scheme.retention_days is None:
        return 0
    cutoff = now() - scheme.retention_days
    with store.writing() as session:
        count = session.execute(select(func.count()).select_from(Event).where(Event.time < cutoff)).scalar_one()
        session.execute(delete(Event).where(Event.time < cutoff))
        audit.append(session, actor.name, "purge", None, {"deleted": int(count), "before": days_to_text(cutoff)})
    return int(count)
