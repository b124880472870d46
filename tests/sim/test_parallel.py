"""parallel_map: the items' results in order, whatever thread worked on them."""

from __future__ import annotations

import threading

import pytest

from socialcredit.parallel import parallel_map


@pytest.fixture(autouse=True)
def two_threads(monkeypatch):
    monkeypatch.setenv("SOCIALCREDIT_THREADS", "2")


def test_results_come_in_the_items_order_and_both_threads_take_items():
    seen: set[str] = set()
    gate = threading.Barrier(2, timeout=10)

    def work(item: int) -> int:
        if item < 2:  # the first two items wait for each other: they must be on two threads
            gate.wait()
        seen.add(threading.current_thread().name)
        return item * item

    assert parallel_map(work, list(range(40))) == [i * i for i in range(40)]
    assert len(seen) == 2


def test_nested_calls_run_on_the_calling_thread_and_errors_reach_the_caller():
    assert parallel_map(lambda i: parallel_map(lambda j: i * 10 + j, [0, 1, 2]), [1, 2, 3]) == [
        [10, 11, 12], [20, 21, 22], [30, 31, 32]]

    def fails(item: int) -> int:
        if item == 5:
            raise ValueError("item 5")
        return item

    with pytest.raises(ValueError, match="item 5"):
        parallel_map(fails, list(range(10)))
    assert parallel_map(lambda i: i, [1, 2]) == [1, 2]  # the threads still work after an error
