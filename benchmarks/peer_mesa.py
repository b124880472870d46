"""The peer model side by side in Mesa 3.x and in socialcredit: same outcome, then speed.

    pip install -e '.[bench]'     # mesa>=3.0,<4 and networkx (Mesa's Network space holds a networkx graph)
    python benchmarks/peer_mesa.py     # equivalence: 5 seeds x 10,000 people x 60 days in each framework;
                                       # speed: Mesa at 10,000 x 30 days, socialcredit at 10,000 and 1,000,000 x 30
    python benchmarks/peer_mesa.py --seeds 3 --check-days 30 --mesa-people 5000 --people 10000 100000

The model (issue 6, item 1), one set of parameters (PARAMS) for both frameworks:

- N people on a random network of mean degree 10: networkx `watts_strogatz_graph(N, 10, 1.0)` in
  Mesa; in socialcredit `homophilous_small_world` with one group, one district, homophily 1 and
  rewiring 1, which is the same generator (each lattice tie rewired to anyone);
- each day a person offends with chance 1 - exp(-rate), rate = base_rate x propensity (gamma, mean
  1, variance `heterogeneity`), halved while blacklisted (the scheme's `travel` entitlement is denied
  to the blacklisted, and the scenario's consequence multiplies the offence rate by 0.5 while it is
  denied); every offence is recorded (coverage 1), no deterrence through stakes (deterrence 0);
- a person's offence count decays with a half-life; pre = clip(base + points_per_offence x count);
  score = clip(pre + weight x (mean of neighbours' pre - base)); blacklisted while score < threshold,
  which takes effect on the next day's behaviour.

In Mesa each person is a `FixedAgent` on a cell of `mesa.discrete_space.Network`, holding its own
record and score; a day is `agents.shuffle_do("offend")` (draw, decay, count, pre) then
`agents.do("rescore")` (network term from the neighbours' cells, blacklist). In socialcredit the
same model is a scheme and a scenario (YAML written to a temporary folder) run by `Sim` + `Loop`,
all phases included (behaviour, surveillance, scoring, consequences, economy, social response,
appeals, metrics).

The two are stochastic, not bit-identical: the check runs each over several seeds and compares the
final mean score and blacklist share (mean and 95% t-interval over seeds). Speed is person-days per
second of the day loop only (set-up excluded in both); the target of issue 6 is >= 1000x Mesa per
person-day.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

TARGET_RATIO = 1000

PARAMS = {
    "base_rate": 0.01,          # offences per person per day, before propensity
    "heterogeneity": 1.0,       # variance of the gamma propensity (mean 1)
    "half_life_days": 30,       # of the offence count
    "points_per_offence": -60,  # per_unit points of the count
    "network_weight": 0.5,      # + weight x (mean of neighbours' pre - base)
    "threshold": 950,           # blacklisted while score < threshold
    "listed_multiplier": 0.5,   # offence rate while blacklisted, relative
    "mean_degree": 10,
    "scale": (0, 2000, 1000),   # min, max, base
}


# ---------------------------------------------------------------------------------------------
# socialcredit: the model as a scheme and a scenario


def write_model(folder: Path, p: dict = PARAMS) -> Path:
    """Write the peer scheme and scenario into `folder`; return the scenario's path."""
    low, high, base = p["scale"]
    scheme = {
        "id": "peer",
        "title": "Peer model (benchmark): offences, a network term and a blacklist that deters",
        "sources": ["assumption: benchmark parameters, not a documented system"],
        "scale": {"min": low, "max": high, "base": base},
        "events": {"offence": {"category": "conduct"}},
        "features": {"offences": {"count": "offence", "half_life_days": p["half_life_days"]}},
        "components": {"conduct": {"feature": "offences", "per_unit": p["points_per_offence"]}},
        "network": {"weight": p["network_weight"]},
        "tiers": [{"name": "all", "min": low}],
        "lists": {"blacklist": f"score < {p['threshold']}"},
        "entitlements": {"travel": {"allow": "not blacklist", "context": "conduct"}},
        "reasons": 1,
    }
    scenario = {
        "id": "peer",
        "title": "Peer model (benchmark)",
        "scheme": "peer.scheme.yaml",
        "population": {"size": 10_000, "groups": {"all": 1.0}, "districts": 1},
        "network": {"model": "homophilous_small_world", "mean_degree": p["mean_degree"], "homophily": 1.0,
                    "rewiring": 1.0},
        "behaviours": {"offence": {"rate": p["base_rate"], "heterogeneity": p["heterogeneity"], "deterrence": 0.0}},
        "surveillance": {"police": {"observes": ["offence"], "coverage": 1.0}},
        "consequences": {"travel": {"denied": {"behaviours": {"offence": p["listed_multiplier"]}}}},
        "run": {"days": 30, "seed": 1},
    }
    (folder / "peer.scheme.yaml").write_text(yaml.safe_dump(scheme, sort_keys=False), encoding="utf-8")
    path = folder / "peer.scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


