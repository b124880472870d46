"""Ingest speed of two source trees, alternated, each on a fresh copy of a preloaded store.

    python benchmarks/serve_ingest_pairs.py --store FOLDER [--new-store FOLDER2] [--old-src PATH]
                                            [--pairs 5] [--events 30000] [--subjects 10000]

FOLDER is a `serve_load.py --folder FOLDER --preload N` run's folder (SQLite: `bench.db` and its
audit key), made by the old tree: a store of a newer schema than the old tree knows is refused by
it. The new tree migrates a copy as it starts; `--new-store` gives it a store of its own instead
(preloaded by the new tree, so that its indexes grew as they would in use, not made at once by a
migration). Each run copies its store, starts `serve` on the copy with one tree's code (the old
tree's `src` first on PYTHONPATH; the installed package for the new), posts batches of 1,000
events with ids never stored before back to back, and prints events/s and the batch p50/p99; then
each pair's ratio and their median. A pair's two runs post the same batches, and the pairs run
old-new, new-old, ...: on a shared 2-core VM one run of each can differ by 1.5x for nothing the
code did, and alternating shares the host's slow minutes between the trees.
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

BATCH = 1000


def one_run(store: Path, bodies: list[str], src: str | None) -> tuple[float, float, float]:
    """(events/s, batch p50 s, batch p99 s) of `serve` with `src`'s code on a copy of `store`."""
    folder = Path(tempfile.mkdtemp(prefix="socialcredit-pairs-"))
    server = None
    try:
        shutil.copytree(store, folder, dirs_exist_ok=True)
        env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
        db = f"sqlite:///{folder / 'bench.db'}"
        made = subprocess.run([sys.executable, "-m", "socialcredit.cli", "keys", "create", "--role", "operator",
                               "--db", db], cwd=folder, env=env, capture_output=True, text=True)
        if made.returncode != 0:
            sys.exit(f"{src or 'the new tree'} could not open a copy of {store}: {made.stderr.strip()[-1500:]}\n"
                     "(a store made by a newer tree than --old-src is refused by it: make it with the old "
                     "tree's serve_load.py, and give the new tree its own with --new-store)")
        operator = made.stdout.strip().splitlines()[-1].strip()
        server, port = serve_load.start_server(db, folder, env)
        seconds = []
        headers = {"Authorization": f"Bearer {operator}", "content-type": "application/json"}
        with httpx.Client(timeout=300, headers=headers) as client:
            for body in bodies:
                started = time.perf_counter()
                answer = client.post(f"http://127.0.0.1:{port}/v1/events", content=body)
                seconds.append(time.perf_counter() - started)
                if answer.status_code != 200 or answer.json()["stored"] != BATCH:
                    sys.exit(f"a batch was not stored: {answer.status_code} {answer.text[:300]}")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(folder, ignore_errors=True)
    p50, p99 = np.percentile(seconds, [50, 99])
    return len(bodies) * BATCH / sum(seconds), float(p50), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a preloaded serve_load.py folder (SQLite)")
    parser.add_argument("--new-store", type=Path, default=None, help="the new tree's own store (default: --store)")
    parser.add_argument("--old-src", default=None, help="the old tree's src folder (default: time the new only)")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--events", type=int, default=30_000, help=f"events a run posts, in batches of {BATCH:,}")
    parser.add_argument("--subjects", type=int, default=10_000, help="subjects the batches name (as the preload's)")
    args = parser.parse_args()
    if args.old_src and not (Path(args.old_src) / "socialcredit" / "__init__.py").exists():
        sys.exit(f"--old-src: no socialcredit package in {args.old_src} (give the old tree's src folder; "
                 "without it the installed code would run as the old)")
    new_store = args.new_store or args.store
    for store in {args.store, new_store}:
        if not (store / "bench.db").exists():
            sys.exit(f"--store: no bench.db in {store} (make one with serve_load.py --folder DIR --preload N)")
    ratios = []
    for pair in range(1, args.pairs + 1):
        rng = np.random.default_rng(pair)
        prefix = f"pair{time.time_ns()}-"  # never stored before, and the same for both runs of the pair
        bodies = [json.dumps({"events": serve_load.make_batch(rng, prefix, start, BATCH, args.subjects)})
                  for start in range(0, max(args.events, BATCH), BATCH)]
        trees = {"new": (new_store, None), **({"old": (args.store, args.old_src)} if args.old_src else {})}
        order = sorted(trees, reverse=pair % 2 == 1)  # old first in odd pairs, new first in even ones
        got = {name: one_run(trees[name][0], bodies, trees[name][1]) for name in order}
        line = f"pair {pair}: " + "; ".join(
            f"{name} {rate:,.0f} events/s (p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms)"
            for name, (rate, p50, p99) in sorted(got.items(), reverse=True))
        if args.old_src:
            ratios.append(got["new"][0] / got["old"][0])
            line += f"; new/old {ratios[-1]:.2f}"
        print(line, flush=True)
    if ratios:
        print(f"median new/old over {len(ratios)} pairs: {float(np.median(ratios)):.2f}x")


if __name__ == "__main__":
    main()
