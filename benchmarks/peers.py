"""The peer model side by side in socialcredit, Starsim, LASER and Mesa: same outcome, then speed.

    pip install -e '.[bench]'     # mesa, networkx, starsim>=3.7,<4, laser-core>=1.0,<2
    python benchmarks/peers.py                          # speed: Mesa at 10,000 people, Starsim, LASER and
                                                        # socialcredit at 100k, 1M and 10M, 30 days (10M: 10)
    python benchmarks/peers.py --check                  # and first the equivalence of each peer with
                                                        # socialcredit (80 seeds x 10,000 people x 60 days)
    python benchmarks/peers.py --peers laser --people 100000 --days 5 --rounds 1    # a quick look

The model and its statement are `peer_mesa.py`'s; `peer_starsim.py` and `peer_laser.py` write it in
those frameworks. Each measurement runs in a fresh process (so that its memory peak and caches are
its own; a small warm-up run first, so that Numba's kernels are loaded), the frameworks in turn,
`--rounds` times; the median of each is printed with its ratio to socialcredit's at the same size.

Equivalence (`--check`): over seeds 1..SEEDS, each peer's final blacklist share, mean score and
offences per person-day against socialcredit's by two one-sided tests (`peer_mesa.tost`, Welch)
with the margins `MARGINS`; and the network term's effect (the blacklist share with the network
term less that without it, same seed) likewise, with `EFFECT_MARGIN`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


sys.path.insert(0, str(HERE))  # benchmarks/siblings.py
from siblings import load  # noqa: E402

peer = load("peer_mesa")

# peer_mesa's margins (what a ~1.2% change of the offence rate does to the share and the mean score)
# and, for the offence rate itself, 1.2% of it (~0.0089 offences a person-day).
MARGINS = {**peer.MARGINS, "offence_rate": 0.0001}
FIGURES = (*peer.FIGURES, ("offence_rate", "offences a person-day", 1000.0, "per thousand person-days"))
# The network term's effect on the blacklist share (with it less without it, same seed: ~+4.3 points
# at 10,000 x 60); the same margin as the share's, 6% of the effect.
EFFECT_MARGIN = 0.0025
SEEDS, CHECK_PEOPLE, CHECK_DAYS = 80, 10_000, 60

SIZES = (100_000, 1_000_000, 10_000_000)
DAYS_AT = {10_000_000: 10}  # fewer days at 10M: a day there is what a day is at 1M, x10


def runner(name: str) -> Callable[..., dict]:
    """run(people, days, seed, p=PARAMS) -> figures, for each implementation but socialcredit."""
    return {"mesa": peer.run_mesa, "reference": peer.run_reference,
            "starsim": load("peer_starsim").run_starsim, "laser": load("peer_laser").run_laser}[name]


def without_network_term(p: dict = peer.PARAMS) -> dict:
    return {**p, "network_weight": 0.0}


def socialcredit_runs(people: int, days: int, seeds: int, p: dict = peer.PARAMS) -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        scenario_path = peer.write_model(Path(folder), p)
        return [peer.run_socialcredit(scenario_path, people, days, seed) for seed in range(1, seeds + 1)]


def peer_runs(name: str, people: int, days: int, seeds: int, p: dict = peer.PARAMS) -> list[dict]:
    run = runner(name)
    return [run(people, days, seed, p) for seed in range(1, seeds + 1)]


def network_effects(with_term: list[dict], without_term: list[dict]) -> np.ndarray:
    """Per seed: the blacklist share with the network term less that without it."""
    return np.array([a["listed_share"] - b["listed_share"] for a, b in zip(with_term, without_term, strict=True)])


def compare(name: str, ours: dict[str, list[dict]], theirs: dict[str, list[dict]]) -> bool:
    """Print each figure's TOST, socialcredit against the peer; True when all are shown equivalent."""
    agree = True
    for figure, label, unit, unit_name in FIGURES:
        a = np.array([r[figure] for r in ours["with"]])
        b = np.array([r[figure] for r in theirs["with"]])
        result = peer.tost(a, b, MARGINS[figure])
        agree &= result["equivalent"]
        print(f"  {label:<22} socialcredit {a.mean() * unit:9.3f}  {name} {b.mean() * unit:9.3f}  difference "
              f"{result['difference'] * unit:+.3f}, 90% CI [{result['low'] * unit:+.3f}, {result['high'] * unit:+.3f}]"
              f" ({unit_name}), margin +-{MARGINS[figure] * unit:g}, p = {result['p']:.2g} => "
              f"{'equivalent' if result['equivalent'] else 'NOT shown equivalent'}")
    a, b = network_effects(ours["with"], ours["without"]), network_effects(theirs["with"], theirs["without"])
    result = peer.tost(a, b, EFFECT_MARGIN)
    agree &= result["equivalent"]
    print(f"  {'network term effect':<22} socialcredit {a.mean() * 100:+9.3f}  {name} {b.mean() * 100:+9.3f}  "
          "difference "
          f"{result['difference'] * 100:+.3f}, 90% CI [{result['low'] * 100:+.3f}, {result['high'] * 100:+.3f}]"
          f" (points of blacklist share), margin +-{EFFECT_MARGIN * 100:g}, p = {result['p']:.2g} => "
          f"{'equivalent' if result['equivalent'] else 'NOT shown equivalent'}")
    return agree


