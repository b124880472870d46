"""A roofline for the simulation's day: what the machine can move and compute, what each phase of a
day moves, and how close each phase comes to the bound it is limited by.

    python benchmarks/roofline.py                                  # default scenario; traffic traced at
                                                                   # 300,000 x 14 days, timed at 1M x 28
    python benchmarks/roofline.py --trace-people 20000 --trace-days 8 --people 100000 --days 8   # quick

1. The machine (`machine_roofs`): memory bandwidth by a STREAM triad, a[i] = b[i] + s * c[i] over
   float64 arrays far larger than the caches, counted as STREAM counts it (24 bytes an element: two
   reads, one write), in NumPy (one thread, two passes: what a NumPy expression gets) and in Numba
   (fused, `prange` over both cores: the bound); compute by a fused multiply-add loop held in
   registers (Numba, both cores, 2 flops each); and random reads (a gather x[idx[i]] from a float32
   array far larger than the caches, as the network term reads neighbours), reads a second.
2. Each phase's traffic (`trace_traffic`): the default scenario is run day by day with every
   per-person array of the world found (any array the size of the population or larger, reached
   from the `Sim` through its modules, schemes and people) and, for each phase, the arrays it reads
   (any attribute of a project object that returns one, or a dict, list or tuple holding one, while
   the phase runs) and the arrays it writes (one whose contents changed, sampled every 16th
   element, or a new array in its place). A phase's bytes a person-day are the nbytes of those
   arrays, summed over the days and divided by the days and the people: the compulsory traffic,
   from the arrays' own dtypes (temporaries inside a phase are not counted, nor a sparse write to a
   few people). Random reads (gathers) are counted where the network term makes them: the graph
   kernels that sum neighbours' values (`scoring.graph`: a full pass reads every tie, the kept sums
   read the ties of the rows changed or edited), one a tie read (and those ties' ids, not the whole
   `indices`, counted as the phase's bytes read). Other reads through the graph
   (the social response's cuts, the weekly assortativity) count as bytes only: their bounds are
   low, so their distance to the bound is if anything overstated.
3. Each phase's time: a timed run (`runner.run.timed_loop`, the loop's own per-phase timer), and
   its bound, the larger of bytes / bandwidth and gathers / gather rate; achieved = bound / time.
   The machine is measured before and after the timed runs and the better of each roof is the
   bound: on a shared host others' work only lowers a roof.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import numba as nb
import numpy as np

# ---------------------------------------------------------------------------------------------
# 1. The machine


@nb.njit(parallel=True, cache=True)
def triad_numba(a, b, c, s):
    for i in nb.prange(a.size):
        a[i] = b[i] + s * c[i]


@nb.njit(parallel=True, cache=True)
def fused_flops(x, rounds):
    """2 x 8 x rounds flops per element (8 independent fused multiply-adds, kept in registers)."""
    for i in nb.prange(x.size):
        v0 = x[i]
        v1, v2, v3, v4, v5, v6, v7 = v0 + 1, v0 + 2, v0 + 3, v0 + 4, v0 + 5, v0 + 6, v0 + 7
        for _ in range(rounds):
            v0 = v0 * 0.999 + 0.001
            v1 = v1 * 0.999 + 0.001
            v2 = v2 * 0.999 + 0.001
            v3 = v3 * 0.999 + 0.001
            v4 = v4 * 0.999 + 0.001
            v5 = v5 * 0.999 + 0.001
            v6 = v6 * 0.999 + 0.001
            v7 = v7 * 0.999 + 0.001
        x[i] = v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7


@nb.njit(parallel=True, cache=True)
def gather(values, index, out):
    for i in nb.prange(index.size):
        out[i] = values[index[i]]


def best_of(repeats: int, work: Callable[[], None]) -> float:
    """The fastest of `repeats` runs, in seconds (the bound: interference only slows)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def machine_roofs(elements: int = 2**25, repeats: int = 5) -> dict[str, float]:
    """Bytes a second (triad, NumPy and Numba), flops a second, random reads a second."""
    rng = np.random.default_rng(0)
    a, b, c = np.zeros(elements), rng.random(elements), rng.random(elements)
    triad_bytes = 24 * elements

    def numpy_triad() -> None:
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)

    triad_numba(a, b, c, 3.0)  # compile
    roofs = {"triad_numpy_bytes_per_s": triad_bytes / best_of(repeats, numpy_triad),
             "triad_numba_bytes_per_s": triad_bytes / best_of(repeats, lambda: triad_numba(a, b, c, 3.0))}
    x, rounds = rng.random(2**14), 4096
    fused_flops(x, 2)
    roofs["flops_per_s"] = 2 * 8 * rounds * x.size / best_of(repeats, lambda: fused_flops(x, rounds))
    values = rng.random(elements // 2, dtype=np.float32)  # 64 MiB: far larger than the caches
    index = rng.integers(0, values.size, elements // 2).astype(np.int32)
    out = np.empty(index.size, dtype=np.float32)
    gather(values, index, out)
    roofs["gathers_per_s"] = index.size / best_of(repeats, lambda: gather(values, index, out))
    return roofs


def show_roofs(label: str, roofs: dict[str, float]) -> None:
    print(f"{label}: STREAM triad {roofs['triad_numpy_bytes_per_s'] / 1e9:.1f} GB/s in NumPy (one thread), "
          f"{roofs['triad_numba_bytes_per_s'] / 1e9:.1f} GB/s in Numba (fused, {nb.get_num_threads()} threads); "
          f"{roofs['flops_per_s'] / 1e9:.1f} GFLOP/s (fused multiply-adds, Numba); "
          f"{roofs['gathers_per_s'] / 1e6:.0f}M random reads/s (float32 gather from 64 MiB)", flush=True)


# ---------------------------------------------------------------------------------------------
# 2. Each phase's traffic


def project_object(value: Any) -> bool:
    return type(value).__module__.startswith("socialcredit") and not isinstance(value, type)


def children(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        yield from ((f"[{key!r}]", item) for key, item in value.items())
    elif isinstance(value, list | tuple):
        fields = getattr(value, "_fields", None)
        names = fields if fields else [f"[{i}]" for i in range(len(value))]
        yield from ((f".{name}" if fields else name, item) for name, item in zip(names, value, strict=False))
    elif project_object(value):
        attributes = dict(getattr(value, "__dict__", {}))
        for slot in getattr(type(value), "__slots__", ()):
            if hasattr(value, slot):
                attributes[slot] = getattr(value, slot)
        yield from ((f".{name}", item) for name, item in attributes.items())


def world_arrays(root: Any, people: int, depth: int = 8) -> tuple[dict[int, tuple[str, np.ndarray]], set[type]]:
    """Every array of `people` elements or more reachable from `root` by id: (path, array); and the
    project classes met on the way (their attribute reads are traced)."""
    found: dict[int, tuple[str, np.ndarray]] = {}
    classes: set[type] = set()
    seen: set[int] = set()
    stack: list[tuple[str, Any, int]] = [("sim", root, 0)]
    while stack:
        path, value, level = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, np.ndarray):
            if value.size >= people and id(value) not in found:
                found[id(value)] = (path, value)
            continue
        if project_object(value):
            classes.add(type(value))
        if level < depth:
            stack.extend((path + name, item, level + 1) for name, item in children(value))
    return found, classes


class ReadTracer:
    """Records the per-person arrays that attribute reads of project objects return while on."""

    def __init__(self, arrays: dict[int, tuple[str, np.ndarray]]):
        self.arrays = arrays
        self.read: set[int] = set()
        self.originals: dict[type, Any] = {}

    def note(self, value: Any) -> None:
        if isinstance(value, np.ndarray):
            if id(value) in self.arrays:
                self.read.add(id(value))
        elif isinstance(value, dict):
            for item in value.values():
                self.note(item) if isinstance(item, np.ndarray) else None
        elif isinstance(value, list | tuple):
            for item in value:
                self.note(item) if isinstance(item, np.ndarray) else None

    def install(self, classes: set[type]) -> None:
        tracer = self
        for cls in classes:
            if cls in self.originals or "__getattribute__" in cls.__dict__:
                continue
            original = cls.__getattribute__

            def traced(obj, name, _original=original):
                value = _original(obj, name)
                if not name.startswith("__"):
                    tracer.note(value)
                return value

            try:
                cls.__getattribute__ = traced
            except TypeError:  # a class that refuses it (a C type): its reads go unseen
                continue
            self.originals[cls] = original

    def remove(self) -> None:
        for cls in self.originals:
            del cls.__getattribute__
        self.originals.clear()


class GatherCounter:
    """Counts the ties the network term's kernels read (one random read each) while installed in
    `socialcredit.scoring.kernels`, whose names graph.py's functions look up at each call."""

    def __init__(self) -> None:
        self.gathers = 0
        self.originals: dict[str, Any] = {}

    def install(self) -> None:
        # graph.py imports the kernels where it calls them, so the kernels module's names are read
        # at each call: counting wrappers put there are the ones called
        from socialcredit.scoring import kernels as graph

        def ties_of(indptr: np.ndarray, rows: np.ndarray) -> int:
            return int((indptr[rows + 1] - indptr[rows]).sum())

        counting = {
            "row_sums": lambda indptr, indices, *rest: indptr[-1],
            "row_sums_serial": lambda indptr, indices, *rest: indptr[-1],
            "fixed_row_sums": lambda indptr, indices, values, factor, rows: ties_of(indptr, rows),
            "add_changes": lambda indptr, indices, changed, *rest: ties_of(indptr, changed),
        }
        for name, ties in counting.items():
            original = getattr(graph, name)
            self.originals[name] = original

            def counted(*args, _original=original, _ties=ties):
                self.gathers += int(_ties(*args))
                return _original(*args)

            setattr(graph, name, counted)

    def remove(self) -> None:
        from socialcredit.scoring import kernels as graph

        for name, original in self.originals.items():
            setattr(graph, name, original)
        self.originals.clear()


def sample(array: np.ndarray) -> np.ndarray:
    return array.reshape(-1)[::16].copy()


Traffic = dict[str, dict[str, float]]


def trace_traffic(scenario_ref: str, people: int, days: int, seed: int) -> tuple[Traffic, Traffic]:
    """Per phase: bytes read and written a person-day, and random reads (gathers) a person-day; and
    per phase, each array's bytes a person-day by its path ("read sim.people.income", ...)."""
    from socialcredit.runner.loop import Loop
    from socialcredit.scenario.load import load_scenario
    from socialcredit.sim.model import Sim

    scenario, schemes = load_scenario(scenario_ref, {"population.size": people, "run.days": days, "run.seed": seed})
    sim = Sim(scenario, schemes)
    loop = Loop(sim)
    totals: Traffic = defaultdict(lambda: {"read": 0.0, "written": 0.0, "gathers": 0.0})
    by_array: Traffic = defaultdict(lambda: defaultdict(float))
    simulated = range(-sim.burn_in, sim.days)
    gathers = GatherCounter()
    gathers.install()
    try:
        trace_days(sim, loop, simulated, totals, by_array, gathers)
    finally:
        gathers.remove()
    for module in loop.modules:
        module.finish(sim)
    scale = 1 / (sim.n * len(simulated))
    return ({name: {key: value * scale for key, value in figures.items()} for name, figures in totals.items()},
            {name: {key: value * scale for key, value in arrays.items()} for name, arrays in by_array.items()})


def trace_days(sim, loop, simulated: range, totals: Traffic, by_array: Traffic, gathers: GatherCounter) -> None:
    for day in simulated:
        if day == 0 and sim.burn_in:
            sim.start_reporting()
            for module in loop.modules:
                module.start_reporting(sim)
        for module in loop.modules:
            arrays, classes = world_arrays(sim, sim.n)
            before = {key: sample(array) for key, (_, array) in arrays.items()}
            tracer = ReadTracer(arrays)
            tracer.install(classes)
            gathered = gathers.gathers
            try:
                module.step(sim, day)
            finally:
                tracer.remove()
            after, _ = world_arrays(sim, sim.n)
            written = {key for key, (_, array) in after.items()
                       if key not in before or not np.array_equal(sample(array), before[key])}
            read = {key: float(arrays[key][1].nbytes) for key in tracer.read}
            ties_read = gathers.gathers - gathered
            indices = sim.graph.indices
            if ties_read and id(indices) in read:  # the network term reads the ties it gathers, not all
                read[id(indices)] = min(float(ties_read * indices.itemsize), read[id(indices)])
            total = totals[module.name]
            total["read"] += sum(read.values())
            total["written"] += sum(after[key][1].nbytes for key in written)
            total["gathers"] += ties_read
            for key, moved in read.items():
                by_array[module.name]["read " + arrays[key][0]] += moved
            for key in written:
                by_array[module.name]["written " + after[key][0]] += after[key][1].nbytes


# ---------------------------------------------------------------------------------------------
# 3. Time and bound


def phase_seconds(scenario_ref: str, people: int, days: int, seed: int, runs: int) -> tuple[dict[str, float], float]:
    """Per phase, the median over `runs` of its seconds a day; and the median person-days a second."""
    from socialcredit.runner.run import timed_loop
    from socialcredit.scenario.load import load_scenario
    from socialcredit.scoring.compiled import compile_rules

    tiny, tiny_schemes = load_scenario(scenario_ref, {"population.size": 2000, "run.days": 8, "run.seed": seed})
    timed_loop(tiny, tiny_schemes)  # the compiled kernels loaded before timing ...
    for entry in tiny_schemes:
        compile_rules(entry.scheme)  # ... and the scheme's compiled rules (used from 262,144 people)
    per_phase: dict[str, list[float]] = defaultdict(list)
    rates = []
    for _ in range(runs):
        scenario, schemes = load_scenario(scenario_ref, {"population.size": people, "run.days": days,
                                                         "run.seed": seed})
        sim, loop, _, seconds = timed_loop(scenario, schemes)
        simulated = days + sim.burn_in
        rates.append(people * simulated / seconds)
        for name, spent in loop.seconds.items():
            per_phase[name].append(spent / simulated)
    return {name: statistics.median(values) for name, values in per_phase.items()}, statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--people", type=int, default=1_000_000, help="people of the timed runs")
    parser.add_argument("--days", type=int, default=28, help="days of the timed runs (4 weeks: weekly work in)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (medians)")
    parser.add_argument("--trace-people", type=int, default=300_000,
                        help="people of the traced run (>= 262,144: the compiled rules' path, as at 1M)")
    parser.add_argument("--trace-days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, {platform.processor() or '?'}, Python "
          f"{platform.python_version()}, numpy {np.__version__}, numba {nb.__version__}, numba threads "
          f"{nb.get_num_threads()}; load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    measured = [machine_roofs()]
    show_roofs("The machine, before", measured[0])

    print(f"\nTracing each phase's arrays: {args.scenario} at {args.trace_people:,} people x {args.trace_days} days",
          flush=True)
    traffic, by_array = trace_traffic(args.scenario, args.trace_people, args.trace_days, args.seed)
    print(f"Timing each phase: {args.scenario} at {args.people:,} people x {args.days} days, {args.runs} run(s)",
          flush=True)
    seconds, rate = phase_seconds(args.scenario, args.people, args.days, args.seed, args.runs)
    print(f"  {rate / 1e6:.2f}M person-days/s (median)\n")
    measured.append(machine_roofs())
    show_roofs("The machine, after", measured[1])
    # The bound is the best the machine did (on a shared host, others' load only lowers a roof)
    roofs = {key: max(m[key] for m in measured) for key in measured[0]}
    bandwidth = max(roofs["triad_numba_bytes_per_s"], roofs["triad_numpy_bytes_per_s"])
    show_roofs("The roofs (the better of the two)", roofs)
    day = sum(seconds.values())
    print()
    print(f"{'phase':<13} {'ns/person-day':>13} {'share':>6} {'read B':>7} {'written B':>9} {'gathers':>7} "
          f"{'achieved GB/s':>13} {'bound by':>8} {'bound ns':>8} {'achieved':>8} {'distance':>8}")
    rows = []
    for name, spent in seconds.items():
        figures = traffic.get(name, {"read": 0.0, "written": 0.0, "gathers": 0.0})
        moved = figures["read"] + figures["written"]
        ns = spent / args.people * 1e9
        memory_ns = moved / bandwidth * 1e9
        gather_ns = figures["gathers"] / roofs["gathers_per_s"] * 1e9
        bound_ns, limit = (gather_ns, "gathers") if gather_ns > memory_ns else (memory_ns, "memory")
        achieved = bound_ns / ns if ns > 0 else 0.0
        rows.append((name, ns, spent / day, figures, moved, bound_ns, limit, achieved))
    for name, ns, share, figures, moved, bound_ns, limit, achieved in rows:
        if share < 0.005:
            continue
        print(f"{name:<13} {ns:13.2f} {share:6.1%} {figures['read']:7.1f} {figures['written']:9.1f} "
              f"{figures['gathers']:7.2f} {moved / ns:13.2f} {limit:>8} {bound_ns:8.2f} {achieved:8.1%} "
              f"{ns - bound_ns:8.2f}")
    total_ns = sum(row[1] for row in rows)
    total_bound = sum(row[5] for row in rows)
    print(f"{'day':<13} {total_ns:13.2f} {1:6.0%} {sum(r[3]['read'] for r in rows):7.1f} "
          f"{sum(r[3]['written'] for r in rows):9.1f} {sum(r[3]['gathers'] for r in rows):7.2f} "
          f"{sum(r[4] for r in rows) / total_ns:13.2f} {'':>8} {total_bound:8.2f} {total_bound / total_ns:8.1%} "
          f"{total_ns - total_bound:8.2f}")
    print("\n(phases under 0.5% of the day left out of the rows, kept in the day's total; distance = ns a "
          "person-day above the bound: where an optimisation has the most to gain)")
    largest = sorted(rows, key=lambda row: row[1] - row[5], reverse=True)[:3]
    print("largest distances: " + ", ".join(f"{row[0]} {row[1] - row[5]:.1f} ns ({row[7]:.0%} of its bound)"
                                             for row in largest))
    for row in largest:
        heaviest = sorted(by_array.get(row[0], {}).items(), key=lambda item: item[1], reverse=True)[:6]
        print(f"  {row[0]}'s heaviest arrays, bytes a person-day: "
              + "; ".join(f"{path} {moved:.1f}" for path, moved in heaviest))


if __name__ == "__main__":
    main()
