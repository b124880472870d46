"""`socialcredit serve` under load, on loopback: durable batch ingest, then reads at a fixed rate.

Prints events/s of batch ingest (each batch answered after commit; the batches are made and
encoded as JSON before the clock starts, so what is timed is the server's work), then the latency
percentiles of `GET /v1/subjects/{id}` and of the entitlement check at a fixed offered rate (`--rate`, default 500
requests/s): an open-loop client sends each request at its scheduled time whether or not earlier
ones were answered (on as many keep-alive connections as that takes), and times each from its
scheduled send, so a stall counts against every request queued behind it (no coordinated
omission). The client is a few lines of non-blocking sockets, cheap enough to share the 2 cores
with the server; it prints its own CPU use, the server's CPU time per request, and how much CPU
everything else on the machine took meanwhile (on a shared machine, the cause of most outliers).
With `--wrk`, Debian's `wrk` then saturates the server at a few fixed concurrencies (closed loop:
requests/s and p50/p99 at each). Targets (issue 5, 2 cores): ingest >= 20,000 events/s durable on
SQLite; p99 <= 10 ms at 500 requests/s.

`--during-ingest` then times reads while ingest runs (issue 18, point 5: reads must not wait for
ingests; target read p99 <= 50 ms): a second process sends batches back to back (each answered
after commit) while the open-loop client reads at `--ingest-read-rate`; it prints the reads'
p50/p99 and the ingest's events/s and batch p50/p99 over the same seconds.

`--preload N` first stores N events (issue 18, point 10: ingest must not slow as data grows;
targets >= 20,000 events/s durable and p99 <= 250 ms per batch of 1,000, from an empty store and
with 1M stored): through the service's own ingest in this process (the checks, the scoring, the
audit entry covering every row: the store is as the server would have made it), in batches of
10,000 over `--subjects`, without HTTP, before the server starts.

    python benchmarks/serve_load.py                       # SQLite, 100,000 events, reads at 500/s
    python benchmarks/serve_load.py --seconds 5 --repeats 5   # five timed runs of each, and their median
    python benchmarks/serve_load.py --wrk                 # and the saturation sweep
    python benchmarks/serve_load.py --workers 2 --db postgresql+psycopg://postgres@127.0.0.1:54329/bench
    python benchmarks/serve_load.py --batch 1000 --no-reads --during-ingest      # point 5, from empty
    python benchmarks/serve_load.py --preload 1000000 --batch 1000 --no-reads --during-ingest   # point 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
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


class Connection:
    """One keep-alive connection of the open-loop client, with at most one request in flight."""

    def __init__(self, address: tuple[str, int]):
        self.sock = socket.create_connection(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buffer = b""
        self.due = self.sent = 0.0
        self.idle_since = time.perf_counter()

    def response(self) -> int | None:
        """The status of the response in the buffer once it is complete (and drop it), else None."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buffer[:head_end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buffer) < head_end + 4 + length:
            return None
        self.buffer = self.buffer[head_end + 4 + length:]
        return int(head[0].split()[1])


