"""The peer model side by side in Mesa 3.x and in socialcredit: same outcome, then speed.

    pip install -e '.[bench]'     # mesa>=3.0,<4 and networkx (Mesa's Network space holds a networkx graph)
    python benchmarks/peer_mesa.py     # equivalence: 120 seeds x 10,000 people x 60 days in each implementation
                                       # (socialcredit, Mesa, the NumPy reference; ~10 min, Mesa's the most);
                                       # speed: Mesa at 10,000 x 30 days, socialcredit at 10,000 and 1,000,000 x 30
    python benchmarks/peer_mesa.py --skip-check                  # speed only
    python benchmarks/peer_mesa.py --follow-only                 # the day-by-day checks only (seconds)

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

Three implementations of that statement are held to it: Mesa's, socialcredit's and a plain NumPy
reference (`run_reference`, written from the statement alone, its graph built without networkx).

- Day by day (`follow_mesa`, `follow_socialcredit`): each framework is run with the statement beside
  it on the framework's own graph, propensities and random draws (Mesa's uniforms, socialcredit's
  offenders); the day's rates, counts, pre, scores, lists and entitlements must agree to rounding.
  This finds a departure in what a day does, however small, with no statistics.
- Equivalence (`tost`): what remains (the graph generators, the propensity and offence draws) is
  random, so the final mean score and blacklist share are compared over seeds by two one-sided
  tests (Welch) against stated margins (`MARGINS`: 0.25 points of share, 0.25 points of score,
  what a 1.2% change of the offence rate does). Each pair of implementations is shown equivalent
  when the 90% interval of the difference of their means lies inside the margin (TOST p < 0.05);
  the benchmark prints the difference, the interval, the margin, the p-value, the verdict and the
  power the seeds gave, with the seeds that 99% power needs at the between-seed sd measured.

Speed is person-days per second of the day loop only (set-up excluded in both); the target of issue
6 is >= 1000x Mesa per person-day.
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
    from socialcredit.runner.run import timed_loop
    from socialcredit.scenario.load import load_scenario

    scenario, schemes = load_scenario(scenario_path, {"population.size": people, "run.days": days, "run.seed": seed})
    sim, loop, setup, seconds = timed_loop(scenario, schemes)
    scores = sim.schemes[0].scores
    assert scores is not None
    return {"mean_score": float(scores.score.mean()), "listed_share": float(scores.lists["blacklist"].mean()),
            "offence_rate": float(sim.true_counts.sum()) / (people * days), "setup_seconds": setup,
            "loop_seconds": seconds, "mean_degree": float(sim.graph.degree.mean()),
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
            self.propensity = propensity
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
# The stated model, written out plainly: the reference both frameworks are held to. Everything a
# day does is in `run_reference`, in the statement's order, over whole arrays; the graph is built
# by `reference_graph` without networkx or socialcredit. Clarity over speed (10,000 people x 60
# days take ~0.1 s).


def reference_graph(people: int, mean_degree: int, rng: np.random.Generator) -> list[set[int]]:
    """Watts-Strogatz with every lattice tie rewired (p = 1), in networkx's order: each person ties
    to the next mean_degree/2 people round the ring; then, for j = 1 .. mean_degree/2 and each
    person u in turn, the tie (u, u + j) is replaced by one from u to someone drawn uniformly from
    those who are neither u nor already tied to u."""
    half = mean_degree // 2
    ties: list[set[int]] = [set() for _ in range(people)]
    for j in range(1, half + 1):
        for u in range(people):
            v = (u + j) % people
            ties[u].add(v)
            ties[v].add(u)
    for j in range(1, half + 1):
        for u in range(people):
            v = (u + j) % people
            if len(ties[u]) >= people - 1:
                continue  # tied to everyone already: nobody to rewire to
            w = int(rng.integers(people))
            while w == u or w in ties[u]:
                w = int(rng.integers(people))
            ties[u].discard(v)
            ties[v].discard(u)
            ties[u].add(w)
            ties[w].add(u)
    return ties


def rewired_ring_edges(people: int, mean_degree: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same graph as `reference_graph`, drawn over whole arrays for tens of millions of people
    (Starsim's and LASER's models, which have no graph generator of their own for this): each person
    u keeps its mean_degree/2 lattice ties (u, u + j) at its own end and their other ends are drawn
    uniformly from everyone but u; a tie drawn twice is drawn again until none is. Edges (p1, p2),
    each tie once, int64. The sequential generator's exclusion of the ties of the moment differs
    from this only at a rate of ~mean_degree / people per tie."""
    half = mean_degree // 2
    p1 = np.tile(np.arange(people, dtype=np.int64), half)
    p2 = rng.integers(0, people - 1, p1.size)
    p2 += p2 >= p1  # anyone but oneself
    redraw = np.arange(p1.size)
    while redraw.size:
        low, high = np.minimum(p1, p2), np.maximum(p1, p2)
        _, first = np.unique(low * people + high, return_index=True)
        repeated = np.ones(p1.size, dtype=bool)
        repeated[first] = False
        redraw = np.flatnonzero(repeated)
        fresh = rng.integers(0, people - 1, redraw.size)
        p2[redraw] = fresh + (fresh >= p1[redraw])
    return p1, p2


