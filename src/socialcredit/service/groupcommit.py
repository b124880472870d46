"""The group-commit writer: items from many threads or event loops written by one thread, as many
at a time as have come meanwhile, in one transaction; each caller is answered once the commit that
holds its item is done. One commit (one fsync) serves many callers, and none is answered before its
item is committed (durable, where the writer's commits sync; the read log's do not wait for the
disk: `readlog.py`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Generic, TypeVar

Item = TypeVar("Item")
Done = Callable[[BaseException | None], None]  # told the outcome of the commit that held the item


class GroupCommit(Generic[Item]):
    """Commit items in batches with `commit` (which writes a list of items in one transaction, or
    raises) on a thread of its own. Callers wait on a threading.Event (`wait`), or on a future of
    their event loop (`wait_async`), which holds no thread while the commit runs. A failed commit
    fails only the items it held: the writer goes on with the next batch."""

    def __init__(self, commit: Callable[[list[Item]], None], name: str):
        self._commit = commit
        self.pending: list[tuple[Item, Done]] = []
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.closed = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _submit(self, item: Item, done: Done) -> None:
        with self.wake:
            if self.closed:
                done(RuntimeError(f"{self.thread.name} is closed: the server is stopping"))
                return
            self.pending.append((item, done))
            self.wake.notify()

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is pending, then end the writer's thread; an item submitted after is failed."""
        with self.wake:
            self.closed = True
            self.wake.notify()
        self.thread.join(timeout)

    def wait(self, item: Item) -> BaseException | None:
        """Write `item`; return once it is committed (None) or its commit failed (the error)."""
        committed = threading.Event()
        outcome: list[BaseException | None] = []

        def done(error: BaseException | None) -> None:
            outcome.append(error)
            committed.set()

        self._submit(item, done)
        committed.wait()
        return outcome[0]

    def submit(self, item: Item) -> None:
        """Write `item` without waiting for its commit: for what no caller needs to be told of (a
        failed commit loses it)."""
        self._submit(item, lambda _error: None)

    async def wait_async(self, item: Item) -> BaseException | None:
        """`wait` for an event loop: the loop runs on while the commit does."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[BaseException | None] = loop.create_future()

        def resolve(error: BaseException | None) -> None:
            if not future.done():  # the request may have been cancelled meanwhile
                future.set_result(error)

        def done(error: BaseException | None) -> None:  # on the writer's thread: hand over to the loop's
            loop.call_soon_threadsafe(resolve, error)

        self._submit(item, done)
        return await future

    def _run(self) -> None:
        while True:
            with self.wake:
                while not (self.pending or self.closed):
                    self.wake.wait()
                if not self.pending:  # closed, and every item committed
                    return
                batch, self.pending = self.pending, []
            failure: BaseException | None = None
            try:
                self._commit([item for item, _ in batch])
            except Exception as error:  # the callers are told; the writer keeps running
                failure = error
            for _, done in batch:
                with suppress(Exception):  # e.g. a caller whose event loop closed meanwhile: tell the others
                    done(failure)
            with suppress(Exception):
                self.after()

    def after(self) -> None:
        """Work for the writer's thread once the callers of a batch were told (none by default)."""
