"""The service, independent of HTTP: one scheme served over one database, built from its rooms.

Each room is a module with one concern, given what it uses when the service is built:

- `store.py` (`Store`): connections and queries (the tables are `db.py`'s);
- `scorer.py` (`Scorer`): stored events through the one scoring core into scores and history;
- `explain.py` (`Explanations`): a record's reasons, a denial's rule, lists, events and appeal;
- `ingest.py` (`Ingest`): events and relations in, checked by `eventlog.check_events` as `score` checks;
- `subjects.py` (`Subjects`): reads of one subject's file (record, entitlement, events, history);
- `stats.py` (`Stats`): the distribution over everyone;
- `appeals.py` (`Appeals`): filing and deciding appeals;
- `audit.py`: the hash-chained audit log; `readlog.py` (`ReadLog`): who read whose record, through
  `groupcommit.py` (`GroupCommit`), the writer that commits many entries at once;
- `retention.py`: the purge of events past the scheme's retention.

`Service` builds them and keeps the operations other jobs call without HTTP (`validate`'s check that
`serve` agrees with `simulate`, `socialcredit purge`, the tests); the HTTP routers (`routes/`) call the rooms.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from ..scheme import Scheme
from . import audit, retention
from .appeals import Appeals
from .errors import ServiceError
from .explain import Explanations
from .ingest import MAX_BATCH, Ingest
from .keys import Actor
from .readlog import ReadLog
from .scorer import Scorer
from .stats import Stats
from .store import Store
from .subjects import Subjects

__all__ = ["MAX_BATCH", "Actor", "Service", "ServiceError", "now_days"]


def now_days() -> float:
    return clock.time() / 86_400.0


class Service:
    def __init__(self, engine: Engine, scheme: Scheme, now: Callable[[], float] = now_days,
                 write_engine: Engine | None = None):
        self.scheme = scheme
        self.now = now
        self.store = Store(engine, write_engine)
        self.scorer = Scorer(scheme, now)
        self.reads = ReadLog(self.store)
        self.intake = Ingest(scheme, self.store, self.scorer, now)
        self.subjects = Subjects(scheme, self.store, self.scorer, Explanations(scheme), self.reads, now)
        self.stats = Stats(scheme, self.store, self.scorer, now)
        self.appeals = Appeals(self.store, self.scorer)

    @property
    def engine(self) -> Engine:
        return self.store.engine

    @property
    def sessions(self) -> sessionmaker:
        """Sessions on the writer's engine."""
        return self.store.sessions

    def warm(self) -> None:
        """Load the scoring core's compiled kernels before serving (`Scorer.warm`)."""
        self.scorer.warm()

    def ingest(self, events: Sequence[dict[str, Any]], actor: Actor, atomic: bool = False) -> dict[str, Any]:
        return self.intake.events(events, actor, atomic)

    def add_relations(self, pairs: Iterable[tuple[str, str]], actor: Actor) -> dict[str, Any]:
        return self.intake.relations(pairs, actor)

    def record(self, subject: str, actor: Actor) -> dict[str, Any]:
        return self.subjects.record(subject, actor)

    def record_unlogged(self, subject: str) -> dict[str, Any]:
        return self.subjects.record_unlogged(subject)

    def entitlement(self, subject: str, action: str, actor: Actor) -> dict[str, Any]:
        return self.subjects.entitlement(subject, action, actor)

    def audit_log(self, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        with self.store.reader() as session:
            return audit.entries(session, after, limit)

    def purge(self, actor: Actor) -> int:
        """Delete events older than the scheme's retention; the audit log keeps its entries."""
        return retention.purge(self.scheme, self.store, self.now, actor)