def open_loop(address: tuple[str, int], requests: list[bytes], rate: float, seconds: float,
              max_connections: int = 256) -> dict[str, object]:
    """Send requests[i % len] at start + i / rate, open loop; time each from its scheduled send.

    Returns latencies from the scheduled send and from the actual send (ms), the send lag (ms:
    how late the client sent, at most about 1 ms from epoll's millisecond timeout), the number of
    non-2xx answers, the connections used and the client's CPU seconds."""
    selector = selectors.DefaultSelector()
    idle: list[Connection] = []
    opened = 0

    def connect() -> Connection:
        nonlocal opened
        connection = Connection(address)
        selector.register(connection.sock, selectors.EVENT_READ, connection)
        opened += 1
        return connection

    def close(connection: Connection) -> None:
        selector.unregister(connection.sock)
        connection.sock.close()

    for _ in range(4):
        idle.append(connect())
    total = int(rate * seconds)
    scheduled: list[tuple[float, int]] = []  # (due time, index) of requests waiting for a connection
    from_due: list[float] = []
    from_sent: list[float] = []
    lag: list[float] = []
    errors = 0
    refused: dict[int, int] = {}  # non-2xx answers by status
    cpu = time.process_time()
    start = time.perf_counter() + 0.05
    next_i = 0
    in_flight = 0
    while next_i < total or scheduled or in_flight:
        now = time.perf_counter()
        while next_i < total and start + next_i / rate <= now:
            scheduled.append((start + next_i / rate, next_i))
            next_i += 1
        while idle and now - idle[0].idle_since > 4:  # the server drops keep-alive connections idle for 5 s
            close(idle.pop(0))
        while scheduled and (idle or len(selector.get_map()) < max_connections):
            connection = idle.pop() if idle else connect()
            connection.due, index = scheduled.pop(0)
            connection.sent = time.perf_counter()
            connection.sock.sendall(requests[index % len(requests)])
            lag.append((connection.sent - connection.due) * 1000)
            in_flight += 1
        timeout = None if next_i >= total else max(0.0, start + next_i / rate - time.perf_counter())
        for key, _ in selector.select(timeout):
            connection = key.data
            chunk = connection.sock.recv(65536)
            if not chunk:  # closed by the server: idle (dropped quietly), or with a request in flight (an error)
                if connection in idle:
                    idle.remove(connection)
                else:
                    errors += 1
                    in_flight -= 1
                close(connection)
                continue
            connection.buffer += chunk
            status = connection.response()
            if status is not None:
                done = time.perf_counter()
                from_due.append((done - connection.due) * 1000)
                from_sent.append((done - connection.sent) * 1000)
                if not 200 <= status < 300:
                    errors += 1
                    refused[status] = refused.get(status, 0) + 1
                in_flight -= 1
                connection.idle_since = done
                idle.append(connection)
    cpu = time.process_time() - cpu
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    selector.close()
    return {"from_due": from_due, "from_sent": from_sent, "lag": lag, "errors": errors, "connections": opened,
            "cpu": cpu, "refused": refused}


def statuses(run: dict[str, object]) -> str:
    """The non-2xx answers of a run by status, e.g. ' (404: 3)': a subject without events is a 404."""
    refused = run["refused"]
    assert isinstance(refused, dict)
    return f" ({', '.join(f'{status}: {n}' for status, n in sorted(refused.items()))})" if refused else ""


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (Linux /proc; nan elsewhere)."""
    total = 0.0
    try:
        pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        for each in pids:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return float("nan")
    return total


def machine_busy() -> float:
    """CPU seconds all the machine's processes have used so far (Linux /proc/stat; nan elsewhere)."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def fixed_rate(address: tuple[str, int], paths: list[str], key: str, rate: float, seconds: float, label: str,
               server_pid: int, repeats: int = 1) -> None:
    host = f"{address[0]}:{address[1]}"
    requests = [f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
                for path in paths]
    # warm up (connections, the server's threads) on other subjects than those then timed
    open_loop(address, requests[::-1], rate, min(1.0, seconds))
    figures = []
    for _ in range(repeats):
        used, busy = server_cpu(server_pid), machine_busy()
        run = open_loop(address, requests, rate, seconds)
        used, busy = server_cpu(server_pid) - used, machine_busy() - busy
        others = (busy - used - float(run["cpu"])) / seconds  # cores' worth used by everything else
        due = np.array(run["from_due"])
        sent = np.array(run["from_sent"])
        p50, p90, p99 = np.percentile(due, [50, 90, 99])
        figures.append((p50, p99, used / due.size * 1000))
        print(f"  {label:<24} {due.size / seconds:5.0f}/s  p50 {p50:6.2f} ms  p90 {p90:6.2f} ms  p99 {p99:6.2f} ms  "
              f"max {due.max():7.2f} ms  (p99 {p99 / 10:.2f}x of target; from actual send p50 "
              f"{np.percentile(sent, 50):.2f} p99 {np.percentile(sent, 99):.2f} ms; send lag p99 "
              f"{np.percentile(run['lag'], 99):.2f} ms; non-2xx {run['errors']}{statuses(run)}; "
              f"{run['connections']} connections; "
              f"server {used / due.size * 1000:.2f} ms CPU/request; client {float(run['cpu']) / seconds:.0%} "
              f"of a core; other work on the machine {others:.2f} cores)")
    if repeats > 1:
        p50, p99, cpu = np.median(np.array(figures), axis=0)
        print(f"  {label:<24} median of {repeats}: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({p99 / 10:.2f}x of target), "
              f"server {cpu:.2f} ms CPU/request; p99 of each: {', '.join(f'{f[1]:.1f}' for f in figures)} ms")


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


