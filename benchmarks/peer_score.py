"""`socialcredit score` side by side with the same scheme written by hand in DuckDB SQL and in Polars (issue 24).

    pip install -e '.[bench]'             # duckdb 2.x and polars 2.x
    python benchmarks/peer_score.py       # 10M events over 1M subjects: agreement, then speed and memory
    python benchmarks/peer_score.py --events 1000000 --subjects 100000 --repeats 5

The scheme is `benchmarks/score_events.py`'s (10 features, 7 components, 4 tiers, a list, two
entitlements, 4 reason codes) and so is the synthetic log. A credit engineer who knows DuckDB or
Polars would write it as `DUCKDB_SQL` and `polars_plan` below: one query (one lazy plan) from the
Parquet log to a Parquet file of one row per subject. Each writes what `score --out` writes, the 25
columns (subject, score, pre, tier, the list, the entitlements, reasons, the 10 features and the 7
components' points); DuckDB also runs with the 8 outcome columns alone (`--columns`), as a user who
needs only decisions would.

Agreement first: every peer's output against `score`'s, subject by subject: tiers, list,
entitlements and reasons exactly, scores, pre, features and points within 1e-9.

Then time, interleaved (score, DuckDB, Polars, score, ...), so that other work on the machine
falls on all of them alike; medians:

- as a whole command: a fresh process each (`socialcredit score EVENTS --scheme S --out F`, or this
  file's `run-peer` with the peer's query): start-up, imports, reading, scoring, writing; its peak
  memory is the child's maximum resident set (getrusage of the child);
- in-process: the same work in this process, start-up and imports excluded (`run_score` +
  `write_table`; the query on a fresh DuckDB connection; the lazy plan collected and written).

The scripts check nothing: a misspelt kind, a NaN time, a null subject or a negative weight moves
people between tiers there, where `score` stops and names the row. Where a score would differ the
peers would differ from each other too, hence the agreement check against `score`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # benchmarks/siblings.py
from siblings import load  # noqa: E402

TOLERANCE = 1e-9  # scores, pre, features and points: sums in another order differ in the last bits

OUTCOMES = ("subject", "score", "pre", "tier", "high_risk", "loan", "rent_without_deposit", "reasons")
FEATURES = ("paid_24m", "late_24m", "late_share", "late_recent", "days_late_24m", "deposits_1y", "mean_deposit",
            "days_since_late", "defaults_on_file", "inquiries_1y")
COMPONENTS = ("payment_history", "lateness", "recent_lates", "defaults", "new_credit", "recency", "savings")
ALL_COLUMNS = (*OUTCOMES, *FEATURES, *COMPONENTS)
EXACT = ("tier", "high_risk", "loan", "rent_without_deposit", "reasons")


def score_events_module():
    """benchmarks/score_events.py: the scheme, the log's generator, the peak memory reading."""
    return load("score_events")


# --- DuckDB ------------------------------------------------------------------------------------------------------