def adjacency_of(indptr: np.ndarray, indices: np.ndarray):
    """The 0/1 adjacency matrix (scipy CSR) of a graph given as CSR arrays."""
    from scipy import sparse

    people = indptr.size - 1
    return sparse.csr_array((np.ones(indices.size), indices, indptr), shape=(people, people))


def stated_rate(rate: np.ndarray, listed: np.ndarray, p: dict = PARAMS) -> np.ndarray:
    """Today's offence rate: one's own, times the multiplier while listed (yesterday's list)."""
    return np.where(listed, rate * p["listed_multiplier"], rate)


def stated_scores(offences: np.ndarray, adjacency, p: dict = PARAMS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pre, score, listed) from everyone's half-life offence count: pre from one's own record, the
    network term from the mean of the neighbours' pre of the same day (0 for someone without ties)."""
    low, high, base = p["scale"]
    pre = np.clip(base + p["points_per_offence"] * offences, low, high)
    degree = np.diff(adjacency.indptr)
    neighbour_mean = np.divide(adjacency @ pre, degree, out=np.full(pre.size, float(base)), where=degree > 0)
    score = np.clip(pre + p["network_weight"] * (neighbour_mean - base), low, high)
    return pre, score, score < p["threshold"]


def run_reference(people: int, days: int, seed: int, p: dict = PARAMS) -> dict:
    """The stated model, one day after another: whole-population arrays, independent streams for
    the graph, the propensities and the daily draws (seeded by (seed, stream))."""
    started = time.perf_counter()
    ties = reference_graph(people, p["mean_degree"], np.random.default_rng([seed, 0]))
    indptr = np.r_[0, np.cumsum([len(t) for t in ties])]
    adjacency = adjacency_of(indptr, np.fromiter((v for t in ties for v in sorted(t)), np.int64, indptr[-1]))
    h = p["heterogeneity"]
    propensity = np.random.default_rng([seed, 1]).gamma(1 / h, h, people) if h > 0 else np.ones(people)
    rate = p["base_rate"] * propensity
    decay = 0.5 ** (1 / p["half_life_days"])
    draws = np.random.default_rng([seed, 2])
    setup = time.perf_counter() - started

    started = time.perf_counter()
    offences = np.zeros(people)                # the half-life count of each person's offences
    listed = np.zeros(people, dtype=bool)      # nobody is listed before the first day's scores
    score = np.full(people, float(p["scale"][2]))
    offence_count = 0
    for _ in range(days):
        # behaviour under yesterday's list: at least one offence with chance 1 - exp(-rate)
        offended = draws.random(people) < -np.expm1(-stated_rate(rate, listed, p))
        # every offence recorded; the count decays, then takes today's offences at weight 1
        offences = offences * decay + offended
        offence_count += int(offended.sum())
        _, score, listed = stated_scores(offences, adjacency, p)
    seconds = time.perf_counter() - started
    return {"mean_score": float(score.mean()), "listed_share": float(listed.mean()),
            "offence_rate": offence_count / (people * days), "setup_seconds": setup,
            "loop_seconds": seconds, "mean_degree": float(np.diff(indptr).mean())}


# Day by day: each framework's run held to the statement on its own graph, propensities and draws.
# Whatever the statement fixes given those (the day's rates, who offends given the uniforms, the
# counts, pre, the network term, score, list and entitlement) must agree to rounding; only the
# random inputs are left to the equivalence test.


