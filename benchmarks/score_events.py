"""Benchmark `socialcredit score` end to end from Parquet (issue 2).

    10M synthetic events over 1M subjects with a 10-feature scheme, end to end from Parquet.
    Target: >= 5M events/s on a 2-core machine.

Run from the repository root with the project's venv active:

    python benchmarks/score_events.py                    # full size: 10M events, 1M subjects
    python benchmarks/score_events.py --events 1000000 --subjects 100000 --repeats 5

It writes its own financial-only scheme (so the real-person guard lets `score` run it) and a
deterministic synthetic event log, then times, in-process, the path the CLI takes
(`run_score` then `write_table`), the CLI itself once as a subprocess (start-up included), and
each stage once on its own. Generating the log is not timed; it runs in a child process so the
peak RSS reported for scoring is not the generator's.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from socialcredit.eventlog import read_event_log
from socialcredit.scheme import load_scheme
from socialcredit.scheme.guards import classify
from socialcredit.scorejob import run_score, scores_table, write_table
from socialcredit.scoring import compute_features, score_features

TARGET_EVENTS_PER_SECOND = 5_000_000
EPOCH_START_DAYS = 19_000.0  # 2022-01-08, in days since 1970-01-01
SPAN_DAYS = 1_095.0          # about three years of history

# Financial-only, so `score` may run it on real people. Ten features covering every feature type
# (count with a window, count with a half-life, sum, mean with a default, days_since with a default,
# ratio), seven components (bins and per_unit), tiers, a list and two financial entitlements.
SCHEME_YAML = """\
id: bench10
title: Benchmark scorecard (financial only, 10 features)
version: "1"
sources:
  - "assumption: synthetic benchmark scheme for benchmarks/score_events.py; numbers are arbitrary"
scale: {min: 0, max: 1000, base: 700}
retention_days: 2555
events:
  payment:      {category: financial}
  late_payment: {category: financial}
  default:      {category: financial}
  inquiry:      {category: financial}
  deposit:      {category: financial}
features:
  paid_24m:         {count: payment, window_days: 730}
  late_24m:         {count: late_payment, window_days: 730}
  late_share:       {ratio: [late_24m, paid_24m]}
  late_recent:      {count: late_payment, half_life_days: 180}
  days_late_24m:    {sum: late_payment, window_days: 730}
  deposits_1y:      {sum: deposit, window_days: 365}
  mean_deposit:     {mean: deposit, window_days: 365, default: 0.0}
  days_since_late:  {days_since: late_payment, default: 3650}
  defaults_on_file: {count: default}
  inquiries_1y:     {count: inquiry, window_days: 365}
components:
  payment_history:
    feature: late_share
    bins: [{upto: 0.0, points: 60}, {upto: 0.05, points: 20}, {upto: 0.2, points: -60}, {points: -150}]
  lateness: {feature: days_late_24m, per_unit: -1, min: -100}
  recent_lates: {feature: late_recent, per_unit: -10, min: -80}
  defaults:
    feature: defaults_on_file
    bins: [{upto: 0, points: 0}, {upto: 1, points: -200}, {points: -320}]
  new_credit:
    feature: inquiries_1y
    bins: [{upto: 1, points: 0}, {upto: 3, points: -15}, {points: -40}]
  recency:
    feature: days_since_late
    bins: [{upto: 180, points: -30}, {upto: 730, points: 0}, {points: 20}]
  savings: {feature: mean_deposit, per_unit: 0.05, max: 40}
tiers:
  - {name: prime, min: 740}
  - {name: near_prime, min: 650}
  - {name: subprime, min: 550}
  - {name: deep_subprime, min: 0}
lists:
  high_risk: "defaults_on_file >= 1 or tier <= 'deep_subprime'"
entitlements:
  loan: {allow: "not high_risk and tier >= 'subprime'", context: financial}
  rent_without_deposit: {allow: "tier >= 'near_prime' and late_24m == 0", context: financial}