# Ages are `as_of - time`, compared as `score` compares them (README, "Semantics, exactly"): an event
# counts when 0 <= age <= retention (2555) and age < window; a half-life weighs 2^(-age / 180).
# Reasons: the components that lost points against their best (rounded to 1e-9), most first, ties
# by name, at most 4, `;`-joined: a list of {k: -loss, n: name} sorted ascending.
DUCKDB_SQL = """
COPY (
WITH events AS (
    SELECT subject, kind, value, weight, max(time) OVER () - time AS age
    FROM read_parquet('{events}')
),
kept AS (SELECT *, age >= 0 AND age <= 2555 AS kept FROM events),
features AS (
    SELECT subject,
        count(*) FILTER (kept AND kind = 'payment' AND age < 730)::DOUBLE AS paid_24m,
        count(*) FILTER (kept AND kind = 'late_payment' AND age < 730)::DOUBLE AS late_24m,
        coalesce(sum(pow(2.0, -age / 180)) FILTER (kept AND kind = 'late_payment'), 0) AS late_recent,
        coalesce(sum(value) FILTER (kept AND kind = 'late_payment' AND age < 730), 0) AS days_late_24m,
        coalesce(sum(value) FILTER (kept AND kind = 'deposit' AND age < 365), 0) AS deposits_1y,
        coalesce(sum(weight * value) FILTER (kept AND kind = 'deposit' AND age < 365)
                 / nullif(sum(weight) FILTER (kept AND kind = 'deposit' AND age < 365), 0), 0) AS mean_deposit,
        coalesce(min(age) FILTER (kept AND kind = 'late_payment'), 3650) AS days_since_late,
        count(*) FILTER (kept AND kind = 'default')::DOUBLE AS defaults_on_file,
        count(*) FILTER (kept AND kind = 'inquiry' AND age < 365)::DOUBLE AS inquiries_1y
    FROM kept GROUP BY subject
),
ratios AS (
    SELECT *, CASE WHEN paid_24m = 0 THEN 0 ELSE late_24m / paid_24m END AS late_share FROM features
),
points AS (
    SELECT *,
        CASE WHEN late_share <= 0 THEN 60 WHEN late_share <= 0.05 THEN 20
             WHEN late_share <= 0.2 THEN -60 ELSE -150 END::DOUBLE AS payment_history,
        greatest(-days_late_24m, -100) AS lateness,
        greatest(-10 * late_recent, -80) AS recent_lates,
        CASE WHEN defaults_on_file <= 0 THEN 0 WHEN defaults_on_file <= 1 THEN -200 ELSE -320 END::DOUBLE AS defaults,
        CASE WHEN inquiries_1y <= 1 THEN 0 WHEN inquiries_1y <= 3 THEN -15 ELSE -40 END::DOUBLE AS new_credit,
        CASE WHEN days_since_late <= 180 THEN -30 WHEN days_since_late <= 730 THEN 0 ELSE 20 END::DOUBLE AS recency,
        least(0.05 * mean_deposit, 40) AS savings
    FROM ratios
),
scored AS (
    SELECT *, least(greatest(700 + payment_history + lateness + recent_lates + defaults + new_credit + recency
                             + savings, 0), 1000) AS pre
    FROM points
),
tiered AS (
    SELECT *, pre AS score,
        CASE WHEN pre >= 740 THEN 'prime' WHEN pre >= 650 THEN 'near_prime'
             WHEN pre >= 550 THEN 'subprime' ELSE 'deep_subprime' END AS tier,
        CASE WHEN pre >= 740 THEN 3 WHEN pre >= 650 THEN 2 WHEN pre >= 550 THEN 1 ELSE 0 END AS rank
    FROM scored
),
listed AS (
    SELECT *, defaults_on_file >= 1 OR rank <= 0 AS high_risk FROM tiered
)
SELECT {columns}
FROM (
    SELECT *,
        NOT high_risk AND rank >= 1 AS loan,
        rank >= 2 AND late_24m = 0 AS rent_without_deposit,
        array_to_string(list_transform(list_slice(list_sort(list_filter([
            {{k: -round((0 - defaults) * 1e9) / 1e9, n: 'defaults'}},
            {{k: -round((0 - lateness) * 1e9) / 1e9, n: 'lateness'}},
            {{k: -round((0 - new_credit) * 1e9) / 1e9, n: 'new_credit'}},
            {{k: -round((60 - payment_history) * 1e9) / 1e9, n: 'payment_history'}},
            {{k: -round((20 - recency) * 1e9) / 1e9, n: 'recency'}},
            {{k: -round((0 - recent_lates) * 1e9) / 1e9, n: 'recent_lates'}},
            {{k: -round((40 - savings) * 1e9) / 1e9, n: 'savings'}}
        ], lambda r: r.k < 0)), 1, 4), lambda r: r.n), ';') AS reasons
    FROM listed
)
ORDER BY subject
) TO '{out}' (FORMAT parquet)
"""


def run_duckdb(events: Path, out: Path, columns: tuple[str, ...] = ALL_COLUMNS) -> None:
    import duckdb

    with duckdb.connect() as connection:
        connection.execute(DUCKDB_SQL.format(events=events, out=out, columns=", ".join(columns)))


# --- Polars ------------------------------------------------------------------------------------------------------