def follow_mesa(people: int, days: int, seed: int, p: dict = PARAMS) -> dict[str, int]:
    """Run the Mesa model with each agent's uniform recorded, and the statement beside it on those
    uniforms, Mesa's graph and Mesa's propensities: per quantity, the person-days that differ."""
    model = mesa_model(people, seed, p)
    agents = sorted(model.agents, key=lambda agent: agent.cell.coordinate)
    person_class = type(agents[0])
    uniforms = np.full(people, np.nan)
    stream = model.random

    class Recorded:
        def __init__(self, node: int):
            self.node = node

        def random(self) -> float:
            uniforms[self.node] = value = stream.random()
            return value

    person_class.random = property(lambda agent: Recorded(agent.cell.coordinate))  # this model's class only
    import networkx as nx

    adjacency = nx.to_scipy_sparse_array(model.grid.G, nodelist=range(people), format="csr")
    rate = p["base_rate"] * np.array([agent.propensity for agent in agents])
    decay = 0.5 ** (1 / p["half_life_days"])
    offences, listed = np.zeros(people), np.zeros(people, dtype=bool)
    differ = {"draws": 0, "offences": 0, "pre": 0, "score": 0, "listed": 0}
    for _ in range(days):
        uniforms[:] = np.nan
        model.step()
        differ["draws"] += int(np.isnan(uniforms).sum())  # someone who drew no uniform, or not exactly one
        offences = offences * decay + (uniforms < -np.expm1(-stated_rate(rate, listed, p)))
        pre, score, listed = stated_scores(offences, adjacency, p)
        differ["offences"] += int((np.abs(np.array([a.offences for a in agents]) - offences) > 1e-9).sum())
        differ["pre"] += int((np.abs(np.array([a.pre for a in agents]) - pre) > 1e-9).sum())
        differ["score"] += int((np.abs(np.array([a.score for a in agents]) - score) > 1e-9).sum())
        differ["listed"] += int((np.array([a.blacklisted for a in agents]) != listed).sum())
    return differ


def follow_socialcredit(scenario_path: Path, people: int, days: int, seed: int, p: dict = PARAMS) -> dict[str, int]:
    """Run socialcredit with the statement beside it on socialcredit's graph, propensities and
    offenders: per quantity, the person-days that differ (rates to float32 rounding, scores to 1e-6;
    the network term is summed in fixed point, exact to ~2e-9 points)."""
    from socialcredit.runner.loop import Loop
    from socialcredit.scenario.load import load_scenario
    from socialcredit.sim.model import Sim
    from socialcredit.world.behaviour import Behaviour

    scenario, schemes = load_scenario(scenario_path, {"population.size": people, "run.days": days, "run.seed": seed})
    sim = Sim(scenario, schemes)
    adjacency = adjacency_of(sim.graph.indptr, sim.graph.indices)
    rate = p["base_rate"] * sim.people.propensity["offence"].astype(np.float64)
    decay = 0.5 ** (1 / p["half_life_days"])
    state = {"offences": np.zeros(people), "listed": np.zeros(people, dtype=bool)}
    differ = {"rate": 0, "recorded": 0, "pre": 0, "score": 0, "listed": 0, "travel": 0}

    def on_day(day: int) -> None:
        today = stated_rate(rate, state["listed"], p)
        differ["rate"] += int((np.abs(sim.module(Behaviour).rate[0] - today) > 1e-6 * today).sum())
        offended = np.zeros(people, dtype=bool)
        offended[sim.true_events.subject] = True
        recorded = np.zeros(people, dtype=bool)
        recorded[sim.observed_events.subject] = True
        differ["recorded"] += int((recorded != offended).sum())  # coverage 1: every offence, to its actor
        state["offences"] = state["offences"] * decay + offended
        pre, score, state["listed"] = stated_scores(state["offences"], adjacency, p)
        scores = sim.schemes[0].scores
        assert scores is not None
        differ["pre"] += int((np.abs(scores.pre - pre) > 1e-6).sum())
        differ["score"] += int((np.abs(scores.score - score) > 1e-6).sum())
        differ["listed"] += int((scores.lists["blacklist"] != state["listed"]).sum())
        differ["travel"] += int((scores.entitlements["travel"] == state["listed"]).sum())  # denied = listed

    Loop(sim).run(on_day)
    return differ


