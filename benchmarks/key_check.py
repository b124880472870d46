"""What checking a request's API key costs, once its process knows the key: `KeyRing.actor`, which
asks the key's row on every request whether it was revoked (`keys.KeyCheck`), against the same call
with that read left out (a dict look-up: how the server checked a known key before keys could be
revoked). Wall time and this process's CPU time per request, the median of `--repeats` runs, with
1, 8 and 32 requests in flight at a time (on PostgreSQL, the checks waiting together share a read).

    python benchmarks/key_check.py                     # SQLite (a file in a temp folder)
    python benchmarks/key_check.py --db postgresql+psycopg://postgres@127.0.0.1:54329/bench
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anyio

from socialcredit.scheme import load_scheme
from socialcredit.service.api import create_app
from socialcredit.service.core import Service
from socialcredit.service.db import Base, make_engine, make_sessions
from socialcredit.service.keys import create_key
from socialcredit.service.migrate import upgrade


def timed(keys, header: str, requests: int, at_once: int) -> tuple[float, float]:
    """(wall, CPU) microseconds a check, over `requests` checks on one event loop, `at_once` at a time."""
    async def run() -> tuple[float, float]:
        for _ in range(200):  # the first check looks the key up; the rest are what is measured
            await keys.actor(header)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests // at_once):
            async with anyio.create_task_group() as group:
                for _ in range(at_once):
                    group.start_soon(keys.actor, header)
        done = requests // at_once * at_once
        return ((time.perf_counter() - wall) / done * 1e6, (time.process_time() - cpu) / done * 1e6)

    return anyio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--at-once", type=int, nargs="+", default=[1, 8, 32],
                        help="requests in flight at a time (each a run of its own)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="key-check-")
    url = args.db or f"sqlite:///{Path(folder) / 'keys.db'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":  # a clean database
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(engine)
    with make_sessions(engine).begin() as session:
        header = f"Bearer {create_key(session, 'auditor')}"
    keys = create_app(Service(engine, load_scheme("lending"))).state.keys
    asked = keys.check.stands

    async def not_asked(_key_id: str) -> bool:
        return True

    where = "on the event loop" if keys.check.local else "by the key-check thread"
    print(f"{engine.dialect.name}: a known key's check, {args.requests:,} checks x {args.repeats} runs "
          f"(median), the row asked {where}; wall and CPU time a check")
    for at_once in args.at_once:
        figures: dict[str, list[tuple[float, float]]] = {"row asked (now)": [], "dict only (before)": []}
        for _ in range(args.repeats):  # interleaved, so a busy moment of the machine falls on both
            keys.check.stands = asked
            figures["row asked (now)"].append(timed(keys, header, args.requests, at_once))
            keys.check.stands = not_asked
            figures["dict only (before)"].append(timed(keys, header, args.requests, at_once))
        for label, runs in figures.items():
            print(f"  {at_once:3d} at once  {label:20s} wall {statistics.median(w for w, _ in runs):7.1f} us   "
                  f"CPU {statistics.median(c for _, c in runs):7.1f} us")
    keys.check.close()


if __name__ == "__main__":
    main()