def polars_plan(events: Path, columns: tuple[str, ...] = ALL_COLUMNS):
    """The scheme as one lazy Polars plan, from the Parquet log to one row per subject."""
    import polars as pl

    age, kind, value, weight = pl.col("age"), pl.col("kind"), pl.col("value"), pl.col("weight")

    def of(name: str, window: float | None = None) -> pl.Expr:
        """The events of a kind that count: within retention, and within the window if any."""
        chosen = pl.col("kept") & (kind == name)
        return chosen & (age < window) if window is not None else chosen

    def bins(feature: str, uptos: list[float], points: list[float]) -> pl.Expr:
        """The first bin with value <= upto; the last bin for the rest."""
        chain = pl.when(pl.col(feature) <= uptos[0]).then(points[0])
        for upto, point in zip(uptos[1:], points[1:-1], strict=True):
            chain = chain.when(pl.col(feature) <= upto).then(point)
        return chain.otherwise(points[-1]).cast(pl.Float64)

    best = {"defaults": 0.0, "lateness": 0.0, "new_credit": 0.0, "payment_history": 60.0, "recency": 20.0,
            "recent_lates": 0.0, "savings": 40.0}  # each component's most points; names in order
    losses = [pl.struct(k=-((best[name] - pl.col(name)) * 1e9).round() / 1e9, n=pl.lit(name)) for name in best]
    rank = (pl.when(pl.col("pre") >= 740).then(3).when(pl.col("pre") >= 650).then(2)
            .when(pl.col("pre") >= 550).then(1).otherwise(0))
    return (
        pl.scan_parquet(events)
        .select("subject", kind.cast(pl.String), value, weight, age=pl.col("time").max() - pl.col("time"))
        .with_columns(kept=(age >= 0) & (age <= 2555))
        .group_by("subject")
        .agg(
            paid_24m=of("payment", 730).sum().cast(pl.Float64),
            late_24m=of("late_payment", 730).sum().cast(pl.Float64),
            late_recent=(2.0 ** (-age / 180)).filter(of("late_payment")).sum(),
            days_late_24m=value.filter(of("late_payment", 730)).sum(),
            deposits_1y=value.filter(of("deposit", 365)).sum(),
            deposit_total=(weight * value).filter(of("deposit", 365)).sum(),
            deposit_weight=weight.filter(of("deposit", 365)).sum(),
            days_since_late=age.filter(of("late_payment")).min().fill_null(3650.0),
            defaults_on_file=of("default").sum().cast(pl.Float64),
            inquiries_1y=of("inquiry", 365).sum().cast(pl.Float64),
        )
        .with_columns(
            late_share=pl.when(pl.col("paid_24m") == 0).then(0.0).otherwise(pl.col("late_24m") / pl.col("paid_24m")),
            mean_deposit=pl.when(pl.col("deposit_weight") == 0).then(0.0)
            .otherwise(pl.col("deposit_total") / pl.col("deposit_weight")),
        )
        .with_columns(
            payment_history=bins("late_share", [0.0, 0.05, 0.2], [60, 20, -60, -150]),
            lateness=pl.max_horizontal(-pl.col("days_late_24m"), pl.lit(-100.0)),
            recent_lates=pl.max_horizontal(-10 * pl.col("late_recent"), pl.lit(-80.0)),
            defaults=bins("defaults_on_file", [0, 1], [0, -200, -320]),
            new_credit=bins("inquiries_1y", [1, 3], [0, -15, -40]),
            recency=bins("days_since_late", [180, 730], [-30, 0, 20]),
            savings=pl.min_horizontal(0.05 * pl.col("mean_deposit"), pl.lit(40.0)),
        )
        .with_columns(pre=(700 + pl.sum_horizontal(*COMPONENTS)).clip(0, 1000))
        .with_columns(score=pl.col("pre"), rank=rank)
        .with_columns(
            tier=pl.col("rank").replace_strict({3: "prime", 2: "near_prime", 1: "subprime", 0: "deep_subprime"},
                                               return_dtype=pl.String),
            high_risk=(pl.col("defaults_on_file") >= 1) | (pl.col("rank") <= 0),
        )
        .with_columns(
            loan=~pl.col("high_risk") & (pl.col("rank") >= 1),
            rent_without_deposit=(pl.col("rank") >= 2) & (pl.col("late_24m") == 0),
            reasons=pl.concat_list(losses)
            .list.eval(pl.element().filter(pl.element().struct.field("k") < 0).sort().head(4).struct.field("n"))
            .list.join(";"),
        )
        .select(columns)
        .sort("subject")
    )


def run_polars(events: Path, out: Path, columns: tuple[str, ...] = ALL_COLUMNS) -> None:
    polars_plan(events, columns).collect().write_parquet(out)


# --- socialcredit ------------------------------------------------------------------------------------------------

def run_socialcredit(events: Path, out: Path, scheme_path: Path) -> None:
    from socialcredit.scheme import load_scheme
    from socialcredit.scorejob import run_score, write_table

    write_table(run_score(events, load_scheme(scheme_path)).table, out)


def socialcredit_command(events: Path, out: Path, scheme_path: Path) -> list[str]:
    exe = shutil.which("socialcredit", path=str(Path(sys.executable).parent)) or shutil.which("socialcredit")
    return ([exe] if exe else [sys.executable, "-m", "socialcredit.cli"]) + [
        "score", str(events), "--scheme", str(scheme_path), "--out", str(out)]