def equivalence(names: list[str], people: int = CHECK_PEOPLE, days: int = CHECK_DAYS, seeds: int = SEEDS) -> bool:
    print(f"\nEquivalence with socialcredit: {people:,} people x {days} days, seeds 1..{seeds} each, with and "
          "without the network term", flush=True)
    ours = {"with": socialcredit_runs(people, days, seeds),
            "without": socialcredit_runs(people, days, seeds, without_network_term())}
    agree = True
    for name in names:
        print(f"\n{name}:", flush=True)
        theirs = {"with": peer_runs(name, people, days, seeds),
                  "without": peer_runs(name, people, days, seeds, without_network_term())}
        agree &= compare(name, ours, theirs)
    return agree


# ---------------------------------------------------------------------------------------------
# Speed: each measurement in a fresh process


def measure(name: str, people: int, days: int, seed: int) -> dict:
    """One timed run in this process, after a warm-up, with the process's peak memory."""
    if name == "socialcredit":
        from socialcredit.scenario.load import load_scenario
        from socialcredit.scoring.compiled import compile_rules

        with tempfile.TemporaryDirectory() as folder:
            scenario_path = peer.write_model(Path(folder))
            peer.run_socialcredit(scenario_path, 2_000, 3, seed)
            for entry in load_scenario(scenario_path)[1]:  # the compiled rules, used from 262,144 people
                compile_rules(entry.scheme)
            result = peer.run_socialcredit(scenario_path, people, days, seed)
    else:
        run = runner(name)
        run(2_000, 3, seed)
        result = run(people, days, seed)
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result.pop("phase_seconds", None)
    return result


def measure_in_child(name: str, people: int, days: int, seed: int) -> dict:
    command = [sys.executable, str(HERE / "peers.py"), "--child", name, str(people), str(days), str(seed)]
    env = {**os.environ, "STARSIM_INSTALL_FONTS": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} at {people:,} people failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed(names: list[str], sizes: list[int], days: int, rounds: int, seed: int, mesa_people: int) -> dict:
    """Median person-days per second of each framework at each size, socialcredit alongside."""
    print(f"\nSpeed: person-days per second of the day loop (set-up excluded), median of {rounds} round(s), "
          "each run in a fresh process, frameworks in turn")
    table: dict[tuple[str, int], float] = {}
    plan = [(size, ["socialcredit", *[n for n in names if n != "mesa"]]) for size in sizes]
    if "mesa" in names:
        plan.insert(0, (mesa_people, ["socialcredit", "mesa"]))
    for size, frameworks in plan:
        size_days = DAYS_AT.get(size, days)
        rates: dict[str, list[float]] = {name: [] for name in frameworks}
        peaks: dict[str, int] = {}
        for _ in range(rounds):
            for name in frameworks:
                result = measure_in_child(name, size, size_days, seed)
                rates[name].append(size * size_days / result["loop_seconds"])
                peaks[name] = max(peaks.get(name, 0), result["peak_rss_bytes"])
        ours = statistics.median(rates["socialcredit"])
        for name in frameworks:
            rate = statistics.median(rates[name])
            table[(name, size)] = rate
            spread = ", ".join(f"{r / 1e6:.2f}M" for r in rates[name])
            ratio = "" if name == "socialcredit" else f"   socialcredit / {name} = {ours / rate:,.2f}x"
            print(f"  {size:>11,} x {size_days:>3} days  {name:<13} {rate / 1e6:9.3f}M person-days/s ({spread}); "
                  f"peak {peaks[name] / 2**30:.2f} GiB{ratio}", flush=True)
    return table


def main(default_peers: tuple[str, ...] = ("mesa", "starsim", "laser"), doc: str | None = None) -> None:
    parser = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", nargs="+", default=list(default_peers), choices=["mesa", "starsim", "laser"])
    parser.add_argument("--people", type=int, nargs="+", default=list(SIZES), help="sizes (Starsim, LASER)")
    parser.add_argument("--mesa-people", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30, help="days of the timed runs (10M: 10)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each framework at each size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="first the equivalence test with socialcredit")
    parser.add_argument("--seeds", type=int, default=SEEDS, help="seeds of the equivalence test")
    parser.add_argument("--child", nargs=4, metavar=("FRAMEWORK", "PEOPLE", "DAYS", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, people, days, seed = args.child
        print(json.dumps(measure(name, int(people), int(days), int(seed))))
        return

    versions = {"numpy": np.__version__}
    for module, label in (("starsim", "starsim"), ("laser.core", "laser-core"), ("mesa", "mesa")):
        try:
            versions[label] = importlib.import_module(module).__version__
        except ImportError:
            versions[label] = "not installed"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          + ", ".join(f"{k} {v}" for k, v in versions.items()) + f"; load {os.getloadavg()[0]:.1f}")
    agree = equivalence([n for n in args.peers if n != "mesa"], seeds=args.seeds) if args.check else True
    speed(args.peers, args.people, args.days, args.rounds, args.seed, args.mesa_people)
    if not agree:
        print("warning: a peer is NOT shown equivalent to socialcredit: its speed ratio compares different models")


if __name__ == "__main__":
    main()
