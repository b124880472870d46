"""Slices of people (or kinds of act) worked on by two threads at once.

Work per slice of people (features to outcomes, behaviour rates) or per kind of act (who acts
today) is NumPy calls and compiled kernels that run without the GIL, so two threads keep two cores
busy. Each item's results go to the item's own place and sums over items are added in order, and
every random draw comes from the item's own stream, so results do not depend on the number of
threads. `SOCIALCREDIT_THREADS` sets the number (default: the usable cores, at most
2, above which the Python between the calls holds the rest back).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
Item = TypeVar("Item")
MAX_DEFAULT_THREADS = 2

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_worker = threading.local()


def thread_count() -> int:
    configured = os.environ.get("SOCIALCREDIT_THREADS", "").strip()
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            raise ValueError(f"SOCIALCREDIT_THREADS={configured!r} is not a number of threads; "
                             "fix: set it to a whole number such as 1 or 2, or unset it") from None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_DEFAULT_THREADS, usable)


def _mark_worker() -> None:
    _in_worker.active = True


def _shared_pool(threads: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers != threads:  # the setting changed: a pool of the new size
            if _pool is not None:
                _pool.shutdown(wait=False)  # its threads end once their work is done
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="socialcredit-slices",
                                       initializer=_mark_worker)
        return _pool


def parallel_map(work: Callable[[Item], T], items: Sequence[Item]) -> list[T]:
    """[work(item) for item in items], two at a time: the calling thread and the shared threads
    take the items in turn. One item, one thread configured, or a call from inside such work
    (nested work) runs on the calling thread alone."""
    threads = thread_count()
    if len(items) < 2 or threads < 2 or getattr(_in_worker, "active", False):
        return [work(item) for item in items]
    results: list[T | None] = [None] * len(items)
    taken = iter(range(len(items)))
    take = threading.Lock()

    def drain() -> None:
        while True:
            with take:
                index = next(taken, None)
            if index is None:
                return
            results[index] = work(items[index])

    helpers = [_shared_pool(threads - 1).submit(drain) for _ in range(min(threads - 1, len(items) - 1))]
    _in_worker.active = True  # nested calls from this thread's items run on it alone
    try:
        drain()
    finally:
        _in_worker.active = False
        for helper in helpers:
            helper.result()  # waits for the helpers' last items; raises what they raised
    return results  # type: ignore[return-value]  # every slot filled


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def one_malloc_arena() -> bool:
    """Have every thread allocate from glibc's one main arena (True if set).

    By default glibc gives each thread that allocates its own arena, and an arena keeps much of
    what was freed in it for reuse: with the slice threads and the metrics' and income's workers,
    a simulation's peak memory is about 5% higher for it (benchmarks/RESULTS.md, `socialcredit
    simulate`). The threads allocate large arrays, rarely, so sharing one arena costs them nothing
    measurable. Call before the threads first allocate; elsewhere than glibc it does nothing."""
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False