PEERS: dict[str, Callable[[Path, Path], None]] = {
    "duckdb": run_duckdb,
    "duckdb-8": lambda events, out: run_duckdb(events, out, OUTCOMES),
    "polars": run_polars,
}


def peer_command(name: str, events: Path, out: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "run-peer", name, str(events), str(out)]


# --- agreement ---------------------------------------------------------------------------------------------------

def disagreement(reference: Path, peer: Path) -> tuple[list[str], float]:
    """What differs between `score`'s output and a peer's: a line per column that differs (exact
    columns anywhere; numbers beyond TOLERANCE), and the largest difference of a number."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    ours, theirs = pq.read_table(reference), pq.read_table(peer)
    problems: list[str] = []
    if ours.num_rows != theirs.num_rows:
        return [f"{ours.num_rows:,} subjects scored, the peer has {theirs.num_rows:,}"], float("inf")
    subject = pc.cast(ours.column("subject"), "string")
    if not subject.equals(pc.cast(theirs.column("subject"), "string")):
        return ["the subjects differ (or their order)"], float("inf")
    largest = 0.0
    for name in theirs.column_names[1:]:
        mine, other = ours.column(name), theirs.column(name)
        if name in EXACT:
            mine, other = (pc.cast(c, c.type.value_type) if hasattr(c.type, "value_type") else c for c in (mine, other))
            differ = np.asarray(pc.not_equal(mine, other).to_numpy(zero_copy_only=False), dtype=bool)
            if differ.any():
                row = int(np.flatnonzero(differ)[0])
                problems.append(f"{name}: {int(differ.sum()):,} subjects differ, first {subject[row]}: "
                                f"{mine[row]} here, {other[row]} there")
        else:
            gap = np.abs(mine.to_numpy() - other.to_numpy())
            worst = float(gap.max()) if gap.size else 0.0
            largest = max(largest, worst)
            if not worst <= TOLERANCE:
                row = int(np.argmax(gap))
                problems.append(f"{name}: differs by up to {worst:.3g} (first worst {subject[row]}: {mine[row]} here, "
                                f"{other[row]} there)")
    return problems, largest


# --- timing ------------------------------------------------------------------------------------------------------

def peak_resident_mib(pid: int) -> float | None:
    """A running process's peak resident set (VmHWM), in MiB; None once it has ended."""
    return score_events_module().peak_resident_mib(pid)