KINDS = np.array(["payment", "late_payment", "default", "inquiry"])
KIND_SHARES = [0.85, 0.1, 0.01, 0.04]


def start_server(db: str, folder: Path, env: Mapping[str, str], *options: str) -> tuple[subprocess.Popen, int]:
    """`serve` on `db` from `folder` with `env`, on a free port of 127.0.0.1, once it answers (the
    process and its port). Its errors go to `folder`/serve.stderr (a pipe no one reads could fill and
    stop it), shown if it does not start."""
    port = free_port()
    errors = folder / "serve.stderr"
    server = subprocess.Popen([sys.executable, "-m", "socialcredit.cli", "serve", "--db", db, "--port", str(port),
                               *options], cwd=folder, stdout=subprocess.DEVNULL, stderr=errors.open("w"), env={**env})
    deadline = time.monotonic() + 180
    while True:
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            sys.exit(f"serve did not start on {db} (exit {server.wait()}): {errors.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server, port
        except httpx.TransportError:
            pass
        time.sleep(0.1)


def make_batch(rng: np.random.Generator, prefix: str, start: int, size: int, subjects: int) -> list[dict[str, object]]:
    """`size` events with ids prefix{start}.., over subjects s0..s{subjects - 1}, dated within the last 700 days."""
    today = time.time() / 86400
    subject = rng.integers(0, subjects, size)
    kind = KINDS[rng.choice(4, size, p=KIND_SHARES)]
    when = today - rng.uniform(0, 700, size)
    return [{"id": f"{prefix}{start + i}", "subject": f"s{subject[i]}", "kind": str(kind[i]), "time": float(when[i])}
            for i in range(size)]


def events_stored(db: str) -> int:
    """How many events the store holds before the run: a store given by --db may hold some already."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())
    finally:
        engine.dispose()


def unused_prefix(letter: str) -> str:
    """A prefix of ids no earlier run stored: a store given by --db may hold an earlier run's (its
    preload's "pre0", ..., its batches' "e0", ...)."""
    return f"{letter}{time.time_ns():x}."


def preload(db: str, folder: Path, events: int, subjects: int) -> None:
    """Store `events` events through the service's ingest, in this process, in batches of 10,000
    (the largest a request may hold), with the audit key the server will use (`serve`'s default,
    found from the server's working folder)."""
    from socialcredit.scheme import load_scheme
    from socialcredit.service.auditkey import default_paths, key_for
    from socialcredit.service.core import Service
    from socialcredit.service.db import make_engine
    from socialcredit.service.keys import Actor
    from socialcredit.service.migrate import upgrade

    paths = default_paths(db)
    key_path = None if paths is None else paths[0] if paths[0].is_absolute() else folder / paths[0]
    key = key_for(db, key_path)
    engine = make_engine(db)
    upgrade(engine, key)
    service = Service(engine, load_scheme("lending"), write_engine=make_engine(db, writer=True), audit_key=key,
                      checkpoints=None if paths is None else folder / "preload.checkpoints")
    service.warm()
    actor = Actor("preload", "operator")
    prefix = "pre" if not events_stored(db) else unused_prefix("pre")
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    for start in range(0, events, 10_000):
        size = min(10_000, events - start)
        answer = service.ingest(make_batch(rng, prefix, start, size, subjects), actor)
        assert answer["stored"] == size, answer
        if start and start % 200_000 == 0:
            print(f"  preloaded {start:,} events ({time.perf_counter() - started:.0f} s)", flush=True)
    seconds = time.perf_counter() - started
    service.close()  # its read log's and checkpoints' threads
    engine.dispose()
    service.store.write_engine.dispose()
    print(f"preload: {events:,} events over {subjects:,} subjects in {seconds:.1f} s "
          f"({events / seconds:,.0f} events/s, in process, batches of 10,000)")


def post_batches(address: tuple[str, int], key: str, bodies: list[bytes], ready: object, stop: object,
                 results: object) -> None:
    """In a process of its own: POST the bodies one after another until told to stop; each batch's
    (start, seconds) goes to `results`. A process, so that its work does not hold the GIL of the
    reading client."""
    connection = http.client.HTTPConnection(*address, timeout=300)
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    timings = []
    ready.set()  # type: ignore[attr-defined]
    for body in bodies:
        if stop.is_set():  # type: ignore[attr-defined]
            break
        started = time.perf_counter()
        connection.request("POST", "/v1/events", body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read()
        assert answer.status == 200, text[:500]
        timings.append((started, time.perf_counter() - started))
    results.put(timings)  # type: ignore[attr-defined]


def reads_during_ingest(address: tuple[str, int], key: str, server_pid: int, args: argparse.Namespace,
                        rng: np.random.Generator, subjects: int, prefix: str) -> None:
    """Reads at a fixed rate while a second process ingests batches back to back: the reads'
    latency, and the ingest's events/s and batch latency, over the same seconds."""
    batches = int(args.seconds * 40_000 / args.batch) + 5  # more than the ingest can send meanwhile
    host = f"{address[0]}:{address[1]}"
    paths = [f"/v1/subjects/s{s}" for s in rng.integers(0, subjects, 5000)]
    requests = [f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
                for path in paths]
    open_loop(address, requests[::-1], args.ingest_read_rate, 1.0)  # warm up
    context = multiprocessing.get_context("fork")
    for run in range(args.repeats):
        bodies = [json.dumps({"events": make_batch(rng, f"{prefix}m{run}-{n}-", 0, args.batch, subjects)}).encode()
                  for n in range(batches)]
        ready, stop, results = context.Event(), context.Event(), context.Queue()
        sender = context.Process(target=post_batches, args=(address, key, bodies, ready, stop, results))
        sender.start()
        ready.wait()
        time.sleep(0.5)  # the first batch is in: reads start behind an ingest
        used, busy = server_cpu(server_pid), machine_busy()
        window = time.perf_counter()
        reads = open_loop(address, requests, args.ingest_read_rate, args.seconds)
        window = (window, time.perf_counter())
        used, busy = server_cpu(server_pid) - used, machine_busy() - busy
        stop.set()
        timings = results.get()
        sender.join()
        inside = [seconds for started, seconds in timings if started >= window[0] and started + seconds <= window[1]]
        spans = window[1] - window[0]
        due = np.array(reads["from_due"])
        p50, p99 = np.percentile(due, [50, 99])
        b50, b99 = np.percentile(inside, [50, 99]) if inside else (float("nan"), float("nan"))
        others = (busy - used - float(reads["cpu"])) / spans
        rate = len(inside) * args.batch / spans
        print(f"  run {run + 1}: reads {due.size / spans:5.0f}/s p50 {p50:6.2f} ms p99 {p99:7.2f} ms max "
              f"{due.max():7.1f} ms (p99 {p99 / 50:.2f}x of target; non-2xx {reads['errors']}{statuses(reads)}); "
              f"ingest {rate:7,.0f} "
              f"events/s, batch p50 {b50 * 1000:.0f} ms p99 {b99 * 1000:.0f} ms ({len(inside)} batches of "
              f"{args.batch:,}); other work on the machine {others:.2f} cores", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each read at the fixed rate (the "
                                                               "median is printed too: the machine may be shared)")
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--wrk", action="store_true", help="also saturate the server with wrk (closed loop) at "
                                                           "1, 2, 4 and 8 connections")
    parser.add_argument("--preload", type=int, default=0, help="events stored before the server starts, through "
                                                              "the service's ingest in process (point 10)")
    parser.add_argument("--no-reads", action="store_true", help="skip the reads at a fixed rate on a quiet server")
    parser.add_argument("--during-ingest", action="store_true", help="time reads while batches of --batch are "
                                                                     "ingested back to back (point 5)")
    parser.add_argument("--ingest-read-rate", type=float, default=100, help="reads/s offered during ingest")
    parser.add_argument("--folder", type=Path, default=None, help="the server's working folder (default: a new "
                                                                   "temporary one): where it finds the audit key "
                                                                   "of a database stored before, on PostgreSQL")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="socialcredit-serve-"))
    db = args.db or f"sqlite:///{folder / 'bench.db'}"
    try:
        stored_before = events_stored(db)
    except Exception as error:  # a URL that does not parse, a server that does not answer
        parser.error(f"--db {db}: {str(error).splitlines()[0]}; fix: give a database URL this machine can open "
                     "(sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/NAME)")
    if args.preload:
        preload(db, folder, args.preload, args.subjects)
        stored_before = events_stored(db)
    prefix = "e" if not stored_before else unused_prefix("e")
    operator = cli("keys", "create", "--role", "operator", "--db", db, cwd=folder)
    server, port = start_server(db, folder, os.environ, "--workers", str(args.workers))
    base = f"http://127.0.0.1:{port}"
    try:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cpus; database {db.split('://')[0]}")
        rng = np.random.default_rng(1)
        headers = {"Authorization": f"Bearer {operator}", "Content-Type": "application/json"}
        # the bodies made and encoded before the clock starts: what is timed is the server's work
        # (this client's JSON encoding of a batch took 3-5 ms of the same 2 cores)
        bodies = [(size, json.dumps({"events": make_batch(rng, prefix, start, size, args.subjects)}).encode())
                  for start in range(0, args.events, args.batch) for size in [min(args.batch, args.events - start)]]
        seconds_per_batch = []
        used, busy = server_cpu(server.pid), machine_busy()
        with httpx.Client(timeout=300) as client:
            for size, body in bodies:
                started = time.perf_counter()
                answer = client.post(f"{base}/v1/events", content=body, headers=headers)
                seconds_per_batch.append(time.perf_counter() - started)
                assert answer.status_code == 200 and answer.json()["stored"] == size, answer.text[:500]
        total = sum(seconds_per_batch)
        used, busy = server_cpu(server.pid) - used, machine_busy() - busy
        print(f"\ningest: {args.events:,} events in batches of {args.batch:,} over {args.subjects:,} subjects, "
              f"{stored_before:,} stored before")
        p50, p99 = np.percentile(seconds_per_batch, [50, 99])
        print(f"  {args.events / total:,.0f} events/s (batch p50 {p50:.3f} s, p99 {p99:.3f} s; targets >= 20,000 "
              f"events/s: {args.events / total / 20000:.2f}x, batch p99 <= 0.250 s at batches of 1,000: "
              f"{p99 / 0.25:.2f}x; work on the machine besides the server's {(busy - used) / total:.2f} cores, "
              "this client's included)")
        address = ("127.0.0.1", port)
        if not args.no_reads:
            print(f"\nreads at a fixed offered rate of {args.rate:.0f} requests/s, open loop, {args.seconds:.0f} s "
                  "each (target p99 <= 10 ms at 500/s; latency from each request's scheduled send):")
            for path, label in (("/v1/subjects/s{}", "GET /v1/subjects/{id}"),
                                ("/v1/subjects/s{}/entitlements/loan", "entitlement check")):
                paths = [path.format(s) for s in rng.integers(0, args.subjects, 5000)]
                fixed_rate(address, paths, operator, args.rate, args.seconds, label, server.pid, args.repeats)
        if args.wrk:
            if not shutil.which("wrk"):
                sys.exit("--wrk: no wrk on the PATH (Debian: apt-get install wrk)")
            print(f"\nreads driven by wrk (closed loop: as fast as answered), {args.seconds:.0f} s at each "
                  "concurrency:")
            for path, label in (("/v1/subjects/s{n}", "GET /v1/subjects/{id}"),
                                ("/v1/subjects/s{n}/entitlements/loan", "entitlement check")):
                for connections in (1, 2, 4, 8):
                    wrk(base, path, operator, args.subjects, connections, args.seconds, label, folder)
        if args.during_ingest:
            print(f"\nreads at {args.ingest_read_rate:.0f}/s while batches of {args.batch:,} are ingested back to "
                  f"back, {args.seconds:.0f} s a run (target read p99 <= 50 ms):")
            reads_during_ingest(address, operator, server.pid, args, rng, args.subjects, prefix)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