reasons: 4
"""

# Event kinds and their shares of the log.
KINDS = ("payment", "late_payment", "default", "inquiry", "deposit")
KIND_SHARES = (0.60, 0.10, 0.01, 0.09, 0.20)

def write_scheme(path: Path) -> None:
    path.write_text(SCHEME_YAML, encoding="utf-8")
    scheme = load_scheme(path)
    if len(scheme.features) != 10:
        raise SystemExit(f"benchmark scheme has {len(scheme.features)} features, expected 10")
    verdict = classify(scheme)
    if not verdict.allowed:
        raise SystemExit(f"benchmark scheme would be refused by `score`:\n{verdict.summary()}")


def generate_events(path: str, events: int, subjects: int, seed: int, row_group_size: int | None) -> None:
    """Write a deterministic synthetic event log: subject (dictionary-encoded string), kind, time,
    value, weight; rows in time order, as an export from a ledger would be."""
    rng = np.random.default_rng(seed)
    width = max(7, len(str(subjects - 1)))
    ids = pa.array([f"s{i:0{width}d}" for i in range(subjects)], type=pa.string())
    subject = rng.integers(0, subjects, size=events, dtype=np.int32)
    kind = rng.choice(len(KINDS), size=events, p=KIND_SHARES).astype(np.int8)
    times = EPOCH_START_DAYS + rng.random(events) * SPAN_DAYS
    order = np.argsort(times, kind="stable")
    subject, kind, times = subject[order], kind[order], times[order]
    value = np.ones(events)
    late = kind == KINDS.index("late_payment")
    value[late] = np.ceil(rng.exponential(12.0, size=int(late.sum())))           # days late
    deposit = kind == KINDS.index("deposit")
    value[deposit] = np.round(rng.lognormal(5.0, 1.0, size=int(deposit.sum())), 2)  # amount
    payment = kind == KINDS.index("payment")
    value[payment] = np.round(rng.lognormal(4.5, 0.8, size=int(payment.sum())), 2)
    weight = np.round(rng.uniform(0.5, 1.5, size=events), 3)
    table = pa.table({
        "subject": pa.DictionaryArray.from_arrays(pa.array(subject), ids),
        "kind": pa.DictionaryArray.from_arrays(pa.array(kind), pa.array(KINDS, type=pa.string())),
        "time": pa.array(times),
        "value": pa.array(value),
        "weight": pa.array(weight),
    })
    pq.write_table(table, path, row_group_size=row_group_size)


class Stopwatch:
    """Wall and CPU seconds between successive `lap` calls, with their names."""

    def __init__(self) -> None:
        self.laps: list[tuple[str, float, float]] = []   # name, wall seconds, CPU seconds (all threads)
        self.last = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        now = time.perf_counter(), time.process_time()
        self.laps.append((name, now[0] - self.last[0], now[1] - self.last[1]))
        self.last = now


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_cli(events_path: Path, scheme_path: Path, out_path: Path,
            log_path: Path) -> tuple[float, float, int, float]:
    """Run the CLI once; return (wall seconds, CPU seconds, exit code, the child's peak RSS in MiB)."""
    exe = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or shutil.which("socialcredit")
    command = ([exe] if exe else [sys.executable, "-m", "socialcredit.cli"]) + [
        "score", str(events_path), "--scheme", str(scheme_path), "--out", str(out_path)]
    with log_path.open("w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        peak = 0.0
        while True:  # the child's own VmHWM: getrusage's maximum starts from this process's at the fork
            reading = peak_resident_mib(process.pid)
            peak = max(peak, reading or 0.0)
            finished, status, usage = os.wait4(process.pid, os.WNOHANG)
            if finished:
                break
            time.sleep(0.01)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_utime + usage.ru_stime, process.returncode, peak


def peak_resident_mib(pid: int) -> float | None:
    """A running process's peak resident set (VmHWM), in MiB; None once it has ended."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="synthetic events (default 10M)")
    parser.add_argument("--subjects", type=int, default=1_000_000, help="synthetic subjects (default 1M)")
    parser.add_argument("--repeats", type=int, default=3, help="timed end-to-end runs (default 3)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and its files")
    parser.add_argument("--seed", type=int, default=2, help="random seed of the synthetic log (default 2)")
    parser.add_argument("--row-group-size", type=int, default=None,
                        help="rows per Parquet row group of the log (default: pyarrow's, 1Mi rows); every row "
                             "group carries its own copy of the subject dictionary")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI subprocess run")
    args = parser.parse_args(argv)
    if args.events < 1 or args.subjects < 1 or args.repeats < 1:
        parser.error("--events, --subjects and --repeats must be at least 1")

    made_temp = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="socialcredit-bench-")) if made_temp else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    scheme_path = workdir / "scheme.yaml"
    events_path = workdir / "events.parquet"
    out_path = workdir / "out.parquet"
    try:
        write_scheme(scheme_path)
        scheme = load_scheme(scheme_path)

        print(f"generating {args.events:,} events over {args.subjects:,} subjects -> {events_path} ...",
              flush=True)
        started = time.perf_counter()
        # In a child process, so the peak RSS below is the scoring's, not the generator's.
        context = multiprocessing.get_context("spawn")
        child = context.Process(target=generate_events,
                                args=(str(events_path), args.events, args.subjects, args.seed, args.row_group_size))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"generating the event log failed (exit code {child.exitcode})")
        generated = time.perf_counter() - started
        size_mib = events_path.stat().st_size / 2**20
        row_groups = pq.ParquetFile(events_path).num_row_groups
        print(f"generated in {generated:.1f} s ({size_mib:.0f} MiB Parquet, {row_groups} row groups; not timed "
              "below)", flush=True)

        rss_before = peak_rss_mib()
        load_before = os.getloadavg()[0]
        times: list[float] = []
        scored = 0
        for repeat in range(args.repeats):
            gc.collect()
            clock = Stopwatch()
            run = run_score(events_path, scheme)
            write_table(run.table, out_path)
            clock.lap("run")
            _, elapsed, cpu = clock.laps[0]
            times.append(elapsed)
            scored = run.table.num_rows
            print(f"  run {repeat + 1}/{args.repeats}: {elapsed:.3f} s wall, {cpu:.3f} s CPU", flush=True)
            del run
        rss_runs = peak_rss_mib()

        # Each stage once, on its own, in the order run_score takes them.
        gc.collect()
        clock = Stopwatch()
        log = read_event_log(events_path, scheme)
        clock.lap("read+check  (read_event_log)")
        as_of = float(log.events.time.max())
        features = compute_features(scheme, log.events, as_of)
        clock.lap("features    (compute_features)")
        scores = score_features(scheme, features, log.relations)
        clock.lap("rules       (score_features)")
        table = scores_table(log.subject_ids, scores)
        clock.lap("table       (scores_table)")
        write_table(table, out_path)
        clock.lap("write       (write_table)")
        stages = clock.laps
        del log, features, scores, table
        gc.collect()

        cli: tuple[float, float, int, float] | None = None
        if not args.no_cli:
            cli = run_cli(events_path, scheme_path, workdir / "out-cli.parquet", workdir / "cli.log")

        median = statistics.median(times)
        rate = args.events / median
        print()
        print(f"machine:   {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), {cpu_model()}; "
              f"load average {load_before:.2f} before the timed runs, {os.getloadavg()[0]:.2f} after "
              "(other work competing for the CPUs inflates wall times)")
        print(f"software:  python {platform.python_version()}, numpy {np.__version__}, pyarrow {pa.__version__}")
        print(f"events:    {args.events:,}")
        print(f"subjects:  {args.subjects:,} generated, {scored:,} scored (those with events)")
        print(f"scheme:    {len(scheme.events)} event kinds, {len(scheme.features)} features, "
              f"{len(scheme.components)} components, {len(scheme.tiers)} tiers, {len(scheme.lists)} list, "
              f"{len(scheme.entitlements)} entitlements")
        print(f"end to end (run_score + write_table, in-process, {args.repeats} runs):")
        print(f"  median   {median:.3f} s")
        print(f"  min      {min(times):.3f} s")
        print(f"  rate     {rate / 1e6:.2f} M events/s (median)")
        print(f"  target   {TARGET_EVENTS_PER_SECOND / 1e6:.0f} M events/s: {rate / TARGET_EVENTS_PER_SECOND:.2f}x "
              f"({'met' if rate >= TARGET_EVENTS_PER_SECOND else 'NOT met'})")
        total = sum(seconds for _, seconds, _ in stages)
        print(f"{'stages (each once, separately):':34s} {'wall':>9s} {'share':>6s}  {'CPU':>9s}")
        for name, seconds, cpu in stages:
            print(f"  {name:32s} {seconds:7.3f} s {100 * seconds / total:5.1f}%  {cpu:7.3f} s")
        print(f"  {'total':32s} {total:7.3f} s         {sum(cpu for _, _, cpu in stages):7.3f} s")
        if cli is not None:
            seconds, cpu, code, rss = cli
            print(f"CLI subprocess (`socialcredit score ... --out`, start-up included): {seconds:.3f} s wall, "
                  f"{cpu:.3f} s CPU, {args.events / seconds / 1e6:.2f} M events/s, exit {code}, "
                  f"peak RSS {rss:,.0f} MiB")
            if code != 0:
                print((workdir / "cli.log").read_text(), file=sys.stderr)
        print(f"peak RSS (this process): {rss_before:,.0f} MiB before scoring, {rss_runs:,.0f} MiB after the "
              f"timed runs, {peak_rss_mib():,.0f} MiB at the end")
        return 0 if cli is None or cli[2] == 0 else 1
    finally:
        if args.keep:
            print(f"files kept in {workdir}")
        elif made_temp:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            for name in ("scheme.yaml", "events.parquet", "out.parquet", "out-cli.parquet", "cli.log"):
                (workdir / name).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
