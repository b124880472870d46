"""Ingest speed of two source trees, alternated, each on a fresh copy of one preloaded store.

    python benchmarks/serve_ingest_pairs.py --store FOLDER [--old-src PATH] [--pairs 5] [--events 30000]

FOLDER is a `serve_load.py --folder FOLDER --preload N` run's folder (SQLite: `bench.db` and its
audit key). Each run copies it, starts `serve` on the copy with one tree's code (the old tree's
`src` first on PYTHONPATH; the installed package for the new), posts batches of 1,000 events with
ids never stored before back to back, and prints events/s and the batch p50/p99; then the ratio of
each pair and their median. Alternating the trees shares the host's slow minutes between them: on
a shared 2-core VM a single run of each can differ by 1.5x for nothing the code did.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import serve_load  # noqa: E402 (the batches and the server's start as `serve_load.py` makes them)


def one_run(store: Path, events: int, src: str | None) -> tuple[float, float, float]:
    """(events/s, batch p50 s, batch p99 s) of `serve` with `src`'s code on a copy of `store`."""
    folder = Path(tempfile.mkdtemp(prefix="socialcredit-pairs-"))
    shutil.rmtree(folder)
    shutil.copytree(store, folder)
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    db = f"sqlite:///{folder / 'bench.db'}"
    operator = subprocess.run([sys.executable, "-m", "socialcredit.cli", "keys", "create", "--role", "operator",
                               "--db", db], cwd=folder, env=env, capture_output=True, text=True, check=True
                              ).stdout.strip().splitlines()[-1].strip()
    server, port = serve_load.start_server(db, folder, env)
    base = f"http://127.0.0.1:{port}"
    try:
        rng = np.random.default_rng(time.time_ns() % 2**32)
        prefix = f"pair{time.time_ns()}-"  # never stored before
        bodies = [json.dumps({"events": serve_load.make_batch(rng, prefix, start, 1000, 10_000)})
                  for start in range(0, events, 1000)]
        seconds = []
        headers = {"Authorization": f"Bearer {operator}", "content-type": "application/json"}
        with httpx.Client(timeout=300, headers=headers) as client:
            for body in bodies:
                started = time.perf_counter()
                answer = client.post(f"{base}/v1/events", content=body)
                seconds.append(time.perf_counter() - started)
                if answer.status_code != 200 or answer.json()["stored"] != 1000:
                    sys.exit(f"a batch was not stored: {answer.status_code} {answer.text[:300]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    p50, p99 = np.percentile(seconds, [50, 99])
    return events / sum(seconds), float(p50), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a preloaded serve_load.py folder (SQLite)")
    parser.add_argument("--old-src", default=None, help="the old tree's src folder (default: time the new only)")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--events", type=int, default=30_000, help="events a run posts, in batches of 1,000")
    args = parser.parse_args()
    if not (args.store / "bench.db").exists():
        sys.exit(f"--store: no bench.db in {args.store} (make one with serve_load.py --folder DIR --preload N)")
    ratios = []
    for pair in range(1, args.pairs + 1):
        line = f"pair {pair}:"
        if args.old_src:
            old = one_run(args.store, args.events, args.old_src)
            line += f" old {old[0]:,.0f} events/s (p50 {old[1] * 1000:.0f} ms, p99 {old[2] * 1000:.0f} ms);"
        new = one_run(args.store, args.events, None)
        line += f" new {new[0]:,.0f} events/s (p50 {new[1] * 1000:.0f} ms, p99 {new[2] * 1000:.0f} ms)"
        if args.old_src:
            ratios.append(new[0] / old[0])
            line += f"; new/old {ratios[-1]:.2f}"
        print(line, flush=True)
    if ratios:
        print(f"median new/old over {len(ratios)} pairs: {float(np.median(ratios)):.2f}x")


if __name__ == "__main__":
    main()
