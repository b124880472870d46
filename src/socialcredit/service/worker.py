"""A worker woken on request: a thread that runs one piece of work once for all the asks made while
it last ran. The store's WAL checkpoints and the read log's moves into the audit chain are such
work: many changes or reads ask, one run serves them all, and nobody waits for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("socialcredit.service")


class AskedWorker:
    """Run `work` on a thread of its own when asked (`ask`): the asks made while it runs are served
    by one run after. `gather` seconds pass between being woken and running, so the asks that come
    meanwhile share the run. A failed run is logged (`failed` says what it means) and the next ask
    runs it again. `stop` ends the thread (after the run under way), so a closed service leaves no
    thread behind that could act on a database another opened since."""

    def __init__(self, work: Callable[[], object], name: str, gather: float = 0.0,
                 failed: str = "failed; the next ask runs it again", asked: bool = False):
        self.work = work
        self.name = name
        self.gather = gather
        self.failed = failed
        self._asked = asked
        self._stopping = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def ask(self) -> None:
        with self._wake:
            self._asked = True
            self._wake.notify()

    def stop(self, timeout: float = 30.0) -> None:
        """End the thread, once the run under way (if any) is done; asks not yet run are dropped."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not (self._asked or self._stopping):
                    self._wake.wait()
                if self._stopping:
                    return
                self._asked = False
            if self.gather:
                time.sleep(self.gather)
            try:
                self.work()
            except Exception as error:  # the work is asked again by the next change or read
                log.warning("%s: %s (%s)", self.name, self.failed, error)
