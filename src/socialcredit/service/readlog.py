"""The read log: who read whose record, an entry in the audit chain for every read (naming the
subject by their pseudonym), committed before the read is answered (a read that cannot be logged is
refused, 503).

Reads are many and each waits for its entry, so the entries go through the group-commit writer:
concurrent reads share a transaction. Its transactions are written on one kept connection with
Core statements (no ORM session), on SQLite with the driver's own (`audit.commit_many_sqlite`): a
transaction of a few reads is BEGIN (IMMEDIATE on SQLite), read the last entry, insert, COMMIT.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from . import audit
from .errors import ServiceError
from .groupcommit import GroupCommit
from .store import Store

Entry = tuple[str, str, str, dict[str, Any]]  # actor, action, subject, detail


# Commits between checkpoints of SQLite's write-ahead log by the read log (its connection does not
# checkpoint as it commits: `db.make_engine`): a read's entry writes a few pages, so about as often
# as SQLite's own default (1,000 pages) would.
CHECKPOINT_EVERY = 250


class ReadLog(GroupCommit[Entry]):
    def __init__(self, store: Store):
        self.store = store
        self.connection: Connection | None = None  # kept between commits; only the writer's thread uses it
        self.commits = 0
        super().__init__(self._commit_entries, name="audit-reads")

    def after(self) -> None:
        """Ask for a checkpoint every `CHECKPOINT_EVERY` commits (`Store.checkpoint`)."""
        self.commits += 1
        if self.commits % CHECKPOINT_EVERY == 0:
            self.store.checkpoint()

    @staticmethod
    def _refuse(error: BaseException) -> ServiceError:
        return ServiceError(503, f"audit: the read could not be logged ({error}); try again")

    @staticmethod
    def _read(actor: str, action: str, subject: str, detail: dict[str, Any]) -> Entry:
        # only reads: a change is found by an entry that records no read (`audit.changed_since`)
        if action not in audit.READS:
            raise ValueError(f"the read log records reads ({', '.join(audit.READS)}), not '{action}'")
        return actor, action, subject, detail

    def log(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """Append a read entry; return once it is committed."""
        error = self.wait(self._read(actor, action, subject, detail))
        if error is not None:
            raise self._refuse(error)

    async def log_async(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        """Append a read entry; return (to the running event loop) once it is committed."""
        error = await self.wait_async(self._read(actor, action, subject, detail))
        if error is not None:
            raise self._refuse(error)

    def _commit_entries(self, entries: list[Entry]) -> None:
        kept = self.connection
        try:
            self._commit_on(kept if kept is not None else self.store.write_engine.connect(), entries)
        except DBAPIError as error:
            if not (kept is not None and error.connection_invalidated):
                raise
            # the kept connection was dropped by the server meanwhile (nothing was committed on it)
            self._commit_on(self.store.write_engine.connect(), entries)

    def _commit_on(self, connection: Connection, entries: list[Entry]) -> None:
        store = self.store
        self.connection = None
        try:
            if connection.dialect.name == "sqlite":
                with store.write_lock:
                    audit.commit_many_sqlite(connection.connection.dbapi_connection, entries, store.audit_key)
            else:
                with store.write_lock, connection.begin():
                    store.begin_write(connection)
                    audit.append_many(connection, entries, store.audit_key)
        except BaseException:
            with suppress(Exception):
                connection.close()  # a failed connection is not reused: the next batch opens another
            raise
        self.connection = connection
