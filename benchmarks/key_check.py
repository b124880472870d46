"""What checking a request's API key costs, once its process knows the key: `KeyRing.actor` asks the
key's row on every request whether it was revoked (`keys.KeyCheck`); measured against the same
with that read left out (a dict look-up: how the server checked a known key before keys could be
revoked). Wall time and this process's CPU time, the median of `--repeats` runs, the two
alternated so that a busy moment of a shared machine falls on both:

- the check alone, with 1, 8 and 32 requests in flight at a time (on PostgreSQL, the checks
  waiting together share one read);
- a hot read, GET /v1/subjects/{id}, through the whole app in this process (ASGI, one request at a
  time: the check's worst case on PostgreSQL, where no two share a read).

    python benchmarks/key_check.py                     # SQLite (a file in a temp folder)
    python benchmarks/key_check.py --db postgresql+psycopg://postgres@127.0.0.1:54329/bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx

from socialcredit.scheme import load_scheme
from socialcredit.service.api import create_app
from socialcredit.service.core import Service
from socialcredit.service.db import Base, make_engine, make_sessions
from socialcredit.service.keys import create_key
from socialcredit.service.migrate import upgrade

Figures = dict[str, list[tuple[float, float]]]


def alternated(check, work: Callable[[], tuple[float, float]], repeats: int) -> Figures:
    """`work` run with the key's row asked and without, alternately: (wall, CPU) of each run."""
    asked = check.stands

    async def not_asked(_key_id: str) -> bool:
        return True

    figures: Figures = {"row asked (now)": [], "dict only (before)": []}
    for _ in range(repeats):
        check.stands = asked
        figures["row asked (now)"].append(work())
        check.stands = not_asked
        figures["dict only (before)"].append(work())
    check.stands = asked
    return figures


def show(title: str, figures: Figures, unit: str) -> None:
    places = 1 if unit == "us" else 2
    print(title)
    for label, runs in figures.items():
        print(f"    {label:20s} wall {statistics.median(w for w, _ in runs):8.{places}f} {unit}   "
              f"CPU {statistics.median(c for _, c in runs):8.{places}f} {unit}")


def checks(keys, header: str, count: int, at_once: int) -> tuple[float, float]:
    """(wall, CPU) microseconds a check, over `count` checks on one event loop, `at_once` at a time."""
    async def run() -> tuple[float, float]:
        for _ in range(200):  # the first check looks the key up; the rest are what is measured
            await keys.actor(header)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count // at_once):
            async with anyio.create_task_group() as group:
                for _ in range(at_once):
                    group.start_soon(keys.actor, header)
        done = count // at_once * at_once
        return (time.perf_counter() - wall) / done * 1e6, (time.process_time() - cpu) / done * 1e6

    return anyio.run(run)


def reads(app, header: str, count: int) -> Callable[[], tuple[float, float]]:
    """A run of `count` record reads of 50 subjects through the app: (wall, CPU) milliseconds a read."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    headers = {"Authorization": header}
    loop = asyncio.new_event_loop()

    def run_on_loop(work: Awaitable[tuple[float, float]]) -> tuple[float, float]:
        return loop.run_until_complete(work)

    async def ingest() -> tuple[float, float]:
        today = time.time() / 86400
        events = [{"id": f"e{i}", "subject": f"s{i % 50}", "kind": "payment", "time": today - 10 - i % 300}
                  for i in range(2000)]
        answer = await client.post("/v1/events", json={"events": events}, headers=headers)
        assert answer.status_code == 200, answer.text
        for i in range(200):
            await client.get(f"/v1/subjects/s{i % 50}", headers=headers)
        return 0.0, 0.0

    async def run() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(count):
            await client.get(f"/v1/subjects/s{i % 50}", headers=headers)
        return (time.perf_counter() - wall) / count * 1e3, (time.process_time() - cpu) / count * 1e3

    run_on_loop(ingest())
    return lambda: run_on_loop(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--checks", type=int, default=10_000, help="checks a run of the check alone")
    parser.add_argument("--reads", type=int, default=500, help="reads a run of the hot read")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='key-check-')) / 'keys.db'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":  # a clean database
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(engine)
    with make_sessions(engine).begin() as session:
        header = f"Bearer {create_key(session, 'operator')}"
    app = create_app(Service(engine, load_scheme("lending"), write_engine=make_engine(url, writer=True)))
    keys = app.state.keys
    where = "on the event loop" if keys.check.local else "by the key-check thread"
    print(f"{engine.dialect.name}: a known key, its row asked {where}; median of {args.repeats} runs")
    for at_once in (1, 8, 32):
        show(f"  the check alone, {at_once} at a time, a check:",
             alternated(keys.check, lambda at_once=at_once: checks(keys, header, args.checks, at_once), args.repeats),
             "us")
    show("  GET /v1/subjects/{id} through the app, one at a time, a read:",
         alternated(keys.check, reads(app, header, args.reads), args.repeats), "ms")
    keys.check.close()


if __name__ == "__main__":
    main()