def timed_command(command: list[str], log: Path) -> tuple[float, float]:
    """Run a command; (wall seconds, the child's peak resident set in MiB). Stops on failure.

    The peak is the child's own VmHWM, read every 10 ms while it runs (the last reading; it only
    grows): getrusage's maximum for a child starts from this process's resident set at the fork,
    which the in-process runs make larger than any child's."""
    with log.open("w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        peak = 0.0
        while process.poll() is None:
            reading = peak_resident_mib(process.pid)
            peak = max(peak, reading or 0.0)
            time.sleep(0.01)
        seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{log.read_text()}")
    return seconds, peak


def timed_call(work: Callable[[], None]) -> float:
    import gc

    gc.collect()
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def median_text(values: list[float], unit: str, digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} {unit} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run-peer"]:  # a peer as a whole command, timed by the parent
        name, events, out = argv[1:4]
        PEERS[name](Path(events), Path(out))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="synthetic events (default 10M)")
    parser.add_argument("--subjects", type=int, default=1_000_000, help="synthetic subjects (default 1M)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each, each way (default 3)")
    parser.add_argument("--seed", type=int, default=2, help="random seed of the synthetic log (default 2)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write files (default: a temp dir); "
                        "a log already there of the same size and seed is used again")
    parser.add_argument("--peers", default="duckdb,duckdb-8,polars",
                        help=f"which peers, comma-separated (default all: {','.join(PEERS)})")
    parser.add_argument("--check-only", action="store_true", help="the agreement check alone, no timing")
    args = parser.parse_args(argv)
    peers = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = [name for name in peers if name not in PEERS]
    if unknown:
        parser.error(f"--peers: no peer {', '.join(unknown)}; choose from {', '.join(PEERS)}")
    if args.events < 1 or args.subjects < 1 or args.repeats < 1:
        parser.error("--events, --subjects and --repeats must be at least 1")
    missing = [module for module in ("duckdb", "polars") if importlib.util.find_spec(module) is None]
    if missing:
        raise SystemExit(f"{' and '.join(missing)} not installed; fix: pip install -e '.[bench]'")

    bench = score_events_module()
    made_temp = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="socialcredit-peers-")) if made_temp else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    scheme_path, events = workdir / "scheme.yaml", workdir / f"events-{args.events}-{args.subjects}-{args.seed}.parquet"
    try:
        bench.write_scheme(scheme_path)
        if not events.exists():
            print(f"generating {args.events:,} events over {args.subjects:,} subjects ...", flush=True)
            # in a child process: its peak memory is not this one's
            code = ("import sys; sys.path.insert(0, sys.argv[1]); from score_events import generate_events; "
                    "generate_events(sys.argv[2], *map(int, sys.argv[3:6]), None)")
            made = subprocess.run([sys.executable, "-c", code, str(HERE), str(events), str(args.events),
                                   str(args.subjects), str(args.seed)], check=False)
            if made.returncode != 0:
                raise SystemExit(f"generating the event log failed (exit code {made.returncode})")

        # Agreement: each peer's output against score's, subject by subject.
        reference = workdir / "score.parquet"
        run_socialcredit(events, reference, scheme_path)
        agreed = True
        for name in peers:
            out = workdir / f"{name}.parquet"
            PEERS[name](events, out)
            problems, largest = disagreement(reference, out)
            if problems:
                agreed = False
                print(f"{name}: DISAGREES with score:\n  " + "\n  ".join(problems))
            else:
                print(f"{name}: agrees with score on all subjects: tiers, lists, entitlements and reasons exactly, "
                      f"numbers within {largest:.2g} (tolerance {TOLERANCE:g})")
        if args.check_only or not agreed:
            return 0 if agreed else 1

        # Speed and memory, interleaved: score, each peer, score, each peer, ...
        names = ["score", *peers]
        commands = {"score": socialcredit_command(events, workdir / "cli-score.parquet", scheme_path),
                    **{name: peer_command(name, events, workdir / f"cli-{name}.parquet") for name in peers}}
        calls: dict[str, Callable[[], None]] = {
            "score": lambda: run_socialcredit(events, workdir / "in-score.parquet", scheme_path),
            **{name: (lambda name=name: PEERS[name](events, workdir / f"in-{name}.parquet")) for name in peers}}
        wall: dict[str, list[float]] = {name: [] for name in names}
        memory: dict[str, list[float]] = {name: [] for name in names}
        inside: dict[str, list[float]] = {name: [] for name in names}
        load_before = os.getloadavg()[0]
        for repeat in range(args.repeats):
            for name in names:
                seconds, mib = timed_command(commands[name], workdir / f"{name}.log")
                wall[name].append(seconds)
                memory[name].append(mib)
            for name in names:
                inside[name].append(timed_call(calls[name]))
            print(f"  round {repeat + 1}/{args.repeats}: " + ", ".join(
                f"{name} {wall[name][-1]:.2f} s / {inside[name][-1]:.2f} s" for name in names), flush=True)

        import numpy as np
        import pyarrow as pa

        print()
        print(f"machine:  {os.cpu_count()} CPUs, {bench.cpu_model()}; load average {load_before:.2f} before, "
              f"{os.getloadavg()[0]:.2f} after (other work inflates wall times)")
        modules = sorted({name.split("-")[0] for name in peers})  # duckdb-8 is DuckDB
        print(f"software: python {platform.python_version()}, numpy {np.__version__}, pyarrow {pa.__version__}, "
              + ", ".join(f"{module} {__import__(module).__version__}" for module in modules))
        print(f"log:      {args.events:,} events over {args.subjects:,} subjects; {args.repeats} runs each way, "
              "interleaved; medians (min-max)")
        print(f"{'':10s} {'whole command':>24s} {'in-process':>24s} {'peak memory (command)':>28s}")
        for name in names:
            print(f"{name:10s} {median_text(wall[name], 's'):>24s} {median_text(inside[name], 's'):>24s} "
                  f"{median_text([m / 1024 for m in memory[name]], 'GiB'):>28s}")
        print("ratios, peer / score (above 1: score is faster or smaller):")
        for name in peers:
            print(f"  {name:8s} command {statistics.median(wall[name]) / statistics.median(wall['score']):.2f}x, "
                  f"in-process {statistics.median(inside[name]) / statistics.median(inside['score']):.2f}x, "
                  f"memory {statistics.median(memory[name]) / statistics.median(memory['score']):.2f}x")
        return 0
    finally:
        if made_temp:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
