"""The service, independent of HTTP: one scheme served over one database, built from its rooms.

Each room is a module with one concern, given what it uses when the service is built:

- `store.py` (`Store`): connections and queries (the tables are `db.py`'s);
- `scorer.py` (`Scorer`): stored events through the one scoring core into scores and history;
- `explain.py` (`Explanations`): a record's reasons, a denial's rule, lists, events and appeal;
- `ingest.py` (`Ingest`): events and relations in, checked by `eventlog.check_events` as `score` checks;
- `subjects.py` (`Subjects`): reads of one subject's file (record, entitlement, events, history);
- `stats.py` (`Stats`): the distribution over everyone;
- `appeals.py` (`Appeals`): filing and deciding appeals;
- `audit.py`: the hash-chained, sealed audit log, which names subjects by pseudonym and covers the
  rows each change wrote by digest (`coverage.py`); `readlog.py` (`ReadLog`): who read whose
  record, through `groupcommit.py` (`GroupCommit`), the writer that commits many entries at once;
- `checkpoints.py` (`CheckpointLog`): the log's signed checkpoints, in a file outside the database,
  and consistency proofs (`merkle.py`), under the server's audit key (`auditkey.py`);
- `retention.py`: the purge of what is past the scheme's retention, in every table;
- `erasure.py` (`Erasure`): one subject's data erased from every table;
- `inputlists.py` (`InputLists`): the members of another body's lists the scheme reads, supplied
  from outside (`listings.py`: what scoring and the reads take of them).

`Service` builds them and keeps the operations other jobs call without HTTP (`validate`'s check that
`serve` agrees with `simulate`, `socialcredit purge`, the tests); the HTTP routers (`routes/`) call the rooms.
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from ..scheme import Scheme
from . import audit, retention
from .appeals import Appeals
from .auditkey import AuditKey, default_paths
from .checkpoints import Checkpoint, CheckpointLog
from .erasure import Erasure
from .errors import ServiceError
from .explain import Explanations
from .ingest import MAX_BATCH, Ingest
from .inputlists import InputLists
from .keys import Actor
from .readlog import ReadLog
from .scorer import Scorer
from .stats import Stats
from .store import Store
from .subjects import Subjects

__all__ = ["MAX_BATCH", "Actor", "Service", "ServiceError", "now_days"]
log = logging.getLogger("socialcredit.audit")


def now_days() -> float:
    return clock.time() / 86_400.0


class Service:
    def __init__(self, engine: Engine, scheme: Scheme, now: Callable[[], float] = now_days,
                 write_engine: Engine | None = None, audit_key: AuditKey | None = None,
                 checkpoints: Path | None = None):
        """`audit_key` and `checkpoints` (the file): by default, beside the database (`auditkey`)."""
        self.scheme = scheme
        self.now = now
        self.closed = False
        self.store = Store(engine, write_engine, audit_key)
        paths = default_paths(engine.url.render_as_string(hide_password=False))
        self.reads = ReadLog(self.store)
        self.checkpoints = CheckpointLog(self.store, self.store.audit_key,
                                         checkpoints or (paths[1] if paths is not None else None),
                                         staged_head=self.reads.staged.head)
        self.scorer = Scorer(scheme, now)
        self.intake = Ingest(scheme, self.store, self.scorer, now)
        self.subjects = Subjects(scheme, self.store, self.scorer, Explanations(scheme), self.reads, now)
        self.stats = Stats(scheme, self.store, self.scorer, now)
        self.appeals = Appeals(self.store, self.scorer)
        self.erasure = Erasure(scheme, self.store, self.scorer, self.reads)
        self.input_lists = InputLists(scheme, self.store, self.scorer, now)

    def close(self) -> None:
        """Stop the service's threads (the reads logged meanwhile moved into the audit log first) and
        close its connections: nothing of it acts on the database after. Closed again, nothing."""
        if self.closed:
            return
        self.closed = True
        self.reads.close()
        self.store.close()
        self.store.engine.dispose()
        self.store.write_engine.dispose()

    @property
    def engine(self) -> Engine:
        return self.store.engine

    @property
    def sessions(self) -> sessionmaker:
        """Sessions on the writer's engine."""
        return self.store.sessions

    def warm(self) -> None:
        """Load the scoring core's compiled kernels before serving (`Scorer.warm`), and the stored
        events an ingest scores from (`KeptHistory.load`)."""
        self.scorer.warm()
        with self.store.change_lock, self.store.engine.connect() as connection:
            self.intake.history.load(connection)

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
        """The log's entries after `after`, the reads staged until now moved into it first."""
        self.reads.settle()
        with self.store.reader() as session:
            return audit.entries(session, after, limit)

    def purge(self, actor: Actor) -> dict[str, int]:
        """Delete what is past the scheme's retention, in every table, and events dated in the
        future; the audit log keeps its entries. How many rows of each kind were deleted."""
        return retention.purge(self.scheme, self.store, self.now, actor)

    def erase(self, subject: str, actor: Actor) -> dict[str, Any]:
        return self.erasure.erase(subject, actor)

    def export(self, subject: str, actor: Actor) -> dict[str, Any]:
        return self.subjects.export(subject, actor)

    def checkpoint(self) -> Checkpoint:
        """A signed checkpoint of the audit log now (the reads staged until now moved into it
        first), appended to the checkpoint file. Reads that cannot be moved now are anchored where
        they wait, in the read log: the checkpoint is signed all the same."""
        try:
            self.reads.settle()
        except Exception as error:  # staged and durable: the checkpoint anchors them there
            log.warning("audit: staged reads not moved before the checkpoint (%s); anchored where they wait", error)
        return self.checkpoints.make()

