"""The peer model (benchmarks/peer_mesa.py) in Starsim 3.x, beside socialcredit: same outcome, then speed.

    pip install -e '.[bench]'          # starsim>=3.7,<4 (and laser-core, mesa, networkx)
    python benchmarks/peer_starsim.py                  # speed beside socialcredit at 100k, 1M and 10M people
                                                      # (30 days; 10M: 10), 3 rounds: `peers.py --peers starsim`
    python benchmarks/peer_starsim.py --check          # first the equivalence test (80 seeds x 10,000 x 60 days
                                                      # each, with and without the network term)
    python benchmarks/peer_starsim.py --people 100000 --days 5 --rounds 1   # a quick look

The model is the one `peer_mesa.py` states (PARAMS there), written as Starsim's own modules write
theirs (`ss.SIR`, `ss.RandomNet`, `ss.StaticNet`):

- `RewiredRing(ss.Network)`: the fully rewired Watts-Strogatz graph of mean degree 10 as the
  network's edges (p1, p2, beta), built at initialisation from the module's own random stream
  (`ss.Dist(...).rng`, as `ss.StaticNet` seeds networkx), static thereafter;
- `Conduct(ss.Module)`, a custom module (run first in Starsim's step): its states (`ss.FloatArr`
  propensity drawn from `ss.gamma`, half-life offence count, pre) and `ss.bernoulli` stream with a
  callable chance, 1 - exp(-rate), the rate halved for the blacklisted;
- `Blacklist(ss.Intervention)`: the network term from the mean of the neighbours' pre over the
  network's edges (a Numba kernel over the edges, as `ss.Infection` computes transmission), the
  score and the blacklist, which `Conduct` reads the next day.

Starsim's own speed paths are used: float32 states (its default), Numba over edges, and
`people_results=False` (its option for light sims: no per-step counts of the people's states).
Speed is person-days per second of `sim.run()` alone (`sim.init()`, which builds the graph,
excluded), against socialcredit's day loop in the same process, alternately.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numba as nb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/siblings.py
from siblings import load  # noqa: E402

peer = load("peer_mesa")  # the model's statement, socialcredit's side, the equivalence test
PARAMS = peer.PARAMS


@nb.njit(cache=True)
def neighbour_sums(p1, p2, pre, sums, degree):
    """Add each tie's two ends' pre to the other end's sum (both directions of an undirected tie)."""
    sums[:] = 0.0
    degree[:] = 0
    for k in range(p1.size):
        a, b = p1[k], p2[k]
        sums[a] += pre[b]
        sums[b] += pre[a]
        degree[a] += 1
        degree[b] += 1


def starsim_sim(people: int, days: int, seed: int, p: dict = PARAMS):
    """Build the Starsim sim (classes defined here so that Starsim is imported only when used)."""
    import starsim as ss

    low, high, base = p["scale"]

    class RewiredRing(ss.Network):
        """The fully rewired Watts-Strogatz graph as static edges."""

        def __init__(self, mean_degree: int = p["mean_degree"], **kwargs):
            super().__init__(**kwargs)
            self.mean_degree = mean_degree
            self.dist = ss.Dist(name="rewired_ring")  # the network's own stream, seeded by the sim

        def init_post(self):
            super().init_post()
            p1, p2 = peer.rewired_ring_edges(len(self.sim.people), self.mean_degree, self.dist.rng)
            self.append(dict(p1=p1, p2=p2, beta=np.ones(p1.size, dtype=ss.dtypes.float)))

        def step(self):
            pass  # static ties

    class Conduct(ss.Module):
        """Offences: a chance each day from one's propensity, lower while blacklisted; the half-life
        count of them and the score it gives before the network term (pre)."""

        def __init__(self, **kwargs):
            super().__init__()
            h = p["heterogeneity"]
            self.define_pars(base_rate=p["base_rate"], listed_multiplier=p["listed_multiplier"],
                             decay=0.5 ** (1 / p["half_life_days"]))
            self.update_pars(**kwargs)
            self.define_states(
                ss.FloatArr("propensity", default=ss.gamma(a=1 / h, scale=h) if h > 0 else 1.0),
                ss.FloatArr("offences", default=0.0),
                ss.FloatArr("pre", default=float(base)),
                ss.BoolState("blacklisted", default=False),
            )
            self.offend = ss.bernoulli(p=self.offence_chance)
            self.offence_count = 0  # offences in all, for the offence rate

        @staticmethod
        def offence_chance(self, sim, uids):
            rate = self.pars.base_rate * self.propensity[uids]
            rate[self.blacklisted[uids]] *= self.pars.listed_multiplier
            return -np.expm1(-rate)

        def step(self):
            offended = self.offend.filter()
            self.offence_count += len(offended)
            self.offences[:] = self.offences * self.pars.decay
            self.offences[offended] = self.offences[offended] + 1.0
            self.pre[:] = np.clip(base + p["points_per_offence"] * self.offences, low, high)

    class Blacklist(ss.Intervention):
        """The score: pre plus the network term; blacklisted while under the threshold."""

        def __init__(self, **kwargs):
            super().__init__()
            self.define_pars(weight=p["network_weight"], threshold=p["threshold"])
            self.update_pars(**kwargs)
            self.define_states(ss.FloatArr("score", default=float(base)))

        def init_post(self):
            super().init_post()
            n = len(self.sim.people.uid.raw)
            self.sums = np.zeros(n, dtype=np.float64)
            self.degree = np.zeros(n, dtype=np.int64)

        def step(self):
            conduct = self.sim.custom.conduct
            edges = self.sim.networks.rewiredring.edges
            pre = conduct.pre.raw
            neighbour_sums(edges.p1, edges.p2, pre, self.sums, self.degree)
            mean = np.divide(self.sums, self.degree, out=np.full(pre.size, float(base)), where=self.degree > 0)
            self.score.raw[:] = np.clip(pre + self.pars.weight * (mean - base), low, high)
            conduct.blacklisted.raw[:] = self.score.raw < self.pars.threshold

    return ss.Sim(n_agents=people, start=0, stop=days - 1, dt=1, rand_seed=seed, verbose=0, people_results=False,
                  networks=RewiredRing(), custom=Conduct(), interventions=Blacklist())


def run_starsim(people: int, days: int, seed: int, p: dict = PARAMS) -> dict:
    started = time.perf_counter()
    sim = starsim_sim(people, days, seed, p)
    sim.init()
    setup = time.perf_counter() - started
    started = time.perf_counter()
    sim.run()
    seconds = time.perf_counter() - started
    conduct, blacklist = sim.custom.conduct, sim.interventions.blacklist
    degree = blacklist.degree
    return {"mean_score": float(np.mean(blacklist.score.raw, dtype=np.float64)),
            "listed_share": float(conduct.blacklisted.raw.mean()),
            "offence_rate": conduct.offence_count / (people * sim.t.npts),
            "steps": int(sim.t.npts), "setup_seconds": setup, "loop_seconds": seconds,
            "mean_degree": float(degree.mean())}


def main() -> None:
    """Equivalence (--check) and speed of this peer beside socialcredit: `peers.py` with --peers starsim."""
    load("peers").main(("starsim",), __doc__)


if __name__ == "__main__":
    main()