# Equivalence margins: how far apart two implementations' final figures (means over seeds) may be
# and still count as running the same model. A reader compares scenarios by these figures, and
# the blacklist share is quoted to a tenth of a point at most; what moves them is a departure in
# the model, such as its offence rate: with `run_reference` at 10,000 people x 60 days, 60 seeds,
# the rate +-5% moves the share by ~1.0 points and the mean score by ~1.1 (benchmarks/RESULTS.md),
# so each margin is what a ~1.2% change of the offence rate does, and about half the between-seed
# sd of one run at 10,000 people (~0.43 points of share, ~0.40 of mean score). A smaller departure
# (a rate used as the chance itself rather than 1 - exp(-rate) is ~1% at these rates) is left to
# the day-by-day checks (`follow_mesa`, `follow_socialcredit`), which hold each implementation to
# the statement on its own draws.
MARGINS = {
    "listed_share": 0.0025,  # 0.25 points of the blacklist share (~18%)
    "mean_score": 0.25,      # points of the mean score (~974 on a 0-2000 scale)
}
FIGURES = (("listed_share", "blacklist share", 100.0, "points"), ("mean_score", "mean score", 1.0, "points"))
ALPHA = 0.05
POWER = 0.99  # a benchmark run again and again: a 1-in-10 false alarm would be too many