def run_socialcredit(scenario_path: Path, people: int, days: int, seed: int) -> dict:
    """One run; the loop alone is timed."""
    from socialcredit.sim.run import timed_loop
    from socialcredit.sim.scenario import load_scenario

    scenario, scheme = load_scenario(scenario_path, {"population.size": people, "run.days": days, "run.seed": seed})
    sim, loop, setup, seconds = timed_loop(scenario, scheme)
    assert sim.scores is not None
    return {"mean_score": float(sim.scores.score.mean()), "listed_share": float(sim.scores.lists["blacklist"].mean()),
            "setup_seconds": setup, "loop_seconds": seconds, "mean_degree": float(sim.graph.degree.mean()),
            "phase_seconds": dict(loop.seconds)}


# ---------------------------------------------------------------------------------------------
# Mesa: one agent per person on a Network space


def mesa_model(people: int, seed: int, p: dict = PARAMS):
    """Build the Mesa model (classes defined here so that Mesa is imported only when used)."""
    import mesa
    import networkx as nx
    from mesa.discrete_space import FixedAgent, Network

    low, high, base = p["scale"]
    decay = 0.5 ** (1 / p["half_life_days"])

    class Person(FixedAgent):
        def __init__(self, model: mesa.Model, cell, propensity: float):
            super().__init__(model)
            self.cell = cell
            self.rate = p["base_rate"] * propensity
            self.offences = 0.0       # the half-life count of one's own recorded offences
            self.pre = float(base)
            self.score = float(base)
            self.blacklisted = False

        def offend(self) -> None:
            rate = self.rate * p["listed_multiplier"] if self.blacklisted else self.rate
            self.offences *= decay
            if self.random.random() < -math.expm1(-rate):
                self.offences += 1.0
            self.pre = min(max(base + p["points_per_offence"] * self.offences, low), high)

        def rescore(self) -> None:
            neighbours = [other.pre for other in self.cell.neighborhood.agents]
            score = self.pre
            if neighbours:
                score += p["network_weight"] * (sum(neighbours) / len(neighbours) - base)
            self.score = min(max(score, low), high)
            self.blacklisted = self.score < p["threshold"]

    class PeerModel(mesa.Model):
        def __init__(self, n: int, seed: int):
            super().__init__(seed=seed)
            graph = nx.watts_strogatz_graph(n, p["mean_degree"], 1.0, seed=seed)
            self.grid = Network(graph, capacity=1, random=self.random)
            h = p["heterogeneity"]
            propensity = self.rng.gamma(1 / h, h, n) if h > 0 else np.ones(n)
            for node, cell in enumerate(self.grid.all_cells):
                Person(self, cell, float(propensity[node]))

        def step(self) -> None:
            self.agents.shuffle_do("offend")  # everyone's pre first ...
            self.agents.do("rescore")         # ... then the network term reads the neighbours' new pre

    return PeerModel(people, seed)


def run_mesa(people: int, days: int, seed: int) -> dict:
    started = time.perf_counter()
    model = mesa_model(people, seed)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(days):
        model.step()
    seconds = time.perf_counter() - started
    scores = np.array(model.agents.get("score"))
    listed = np.array(model.agents.get("blacklisted"))
    return {"mean_score": float(scores.mean()), "listed_share": float(listed.mean()), "setup_seconds": setup,
            "loop_seconds": seconds, "mean_degree": 2 * model.grid.G.number_of_edges() / people}


