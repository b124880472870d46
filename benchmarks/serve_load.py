"""`socialcredit serve` under load, on loopback: durable batch ingest, then reads at a fixed rate.

Prints events/s of batch ingest (each batch answered after commit), then latency percentiles of
`GET /v1/subjects/{id}` and of the entitlement check. With `wrk` on the PATH (Debian's wrk) the
reads are driven by it at a few fixed concurrencies (requests/s and p50/p99 at each); without it,
by an asyncio client at a fixed rate (which itself needs much of a core). Targets (issue 5, 2
cores): ingest >= 20,000 events/s durable on SQLite; p99 <= 10 ms at 500 requests/s.

    python benchmarks/serve_load.py                       # SQLite, 100,000 events
    python benchmarks/serve_load.py --workers 2 --db postgresql+psycopg://postgres@127.0.0.1:54329/bench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(*args: str, cwd: Path) -> str:
    return subprocess.run([sys.executable, "-m", "socialcredit.cli", *args], cwd=cwd, capture_output=True,
                          text=True, check=True).stdout.strip()


async def paced(client: httpx.AsyncClient, urls: list[str], rate: float, seconds: float,
                headers: dict[str, str]) -> list[float]:
    """Send requests at `rate` per second (open loop) and return each one's latency in ms."""
    latencies: list[float] = []
    errors = 0

    async def one(url: str) -> None:
        nonlocal errors
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            errors += 1

    tasks = []
    start = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(urls[i % len(urls)])))
    await asyncio.gather(*tasks)
    if errors:
        print(f"  {errors} requests failed")
    return latencies


def report(label: str, latencies: list[float]) -> None:
    values = np.array(latencies)
    print(f"  {label:<24} n={values.size:5d}  p50 {np.percentile(values, 50):6.2f} ms  "
          f"p90 {np.percentile(values, 90):6.2f} ms  p99 {np.percentile(values, 99):6.2f} ms  "
          f"max {values.max():7.2f} ms")


def wrk(base: str, path: str, key: str, subjects: int, connections: int, seconds: float, label: str,
        folder: Path) -> None:
    script = folder / "reads.lua"
    script.write_text("counter = 0\nrequest = function()\n  counter = counter + 1\n"
                      f"  local n = counter % {subjects}\n"
                      f"  local path = string.gsub('{path}', '{{n}}', tostring(n))\n"
                      f"  return wrk.format('GET', path, {{['Authorization'] = 'Bearer {key}'}})\n"
                      "end\n")
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "-s", str(script),
                          base], capture_output=True, text=True).stdout
    figures = {"errors": "0"}
    for line in out.splitlines():
        if line.strip().startswith("Non-2xx"):
            figures["errors"] = line.split()[-1]
        parts = line.split()
        if parts[:1] in (["50%"], ["99%"]):
            figures[parts[0]] = parts[1]
        if line.startswith("Requests/sec:"):
            figures["rate"] = parts[1]
    print(f"  {label:<24} {connections} connections: {float(figures.get('rate', 'nan')):7.0f} requests/s  "
          f"p50 {figures.get('50%', '?'):>8}  p99 {figures.get('99%', '?'):>8}  (non-2xx: {figures['errors']}, "
          "subjects without events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="socialcredit-serve-"))
    db = args.db or f"sqlite:///{folder / 'bench.db'}"
    operator = cli("keys", "create", "--role", "operator", "--db", db, cwd=folder)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "socialcredit.cli", "serve", "--db", db, "--port", str(port),
                               "--workers", str(args.workers)],
                              cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cpus; database {db.split('://')[0]}")
        rng = np.random.default_rng(1)
        today = time.time() / 86400
        kinds = np.array(["payment", "late_payment", "default", "inquiry"])
        headers = {"Authorization": f"Bearer {operator}"}
        seconds_per_batch = []
        with httpx.Client(timeout=120) as client:
            for start in range(0, args.events, args.batch):
                size = min(args.batch, args.events - start)
                subject = rng.integers(0, args.subjects, size)
                kind = kinds[rng.choice(4, size, p=[0.85, 0.1, 0.01, 0.04])]
                when = today - rng.uniform(0, 700, size)
                batch = [{"id": f"e{start + i}", "subject": f"s{subject[i]}", "kind": str(kind[i]),
                          "time": float(when[i])} for i in range(size)]
                started = time.perf_counter()
                answer = client.post(f"{base}/v1/events", json={"events": batch}, headers=headers)
                seconds_per_batch.append(time.perf_counter() - started)
                assert answer.status_code == 200 and answer.json()["stored"] == size, answer.text[:500]
        total = sum(seconds_per_batch)
        print(f"\ningest: {args.events:,} events in batches of {args.batch:,} over {args.subjects:,} subjects")
        print(f"  {args.events / total:,.0f} events/s (median batch {statistics.median(seconds_per_batch):.3f} s; "
              f"target >= 20,000 events/s: {args.events / total / 20000:.2f}x)")

        async def reads() -> None:
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
            async with httpx.AsyncClient(timeout=30, limits=limits) as client:
                urls = [f"{base}/v1/subjects/s{s}" for s in rng.integers(0, args.subjects, 1000)]
                report("GET /v1/subjects/{id}", await paced(client, urls, args.rate, args.seconds, headers))
                urls = [f"{base}/v1/subjects/s{s}/entitlements/loan" for s in rng.integers(0, args.subjects, 1000)]
                report("entitlement check", await paced(client, urls, args.rate, args.seconds, headers))

        if shutil.which("wrk"):
            print(f"\nreads driven by wrk, {args.seconds:.0f} s at each concurrency (target p99 <= 10 ms at 500/s):")
            for path, label in (("/v1/subjects/s{n}", "GET /v1/subjects/{id}"),
                                ("/v1/subjects/s{n}/entitlements/loan", "entitlement check")):
                for connections in (1, 2, 4, 8):
                    wrk(base, path, operator, args.subjects, connections, args.seconds, label, folder)
        else:
            print(f"\nreads at {args.rate:.0f} requests/s for {args.seconds:.0f} s each (target p99 <= 10 ms):")
            asyncio.run(reads())
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