def tost(a: list[float] | np.ndarray, b: list[float] | np.ndarray, margin: float, alpha: float = ALPHA) -> dict:
    """Two one-sided tests (Welch) that the means of `a` and `b` differ by less than `margin`.

    Unpaired: the two implementations draw from unrelated random streams, so the same seed does not
    pair their runs. H0 is |mean(a) - mean(b)| >= margin; it is rejected (equivalent) when both
    one-sided p-values are below alpha, which is the (1 - 2 alpha) interval of the difference lying
    inside (-margin, margin). The p-value returned is the larger of the two."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    difference = float(x.mean() - y.mean())
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1)) if se > 0 else math.inf
    if se == 0:
        p = 0.0 if abs(difference) < margin else 1.0
    else:
        p_below = float(stats.t.sf((difference + margin) / se, df))   # H0: difference <= -margin
        p_above = float(stats.t.cdf((difference - margin) / se, df))  # H0: difference >= +margin
        p = max(p_below, p_above)
    half = float(stats.t.ppf(1 - alpha, df) * se) if se > 0 else 0.0
    return {"difference": difference, "low": difference - half, "high": difference + half, "se": se, "df": df,
            "margin": margin, "p": p, "equivalent": p < alpha, "seeds": (x.size, y.size)}


def tost_power(sd: float, seeds: int, margin: float, difference: float = 0.0, alpha: float = ALPHA) -> float:
    """The chance that `tost` shows equivalence with `seeds` runs of each implementation, their
    between-seed sd `sd`, when their means truly differ by `difference` (normal approximation,
    with the t quantile of the test's degrees of freedom)."""
    se = sd * math.sqrt(2 / seeds)
    critical = float(stats.t.ppf(1 - alpha, 2 * seeds - 2))
    power = (stats.norm.cdf((margin - difference) / se - critical)
             + stats.norm.cdf((margin + difference) / se - critical) - 1)
    return float(max(power, 0.0))


def seeds_for_power(sd: float, margin: float, power: float = POWER, alpha: float = ALPHA) -> int:
    """The fewest seeds per implementation for which `tost` shows equivalence with chance `power`
    when the two truly agree, their between-seed sd being `sd`."""
    seeds = 2
    while tost_power(sd, seeds, margin, alpha=alpha) < power:
        seeds += 1
    return seeds


def follow(scenario_path: Path, people: int = 2_000, days: int = 60, seeds: int = 3) -> bool:
    """The day-by-day checks of both frameworks; True when neither departs from the statement."""
    print(f"\nDay by day against the statement, on each framework's own draws: {people:,} people x {days} days, "
          f"seeds 1..{seeds} (person-days that differ)")
    clean = True
    for seed in range(1, seeds + 1):
        for name, differ in (("mesa", follow_mesa(people, days, seed)),
                             ("socialcredit", follow_socialcredit(scenario_path, people, days, seed))):
            print(f"  seed {seed} {name:<13} " + ", ".join(f"{k} {v}" for k, v in differ.items()))
            clean &= not any(differ.values())
    print(f"  => {'neither departs from the statement' if clean else 'a framework DEPARTS from the statement'}")
    return clean


def equivalence(scenario_path: Path, people: int, days: int, seeds: int) -> bool:
    """Runs the three implementations over seeds 1..seeds and tests each pair for equivalence."""
    print(f"\nEquivalence: {people:,} people x {days} days, seeds 1..{seeds} in each implementation, final figures")
    runs: dict[str, list[dict]] = {"socialcredit": [], "mesa": [], "reference": []}
    for seed in range(1, seeds + 1):
        runs["socialcredit"].append(run_socialcredit(scenario_path, people, days, seed))
        runs["mesa"].append(run_mesa(people, days, seed))
        runs["reference"].append(run_reference(people, days, seed))
        line = " | ".join(f"{name} {r[-1]['mean_score']:8.3f} {r[-1]['listed_share']:.4f}"
                          for name, r in runs.items())
        print(f"  seed {seed:3d}: {line}", flush=True)
    print("  mean degree: " + ", ".join(f"{name} {np.mean([r['mean_degree'] for r in results]):.3f}"
                                        for name, results in runs.items()))
    agree = True
    for figure, label, unit, unit_name in FIGURES:
        margin = MARGINS[figure]
        values = {name: np.array([r[figure] for r in results]) for name, results in runs.items()}
        sd = {name: float(v.std(ddof=1)) for name, v in values.items()}
        print(f"\n  {label} (x{unit:g}: {unit_name}); margin +-{margin * unit:g}, alpha {ALPHA}")
        for name, v in values.items():
            print(f"    {name:<13} mean {v.mean() * unit:9.3f}   between-seed sd {sd[name] * unit:.3f}")
        for a, b in (("socialcredit", "mesa"), ("socialcredit", "reference"), ("mesa", "reference")):
            result = tost(values[a], values[b], margin)
            print(f"    {a} - {b}: {result['difference'] * unit:+.3f}, 90% CI [{result['low'] * unit:+.3f}, "
                  f"{result['high'] * unit:+.3f}], TOST p = {result['p']:.2g} => "
                  f"{'equivalent' if result['equivalent'] else 'NOT shown equivalent'}")
            if (a, b) == ("socialcredit", "mesa"):
                agree &= result["equivalent"]
        pooled = math.sqrt((sd["socialcredit"] ** 2 + sd["mesa"] ** 2) / 2)
        print(f"    power at {seeds} seeds (pooled sd {pooled * unit:.3f}, no true difference): "
              f"{tost_power(pooled, seeds, margin):.2f}; seeds for {POWER:.0%} power: "
              f"{seeds_for_power(pooled, margin)}")
    verdict = "run the same model (within the margins)" if agree else "are NOT shown to run the same model"
    print(f"\n  => socialcredit and Mesa {verdict}")
    return agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=120,
                        help="seeds per implementation in the equivalence test (120: ~99%% power per figure)")
    parser.add_argument("--check-people", type=int, default=10_000)
    parser.add_argument("--check-days", type=int, default=60)
    parser.add_argument("--mesa-people", type=int, default=10_000)
    parser.add_argument("--people", type=int, nargs="+", default=[10_000, 1_000_000], help="socialcredit sizes")
    parser.add_argument("--days", type=int, default=30, help="days of the timed runs")
    parser.add_argument("--seed", type=int, default=1, help="seed of the timed runs")
    parser.add_argument("--skip-check", action="store_true", help="timing only")
    parser.add_argument("--follow-only", action="store_true", help="the day-by-day checks only")
    args = parser.parse_args()

    import mesa

    import socialcredit

    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"mesa {mesa.__version__}, socialcredit {getattr(socialcredit, '__version__', '?')}, numpy {np.__version__}")
    print("parameters: " + ", ".join(f"{k}={v}" for k, v in PARAMS.items()))
    with tempfile.TemporaryDirectory() as folder:
        scenario_path = write_model(Path(folder))
        run_socialcredit(scenario_path, 2_000, 3, 1)  # warm-up: numba kernels compile once
        if not args.skip_check:
            follows = follow(scenario_path)
            if args.follow_only:
                return
        agree = True if args.skip_check else follows and equivalence(scenario_path, args.check_people,
                                                                     args.check_days, args.seeds)

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