# ---------------------------------------------------------------------------------------------


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95% t-interval over seeds."""
    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    if x.size < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def equivalence(scenario_path: Path, people: int, days: int, seeds: int) -> bool:
    print(f"\nEquivalence: {people:,} people x {days} days, seeds 1..{seeds}, final figures")
    runs: dict[str, list[dict]] = {"socialcredit": [], "mesa": []}
    for seed in range(1, seeds + 1):
        runs["socialcredit"].append(run_socialcredit(scenario_path, people, days, seed))
        runs["mesa"].append(run_mesa(people, days, seed))
        sc, me = runs["socialcredit"][-1], runs["mesa"][-1]
        print(f"  seed {seed}: socialcredit score {sc['mean_score']:8.3f} listed {sc['listed_share']:.4f} "
              f"(degree {sc['mean_degree']:.2f}) | mesa score {me['mean_score']:8.3f} "
              f"listed {me['listed_share']:.4f} (degree {me['mean_degree']:.2f}, {me['loop_seconds']:.1f} s)")
    agree = True
    for figure, label, fmt in (("mean_score", "mean score", "{:9.3f}"), ("listed_share", "blacklist share", "{:9.4f}")):
        cis = {}
        for name, results in runs.items():
            cis[name] = interval([r[figure] for r in results])
            mean, lo, hi = cis[name]
            print(f"  {label:<16} {name:<13} {fmt.format(mean)}  95% CI [{fmt.format(lo)}, {fmt.format(hi)}]")
        (_, lo1, hi1), (_, lo2, hi2) = cis["socialcredit"], cis["mesa"]
        overlap = lo1 <= hi2 and lo2 <= hi1
        welch = stats.ttest_ind([r[figure] for r in runs["socialcredit"]], [r[figure] for r in runs["mesa"]],
                                equal_var=False)
        print(f"  {label:<16} intervals {'overlap' if overlap else 'DO NOT overlap'} (Welch p = {welch.pvalue:.2f})")
        agree &= overlap
    print(f"  => {'the two frameworks agree' if agree else 'the two frameworks DISAGREE'}")
    return agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per framework in the equivalence check")
    parser.add_argument("--check-people", type=int, default=10_000)
    parser.add_argument("--check-days", type=int, default=60)
    parser.add_argument("--mesa-people", type=int, default=10_000)
    parser.add_argument("--people", type=int, nargs="+", default=[10_000, 1_000_000], help="socialcredit sizes")
    parser.add_argument("--days", type=int, default=30, help="days of the timed runs")
    parser.add_argument("--seed", type=int, default=1, help="seed of the timed runs")
    parser.add_argument("--skip-check", action="store_true", help="timing only")
    args = parser.parse_args()

    import mesa

    import socialcredit

    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"mesa {mesa.__version__}, socialcredit {getattr(socialcredit, '__version__', '?')}, numpy {np.__version__}")
    print("parameters: " + ", ".join(f"{k}={v}" for k, v in PARAMS.items()))
    with tempfile.TemporaryDirectory() as folder:
        scenario_path = write_model(Path(folder))
        run_socialcredit(scenario_path, 2_000, 3, 1)  # warm-up: numba kernels compile once
        agree = True if args.skip_check else equivalence(scenario_path, args.check_people, args.check_days,
                                                          args.seeds)

        print(f"\nSpeed: person-days per second of the day loop ({args.days} days, seed {args.seed})")
        me = run_mesa(args.mesa_people, args.days, args.seed)
        mesa_rate = args.mesa_people * args.days / me["loop_seconds"]
        print(f"  mesa          {args.mesa_people:>11,} people  loop {me['loop_seconds']:8.2f} s  "
              f"{mesa_rate:14,.0f} person-days/s   (set-up {me['setup_seconds']:.1f} s)")
        best = 0.0
        for people in args.people:
            sc = run_socialcredit(scenario_path, people, args.days, args.seed)
            rate = people * args.days / sc["loop_seconds"]
            best = max(best, rate)
            print(f"  socialcredit  {people:>11,} people  loop {sc['loop_seconds']:8.2f} s  {rate:14,.0f} person-days/s"
                  f"   ({rate / mesa_rate:,.0f}x mesa; set-up {sc['setup_seconds']:.1f} s)")
            phases = sc["phase_seconds"]
            total = sum(phases.values())
            print("                phases: " + ", ".join(f"{name} {s / total:.0%}" for name, s in phases.items()
                                                       if s / total >= 0.01))
            # The Mesa model computes no daily metrics; socialcredit's metrics phase (percentiles, Gini,
            # assortativity, ... every day) is included above; without it, for reference:
            core = people * args.days / (total - phases.get("metrics", 0.0))
            print(f"                without the metrics phase: {core:,.0f} person-days/s "
                  f"({core / mesa_rate:,.0f}x mesa)")
    ratio = best / mesa_rate
    print(f"\nratio socialcredit / mesa per person-day (best socialcredit size): {ratio:,.0f}x "
          f"(target >= {TARGET_RATIO}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    if not agree:
        print("warning: the equivalence check failed; the speed ratio compares different models")


if __name__ == "__main__":
    main()
