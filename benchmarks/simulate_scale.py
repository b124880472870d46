"""Simulation speed and memory at scale: the default scenario at 1M people (and more).

Prints person-days per second, peak resident memory, bytes per person and seconds per phase.
Targets (issue 3, 2 cores): >= 2e7 person-days/s at 1M people x 365 days; <= 500 bytes per person
of resident memory at mean degree 10.

    python benchmarks/simulate_scale.py                      # 1M people x 365 days
    python benchmarks/simulate_scale.py --people 100000 --days 60
    python benchmarks/simulate_scale.py --people 1000000 10000000 --days 30
    python benchmarks/simulate_scale.py --people 1000000 50000000:8   # SIZE:DAYS, days per size
    python benchmarks/simulate_scale.py --scenario examples/three-schemes.scenario.yaml   # three schemes
                                                             # (issue 19's target: 1.2e7 at 1M)
    python benchmarks/simulate_scale.py --ladder             # issue 6: 1M and 10M for a year, and 50M
                                                             # (the largest that fits in 24 GiB) for 8
                                                             # days, a weekly graph rebuild and metrics
                                                             # included: about 15 minutes

Each size runs in a fresh process so that peak memory is its own. A warm-up run in a process of its
own comes first (the largest size, at most 300,000 people, for 15 days: the compiled scoring rules
are used from 262,144 people, and two weekly graph edits): on a machine where the kernels have never
been compiled, each one is compiled and cached there, not inside a timed loop (that once cost a fresh
machine 5 s of a 25 s loop and 30 bytes a person).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

TARGET_PERSON_DAYS = 2e7
WARM_UP_PEOPLE, WARM_UP_DAYS = 300_000, 15
TARGET_BYTES = 500
LADDER = ("1000000:365", "10000000:365", "50000000:8")


def size_and_days(text: str, days: int) -> tuple[int, int]:
    """'N' or 'N:DAYS' (underscores allowed) -> (people, days)."""
    people, _, own_days = text.replace("_", "").partition(":")
    try:
        return int(people), int(own_days) if own_days else days
    except ValueError:
        raise ValueError(f"--people {text!r}: give a number of people, or people:days (like 50000000:8)") from None


def measure(people: int, days: int, seed: int, scenario_ref: str = "default") -> dict:
    """Run once in this process and report figures (called in a child process)."""
    import numpy as np

    from socialcredit.runner.run import timed_loop
    from socialcredit.scenario.load import load_scenario
    from socialcredit.scoring.compiled import compile_rules

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    # A tiny run first loads the compiled kernels (numba, LLVM), and the scheme's compiled rules
    # (used from 262,144 people) are loaded too: memory that does not grow with people.
    tiny, tiny_schemes = load_scenario(scenario_ref, {"population.size": 1000, "run.days": 8, "run.seed": seed})
    timed_loop(tiny, tiny_schemes)
    for entry in tiny_schemes:
        compile_rules(entry.scheme)
    warm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    scenario, schemes = load_scenario(scenario_ref, {"population.size": people, "run.days": days, "run.seed": seed})
    sim, loop, setup, seconds = timed_loop(scenario, schemes)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "people": people, "days": days, "setup_seconds": setup, "loop_seconds": seconds,
        "person_days_per_second": people * days / seconds,
        "peak_rss_bytes": peak, "baseline_rss_bytes": baseline, "warm_rss_bytes": warm,
        "bytes_per_person": (peak - warm) / people,
        "bytes_per_person_with_kernels": (peak - baseline) / people,
        "phase_seconds": loop.seconds,
        "mean_degree": float(sim.graph.degree.mean()),
        "numpy": np.__version__,
    }


def warm_up(people: int, seed: int, scenario_ref: str) -> None:
    """Run the scenario once in a process of its own, so that every kernel the timed runs call is
    compiled and in numba's on-disk cache before them (the timed runs' own tiny warm-up loads them,
    but cannot reach the kernels used only at scale or by a weekly edit)."""
    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "--child", "--people", f"{people}:{WARM_UP_DAYS}",
                            "--seed", str(seed), "--scenario", scenario_ref], capture_output=True, text=True)
    if child.returncode != 0:
        print(f"warm-up ({people:,} people x {WARM_UP_DAYS} days): failed\n{child.stderr[-2000:]}")
        return
    print(f"warm-up: {people:,} people x {WARM_UP_DAYS} days in a process of its own, so that no timed loop "
          f"compiles a kernel ({time.perf_counter() - started:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", nargs="+", default=["1000000"],
                        help="sizes, each N or N:DAYS (DAYS for that size instead of --days)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--ladder", action="store_true", help=f"the sizes of issue 6: {' '.join(LADDER)}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default="default", help="the scenario measured (a preset id or a YAML file; "
                                                              "default: the default preset)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        sizes = [size_and_days(text, args.days) for text in (LADDER if args.ladder else args.people)]
    except ValueError as error:
        parser.error(str(error))
    if args.child:
        print(json.dumps(measure(sizes[0][0], sizes[0][1], args.seed, args.scenario)))
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}")
    warm_up(min(WARM_UP_PEOPLE, max(people for people, _ in sizes)), args.seed, args.scenario)
    peaks: list[tuple[int, int, int]] = []
    for people, days in sizes:
        child = subprocess.run([sys.executable, __file__, "--child", "--people", f"{people}:{days}",
                                "--seed", str(args.seed), "--scenario", args.scenario], capture_output=True, text=True)
        if child.returncode != 0:
            print(f"{people:,} people: failed\n{child.stderr[-2000:]}")
            continue
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        rate = figures["person_days_per_second"]
        print(f"\n{people:,} people x {days} days (mean degree {figures['mean_degree']:.2f})")
        print(f"  set-up           {figures['setup_seconds']:8.2f} s")
        print(f"  loop             {figures['loop_seconds']:8.2f} s")
        print(f"  person-days/s    {rate:12,.0f}   ({rate / TARGET_PERSON_DAYS:.2f}x the 2e7 target)")
        print(f"  peak RSS         {figures['peak_rss_bytes'] / 2**20:8.0f} MiB")
        print(f"  bytes per person {figures['bytes_per_person']:8.0f}   (target <= {TARGET_BYTES}; peak above the "
              f"interpreter with its libraries and compiled kernels loaded, "
              f"{figures['warm_rss_bytes'] / 2**20:.0f} MiB)")
        print(f"                   {figures['bytes_per_person_with_kernels']:8.0f}   (above the interpreter and "
              f"libraries alone, {figures['baseline_rss_bytes'] / 2**20:.0f} MiB: the kernels' "
              f"{(figures['warm_rss_bytes'] - figures['baseline_rss_bytes']) / 2**20:.0f} MiB spread over the people)")
        peaks.append((days, people, figures["peak_rss_bytes"]))
        total = sum(figures["phase_seconds"].values())
        for name, seconds in figures["phase_seconds"].items():
            print(f"  {name:<16} {seconds:8.2f} s  {seconds / total:6.1%}")
    for days in sorted({days for days, _, _ in peaks}):
        # The slope between sizes run for as many days is what each more person costs, without the
        # fixed costs (interpreter, libraries, compiled kernels) the figure above spreads over them.
        same = [(people, peak) for run_days, people, peak in peaks if run_days == days]
        (small, small_peak), (large, large_peak) = min(same), max(same)
        if large > small:
            slope = (large_peak - small_peak) / (large - small)
            fixed = small_peak - slope * small
            fits = (24 * 2**30 - fixed) / slope
            print(f"\nmarginal bytes per person ({small:,} -> {large:,}, {days} days): {slope:,.0f}   "
                  f"(target <= {TARGET_BYTES}); "
                  f"fixed {fixed / 2**20:,.0f} MiB; at this slope 24 GiB holds about {fits / 1e6:,.0f}M people")


if __name__ == "__main__":
    main()
